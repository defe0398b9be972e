//go:build !windows

package cli

import "syscall"

// detachAttr starts the browser in its own session, so a Ctrl-C meant for homeytray does not
// reach it and it outlives us.
func detachAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
