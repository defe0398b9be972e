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

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/internal/sanitize"
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

func (a *app) main(ctx context.Context, args []string) int {
	if a.profile != "" && !validProfile(a.profile) {
		fmt.Fprintf(a.stderr, "homeytray: HOMEYTRAY_PROFILE=%q: use lowercase letters, digits and dashes\n", a.profile)
		return exitUsage
	}
	return a.exit(a.execute(ctx, args))
}

// execute builds the command tree over a and runs args through it.
func (a *app) execute(ctx context.Context, args []string) error {
	root := newRootCmd(a)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// NewCommand is the command tree as the man pages and shell completions describe it.
func NewCommand(v Version) *cobra.Command {
	a := newApp(strings.NewReader(""), io.Discard, io.Discard, os.Getenv)
	a.version = v
	root := newRootCmd(a)
	root.InitDefaultCompletionCmd() // cobra adds it only when it runs; the docs need it now
	return root
}

// newRootCmd is the whole command line: one cobra command per subcommand, built over one app.
// Usage and help come from the flags themselves; errors are returned to Main, which alone turns
// them into words and an exit code.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "homeytray",
		Short: "A fresh Homey API bearer token, one command away",
		Long: `homeytray signs you in to your Athom account once through the browser, keeps the
long-lived secret in the OS keychain and hands out fresh Homey bearer tokens: in the tray menu,
on the command line and to scripts. With no command it runs the tray.`,
		Example: `  homeytray setup --client-id 0123456789abcdef01234567 < secret.txt
  homeytray login
  curl -H "$(homeytray token --format header)" "$(homeytray token --format json | jq -r .base_url)/api/manager/devices/device"`,
		Version:           a.version.String(),
		Args:              noArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		RunE:              func(cmd *cobra.Command, _ []string) error { return a.runTray(cmd.Context()) },
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("homeytray {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s: %v", c.Name(), err)
	})
	root.PersistentFlags().BoolVar(&a.insecure, "insecure-file-store", false,
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
		group string
		cmd   *cobra.Command
	}{
		{"signin", newCmdSetup(a, nil)},
		{"signin", newCmdLogin(a, nil)},
		{"signin", newCmdLogout(a, nil)},
		{"signin", newCmdStatus(a, nil)},
		{"use", newCmdHomeys(a, nil)},
		{"use", newCmdUse(a, nil)},
		{"use", newCmdToken(a, nil)},
		{"use", newCmdDevices(a, nil)},
		{"use", newCmdLocal(a)},
		{"use", newCmdAPI(a, nil)},
		{"use", newCmdRun(a, nil)},
		{"use", newCmdDiscover(a, nil)},
		{"app", newCmdTray(a)},
		{"app", newCmdServe(a)},
		{"app", newCmdAutostart(a, nil)},
		{"app", newCmdDemo(a)},
	} {
		c.cmd.GroupID = c.group
		root.AddCommand(c.cmd)
	}
	root.SetUsageTemplate(root.UsageTemplate() + `
Environment: HOMEYTRAY_CLIENT_ID, HOMEYTRAY_CLIENT_SECRET, HOMEYTRAY_REDIRECT_URI, ATHOM_CLOUD_API_BASEURL, BROWSER.
Exit codes: 0 ok, 1 error, 2 usage, 4 not signed in (run 'homeytray login').
`)
	return root
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

// exit prints err (one or two lines: what happened, then what fixes it) and picks the exit code.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	msg, hint, code := explain(err, a.cmdPrefix())
	if msg == "" {
		return code
	}
	// Errors may quote names and answers from the network: one clean line each.
	fmt.Fprintf(a.stderr, "homeytray: %s\n", sanitize.Line(msg, 0))
	if hint != "" {
		fmt.Fprintln(a.stderr, sanitize.Line(hint, 0))
	}
	return code
}
