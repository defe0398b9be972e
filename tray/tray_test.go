package tray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// captureNotes replaces sendNotification for one test.
type captureNotes struct {
	mu    sync.Mutex
	notes []string // app|title|body
	err   error
}

func useCaptureNotes(t *testing.T) *captureNotes {
	t.Helper()
	c := &captureNotes{}
	old := sendNotification
	t.Cleanup(func() { sendNotification = old })
	sendNotification = func(app, title, body string, _ []byte) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err != nil {
			return c.err
		}
		c.notes = append(c.notes, app+"|"+title+"|"+body)
		return nil
	}
	return c
}

func (c *captureNotes) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.notes...)
}

// logLines collects Logf output.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// bearerCore is a Core whose Bearer returns a secret token (or an error).
type bearerCore struct {
	*refreshCore
	token string
	err   error
}

func (c *bearerCore) Bearer(context.Context, string) (*homey.Bearer, error) {
	if c.err != nil {
		return nil, c.err
	}
	return &homey.Bearer{Token: c.token, HomeyID: "h1", ConfirmedAt: time.Date(2030, 1, 1, 14, 5, 0, 0, time.Local)}, nil
}

func testApp(t *testing.T, core Core, logs *logLines) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return newApp(ctx, cancel, Options{Core: core, Title: "homeytray (test)", ClipboardClear: time.Minute, Logf: logs.logf})
}

func TestCopyBearer(t *testing.T) {
	cb := useFakeClipboard(t)
	notes := useCaptureNotes(t)
	logs := &logLines{}
	a := testApp(t, &bearerCore{refreshCore: newRefreshCore(), token: secretToken}, logs)
	a.homeys([]homey.Homey{{ID: "h1", Name: "Home"}}, "h1")

	a.copyBearer()
	if text, secret, _ := cb.get(); text != secretToken || !secret {
		t.Fatalf("clipboard %q (secret %v), want the bearer marked secret", text, secret)
	}
	want := "homeytray (test)|Bearer token copied|Confirmed valid at 14:05 by Home. The clipboard is cleared in 60 s."
	if got := notes.all(); len(got) != 1 || got[0] != want {
		t.Errorf("notes %q, want %q", got, want)
	}
	a.onExit() // Quit clears it
	if text, _, _ := cb.get(); text != "" {
		t.Errorf("clipboard %q after Quit, want empty", text)
	}
	for _, s := range append(notes.all(), logs.all()...) {
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
		{"no clipboard tool", nil, errNoClipboard, "No clipboard tool found: install xclip, xsel or wl-clipboard, then restart the tray."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := useFakeClipboard(t)
			cb.failing = tt.clipErr
			notes := useCaptureNotes(t)
			logs := &logLines{}
			a := testApp(t, &bearerCore{refreshCore: newRefreshCore(), token: secretToken, err: tt.coreErr}, logs)
			a.copyBearer()
			want := "homeytray (test)|" + titleCopyFailed + "|" + tt.wantBody
			if got := notes.all(); len(got) != 1 || got[0] != want {
				t.Errorf("notes %q, want %q", got, want)
			}
			if got := logs.all(); len(got) != 1 || !strings.HasPrefix(got[0], titleCopyFailed+": ") {
				t.Errorf("log %q, want one line about the failure", got)
			}
		})
	}
}

func TestCopyDevice(t *testing.T) {
	cb := useFakeClipboard(t)
	notes := useCaptureNotes(t)
	a := testApp(t, newRefreshCore(), &logLines{})
	a.copyDevice("0b1c2d3e-4f50", "Lamp")
	if text, secret, _ := cb.get(); text != "0b1c2d3e-4f50" || secret {
		t.Errorf("clipboard %q (secret %v), want the id, plain", text, secret)
	}
	if got := notes.all(); len(got) != 1 || got[0] != "homeytray (test)|Device ID copied|Lamp" {
		t.Errorf("notes %q", got)
	}
}

func TestNotifierLogsOnce(t *testing.T) {
	notes := useCaptureNotes(t)
	notes.err = errors.New("beeep: dbus: The name org.freedesktop.Notifications was not provided by any .service files")
	logs := &logLines{}
	n := &notifier{app: "homeytray", logf: logs.logf}
	for range 3 {
		n.show(note{"t", "b"})
	}
	if got := logs.all(); len(got) != 1 || !strings.Contains(got[0], "org.freedesktop.Notifications") {
		t.Errorf("log %q, want the first failure once", got)
	}
}

func TestViewFromSink(t *testing.T) {
	a := testApp(t, newRefreshCore(), &logLines{})
	a.signedIn(Account{Name: "Ada"})
	a.homeys([]homey.Homey{{ID: "h1", Name: "Home"}}, "h1")
	if !a.v.devLoading || a.v.phase != phaseSignedIn {
		t.Fatalf("view %+v: want signed in, devices loading", a.v)
	}
	a.devices([]deviceGroup{{zone: "Kitchen", zoneID: "z", devices: []deviceRef{{"d1", "Lamp", ""}}}}, nil)
	a.devices(nil, context.DeadlineExceeded) // a failed refresh keeps the last good list
	if len(a.v.devices) != 1 || a.v.devErr != nil || a.v.devLoading {
		t.Errorf("view %+v: want the last good list", a.v)
	}
	a.attention(auth.ErrSignInGone)
	a.healthy()
	if a.v.phase != phaseSignedIn {
		t.Errorf("phase %v after healthy, want signed in", a.v.phase)
	}
	a.signedOut()
	if a.v.phase != phaseSignedOut || a.v.selected != "" || a.v.homeys != nil {
		t.Errorf("view %+v after sign-out, want empty", a.v)
	}
}

func TestRunRefusesSecondTray(t *testing.T) {
	path := testSocket(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	// The first tray serves, as a real one does: on Windows a second tray is found by its
	// answer (Wine, unlike Windows, lets a second listener create the same pipe name).
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, func(context.Context, Request) Answer { return Answer{PID: 1} }) }()
	defer func() { cancel(); <-served }()
	// Run must return before it starts systray (which would take over this process).
	err = Run(context.Background(), Options{Core: newRefreshCore(), Socket: path})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("Run: %v, want ErrAlreadyRunning", err)
	}
}

func TestImageData(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	img.Set(1, 0, color.NRGBA{B: 255, A: 128})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	got, ok := imageData(buf.Bytes())
	want := busImage{Width: 2, Height: 1, Rowstride: 8, HasAlpha: true, BitsPerSample: 8, Channels: 4,
		Data: []byte{255, 0, 0, 255, 0, 0, 255, 128}}
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("imageData = %v, %v; want %v", got, ok, want)
	}
	if _, ok := imageData([]byte("not a png")); ok {
		t.Error("imageData accepted junk")
	}
	if _, ok := imageData(nil); ok {
		t.Error("imageData accepted nothing")
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
	if _, ok := imageData(notifyIcon()); !ok {
		t.Error("the notification icon is not a PNG of at most 256×256")
	}
}
