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
	"time"

	"github.com/spf13/cobra"
)

// Version describes the build; main sets it from -ldflags -X.
type Version struct {
	Version, Commit, Date string
	// Client is the Athom Web API client built in by whoever shipped the binary, or none.
	Client Client
}

// Client is an Athom Web API client: its id, its secret, and the redirect URI registered with it
// ("" = the default one).
type Client struct {
	ID, Secret, RedirectURI string
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

// Main runs one command line (args without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, s Streams, v Version) int {
	f, err := factoryFor(s, v, os.Getenv)
	if err != nil {
		fmt.Fprintf(s.Err, "homeytray: %v\n", err)
		return exitUsage
	}
	return f.run(ctx, args)
}

// factoryFor is the factory of a run in this environment (HOMEYTRAY_PROFILE picks the profile).
func factoryFor(s Streams, v Version, getenv func(string) string) (*Factory, error) {
	p := profile{name: getenv("HOMEYTRAY_PROFILE")}
	if p.name != "" && !validProfile(p.name) {
		return nil, fmt.Errorf("HOMEYTRAY_PROFILE=%q: use lowercase letters, digits and dashes", p.name)
	}
	return newFactory(s, v, getenv, p), nil
}

// run runs one command line and returns the exit code. Before it returns, the keychain calls
// still in progress (a background refresh of the tray or serve, stopped by a signal) get up to
// keychainSettle to end: the process must not exit with a request unanswered in the keychain
// (auth.Keyring.Close says why).
func (f *Factory) run(ctx context.Context, args []string) int {
	code := f.exit(f.execute(ctx, args))
	if k := f.keyring.Load(); k != nil {
		k.Close(keychainSettle)
	}
	return code
}

// keychainSettle bounds the wait for keychain calls at exit. A keychain that answers does so in
// milliseconds; a call that takes longer ends by its own timeout, or is left at this bound.
const keychainSettle = 3 * time.Second

// execute builds the command tree over f and runs args through it.
func (f *Factory) execute(ctx context.Context, args []string) error {
	root := newRootCmd(f, onlyCommand(args))
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// NewCommand is the command tree as the man pages and shell completions describe it.
func NewCommand(v Version) *cobra.Command {
	f := newFactory(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, v, os.Getenv, profile{})
	root := newRootCmd(f, "")
	root.InitDefaultCompletionCmd() // cobra adds it only when it runs; the docs need it now
	return root
}

// newRootCmd is the whole command line: one cobra command per subcommand, built over one app.
// Usage and help come from the flags themselves; errors are returned to Main, which alone turns
// them into words and an exit code.
func newRootCmd(f *Factory, only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "homeytray",
		Short: "A fresh Homey API bearer token, one command away",
		Long: `homeytray signs you in to your Athom account once through the browser, keeps the
long-lived secret in the OS keychain and hands out fresh Homey bearer tokens: in the tray menu,
on the command line and to scripts. With no command it runs the tray.`,
		Example: `  homeytray setup --client-id 0123456789abcdef01234567 < secret.txt
  homeytray login
  curl -H "$(homeytray token --format header)" "$(homeytray token --format json | jq -r .base_url)/api/manager/devices/device"`,
		Version:           f.Version.String(),
		Args:              noArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		RunE:              func(cmd *cobra.Command, _ []string) error { return f.runTray(cmd.Context()) },
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.Err)
	root.SetVersionTemplate("homeytray {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s: %v", c.Name(), err)
	})
	root.PersistentFlags().BoolVar(&f.insecure, "insecure-file-store", false,
		"keep secrets in a 0600 file instead of the OS keychain (not recommended)")
	root.Flags().BoolP("version", "v", false, "print the version and exit")
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cmd, _, err := c.Root().Find(args)
			if cmd == nil || err != nil || cmd == c.Root() && len(args) > 0 {
				return usageErrorf("help: unknown command %q", strings.Join(args, " "))
			}
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, sub := range c.Root().Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	})
	root.AddGroup(
		&cobra.Group{ID: "signin", Title: "Sign-in:"},
		&cobra.Group{ID: "use", Title: "Tokens and Homeys:"},
		&cobra.Group{ID: "app", Title: "The tray and the demo:"},
	)
	for _, c := range []struct {
		group, name string
		build       func() *cobra.Command
	}{
		{"signin", "setup", func() *cobra.Command { return newCmdSetup(f, nil) }},
		{"signin", "login", func() *cobra.Command { return newCmdLogin(f, nil) }},
		{"signin", "logout", func() *cobra.Command { return newCmdLogout(f, nil) }},
		{"signin", "status", func() *cobra.Command { return newCmdStatus(f, nil) }},
		{"use", "homeys", func() *cobra.Command { return newCmdHomeys(f, nil) }},
		{"use", "use", func() *cobra.Command { return newCmdUse(f, nil) }},
		{"use", "token", func() *cobra.Command { return newCmdToken(f, nil) }},
		{"use", "devices", func() *cobra.Command { return newCmdDevices(f, nil) }},
		{"use", "local", func() *cobra.Command { return newCmdLocal(f) }},
		{"use", "api", func() *cobra.Command { return newCmdAPI(f, nil) }},
		{"use", "run", func() *cobra.Command { return newCmdRun(f, nil) }},
		{"use", "watch", func() *cobra.Command { return newCmdWatch(f, nil) }},
		{"use", "discover", func() *cobra.Command { return newCmdDiscover(f, nil) }},
		{"app", "tray", func() *cobra.Command { return newCmdTray(f) }},
		{"app", "serve", func() *cobra.Command { return newCmdServe(f) }},
		{"app", "autostart", func() *cobra.Command { return newCmdAutostart(f, nil) }},
		{"app", "demo", func() *cobra.Command { return newCmdDemo(f) }},
	} {
		// A run of one command builds only that one (start-up is most of what a warm `token`
		// costs); help, completion and the docs get the whole tree.
		if only != "" && c.name != only {
			continue
		}
		cmd := c.build()
		cmd.GroupID = c.group
		root.AddCommand(cmd)
	}
	root.SetUsageTemplate(root.UsageTemplate() + `
Environment: HOMEYTRAY_CLIENT_ID, HOMEYTRAY_CLIENT_SECRET, HOMEYTRAY_REDIRECT_URI, ATHOM_CLOUD_API_BASEURL, BROWSER.
Exit codes: 0 ok, 1 error, 2 usage, 4 not signed in (run 'homeytray login').
`)
	return root
}

// onlyCommand is the one top-level command args run, when the rest of the tree is not needed
// for it: a plain command name first (flags of the root come after it or not at all). Anything
// else — help, completion, a flag first, an unknown word — gets the whole tree.
func onlyCommand(args []string) string {
	if len(args) == 0 {
		return ""
	}
	switch args[0] {
	case "setup", "login", "logout", "status", "homeys", "use", "token", "devices", "local",
		"api", "run", "watch", "discover", "tray", "serve", "autostart":
		return args[0]
	}
	return "" // "demo" builds a second tree of its own, which needs this one's commands
}

// noArgs refuses any positional argument with a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error { return maxArgs(0)(cmd, args) }

// maxArgs allows at most n positional arguments.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		if !cmd.HasParent() {
			return usageErrorf("unknown command %q", args[0])
		}
		return usageErrorf("%s: unexpected argument %q", cmd.Name(), args[n])
	}
}
