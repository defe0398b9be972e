//go:build linux

package x11clip

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test ends its goroutines: the event loop, the pastes being written, the daemons' waits.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
