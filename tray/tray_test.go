package tray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/agent"
	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/desktop"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/ipc"
	"github.com/homeytray/homeytray/internal/testutil"
)

// captureNotes records the notifications of one test's tray.
type captureNotes struct {
	mu    sync.Mutex
	notes []string // app|title|body
	err   error
}

func (c *captureNotes) send(app, title, body string, _ []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.notes = append(c.notes, app+"|"+title+"|"+body)
	return nil
}

func (c *captureNotes) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.notes...)
}

// fakeClipboard is a clipboard of the test's own.
type fakeClipboard struct {
	mu      sync.Mutex
	text    string
	secret  bool
	failing error
}

func (f *fakeClipboard) access() desktop.Access {
	return desktop.Access{
		Write: func(s string, secret bool) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.failing != nil {
				return f.failing
			}
			f.text, f.secret = s, secret
			return nil
		},
		Holds: func(s string) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.text == s
		},
		Clear: func() error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.text = ""
			return nil
		},
	}
}

func (f *fakeClipboard) get() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text, f.secret
}

// testCore is a Core whose Bearer returns a secret token (or an error).
type testCore struct {
	token string
	err   error
}

func (c *testCore) Account(context.Context) (agent.Account, error) {
	return agent.Account{Name: "Ada"}, nil
}
func (c *testCore) AccessToken(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}, nil
}
func (c *testCore) Bearer(context.Context, string) (*homey.Bearer, error) {
	if c.err != nil {
		return nil, c.err
	}
	return &homey.Bearer{Token: c.token, HomeyID: "h1", ConfirmedAt: time.Date(2030, 1, 1, 14, 5, 0, 0, time.Local)}, nil
}
func (c *testCore) Homeys(context.Context) ([]homey.Homey, string, error) {
	return []homey.Homey{{ID: "h1", Name: "Home"}}, "h1", nil
}
func (c *testCore) Select(string) error { return nil }
func (c *testCore) Devices(context.Context, string) (map[string]homey.Device, map[string]homey.Zone, error) {
	return nil, nil, nil
}
func (c *testCore) Login(context.Context) error  { return nil }
func (c *testCore) Logout(context.Context) error { return nil }
func (c *testCore) Reload() error                { return nil }
func (c *testCore) SettingsChanged() bool        { return false }

// testApp is a tray app (not running systray) over core, with its own clipboard and notifications.
func testApp(t *testing.T, core agent.Core, logs *testutil.Lines, clip *fakeClipboard, notes *captureNotes) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return newApp(ctx, cancel, Options{Core: core, Title: "homeytray (test)", ClipboardClear: time.Minute, Logf: logs.Logf,
		Clipboard: clip.access(), Notify: notes.send})
}

func TestCopyBearer(t *testing.T) {
	cb, notes, logs := &fakeClipboard{}, &captureNotes{}, &testutil.Lines{}
	a := testApp(t, &testCore{token: secretToken}, logs, cb, notes)
	sink{a}.Homeys([]homey.Homey{{ID: "h1", Name: "Home"}}, "h1")

	a.copyBearer()
	if text, secret := cb.get(); text != secretToken || !secret {
		t.Fatalf("clipboard %q (secret %v), want the bearer marked secret", text, secret)
	}
	want := "homeytray (test)|Bearer token copied|Confirmed valid at 14:05 by Home. The clipboard is cleared in 60 s."
	if got := notes.all(); len(got) != 1 || got[0] != want {
		t.Errorf("notes %q, want %q", got, want)
	}
	a.onExit() // Quit clears it
	if text, _ := cb.get(); text != "" {
		t.Errorf("clipboard %q after Quit, want empty", text)
	}
	for _, s := range append(notes.all(), logs.All()...) {
		if strings.Contains(s, secretToken) {
			t.Errorf("a secret in %q", s)
		}
	}
}

