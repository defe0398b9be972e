package cli

import (
	"errors"
	"fmt"

	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// usageErrorf is a mistake in the command line: exit 2.
func usageErrorf(format string, args ...any) error { return failure.Usagef(format, args...) }

// Errors that carry only an exit code: the command already said what there was to say.
var (
	errSilent     = errors.New("silent failure")        // exit 1
	errSilentAuth = errors.New("silent: not signed in") // exit 4
	errSilentOK   = errors.New("silent: done")          // exit 0 (e.g. -h)
)

// exitCodeError ends the run with code and says nothing: `run` passes on its command's code.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Exit codes, the gh convention.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	exitAuth  = 4
)

// exit prints err (one or two lines: what happened, then what fixes it) and picks the exit code.
// The words come from the failure's kind (internal/failure), the same for a failure that
// happened here and one that a running tray answered with.
func (f *Factory) exit(err error) int {
	var (
		xe *exitCodeError
		re *runStartError
	)
	switch {
	case err == nil, errors.Is(err, errSilentOK):
		return exitOK
	case errors.As(err, &xe):
		return xe.code // `run`: the command's own exit code, nothing said
	case errors.As(err, &re):
		f.say(re.Error(), "")
		return re.code
	case errors.Is(err, errSilent):
		return exitError
	case errors.Is(err, errSilentAuth):
		return exitAuth
	}
	var fl *failure.Failure
	if !errors.As(err, &fl) { // a tray's answer is a Failure already
		fl = failure.Of(err)
	}
	f.say(fl.Words(f.prog()))
	return fl.ExitCode()
}

// say prints a failure's line and its fix on stderr. Errors may quote names and answers from
// the network: one clean line each.
func (f *Factory) say(msg, fix string) {
	fmt.Fprintf(f.IO.Err, "homeytray: %s\n", sanitize.Line(msg, 0))
	if fix != "" {
		fmt.Fprintln(f.IO.Err, sanitize.Line(fix, 0))
	}
}
