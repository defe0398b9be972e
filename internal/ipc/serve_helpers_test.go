package ipc

import (
	"context"
	"testing"
)

// serveAt listens on path and serves h until the test ends (or stop is called).
func serveAt(t *testing.T, path string, h Handler) (stop func()) {
	t.Helper()
	l, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
