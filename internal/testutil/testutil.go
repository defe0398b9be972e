// Package testutil holds small helpers shared by the tests of several packages. It imports
// testing: production code never imports it.
package testutil

import (
	"fmt"
	"sync"
)

// Lines collects the lines of a logf, safe for concurrent use.
type Lines struct {
	mu    sync.Mutex
	lines []string
}

// Logf adds one line.
func (l *Lines) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// All is the lines so far.
func (l *Lines) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}
