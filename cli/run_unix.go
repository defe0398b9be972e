//go:build !windows

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// Unix: a signal sent to homeytray (kill, a service manager stopping it, a terminal's hang-up)
// is sent on to the command, which decides what to do with it; homeytray itself keeps waiting
// for the command and returns its exit status. A Ctrl-C at a terminal reaches both already (they
// share the foreground process group), so the command may see SIGINT twice; the usual handlers
// treat that as one interrupt.

// forwardSignals starts catching the signals `run` passes on. Call the returned function with
// the started command's process to forward to it from then on, and with nil to stop.
func forwardSignals() func(p *os.Process) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	procs := make(chan *os.Process, 1)
	done := make(chan struct{})
	go func() {
		var p *os.Process
		var pending []os.Signal
		for {
			select {
			case <-done:
				return
			case p = <-procs:
				for _, s := range pending {
					_ = p.Signal(s)
				}
				pending = nil
			case s := <-ch:
				if p == nil {
					pending = append(pending, s)
					continue
				}
				_ = p.Signal(s)
			}
		}
	}()
	stopped := false
	return func(p *os.Process) {
		if p != nil {
			procs <- p
			return
		}
		if !stopped {
			stopped = true
			signal.Stop(ch)
			close(done)
		}
	}
}

// exitStatus is the command's exit code, or 128+N when signal N ended it (as shells report it).
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
