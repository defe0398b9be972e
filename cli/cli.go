// Package cli is homeytray's composition root and command-line face: it reads the config, builds
// the keychain store, the Athom session and the Homey client, runs one command (or the tray) and
// turns errors into one or two lines and an exit code.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Streams are the standard input and outputs of one run.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Version describes the build; main sets it from -ldflags -X.
type Version struct {
	Version, Commit, Date string
}

// String is what --version prints after the program's name.
func (v Version) String() string {
	s := v.Version
	if s == "" {
		s = "dev"
	}
	var extra []string
	if v.Commit != "" {
		extra = append(extra, "commit "+v.Commit)
	}
	if v.Date != "" {
		extra = append(extra, "built "+v.Date)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// Exit codes, the gh convention.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	exitAuth  = 4
)

// Main runs one command line (args without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, s Streams, v Version) int {
	a := newApp(s.In, s.Out, s.Err, os.Getenv)
	a.version = v
	return a.main(ctx, args)
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

// run is Main for tests: the whole program without globals.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Main(ctx, args, Streams{stdin, stdout, stderr}, Version{Version: "test"})
}

func (a *app) main(ctx context.Context, args []string) int {
	if a.profile != "" && !validProfile(a.profile) {
		fmt.Fprintf(a.stderr, "homeytray: HOMEYTRAY_PROFILE=%q: use lowercase letters, digits and dashes\n", a.profile)
		return exitUsage
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "--version", "-version", "-v":
			fmt.Fprintf(a.stdout, "homeytray %s\n", a.version)
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
	fmt.Fprintf(w, "homeytray %s — a fresh Homey API bearer token, one command away.\n\nUsage:\n", a.version.Version)
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
