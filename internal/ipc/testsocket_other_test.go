//go:build !windows

package ipc

import (
	"path/filepath"
	"testing"
)

// testSocket is a socket path of the test's own: a file in a temp folder (a named pipe on
// Windows, socket_windows_test.go).
func testSocket(t *testing.T) string { return filepath.Join(t.TempDir(), "homeytray.sock") }
