//go:build !windows

package agent

import (
	"path/filepath"
	"testing"
)

// testSocket is a socket path of the test's own: a file in a temp folder (a pipe name on
// Windows, testsocket_windows_test.go).
func testSocket(t *testing.T) string { return filepath.Join(t.TempDir(), "homeytray.sock") }
