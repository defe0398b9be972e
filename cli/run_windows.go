//go:build windows

package cli

import (
	"os"
	"os/signal"
)

// Windows has no signals to send to another process: a Ctrl-C or Ctrl-Break at the console
// reaches every process attached to it, the command included, and os.Process.Signal can only
// kill. So homeytray only keeps itself alive (ignores the interrupt) while the command decides
// what to do with it, and returns the command's exit code.

// forwardSignals starts ignoring the console's interrupt while the command runs; the returned
// function, called with nil, stops that (with a process it does nothing: the console already
// delivered the interrupt to it).
func forwardSignals() func(p *os.Process) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	stopped := false
	return func(p *os.Process) {
		if p == nil && !stopped {
			stopped = true
			signal.Stop(ch)
		}
	}
}

// exitStatus is the command's exit code.
func exitStatus(ps *os.ProcessState) int { return ps.ExitCode() }
