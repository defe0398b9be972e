package agent

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

var pipeSeq atomic.Int32

// testSocket is a socket path of the test's own: on Windows a pipe name of this test process
// alone (pipe names are machine-wide; a file path is an invalid pipe name).
func testSocket(t *testing.T) string {
	return fmt.Sprintf(`\\.\pipe\homeytray-agent-test-%d-%d`, os.Getpid(), pipeSeq.Add(1))
}
