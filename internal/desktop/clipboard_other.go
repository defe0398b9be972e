//go:build !linux && !freebsd && !netbsd && !openbsd && !dragonfly && !darwin && !windows

package desktop

import "github.com/homeytray/homeytray/internal/failure"

// System is no clipboard: homeytray knows none on this platform.
func System() Access {
	none := func() error { return failure.ErrNoClipboard }
	return Access{
		Write: func(string, bool) error { return none() },
		Holds: func(string) bool { return false },
		Clear: none,
	}
}

// ClipboardMissing reports whether there is no clipboard: here there is none.
func ClipboardMissing() bool { return true }
