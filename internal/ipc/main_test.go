package ipc

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a refresher, a socket
// server or a clipboard clear timer that outlives its tray would keep the process busy.
// go-winio's I/O completion goroutine (Windows: the named pipe) lives as long as the process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/Microsoft/go-winio.ioCompletionProcessor"))
}
