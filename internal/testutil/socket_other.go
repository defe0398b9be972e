//go:build !windows

package testutil

import (
	"path/filepath"
	"testing"
)

// SocketPath is a script-socket path of the test's own: a file in a temp folder (on Windows a
// pipe name, socket_windows.go).
func SocketPath(t testing.TB) string { return filepath.Join(t.TempDir(), "homeytray.sock") }
