//go:build !windows

package cli

// AttachConsole is needed only on Windows, where the GUI build starts without a console.
func AttachConsole([]string) {}
