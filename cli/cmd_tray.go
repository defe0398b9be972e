package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/desktop"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/ipc"
	"github.com/homeytray/homeytray/tray"
)

func newCmdTray(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "tray",
		Short: "Run the tray (the same as no command)",
		Long: `Runs the tray: click the icon to copy a fresh bearer token, right-click for the menu. While
it runs it is the one process that refreshes, and token and devices ask it over a local socket.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.runTray(cmd.Context()) },
	}
}

// runTray runs the tray face on this (the main) goroutine with the same core as the CLI.
func (f *Factory) runTray(ctx context.Context) error {
	// Without a desktop session nothing may call into the tray library (fyne.io/systray panics
	// on quit when it found no session bus).
	if err := desktop.Session(); err != nil {
		return fmt.Errorf("%w: %w", failure.ErrNoDesktop, err)
	}
	c, err := f.load()
	if err != nil {
		return err
	}
	sock, err := ipc.SocketPath(f.profile.appName())
	if err != nil {
		return err
	}
	clear := defaultClipboardClear
	if c.ClipboardClearSeconds != nil {
		clear = time.Duration(*c.ClipboardClearSeconds) * time.Second
	}
	title := "homeytray"
	if f.profile.demo {
		title = "homeytray (demo)"
	}
	core := f.background()
	err = tray.Run(ctx, tray.Options{Core: core, Live: core, Socket: sock, Logf: f.logf,
		Title: title, ClipboardClear: clear, Autostart: f.autostart(), LoginAtStart: f.firstStart(c)})
	if errors.Is(err, ipc.ErrAlreadyRunning) {
		fmt.Fprintln(f.IO.Err, "homeytray: the tray is already running.")
		return nil
	}
	return err
}

// firstStart reports whether the tray should open the setup page by itself: on Windows, when no
// Web API client is set up (nor built in) and nobody is signed in — a new user who double-clicked
// homeytray.exe, with no terminal and no menu habit yet.
func (f *Factory) firstStart(c *config.Snapshot) bool {
	if runtime.GOOS != "windows" {
		return false
	}
	if _, from := f.clientID(&c.Settings); from != clientNone {
		return false
	}
	s, err := f.Session()
	if err != nil {
		return false
	}
	_, err = s.Stored()
	return errors.Is(err, auth.ErrNotSignedIn)
}

func newCmdAutostart(f *Factory, runF func(what string) error) *cobra.Command {
	return &cobra.Command{
		Use:       "autostart on|off|status",
		Short:     "Start the tray when you log in",
		Args:      maxArgs(1),
		ValidArgs: []cobra.Completion{"on", "off", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !contains([]string{"on", "off", "status"}, args[0]) {
				return usageErrorf("autostart: say on, off or status")
			}
			if runF != nil {
				return runF(args[0])
			}
			return autostartRun(f, args[0])
		},
	}
}

func autostartRun(f *Factory, what string) error {
	as := f.autostart()
	if as == nil {
		return desktop.ErrAutostartUnsupported
	}
	if what != "status" {
		if err := as.SetEnabled(what == "on"); err != nil {
			return fmt.Errorf("autostart: %w", err)
		}
	}
	on, err := as.Enabled()
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	if on {
		fmt.Fprintln(f.IO.Out, "The tray starts when you log in.")
	} else {
		fmt.Fprintln(f.IO.Out, "The tray does not start when you log in.")
	}
	return nil
}

// background makes this app the one process that refreshes (the tray, or serve): bearers kept in
// memory, and the Athom token renewed well ahead of expiry (about 92% into Athom's 61-minute
// tokens), so that a script asking it never waits for a refresh.
func (f *Factory) background() *agentCore {
	f.memBearers = &memBearerCache{}
	f.margin = 5 * time.Minute
	return &agentCore{f: f}
}

// logf writes one line of the tray or serve to stderr.
func (f *Factory) logf(format string, args ...any) {
	fmt.Fprintf(f.IO.Err, "homeytray: "+format+"\n", args...)
}
