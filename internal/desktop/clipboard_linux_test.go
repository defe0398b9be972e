package desktop

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
	"github.com/homeytray/homeytray/internal/desktop/wlclip"
	"github.com/homeytray/homeytray/internal/desktop/x11clip"
	"github.com/homeytray/homeytray/internal/failure"
)

// The clipboard of Linux desktops, against the real programs: a private Xvfb, headless sway
// (data control), headless weston (none, as GNOME), with xclip and wl-paste as the programs
// that paste. Each test has its own display server, so they disturb nothing else.

const hint = "x-kde-passwordManagerHint"

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "secret-" + hex.EncodeToString(b)
}

// systemOn is System with only the given display variables of the two set.
func systemOn(t *testing.T, wayland, x11 string) Access {
	t.Helper()
	t.Setenv("WAYLAND_DISPLAY", wayland)
	t.Setenv("DISPLAY", x11)
	a := System()
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// xclipOut pastes the X clipboard of display as target with xclip.
func xclipOut(t *testing.T, display, target string) (string, error) {
	t.Helper()
	desktoptest.Require(t, "xclip")
	args := []string{"-o", "-selection", "clipboard"}
	if target != "" {
		args = append(args, "-t", target)
	}
	return desktoptest.Run(t, desktoptest.Env("DISPLAY="+display), "", "xclip", args...)
}

func mustXclip(t *testing.T, display, target, want string) {
	t.Helper()
	got, err := xclipOut(t, display, target)
	if err != nil {
		t.Fatalf("xclip -o -t %s: %v", target, err)
	}
	if got != want {
		t.Fatalf("xclip -o -t %s = %d bytes, want %d (%q…)", target, len(got), len(want), want[:min(len(want), 7)])
	}
}

// wlPaste runs wl-paste against the Wayland socket.
func wlPaste(t *testing.T, socket string, args ...string) (string, error) {
	t.Helper()
	desktoptest.Require(t, "wl-paste")
	// wl-paste wants an XDG_RUNTIME_DIR of its own for temp files.
	return desktoptest.Run(t, desktoptest.Env("WAYLAND_DISPLAY="+socket, "XDG_RUNTIME_DIR="+t.TempDir()),
		"", "wl-paste", append([]string{"--no-newline"}, args...)...)
}

func mustWlPaste(t *testing.T, socket, want string, args ...string) {
	t.Helper()
	got, err := wlPaste(t, socket, args...)
	if err != nil {
		t.Fatalf("wl-paste %v: %v", args, err)
	}
	if got != want {
		t.Fatalf("wl-paste %v = %d bytes, want %d (%q…)", args, len(got), len(want), want[:min(len(want), 7)])
	}
}

func TestSystemOwnsTheX11Clipboard(t *testing.T) {
	display, _ := desktoptest.Xvfb(t)
	a := systemOn(t, "", display)
	c := NewClipboard(a, 0)

	if err := c.CopyText("device-0b1c2d3e"); err != nil {
		t.Fatal(err)
	}
	mustXclip(t, display, "", "device-0b1c2d3e")
	if got := xTargets(t, display); slices.Contains(got, hint) {
		t.Errorf("a device id offers %s: %v", hint, got)
	}

	secret := randomSecret(t)
	if err := c.CopySecret(secret); err != nil {
		t.Fatal(err)
	}
	mustXclip(t, display, "", secret)
	mustXclip(t, display, hint, "secret")
	if got := xTargets(t, display); !slices.Contains(got, hint) {
		t.Errorf("the secret's targets %v lack %s", got, hint)
	}
	if !a.Holds(secret) {
		t.Error("Holds(secret) = false while we own it")
	}
	c.Clear()
	if out, err := xclipOut(t, display, ""); err == nil {
		t.Errorf("after Clear xclip reads %d bytes, want nothing", len(out))
	}

	// Quitting gives the clipboard up.
	if err := c.CopySecret(secret); err != nil {
		t.Fatal(err)
	}
	mustXclip(t, display, "", secret)
	c.CloseWithin(desktoptest.Patience)
	if out, err := xclipOut(t, display, ""); err == nil {
		t.Errorf("after the quit xclip reads %d bytes, want nothing", len(out))
	}
	if err := a.Write("late", false); !errors.Is(err, errClosed) {
		t.Errorf("a copy after the quit: %v, want errClosed", err)
	}
}

func xTargets(t *testing.T, display string) []string {
	t.Helper()
	out, err := xclipOut(t, display, "TARGETS")
	if err != nil {
		t.Fatalf("xclip -o -t TARGETS: %v", err)
	}
	return strings.Fields(out)
}

// The X server goes away and another takes its place (a restarted session): the next copy
// opens the clipboard again.
func TestSystemReopensWhenTheXServerWentAway(t *testing.T) {
	first, xvfb := desktoptest.Xvfb(t)
	a := systemOn(t, "", first)
	if err := a.Write("before", false); err != nil {
		t.Fatal(err)
	}
	mustXclip(t, first, "", "before")
	xvfb.Stop()
	second, _ := desktoptest.Xvfb(t)
	t.Setenv("DISPLAY", second)
	if err := a.Write("after", false); err != nil {
		t.Fatalf("copy after the X server went away: %v", err)
	}
	mustXclip(t, second, "", "after")
}

func TestSystemOwnsTheWaylandClipboard(t *testing.T) {
	socket, sway := desktoptest.Sway(t)
	a := systemOn(t, socket, "")
	c := NewClipboard(a, 0)

	secret := randomSecret(t)
	if err := c.CopySecret(secret); err != nil {
		t.Fatal(err)
	}
	mustWlPaste(t, socket, secret)
	mustWlPaste(t, socket, "secret", "--type", hint)
	if got := wlTypes(t, socket); !slices.Contains(got, hint) {
		t.Errorf("the secret's types %v lack %s", got, hint)
	}
	if err := c.CopyText("device-0b1c2d3e"); err != nil {
		t.Fatal(err)
	}
	mustWlPaste(t, socket, "device-0b1c2d3e")
	if got := wlTypes(t, socket); slices.Contains(got, hint) {
		t.Errorf("a device id offers %s: %v", hint, got)
	}

	// The compositor goes away and another takes its place: the next copy opens again.
	sway.Stop()
	socket2, _ := desktoptest.Sway(t)
	t.Setenv("WAYLAND_DISPLAY", socket2)
	if err := c.CopySecret(secret); err != nil {
		t.Fatalf("copy after the compositor went away: %v", err)
	}
	mustWlPaste(t, socket2, secret)

	// Quitting gives the clipboard up.
	c.CloseWithin(desktoptest.Patience)
	if out, err := wlPaste(t, socket2); err == nil {
		t.Errorf("after the quit wl-paste reads %d bytes, want nothing", len(out))
	}
}

func wlTypes(t *testing.T, socket string) []string {
	t.Helper()
	out, err := wlPaste(t, socket, "--list-types")
	if err != nil {
		t.Fatalf("wl-paste --list-types: %v", err)
	}
	return strings.Fields(out)
}

// A compositor without data control (weston here, GNOME's Mutter on real desktops): wl-copy
// where it is installed, else X11 (XWayland's display on a real desktop).
func TestSystemWithoutDataControl(t *testing.T) {
	desktoptest.Require(t, "wl-copy")
	socket, _ := desktoptest.Weston(t)
	display, _ := desktoptest.Xvfb(t)
	t.Setenv("WAYLAND_DISPLAY", socket)
	t.Setenv("DISPLAY", display)

	t.Run("WlCopyInstalled", func(t *testing.T) {
		o, _, err := systemPicker().pick()
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if _, ok := o.(*wlCopy); !ok {
			t.Fatalf("picked %T, want wl-copy", o)
		}
		// weston's headless backend has no seat, so wl-copy fails there: its reason is told.
		if err := o.Copy("x", false); err == nil || !strings.Contains(err.Error(), "wl-copy: exit status") {
			t.Errorf("copy with wl-copy on weston: %v, want wl-copy's failure", err)
		} else {
			t.Logf("wl-copy on weston: %v", err)
		}
	})
	t.Run("NoWlCopy", func(t *testing.T) {
		p := systemPicker()
		p.lookPath = func(string) (string, error) { return "", exec.ErrNotFound }
		s := &ownerSession{pick: p.pick, gone: displayGone}
		a := s.access()
		defer a.Close()
		secret := randomSecret(t)
		if err := a.Write(secret, true); err != nil {
			t.Fatal(err)
		}
		mustXclip(t, display, "", secret)
		if _, ok := s.cur.(*x11clip.Owner); !ok {
			t.Errorf("picked %T, want the X11 owner", s.cur)
		}
	})
	t.Run("NoWlCopyNoX11", func(t *testing.T) {
		t.Setenv("DISPLAY", "")
		p := systemPicker()
		p.lookPath = func(string) (string, error) { return "", exec.ErrNotFound }
		if _, _, err := p.pick(); !errors.Is(err, failure.ErrNoClipboard) {
			t.Errorf("pick: %v, want failure.ErrNoClipboard", err)
		}
	})
}

func TestSystemWithoutDisplay(t *testing.T) {
	a := systemOn(t, "", "")
	if !ClipboardMissing() {
		t.Error("ClipboardMissing = false with neither WAYLAND_DISPLAY nor DISPLAY")
	}
	if err := a.Write("x", true); !errors.Is(err, failure.ErrNoClipboard) {
		t.Errorf("copy: %v, want failure.ErrNoClipboard", err)
	}
}

// wl-copy (the way onto GNOME on Wayland) against sway, where it works too.
func TestWlCopy(t *testing.T) {
	desktoptest.Require(t, "wl-copy")
	socket, _ := desktoptest.Sway(t)
	run := t.TempDir()
	t.Setenv("WAYLAND_DISPLAY", socket)
	t.Setenv("XDG_RUNTIME_DIR", run) // where wl-copy keeps the text (TMPDIR)
	path, err := exec.LookPath("wl-copy")
	if err != nil {
		t.Fatal(err)
	}
	ow, err := openWlCopy(path)
	if err != nil {
		t.Fatal(err)
	}
	o := ow.(*wlCopy)
	defer o.Close()

	if err := o.Copy("plain", false); err != nil {
		t.Fatal(err)
	}
	mustWlPaste(t, socket, "plain")
	first := o.cur.ended
	if !o.Holds("plain") {
		t.Error("Holds = false right after the copy")
	}

	secret := randomSecret(t)
	if err := o.Copy(secret, true); err != nil {
		t.Fatal(err)
	}
	mustWlPaste(t, socket, secret)
	types := wlTypes(t, socket)
	if o.sensitive != slices.Contains(types, hint) {
		t.Errorf("wl-copy knows --sensitive: %v; the secret's types: %v", o.sensitive, types)
	}
	t.Logf("this wl-copy marks secrets: %v (wl-clipboard 2.3 and later do)", o.sensitive)
	desktoptest.WaitFor(t, "the replaced wl-copy to end", func() bool { return closed(first) })

	// Another program copies: ours ends, and Clear leaves theirs alone.
	cmd := exec.Command("wl-copy", "--foreground", "theirs")
	cmd.Env = desktoptest.Env("WAYLAND_DISPLAY="+socket, "XDG_RUNTIME_DIR="+t.TempDir())
	desktoptest.Start(t, "their-wl-copy", cmd)
	desktoptest.WaitFor(t, "their copy", func() bool {
		out, err := wlPaste(t, socket)
		return err == nil && out == "theirs"
	})
	desktoptest.WaitFor(t, "Holds to turn false", func() bool { return !o.Holds(secret) })
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	mustWlPaste(t, socket, "theirs")

	// Clear: the clipboard is empty, our wl-copy has ended and left no file behind.
	if err := o.Copy(secret, true); err != nil {
		t.Fatal(err)
	}
	mustWlPaste(t, socket, secret)
	ended := o.cur.ended
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	if out, err := wlPaste(t, socket); err == nil {
		t.Errorf("after Clear wl-paste reads %d bytes, want nothing", len(out))
	}
	desktoptest.WaitFor(t, "the cleared wl-copy to end", func() bool { return closed(ended) })
	left, _ := filepath.Glob(filepath.Join(run, "*"))
	if len(left) > 0 {
		t.Errorf("wl-copy left %v in its TMPDIR", left)
	}
	if o.Holds(secret) {
		t.Error("Holds after Clear")
	}
}

// The picker's choices, with the owners of the test's own.
func TestPicker(t *testing.T) {
	type opened struct{ owner }
	x11, wl, wlCopied := &opened{}, &opened{}, &opened{}
	errConnect := errors.New("connection refused")
	tests := []struct {
		name            string
		wayland, x11    string // the variables
		wlErr, x11Err   error
		wlCopyInstalled bool
		want            owner
		wantErr         error
	}{
		{name: "x11", x11: ":1", want: x11},
		{name: "wayland", wayland: "wayland-1", x11: ":1", want: wl},
		{name: "wayland only", wayland: "wayland-1", want: wl},
		{name: "no data control, wl-copy", wayland: "wayland-1", x11: ":1", wlErr: wlclip.ErrNoDataControl, wlCopyInstalled: true, want: wlCopied},
		{name: "no data control, XWayland", wayland: "wayland-1", x11: ":1", wlErr: wlclip.ErrNoDataControl, want: x11},
		{name: "no data control, nothing", wayland: "wayland-1", wlErr: wlclip.ErrNoDataControl, wantErr: failure.ErrNoClipboard},
		{name: "compositor unreachable, X11", wayland: "wayland-1", x11: ":1", wlErr: errConnect, want: x11},
		{name: "compositor unreachable", wayland: "wayland-1", wlErr: errConnect, wantErr: errConnect},
		{name: "X server unreachable", x11: ":1", x11Err: errConnect, wantErr: errConnect},
		{name: "nothing", wantErr: failure.ErrNoClipboard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := picker{
				getenv: func(k string) string {
					return map[string]string{"WAYLAND_DISPLAY": tt.wayland, "DISPLAY": tt.x11}[k]
				},
				lookPath: func(name string) (string, error) {
					if tt.wlCopyInstalled && name == "wl-copy" {
						return "/usr/bin/wl-copy", nil
					}
					return "", exec.ErrNotFound
				},
				wayland: func() (owner, error) {
					if tt.wlErr != nil {
						return nil, tt.wlErr
					}
					return wl, nil
				},
				x11: func() (owner, error) {
					if tt.x11Err != nil {
						return nil, tt.x11Err
					}
					return x11, nil
				},
				wlCopy: func(path string) (owner, error) {
					if path != "/usr/bin/wl-copy" {
						t.Errorf("wl-copy at %q", path)
					}
					return wlCopied, nil
				},
			}
			o, reopen, err := p.pick()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("pick: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || o != tt.want {
				t.Fatalf("pick: %p, %v; want %p", o, err, tt.want)
			}
			if again, err := reopen(); err != nil || again != tt.want {
				t.Errorf("reopen: %p, %v; want the same kind, %p", again, err, tt.want)
			}
		})
	}
}
