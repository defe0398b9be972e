package cli

import (
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/windows"
)

// AttachConsole lets the command-line face print on Windows. The binary is built with
// -H=windowsgui so that the tray opens no console window; such a process starts without a
// console, and what it writes to stdout and stderr is lost. When started from a terminal with a
// command, borrow the terminal's console. Handles a script passed in (pipes, files) are kept.
func AttachConsole(args []string) {
	// cobra refuses to run when Explorer started the process ("This is a command line tool…"),
	// but a double click and the Run key (autostart) start the tray exactly that way. Found by
	// the Wine test (.ci/wine.sh), where `explorer /desktop` starts the tray.
	cobra.MousetrapHelpText = ""
	if len(args) == 0 || os.Stdout.Fd() != 0 && os.Stdout.Fd() != uintptr(windows.InvalidHandle) {
		return
	}
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS, (DWORD)-1
	proc := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	if r, _, _ := proc.Call(uintptr(attachParentProcess)); r == 0 {
		return // started from Explorer or a shortcut: there is no console to borrow
	}
	if fl, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
		os.Stdout, os.Stderr = fl, fl
	}
}
