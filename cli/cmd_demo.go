package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey/emulator"
	"github.com/homeytray/homeytray/internal/desktop"
	"github.com/homeytray/homeytray/internal/ipc"
)

// demoRedirectURI is the demo's loopback callback: not the default port, so a demo never clashes
// with a real sign-in in progress.
const demoRedirectURI = "http://localhost:47720/callback"

// cmdDemo runs the built-in emulator of the Athom cloud and a Homey: `demo emulator` standalone,
// or the tray (`demo`; in the terminal where there is no desktop) or a command (`demo COMMAND
// ...`, `demo serve` among them) against it in-process, with their own config folder and keychain
// namespace ("homeytray-demo"), so that nothing touches a real sign-in.
func newCmdDemo(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo [COMMAND ...]",
		Short: "The tray (or a command) against the built-in emulator, no account needed",
		Long: `Runs the tray, or with a command after it that command, against the built-in emulator of
the Athom cloud and a Homey, with its own config folder and keychain namespace: nothing touches a
real sign-in. "Log in…" signs in through your browser. While a demo tray runs, "homeytray demo
token" in a terminal is answered by it.

Where there is no desktop (an SSH login, a container), the demo runs in the terminal: it signs in
through a printed address that it opens itself (the demo user is always signed in), prints a demo
bearer, and answers "homeytray demo token" and friends from other terminals until Ctrl-C.
"homeytray demo serve" is the headless serve against the emulator; "homeytray demo emulator" runs
the emulator alone for other clients.`,
		Example: `  homeytray demo
  homeytray demo login && homeytray demo devices
  homeytray demo emulator --addr 127.0.0.1:0`,
		Args: cobra.ArbitraryArgs,
		// Everything after "demo" is a command line of its own, parsed by a second command tree.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
				return cmd.Help()
			}
			// With flag parsing off, the root's own flag reaches us among the arguments.
			args = slices.DeleteFunc(slices.Clone(args), func(a string) bool {
				if a == "--insecure-file-store" {
					f.insecure = true
					return true
				}
				return false
			})
			return demoRun(cmd.Context(), f, args)
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, sub := range c.Root().Commands() {
				if sub.IsAvailableCommand() && sub.Name() != "demo" && len(args) == 0 {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.AddCommand(newCmdDemoEmulator(f))
	return cmd
}

func demoRun(ctx context.Context, f *Factory, args []string) error {
	if f.profile.demo {
		return usageErrorf("demo: already in the demo")
	}
	p := profile{name: "demo", demo: true}
	if f.profile.name != "" {
		p.name = f.profile.name + "-demo"
	}
	// The demo is a run of its own: its profile's files and keychain items, its emulator.
	df := newFactory(f.IO, f.Version, f.Getenv, p)
	dir, err := df.configDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the demo folder: %w", err)
	}
	redirect := f.Getenv("HOMEYTRAY_REDIRECT_URI")
	if redirect == "" {
		redirect = demoRedirectURI
	}
	info, stop, err := df.demoEmulator(ctx, redirect, filepath.Join(dir, "emulator.json"))
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
	df = newFactory(f.IO, f.Version, func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return f.Getenv(k)
	}, p)
	df.insecure = f.insecure
	noDesktop := desktop.Session()
	if noDesktop != nil {
		// No session bus, so no Secret Service either: the demo's secrets (the emulator's, worth
		// nothing) go to the demo folder's file store, for every demo command alike.
		df.insecure = true
	}
	if len(args) == 0 {
		if noDesktop != nil {
			return df.runTerminalDemo(ctx, noDesktop)
		}
		return df.runTray(ctx)
	}
	if args[0] == "demo" || args[0] == "completion" || args[0] == "help" || args[0][0] == '-' {
		return usageErrorf("demo: unknown command %q", args[0])
	}
	return df.execute(ctx, args)
}

// demoEmulator starts the demo's emulator in this process, or, when a demo tray runs (and with
// it an emulator on the demo's ports), joins that one.
func (f *Factory) demoEmulator(ctx context.Context, redirect, stateFile string) (emulator.Info, func(), error) {
	if _, ok, _ := f.askTray(ctx, ipc.Request{Op: ipc.OpPing}); ok {
		info, err := emulator.StateInfo(stateFile)
		if err != nil {
			return info, nil, fmt.Errorf("join the demo tray's emulator: %w", err)
		}
		return info, func() {}, nil
	}
	srv, err := emulator.New(emulator.Options{RedirectURI: redirect, StateFile: stateFile})
	if err != nil {
		return emulator.Info{}, nil, fmt.Errorf("start the demo emulator: %w", err)
	}
	info := emulator.Info{Cloud: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURI: srv.RedirectURI()}
	return info, func() { srv.Close() }, nil
}

