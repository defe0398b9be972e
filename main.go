// Command homeytray gives Homey (Athom) owners a fresh Homey API bearer token: it signs in once
// through the system browser, keeps the long-lived secret in the OS keychain and refreshes tokens
// by itself. The command line and the tray live in package cli; see `homeytray help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/homeytray/homeytray/cli"
)

// Set at build time: go build -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var version, commit, date = "0.1.0-dev", "", ""

// An Athom Web API client built in by whoever ships the binary (make build BUILTIN_CLIENT_ID=…
// BUILTIN_CLIENT_SECRET_FILE=…): the default when the user set up none. Empty in our own builds.
var builtinClientID, builtinClientSecret, builtinRedirectURI string

func main() {
	cli.AttachConsole(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr},
		cli.Version{Version: version, Commit: commit, Date: date,
			Client: cli.Client{ID: builtinClientID, Secret: builtinClientSecret, RedirectURI: builtinRedirectURI}})
	stop()
	os.Exit(code)
}
