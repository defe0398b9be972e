package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/agent"
	"github.com/homeytray/homeytray/internal/ipc"
)

func newCmdServe(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Keep the sign-in fresh and answer scripts, with no tray icon",
		Long: `Runs what the tray runs in the background, without the icon: it keeps the sign-in fresh and
answers token and devices over the local socket, for a Raspberry Pi or a server. It runs until
it is stopped (Ctrl-C, SIGTERM) and says on stderr what changes, one line each. Only one tray
or serve runs per user. The packages' systemd user unit runs it:
systemctl --user enable --now homeytray.`,
		Example: `  homeytray serve
  systemctl --user enable --now homeytray`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.runServe(cmd.Context()) },
	}
}

// runServe is runTray without the icon (agent.Serve): the same core, refresh margin and
// in-memory bearers (background).
func (f *Factory) runServe(ctx context.Context) error {
	if _, err := f.load(); err != nil {
		return err
	}
	sock, err := ipc.SocketPath(f.profile.appName())
	if err != nil {
		return err
	}
	err = agent.Serve(ctx, f.background(), sock, f.logf)
	switch {
	case errors.Is(err, ipc.ErrAlreadyRunning):
		fmt.Fprintln(f.IO.Err, "homeytray: the tray (or serve) is already running.")
		return nil
	case err != nil:
		return err
	}
	fmt.Fprintln(f.IO.Err, "homeytray: stopped")
	return nil
}
