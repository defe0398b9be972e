//go:build !windows

package main

// attachConsole is needed only on Windows, where the GUI build starts without a console.
func attachConsole([]string) {}
