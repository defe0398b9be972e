//go:build !(linux || freebsd || openbsd || netbsd)

package desktop

import "errors"

// ErrNoSession: there is no desktop session to show the tray on.
var ErrNoSession = errors.New("no desktop session here")

// Session is nil: on Windows and macOS the tray talks to the desktop through the OS itself, which
// a logged-in user always has.
func Session() error { return nil }
