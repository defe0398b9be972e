// Command homeytray gives Homey (Athom) owners a fresh Homey API bearer token: it signs in once
// through the system browser, keeps the long-lived secret in the OS keychain and refreshes tokens
// by itself. Subcommands are the command-line face; see `homeytray help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit codes, the gh convention.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	exitAuth  = 4
)

func main() {
	attachConsole(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand of the command-line face.
type command struct {
	name  string
	args  string // synopsis after the name
	short string
	run   func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"setup", "--client-id ID [--redirect-uri URI] [--insecure-file-store]", "record your Athom Web API client (secret read from stdin)", cmdSetup},
		{"login", "[--no-browser] [--pat]", "sign in through the browser (or with a personal access token on stdin)", cmdLogin},
		{"logout", "[--all]", "delete every stored secret and cached token (--all: the config too)", cmdLogout},
		{"status", "[--json]", "who is signed in, where secrets are kept, token lifetimes", cmdStatus},
		{"homeys", "[--json]", "list the account's Homeys", cmdHomeys},
		{"use", "NAME|ID", "select the default Homey", cmdUse},
		{"token", "[--homey NAME|ID] [--format raw|header|json|env|curl] [--cloud]", "print a fresh Homey bearer token", cmdToken},
		{"devices", "[--homey NAME|ID] [--json]", "list the devices of a Homey", cmdDevices},
		{"local", "add --address URL [--name NAME] | add DISCOVERED-NAME | list [--json] | remove NAME|ID",
			"Homey Pro reached with an API key (key on stdin), no Athom cloud needed", cmdLocal},
		{"discover", "[--timeout 3s] [--json]", "list the Homeys that answer on the local network (mDNS)", cmdDiscover},
		{"tray", "", "run the tray (the same as no command)", cmdTray},
		{"autostart", "on|off|status", "start the tray when you log in", cmdAutostart},
		{"demo", "[COMMAND ... | serve [--addr ADDR] [--redirect-uri URI] [--access-token-ttl D] [--session-ttl D] [--refresh-grace D] [--state-file F]]",
			"the tray (or a command) against the built-in emulator (no account needed), or serve it", cmdDemo},
	}
}

// run is the whole program without globals: it parses args, runs one command and turns its error
// into a message on stderr and an exit code. Only here and in the tray do errors become sentences.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr, os.Getenv)
	return a.main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) int {
	if a.profile != "" && !validProfile(a.profile) {
		fmt.Fprintf(a.stderr, "homeytray: HOMEYTRAY_PROFILE=%q: use lowercase letters, digits and dashes\n", a.profile)
		return exitUsage
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "--version", "-version", "-v":
			fmt.Fprintf(a.stdout, "homeytray %s\n", version)
			return exitOK
		case "-h", "--help", "-help":
			a.usage(a.stdout)
			return exitOK
		case "--insecure-file-store", "-insecure-file-store":
			a.insecure = true
			args = args[1:]
		default:
			fmt.Fprintf(a.stderr, "homeytray: unknown flag %s\nRun 'homeytray help' for usage.\n", args[0])
			return exitUsage
		}
	}
	if len(args) == 0 {
		return a.exit(a.runTray(ctx))
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		a.usage(a.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return a.exit(c.run(ctx, a, rest))
		}
	}
	fmt.Fprintf(a.stderr, "homeytray: unknown command %q\nRun 'homeytray help' for usage.\n", name)
	return exitUsage
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "homeytray %s — a fresh Homey API bearer token, one command away.\n\nUsage:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  homeytray %s %s\n      %s\n", c.name, c.args, c.short)
	}
	fmt.Fprint(w, "\nGlobal flags: --version, --help, --insecure-file-store (keep secrets in a 0600 file, not the keychain).\n")
	fmt.Fprint(w, "Environment: HOMEYTRAY_CLIENT_ID, HOMEYTRAY_CLIENT_SECRET, HOMEYTRAY_REDIRECT_URI, ATHOM_CLOUD_API_BASEURL, BROWSER.\n")
	fmt.Fprint(w, "Exit codes: 0 ok, 1 error, 2 usage, 4 not signed in (run 'homeytray login').\n")
}

// exit prints err (one or two lines: what happened, then what fixes it) and picks the exit code.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	msg, hint, code := explain(err, a.cmdPrefix())
	if msg == "" {
		return code
	}
	fmt.Fprintf(a.stderr, "homeytray: %s\n", msg)
	if hint != "" {
		fmt.Fprintln(a.stderr, hint)
	}
	return code
}
