//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
)

// The tray's clipboard as other programs see it, on X11 and on Wayland, with none of xclip,
// xsel and wl-copy on the tray's PATH (startTrayCmd checks): the tray owns the clipboard
// itself and marks the bearer x-kde-passwordManagerHint: secret, the mark password managers
// use, so that clipboard managers leave it out of their history; a device id is plain text.

const passwordHint = "x-kde-passwordManagerHint"

// clearSeconds is clipboard_clear_seconds in these tests: short, so that the test sees the
// clear, and long enough for the reads before it on a loaded machine.
const clearSeconds = 10

// xclipOut pastes the harness's X clipboard as target (TARGETS lists the targets).
func xclipOut(t *testing.T, target string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), desktoptest.Patience)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xclip", "-o", "-selection", "clipboard", "-t", target).Output()
	return string(out), err
}

// deviceToCopy waits for the Devices submenu of the tray and returns a device of Homey h: its
// id and the menu item that copies it.
func deviceToCopy(t *testing.T, e *testEnv, c *trayClient, h emulatedHomey) (id string, item int32) {
	t.Helper()
	hc := &homey.Client{BaseURL: h.BaseURL, HomeyID: h.ID}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	devices, err := hc.Devices(ctx, strings.TrimSpace(e.must("", "token")))
	if err != nil {
		t.Fatal(err)
	}
	var entry deviceEntry
	c.waitMenu(10*time.Second, "a device in the Devices submenu", func(m *menuItem) bool {
		d := m.find("Devices")
		if d == nil {
			return false
		}
		grouped := groupDevices(d)
		for _, dev := range devices {
			if en, ok := grouped[dev.Name]; ok {
				id, entry = dev.ID, en
				return true
			}
		}
		return false
	})
	return id, entry.id
}

// TestTrayClipboardX11: under the harness's Xvfb, CopyQ 6.4 with the automatic command of its
// FAQ for password managers keeps the device id copied from the Devices menu but never the
// bearer copied by Copy bearer token; xclip reads the bearer and lists the hint among its
// targets; the bearer is gone after clipboard_clear_seconds.
func TestTrayClipboardX11(t *testing.T) {
	requireTrayDesktop(t)
	desktoptest.Require(t, "copyq")
	e, p := signedInTray(t, map[string]any{"clipboard_clear_seconds": clearSeconds})
	c := p.client
	cq := desktoptest.NewCopyQ(t, os.Getenv("DISPLAY"))
	cq.Warm(func(text string) error { writeClipboard(t, text); return nil })

	id, item := deviceToCopy(t, e, c, e.homeyByName("Home"))
	c.clickID(item)
	desktoptest.WaitFor(t, "CopyQ to handle the device id", func() bool { return cq.Handled(id) })
	if !cq.Kept(id) {
		t.Fatalf("CopyQ did not keep the device id: history %q", cq.Items(""))
	}
	if targets, err := xclipOut(t, "TARGETS"); err != nil || slices.Contains(strings.Fields(targets), passwordHint) {
		t.Errorf("the device id's targets: %q, %v; want them without %s", targets, err, passwordHint)
	}

	bearer, _ := copyBearer(t, func() { c.click("Copy bearer token") })
	copied := time.Now()
	// First what must happen before the clear: CopyQ reads the copy (and its hint).
	desktoptest.WaitFor(t, "CopyQ to handle the bearer", func() bool { return cq.Handled(bearer) })
	targets, err := xclipOut(t, "TARGETS")
	if err != nil || !slices.Contains(strings.Fields(targets), passwordHint) {
		t.Errorf("the bearer's targets: %q, %v; want %s among them", targets, err, passwordHint)
	}
	if mark, err := xclipOut(t, passwordHint); err != nil || mark != "secret" {
		t.Errorf("xclip -t %s: %q, %v; want secret", passwordHint, mark, err)
	}
	checkBearer(t, e.homeyByName("Home"), bearer)
	if cq.Kept(bearer) {
		t.Fatalf("CopyQ kept the bearer in its history")
	}
	if !cq.Kept(id) {
		t.Errorf("CopyQ lost the device id: history %d items", len(cq.Items("")))
	}

	waitClipboard(t, desktoptest.Patience, "the bearer to be cleared", func(s string) bool { return s != bearer })
	t.Logf("the bearer was gone %v after the copy (clipboard_clear_seconds %d)", time.Since(copied).Round(100*time.Millisecond), clearSeconds)
	if cq.Kept(bearer) {
		t.Errorf("CopyQ kept the bearer in its history after the clear")
	}
}