func TestCopyBearerFails(t *testing.T) {
	tests := []struct {
		name     string
		coreErr  error
		clipErr  error
		wantBody string
	}{
		{"sign-in gone", fmt.Errorf("bearer: %w", auth.ErrSignInGone), nil, "The sign-in is no longer valid: log in again."},
		{"no clipboard", nil, failure.ErrNoClipboard, "No display to own a clipboard on: start the tray inside your desktop session (GNOME on Wayland without XWayland also needs wl-clipboard)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, notes, logs := &fakeClipboard{failing: tt.clipErr}, &captureNotes{}, &testutil.Lines{}
			a := testApp(t, &testCore{token: secretToken, err: tt.coreErr}, logs, cb, notes)
			a.copyBearer()
			want := "homeytray (test)|" + titleCopyFailed + "|" + tt.wantBody
			if got := notes.all(); len(got) != 1 || got[0] != want {
				t.Errorf("notes %q, want %q", got, want)
			}
			if got := logs.All(); len(got) != 1 || !strings.HasPrefix(got[0], titleCopyFailed+": ") {
				t.Errorf("log %q, want one line about the failure", got)
			}
		})
	}
}

func TestCopyDevice(t *testing.T) {
	cb, notes := &fakeClipboard{}, &captureNotes{}
	a := testApp(t, &testCore{}, &testutil.Lines{}, cb, notes)
	a.copyDevice("0b1c2d3e-4f50", "Lamp")
	if text, secret := cb.get(); text != "0b1c2d3e-4f50" || secret {
		t.Errorf("clipboard %q (secret %v), want the id, plain", text, secret)
	}
	if got := notes.all(); len(got) != 1 || got[0] != "homeytray (test)|Device ID copied|Lamp" {
		t.Errorf("notes %q", got)
	}
}

func TestViewFromSink(t *testing.T) {
	a := testApp(t, &testCore{}, &testutil.Lines{}, &fakeClipboard{}, &captureNotes{})
	sk := sink{a}
	sk.SignedIn(agent.Account{Name: "Ada"})
	sk.Homeys([]homey.Homey{{ID: "h1", Name: "Home"}}, "h1")
	if !a.v.devLoading || a.v.phase != phaseSignedIn {
		t.Fatalf("view %+v: want signed in, devices loading", a.v)
	}
	sk.Devices(map[string]homey.Device{"d1": {ID: "d1", Name: "Lamp", Zone: "z"}}, map[string]homey.Zone{"z": {ID: "z", Name: "Kitchen"}}, nil)
	sk.Devices(nil, nil, context.DeadlineExceeded) // a failed refresh keeps the last good list
	if len(a.v.devices) != 1 || a.v.devErr != nil || a.v.devLoading {
		t.Errorf("view %+v: want the last good list", a.v)
	}
	sk.Attention(failure.Of(auth.ErrSignInGone))
	sk.Healthy()
	if a.v.phase != phaseSignedIn {
		t.Errorf("phase %v after healthy, want signed in", a.v.phase)
	}
	sk.SignedOut()
	if a.v.phase != phaseSignedOut || a.v.selected != "" || a.v.homeys != nil {
		t.Errorf("view %+v after sign-out, want empty", a.v)
	}
}

func TestRunRefusesSecondTray(t *testing.T) {
	path := testutil.SocketPath(t)
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	// The first tray serves, as a real one does: on Windows a second tray is found by its
	// answer (Wine, unlike Windows, lets a second listener create the same pipe name).
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- ipc.Serve(ctx, l, func(context.Context, ipc.Request) ipc.Answer { return ipc.Answer{PID: 1} })
	}()
	defer func() { cancel(); <-served }()
	// Run must return before it starts systray (which would take over this process).
	err = Run(context.Background(), Options{Core: &testCore{}, Socket: path})
	if !errors.Is(err, ipc.ErrAlreadyRunning) {
		t.Fatalf("Run: %v, want ErrAlreadyRunning", err)
	}
}

func TestIconFor(t *testing.T) {
	ok, attention, out := iconFor(phaseSignedIn), iconFor(phaseAttention), iconFor(phaseSignedOut)
	if len(ok) == 0 || len(attention) == 0 || len(out) == 0 {
		t.Fatal("a phase has no icon")
	}
	if bytes.Equal(ok, attention) || bytes.Equal(ok, out) || bytes.Equal(attention, out) {
		t.Error("two phases share an icon")
	}
	if !bytes.Equal(iconFor(phaseLoading), out) {
		t.Error("while loading the tray should claim nothing (the signed-out icon)")
	}
	if img, err := png.Decode(bytes.NewReader(notifyIcon())); err != nil || img.Bounds().Dx() > 256 || img.Bounds().Dy() > 256 {
		t.Error("the notification icon is not a PNG of at most 256×256")
	}
}
