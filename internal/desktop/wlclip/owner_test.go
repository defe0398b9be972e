//go:build linux

package wlclip

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
)

func open(t *testing.T, socket string) *Owner {
	t.Helper()
	o, err := Open(socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// wlPaste runs wl-paste against the socket. Debian's wl-clipboard 2.1 needs no window or
// focus for this: it uses data control too.
func wlPaste(t *testing.T, socket string, args ...string) (string, error) {
	t.Helper()
	// wl-paste wants an XDG_RUNTIME_DIR of its own for temp files.
	return desktoptest.Run(t, desktoptest.Env("WAYLAND_DISPLAY="+socket, "XDG_RUNTIME_DIR="+t.TempDir()),
		"", "wl-paste", append([]string{"--no-newline"}, args...)...)
}

func mustPaste(t *testing.T, socket, mime, want string) {
	t.Helper()
	var args []string
	if mime != "" {
		args = []string{"--type", mime}
	}
	got, err := wlPaste(t, socket, args...)
	if err != nil {
		t.Fatalf("paste %s: %v", mime, err)
	}
	if got != want {
		t.Fatalf("paste %s = %q, want %q", mime, got, want)
	}
}

func types(t *testing.T, socket string) []string {
	t.Helper()
	out, err := wlPaste(t, socket, "--list-types")
	if err != nil {
		t.Fatalf("list types: %v", err)
	}
	return strings.Fields(out)
}

func TestPlainAndSecretWithWlPaste(t *testing.T) {
	desktoptest.Require(t, "wl-paste")
	socket, _ := desktoptest.Sway(t)
	o := open(t, socket)
	// sway 1.7 (wlroots 0.15) predates ext-data-control.
	if o.protocol != ifaceWlrManager {
		t.Errorf("bound %s, want %s", o.protocol, ifaceWlrManager)
	}

	const text = "plain text – ünïcödé"
	if err := o.Copy(text, false); err != nil {
		t.Fatal(err)
	}
	if !o.Holds(text) {
		t.Fatal("Holds = false right after Copy")
	}
	for range 3 { // every paste is served
		mustPaste(t, socket, "", text)
	}
	for _, mime := range []string{"text/plain;charset=utf-8", "text/plain", "UTF8_STRING", "TEXT"} {
		mustPaste(t, socket, mime, text)
	}
	got := types(t, socket)
	if want := mimeTypes(false); !slices.Equal(got, want) {
		t.Errorf("types of plain text = %v, want %v", got, want)
	}

	const secret = "eyJhbGciOiJIUzI1NiJ9.dGVzdA.c2lnbmF0dXJl"
	if err := o.Copy(secret, true); err != nil {
		t.Fatal(err)
	}
	if o.Holds(text) || !o.Holds(secret) {
		t.Error("Holds does not follow the second copy")
	}
	mustPaste(t, socket, "", secret)
	mustPaste(t, socket, PasswordHint, "secret")
	if got := types(t, socket); !slices.Contains(got, PasswordHint) {
		t.Errorf("types of a secret = %v, without %s", got, PasswordHint)
	}

	if err := o.Copy("plain again", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "plain again")
	if got := types(t, socket); slices.Contains(got, PasswordHint) {
		t.Errorf("types after a plain copy = %v, still marked", got)
	}
}

func TestClearServesNothing(t *testing.T) {
	desktoptest.Require(t, "wl-paste")
	socket, _ := desktoptest.Sway(t)
	o := open(t, socket)
	if err := o.Copy("gone soon", true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "gone soon")
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	if o.Holds("gone soon") {
		t.Error("Holds after Clear")
	}
	if out, err := wlPaste(t, socket); err == nil {
		t.Errorf("paste after Clear = %q, want nothing", out)
	}
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := o.Copy("back", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "back")
}

func TestAnotherProgramTakesTheClipboard(t *testing.T) {
	desktoptest.Require(t, "wl-paste", "wl-copy")
	socket, _ := desktoptest.Sway(t)
	o := open(t, socket)
	if err := o.Copy("ours", true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "ours")

	// wl-copy --foreground serves until its selection is replaced. Debian's wl-clipboard 2.1
	// execs `cat` to read its input, so PATH must have it.
	cmd := exec.Command("wl-copy", "--foreground", "theirs")
	cmd.Env = desktoptest.Env("WAYLAND_DISPLAY="+socket, "XDG_RUNTIME_DIR="+t.TempDir())
	desktoptest.Start(t, "wl-copy", cmd)
	desktoptest.WaitFor(t, "wl-copy to hold the clipboard", func() bool {
		out, err := wlPaste(t, socket)
		return err == nil && out == "theirs"
	})
	desktoptest.WaitFor(t, "Holds to turn false", func() bool { return !o.Holds("ours") })
	o.mu.Lock()
	left := len(o.sources)
	o.mu.Unlock()
	if left != 0 {
		t.Errorf("%d sources kept after the selection was taken", left)
	}
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "theirs")
}

func TestCompositorGoneThenOpenAgain(t *testing.T) {
	desktoptest.Require(t, "wl-paste")
	socket, sway := desktoptest.Sway(t)
	o, err := Open(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Copy("before", false); err != nil {
		t.Fatal(err)
	}
	sway.Stop()
	desktoptest.WaitFor(t, "the owner to notice the compositor is gone", func() bool {
		return o.usable() != nil
	})
	if err := o.Copy("after", false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Copy with the compositor gone: %v, want ErrClosed", err)
	}
	if o.Holds("before") {
		t.Error("Holds with the compositor gone")
	}
	if err := o.Close(); err != nil {
		t.Errorf("Close with the compositor gone: %v", err)
	}

	socket2, _ := desktoptest.Sway(t)
	o2 := open(t, socket2)
	if err := o2.Copy("again", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket2, "", "again")
}

func TestCloseGivesTheClipboardUp(t *testing.T) {
	desktoptest.Require(t, "wl-paste")
	socket, _ := desktoptest.Sway(t)
	o, err := Open(socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Copy("closing", true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "closing")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if out, err := wlPaste(t, socket); err == nil {
		t.Errorf("paste after Close = %q, want nothing", out)
	}
	if err := o.Copy("x", false); !errors.Is(err, ErrClosed) {
		t.Errorf("Copy after Close: %v, want ErrClosed", err)
	}
}

// stuckReader starts a wl-paste that writes into a pipe nobody reads: it blocks once the pipe
// is full, and so does our write to it, for a text of 1 MiB.
func stuckReader(t *testing.T, socket string) *desktoptest.Daemon {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cmd := exec.Command("wl-paste", "--no-newline")
	cmd.Env = desktoptest.Env("WAYLAND_DISPLAY="+socket, "XDG_RUNTIME_DIR="+t.TempDir())
	cmd.Stdout = w
	d := desktoptest.Start(t, "stuck-wl-paste", cmd)
	w.Close()
	return d
}

const big = "0123456789abcdef" // ×65536: 1 MiB, more than two pipes hold

// A reader that stops reading holds up neither the connection nor other pastes.
func TestStuckReader(t *testing.T) {
	desktoptest.Require(t, "wl-paste")
	socket, _ := desktoptest.Sway(t)
	o := open(t, socket)
	o.mu.Lock()
	o.pasteTime = 2 * desktoptest.Patience // longer than this test waits for anything
	o.mu.Unlock()
	text := strings.Repeat(big, 1<<16)
	if err := o.Copy(text, false); err != nil {
		t.Fatal(err)
	}
	stuck := stuckReader(t, socket)
	desktoptest.WaitFor(t, "the stuck reader to ask for the text", func() bool { return o.written.Load() > 0 })
	got, err := wlPaste(t, socket)
	if err != nil || got != text {
		t.Fatalf("paste beside a stuck reader: %d bytes, %v", len(got), err)
	}
	if err := o.Copy("small", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, socket, "", "small")
	// The stuck write has gone on all this time: it cannot end while wl-paste is blocked.
	if o.busyWriters() == 0 {
		t.Fatal("the write to the stuck reader ended while it was blocked")
	}
	// Once the stuck reader is gone, the write to it ends (goleak checks the goroutine too).
	stuck.Stop()
	desktoptest.WaitFor(t, "the write to the gone reader to end", func() bool { return o.busyWriters() == 0 })
}

// A reader that never reads is given up on after the paste timeout.
func TestStuckReaderIsGivenUp(t *testing.T) {
	desktoptest.Require(t, "wl-paste")
	socket, _ := desktoptest.Sway(t)
	o := open(t, socket)
	o.mu.Lock()
	o.pasteTime = 50 * time.Millisecond
	o.mu.Unlock()
	if err := o.Copy(strings.Repeat(big, 1<<16), false); err != nil {
		t.Fatal(err)
	}
	stuck := stuckReader(t, socket)
	desktoptest.WaitFor(t, "the stuck reader to ask for the text", func() bool { return o.written.Load() > 0 })
	desktoptest.WaitFor(t, "the write to be given up", func() bool { return o.busyWriters() == 0 })
	if stuck.Exited() {
		t.Fatalf("the stuck reader ended instead:\n%s", stuck.Output())
	}
}

// Many copies and roundtrips reuse object ids (delete_id) rather than growing them.
func TestIDsAreReused(t *testing.T) {
	socket, _ := desktoptest.Sway(t)
	o := open(t, socket)
	for i := range 200 {
		if err := o.Copy("copy "+strconv.Itoa(i), i%2 == 0); err != nil {
			t.Fatal(err)
		}
		if !o.Holds("copy " + strconv.Itoa(i)) {
			t.Fatalf("Holds after copy %d", i)
		}
	}
	o.mu.Lock()
	next, objects := o.next, len(o.objects)
	o.mu.Unlock()
	// display, registry, seat, manager, device, the current source and callback, and a few
	// whose delete_id is on its way.
	if next > 40 || objects > 20 {
		t.Errorf("after 200 copies: next id %d, %d objects known", next, objects)
	}
}

// weston (its headless backend) offers no data control, as GNOME's Mutter does not.
func TestNoDataControl(t *testing.T) {
	socket, _ := desktoptest.Weston(t)
	o, err := Open(socket)
	if o != nil {
		o.Close()
	}
	if !errors.Is(err, ErrNoDataControl) {
		t.Fatalf("Open on weston: %v, want ErrNoDataControl", err)
	}
}

func TestNoCompositor(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "wayland-none"))
	if err == nil {
		t.Fatal("Open of a missing socket: no error")
	}
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	if _, err := Open(""); !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("Open without XDG_RUNTIME_DIR: %v, want ErrNoDisplay", err)
	}
}