// wlPaste runs wl-paste against the Wayland socket.
func wlPaste(t *testing.T, socket string, args ...string) (string, error) {
	t.Helper()
	return desktoptest.Run(t, desktoptest.Env("WAYLAND_DISPLAY="+socket, "XDG_RUNTIME_DIR="+t.TempDir()),
		"", "wl-paste", append([]string{"--no-newline"}, args...)...)
}

// waitWlPaste waits until wl-paste reads something for which cond holds ("" = nothing to paste)
// and returns it.
func waitWlPaste(t *testing.T, socket, what string, cond func(string) bool) string {
	t.Helper()
	var got string
	desktoptest.WaitFor(t, what, func() bool {
		out, err := wlPaste(t, socket)
		if err != nil {
			out = ""
		}
		got = out
		return cond(got)
	})
	return got
}

func wlTypes(t *testing.T, socket string) []string {
	t.Helper()
	out, err := wlPaste(t, socket, "--list-types")
	if err != nil {
		t.Fatalf("wl-paste --list-types: %v", err)
	}
	return strings.Fields(out)
}

// TestTrayClipboardWayland: the tray on headless sway, run as an unprivileged user with no
// X11 window, and with no DISPLAY: wl-paste reads the bearer it copied and lists the hint;
// the device id is plain; the bearer is gone after clipboard_clear_seconds; Quit gives the
// clipboard up. The harness's X clipboard is not touched.
func TestTrayClipboardWayland(t *testing.T) {
	requireTrayDesktop(t)
	desktoptest.Require(t, "wl-paste")
	socket, _ := desktoptest.Sway(t)
	e, p := signedInTray(t, map[string]any{"clipboard_clear_seconds": clearSeconds},
		"WAYLAND_DISPLAY="+socket, "DISPLAY=")
	c := p.client
	writeClipboard(t, sentinel)

	c.click("Copy bearer token")
	bearer := waitWlPaste(t, socket, "the bearer on the Wayland clipboard", func(s string) bool { return s != "" })
	copied := time.Now()
	if tok := strings.TrimSpace(e.must("", "token")); tok != bearer {
		t.Fatalf("wl-paste reads %d bytes, not the tray's bearer", len(bearer))
	}
	if types := wlTypes(t, socket); !slices.Contains(types, passwordHint) {
		t.Errorf("the bearer's types %v lack %s", types, passwordHint)
	}
	if mark, err := wlPaste(t, socket, "--type", passwordHint); err != nil || mark != "secret" {
		t.Errorf("wl-paste --type %s: %q, %v; want secret", passwordHint, mark, err)
	}
	checkBearer(t, e.homeyByName("Home"), bearer)
	waitWlPaste(t, socket, "the bearer to be cleared", func(s string) bool { return s != bearer })
	t.Logf("the bearer was gone %v after the copy (clipboard_clear_seconds %d)", time.Since(copied).Round(100*time.Millisecond), clearSeconds)

	id, item := deviceToCopy(t, e, c, e.homeyByName("Home"))
	c.clickID(item)
	waitWlPaste(t, socket, "the device id on the Wayland clipboard", func(s string) bool { return s == id })
	if types := wlTypes(t, socket); slices.Contains(types, passwordHint) {
		t.Errorf("the device id's types %v hold %s", types, passwordHint)
	}

	c.click("Copy bearer token")
	waitWlPaste(t, socket, "the bearer again", func(s string) bool { return s == bearer })
	c.quit()
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("Quit: exit %d, want 0", code)
	}
	if out, err := wlPaste(t, socket); err == nil {
		t.Errorf("after Quit wl-paste reads %d bytes (the bearer: %v), want nothing", len(out), out == bearer)
	}
	if got := readClipboard(t); got != sentinel {
		t.Errorf("the tray on Wayland changed the X clipboard (%d bytes)", len(got))
	}
}
