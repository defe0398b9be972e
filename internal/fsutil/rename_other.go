//go:build !windows

package fsutil

import "os"

// replaceFile renames from over to: rename(2) replaces the file even while other processes have
// it open (Windows needs more, rename_windows.go).
func replaceFile(from, to string) error { return os.Rename(from, to) }
