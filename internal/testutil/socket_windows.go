package testutil

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

var pipeSeq atomic.Int32

// SocketPath is a script-socket path of the test's own: on Windows a pipe name of this test
// process alone (pipe names are machine-wide; a file path is an invalid pipe name).
func SocketPath(testing.TB) string {
	return fmt.Sprintf(`\\.\pipe\homeytray-test-%d-%d`, os.Getpid(), pipeSeq.Add(1))
}
