package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/homeytray/homeytray/homey/homeytest"
	"github.com/homeytray/homeytray/tray"
)

// demoRedirectURI is the demo's loopback callback: not the default port, so a demo never clashes
// with a real sign-in in progress.
const demoRedirectURI = "http://localhost:47720/callback"

// cmdDemo runs the built-in emulator of the Athom cloud and a Homey: `demo serve` standalone, or
// the tray (`demo`) or a command (`demo COMMAND ...`) against it in-process, with their own config
// folder and keychain namespace ("homeytray-demo"), so that nothing touches a real sign-in.
func cmdDemo(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return demoServe(ctx, a, args[1:])
	}
	if a.demo {
		return usageErrorf("demo: already in the demo")
	}
	a.demo = true
	if a.profile == "" {
		a.profile = "demo"
	} else {
		a.profile += "-demo"
	}
	dir, err := a.configDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the demo folder: %w", err)
	}
	redirect := a.getenv("HOMEYTRAY_REDIRECT_URI")
	if redirect == "" {
		redirect = demoRedirectURI
	}
	info, stop, err := a.demoEmulator(ctx, redirect, filepath.Join(dir, "emulator.json"))
	if err != nil {
		return err
	}
	defer stop()
	env := map[string]string{
		"ATHOM_CLOUD_API_BASEURL": info.Cloud,
		"HOMEYTRAY_CLIENT_ID":     info.ClientID,
		"HOMEYTRAY_CLIENT_SECRET": info.ClientSecret,
		"HOMEYTRAY_REDIRECT_URI":  info.RedirectURI,
	}
	outer := a.getenv
	a.getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return outer(k)
	}
	if len(args) == 0 {
		return a.runTray(ctx)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, a, args[1:])
		}
	}
	return usageErrorf("demo: unknown command %q", args[0])
}

// demoEmulator starts the demo's emulator in this process, or, when a demo tray runs (and with
// it an emulator on the demo's ports), joins that one.
func (a *app) demoEmulator(ctx context.Context, redirect, stateFile string) (homeytest.Info, func(), error) {
	if _, ok, _ := a.askTray(ctx, tray.Request{Op: "ping"}); ok {
		info, err := homeytest.StateInfo(stateFile)
		if err != nil {
			return info, nil, fmt.Errorf("join the demo tray's emulator: %w", err)
		}
		return info, func() {}, nil
	}
	srv, err := homeytest.New(homeytest.Options{RedirectURI: redirect, StateFile: stateFile})
	if err != nil {
		return homeytest.Info{}, nil, fmt.Errorf("start the demo emulator: %w", err)
	}
	info := homeytest.Info{Cloud: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURI: srv.RedirectURI()}
	return info, func() { srv.Close() }, nil
}

func demoServe(ctx context.Context, a *app, args []string) error {
	fs := a.flags("demo")
	var o homeytest.Options
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "")
	fs.StringVar(&o.RedirectURI, "redirect-uri", "", "")
	fs.StringVar(&o.StateFile, "state-file", "", "")
	fs.DurationVar(&o.AccessTokenTTL, "access-token-ttl", 0, "")
	fs.DurationVar(&o.SessionTTL, "session-ttl", 0, "")
	fs.DurationVar(&o.RefreshGrace, "refresh-grace", 0, "") // 0 = strict rotation
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return homeytest.Serve(ctx, o, a.stdout)
}