// runTerminalDemo is the demo where there is no desktop (why): the sign-in through a printed
// address, which the demo also opens itself — the emulator's user is always signed in, so any HTTP
// client is a browser to it — then a demo bearer, then what `serve` does (the tray's background
// work, no icon) until Ctrl-C, so that `homeytray demo token` and friends in other terminals are
// answered. Nothing here calls into the tray library.
func (f *Factory) runTerminalDemo(ctx context.Context, why error) error {
	fmt.Fprintf(f.IO.Err, "homeytray demo: %v; the demo runs in this terminal.\n", why)
	s, err := f.Session()
	if err != nil {
		return err
	}
	if _, err := s.Stored(); errors.Is(err, auth.ErrNotSignedIn) {
		f.Browser = openInProcess(f.http)
		if err := f.login(ctx, true, nil); err != nil {
			return err
		}
	}
	cctx, cancel := withTimeout(ctx)
	b, err := f.bearer(cctx, "")
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "\nA demo bearer for the Homey at %s:\n\n    %s\n\n", b.BaseURL, b.Token)
	fmt.Fprintln(f.IO.Out, "Try in another terminal:")
	for _, c := range []string{"token", "token --format json", "devices", "api devices/device", "homeys"} {
		fmt.Fprintf(f.IO.Out, "    %s %s\n", f.prog(), c)
	}
	fmt.Fprintln(f.IO.Out, "This demo answers them until you press Ctrl-C.")
	return f.runServe(ctx)
}

// openInProcess is a "browser" that opens the sign-in address itself: a GET that follows the
// emulator's redirect to the loopback callback, in the background (Login does not wait for it).
func openInProcess(hc *http.Client) func(string) error {
	return func(url string) error {
		go func() {
			if resp, err := hc.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		return nil
	}
}

// newCmdDemoEmulator runs the emulator on its own, for other clients (Athom's official JS client
// among them, pointed at it with ATHOM_CLOUD_API_BASEURL).
func newCmdDemoEmulator(f *Factory) *cobra.Command {
	var (
		o                                  emulator.Options
		tokenBody, refreshError, noHomeyID string
		variants                           []string
	)
	cmd := &cobra.Command{
		Use:   "emulator [flags]",
		Short: "Serve the emulator of the Athom cloud and a Homey until killed",
		Long: `Serves the emulator of the Athom cloud and its Homeys and prints one JSON line with
"cloud", "client_id", "client_secret" and "redirect_uri", then serves until killed.

The emulator is strict by default. The tolerance flags make it answer the way the real service
may, where Athom's own client accepts it: --no-homey-id, --token-body, --refresh-error,
--client-refused and --homey-variant (NAME=cloud|pro2019|v1|forwarded|invalid-serial|
subscription-inactive, kinds joined by commas).`,
		Example: `  homeytray demo emulator --no-homey-id relay --token-body text
  homeytray demo emulator --refresh-error 401:invalid_token --homey-variant Cabin=pro2019`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := demoTolerance(&o, noHomeyID, tokenBody, refreshError, variants); err != nil {
				return err
			}
			return emulator.Serve(cmd.Context(), o, f.IO.Out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Addr, "addr", "127.0.0.1:0", "the address to listen on (port 0: any free port)")
	fl.StringVar(&o.RedirectURI, "redirect-uri", "", "the redirect URI of the emulated client")
	fl.StringVar(&o.StateFile, "state-file", "", "keep the emulator's state in this file")
	fl.DurationVar(&o.AccessTokenTTL, "access-token-ttl", 0, "lifetime of access tokens (default 1h1m, as Athom's)")
	fl.DurationVar(&o.SessionTTL, "session-ttl", 0, "lifetime of Homey sessions (default 24h)")
	fl.DurationVar(&o.RefreshGrace, "refresh-grace", 0, "how long a rotated refresh token stays usable (0: strict rotation)")
	fl.StringVar(&noHomeyID, "no-homey-id", "", "answer without X-Homey-ID on the `LISTENER`s: relay, local, forwarded or all")
	fl.StringVar(&tokenBody, "token-body", "json", "how delegation and users/login send tokens: json, text (bare text/plain) or quoted")
	fl.StringVar(&refreshError, "refresh-error", "", "answer a dead refresh token with `STATUS:CODE` (default 400:invalid_grant)")
	fl.BoolVar(&o.ClientRefused, "client-refused", false, "refuse the client at the token endpoint (401 invalid_client)")
	fl.StringArrayVar(&variants, "homey-variant", nil, "make a Homey another kind: `NAME=KIND[,KIND]` (cloud, pro2019, v1, forwarded, invalid-serial, subscription-inactive)")
	return cmd
}

// demoTolerance reads the tolerance flags of `demo emulator` into o; a bad value is a usage error.
func demoTolerance(o *emulator.Options, noHomeyID, tokenBody, refreshError string, variants []string) error {
	switch noHomeyID {
	case "", emulator.ViaRelay, emulator.ViaLocal, emulator.ViaForwarded, emulator.ViaAll:
		o.NoHomeyID = noHomeyID
	default:
		return usageErrorf("demo emulator: --no-homey-id %q: say relay, local, forwarded or all", noHomeyID)
	}
	b, err := emulator.ParseTokenBody(tokenBody)
	if err != nil {
		return usageErrorf("demo emulator: --%v", err)
	}
	o.TokenBody = b
	if refreshError != "" {
		if o.RefreshErrorStatus, o.RefreshErrorCode, err = emulator.ParseRefreshError(refreshError); err != nil {
			return usageErrorf("demo emulator: --%v", err)
		}
	}
	for _, v := range variants {
		name, variant, err := emulator.ParseVariant(v)
		if err != nil {
			return usageErrorf("demo emulator: --%v", err)
		}
		if o.Variants == nil {
			o.Variants = map[string]emulator.Variant{}
		}
		o.Variants[name] = variant
	}
	return nil
}
