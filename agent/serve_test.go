package agent

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/ipc"
	"github.com/homeytray/homeytray/internal/testutil"
)

// syncCore makes fakeCore safe for the refresher and the socket calling it at once.
type syncCore struct {
	mu sync.Mutex
	f  *fakeCore
}

func (c *syncCore) lock() func() { c.mu.Lock(); return c.mu.Unlock }

func (c *syncCore) Account(ctx context.Context) (Account, error) {
	defer c.lock()()
	return c.f.Account(ctx)
}
func (c *syncCore) AccessToken(ctx context.Context) (*oauth2.Token, error) {
	defer c.lock()()
	return c.f.AccessToken(ctx)
}
func (c *syncCore) Bearer(ctx context.Context, id string) (*homey.Bearer, error) {
	defer c.lock()()
	return c.f.Bearer(ctx, id)
}
func (c *syncCore) Homeys(ctx context.Context) ([]homey.Homey, string, error) {
	defer c.lock()()
	return c.f.Homeys(ctx)
}
func (c *syncCore) Select(id string) error { defer c.lock()(); return c.f.Select(id) }
func (c *syncCore) Devices(ctx context.Context, id string) (map[string]homey.Device, map[string]homey.Zone, error) {
	defer c.lock()()
	return c.f.Devices(ctx, id)
}
func (c *syncCore) Login(ctx context.Context) error  { defer c.lock()(); return c.f.Login(ctx) }
func (c *syncCore) Logout(ctx context.Context) error { defer c.lock()(); return c.f.Logout(ctx) }
func (c *syncCore) Reload() error                    { defer c.lock()(); return c.f.Reload() }
func (c *syncCore) SettingsChanged() bool            { return false }

func (c *syncCore) bearerCalls() int { defer c.lock()(); return len(c.f.bearerOf) }

// TestServe: the refresh runs (the selected Homey's bearer is fetched ahead), the socket
// answers token and ping from this process, a second serve or tray is refused by the same
// lock, the log says who is signed in and which Homey is selected and never a token, and
// cancelling ctx ends it with nil and frees the socket.
func TestServe(t *testing.T) {
	core := &syncCore{f: newFakeCore()}
	sock := testutil.SocketPath(t) // a named pipe on Windows
	var log testutil.Lines
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, core, sock, log.Logf) }()

	waitFor(t, func() bool { return core.bearerCalls() > 0 }, "the background refresh to fetch the bearer")
	ping, err := ipc.Ask(t.Context(), sock, ipc.Request{Op: ipc.OpPing})
	if err != nil || ping.PID != os.Getpid() {
		t.Fatalf("ping = %+v, %v; want this process's pid", ping, err)
	}
	tok, err := ipc.Ask(t.Context(), sock, ipc.Request{Op: ipc.OpToken})
	if err != nil || tok.Token != "fake-bearer-h-home" {
		t.Fatalf("token = %+v, %v", tok, err)
	}
	if err := Serve(t.Context(), core, sock, nil); !errors.Is(err, ipc.ErrAlreadyRunning) {
		t.Fatalf("second Serve = %v, want ErrAlreadyRunning", err)
	}
	waitFor(t, func() bool { return len(log.All()) >= 3 }, "three log lines")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v after cancel, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	lines := log.All()
	for _, want := range []string{"serving scripts on " + sock, "signed in as Ada", "selected Homey: Home (h-home)"} {
		if !slices.Contains(lines, want) {
			t.Errorf("log %q lacks %q", lines, want)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "fake-") {
			t.Errorf("log line %q holds a token", l)
		}
	}
	if _, err := ipc.Ask(t.Context(), sock, ipc.Request{Op: ipc.OpPing}); !errors.Is(err, ipc.ErrNoTray) {
		t.Errorf("ping after stop = %v, want ErrNoTray", err)
	}
}

// TestServeLog: each change of state is said once; an attention incident's note, which
// points to the tray menu, is not repeated.
func TestServeLog(t *testing.T) {
	s := &logSink{}
	var log testutil.Lines
	s.logf = log.Logf
	s.SignedOut()
	s.SignedOut()
	locked := failure.Of(errors.New("keychain locked"))
	s.Attention(locked)
	s.Attention(locked)
	s.Incident(Incident{Failure: locked, NeedsUser: true})
	s.Healthy()
	want := []string{"not signed in: run 'homeytray login'", "sign-in needs attention: keychain locked", "the sign-in works again"}
	if got := log.All(); !slices.Equal(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
