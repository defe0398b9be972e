package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/homeytray/homeytray/homey/homeytest"
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
	srv, err := homeytest.New(homeytest.Options{RedirectURI: redirect, StateFile: filepath.Join(dir, "emulator.json")})
	if err != nil {
		return fmt.Errorf("start the demo emulator: %w", err)
	}
	defer srv.Close()
	env := map[string]string{
		"ATHOM_CLOUD_API_BASEURL": srv.URL(),
		"HOMEYTRAY_CLIENT_ID":     srv.ClientID(),
		"HOMEYTRAY_CLIENT_SECRET": srv.ClientSecret(),
		"HOMEYTRAY_REDIRECT_URI":  srv.RedirectURI(),
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

func demoServe(ctx context.Context, a *app, args []string) error {
	fs := a.flags("demo")
	var o homeytest.Options
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "")
	fs.StringVar(&o.RedirectURI, "redirect-uri", "", "")
	fs.StringVar(&o.StateFile, "state-file", "", "")
	fs.DurationVar(&o.AccessTokenTTL, "access-token-ttl", 0, "")
	fs.DurationVar(&o.SessionTTL, "session-ttl", 0, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return homeytest.Serve(ctx, o, a.stdout)
}
