package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/internal/ipc"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// Exit codes of `run` when COMMAND does not run at all, as env(1), nice(1) and timeout(1) have
// them (and shells for a command they cannot run): 127 not found, 126 found but not startable.
const (
	exitNotFound   = 127
	exitCannotExec = 126
)

// runOptions are the flags and command of `run`.
type runOptions struct {
	homey string
	argv  []string
}

func newCmdRun(f *Factory, runF func(runOptions) error) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [--homey NAME|ID] -- COMMAND [ARGS...]",
		Short: "Run a command with a fresh Homey token in its environment",
		Long: `Runs COMMAND with HOMEY_TOKEN (a fresh bearer for the selected Homey, or --homey),
HOMEY_URL (the base URL to reach it at) and HOMEY_ID in its environment; stdin, stdout and stderr
are its own, SIGINT and SIGTERM (and SIGHUP, SIGQUIT) are passed on to it, and its exit code is
homeytray's: 128+N when a signal N ended it. homeytray prints nothing of its own unless it fails
before COMMAND starts: then 4 means "sign in again", 1 another error, 127 COMMAND not found and
126 COMMAND not startable. A running tray hands out the token, as for token.

Use it instead of a token pasted into a file: in an MCP server entry, a cron job, a Node-RED
launcher.`,
		Example: `  homeytray run -- sh -c 'curl -s -H "Authorization: Bearer $HOMEY_TOKEN" "$HOMEY_URL/api/manager/devices/device"'
  homeytray run --homey Cabin -- node dashboard.js`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("run: a COMMAND is required, e.g. %s run -- env", f.prog())
			}
			o.argv = args
			if runF != nil {
				return runF(o)
			}
			return runRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().SetInterspersed(false) // flags after COMMAND are COMMAND's
	cmd.Flags().StringVar(&o.homey, "homey", "", "the `NAME|ID` of another Homey than the selected one")
	_ = cmd.RegisterFlagCompletionFunc("homey", f.completeHomeys)
	return cmd
}

func runRun(ctx context.Context, f *Factory, o runOptions) error {
	tok, err := runToken(ctx, f, o.homey)
	if err != nil {
		return err
	}
	cmd := exec.Command(o.argv[0], o.argv[1:]...)
	cmd.Env = append(withoutHomeyVars(os.Environ()),
		"HOMEY_TOKEN="+tok.Token, "HOMEY_URL="+tok.BaseURL, "HOMEY_ID="+tok.HomeyID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f.IO.In, f.IO.Out, f.IO.Err
	// Signals that arrive from here on go to the command; before Start they would be lost.
	stop := forwardSignals()
	defer stop(nil)
	if err := cmd.Start(); err != nil {
		return startError(o.argv[0], err)
	}
	stop(cmd.Process)
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return &exitCodeError{exitStatus(ee.ProcessState)}
	}
	return fmt.Errorf("run %s: %w", sanitize.Line(o.argv[0], 0), err)
}

// runToken is the token of `run`: from a running tray, else from the keychain (as `token`).
func runToken(ctx context.Context, f *Factory, nameOrID string) (tokenOut, error) {
	if ans, ok, err := f.askTray(ctx, ipc.Request{Op: ipc.OpToken, Homey: nameOrID}); ok {
		if err != nil {
			return tokenOut{}, err
		}
		return tokenOut{Token: ans.Token, HomeyID: ans.HomeyID, BaseURL: ans.BaseURL}, nil
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	b, err := f.bearer(cctx, nameOrID)
	if err != nil {
		return tokenOut{}, err
	}
	return bearerOut(b), nil
}

// withoutHomeyVars drops HOMEY_TOKEN, HOMEY_URL and HOMEY_ID from env: run sets them itself.
func withoutHomeyVars(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) { // Windows' variable names ignore case
		case "HOMEY_TOKEN", "HOMEY_URL", "HOMEY_ID":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runStartError says why COMMAND did not start, with the exit code a shell would give.
type runStartError struct {
	name string
	code int
	err  error
}

func (e *runStartError) Error() string {
	if e.code == exitNotFound {
		return fmt.Sprintf("run: %s: command not found", e.name)
	}
	return fmt.Sprintf("run: %s: cannot run it: %v", e.name, e.err)
}
func (e *runStartError) Unwrap() error { return e.err }

func startError(name string, err error) error {
	code := exitCannotExec
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = exitNotFound
	}
	return &runStartError{name: sanitize.Line(name, 0), code: code, err: err}
}
