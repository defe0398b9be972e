package cli

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// detachAttr starts the browser without a console of its own and outside our process group, so
// closing our console window does not close it.
func detachAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS}
}
