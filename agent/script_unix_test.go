//go:build !windows

package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/internal/ipc"
)

// The script handler behind a real socket: what `homeytray token` gets.
func TestScriptOverSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	core := newFakeCore()
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ipc.Serve(ctx, l, scriptHandler(core, nil)) }()
	defer func() { cancel(); <-done }()
	ask := func(t *testing.T, path string, r ipc.Request) (ipc.Answer, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return ipc.Ask(ctx, path, r)
	}
	a, err := ask(t, path, ipc.Request{Op: "token", Homey: "h-home"})
	if err != nil || a.Token != "fake-bearer-h-home" || a.HomeyID != "h-home" {
		t.Fatalf("token: %+v, %v", a, err)
	}
	a, err = ask(t, path, ipc.Request{Op: "token", Cloud: true})
	if err != nil || a.ExpiresAt == nil || !a.ExpiresAt.Equal(core.expiry) {
		t.Fatalf("cloud token: %+v, %v", a, err)
	}
	core.err = fmt.Errorf("refresh: %w", auth.ErrSignInGone)
	a, err = ask(t, path, ipc.Request{Op: "token"})
	if err != nil || a.Failure == nil || !a.Failure.SignIn() || a.Token != "" {
		t.Fatalf("signed out: %+v, %v; want SignIn and an error", a, err)
	}
}
