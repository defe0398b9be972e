//go:build !windows

package fsutil

import "os"

// ReadFile reads path: on Linux and macOS a reader never collides with a replace by
// [WriteFileAtomic] (rename(2) swaps the directory entry; Windows needs more, read_windows.go).
func ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }
