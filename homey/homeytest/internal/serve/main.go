// Command serve runs the homeytest emulator standalone, for tests that drive
// it from another process (the conformance test runs Athom's JS client
// against it). It prints one JSON line (see homeytest.Serve) and serves until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/homeytray/homeytray/homey/homeytest"
)

func main() {
	var o homeytest.Options
	flag.StringVar(&o.Addr, "addr", "127.0.0.1:0", "cloud listen address")
	flag.StringVar(&o.RedirectURI, "redirect-uri", "", "the registered redirect URI (default "+homeytest.DefaultRedirectURI+")")
	flag.StringVar(&o.StateFile, "state-file", "", "persist tokens and ports in this file")
	flag.DurationVar(&o.AccessTokenTTL, "access-token-ttl", 0, "access token lifetime (default 3660s)")
	flag.DurationVar(&o.SessionTTL, "session-ttl", 0, "Homey session lifetime (default 24h)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := homeytest.Serve(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
