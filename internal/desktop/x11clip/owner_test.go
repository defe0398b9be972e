//go:build linux

package x11clip

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// A private X server per test: the tests own its clipboard, and other packages' tests on the
// desktop's display are not disturbed.
func open(t *testing.T) (*Owner, string) {
	t.Helper()
	display, _ := desktoptest.Xvfb(t)
	o, err := Open(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, display
}

// xclipOut pastes the clipboard as target with xclip.
func xclipOut(t *testing.T, display, target string) (string, error) {
	t.Helper()
	args := []string{"-o", "-selection", "clipboard"}
	if target != "" {
		args = append(args, "-t", target)
	}
	return desktoptest.Run(t, desktoptest.Env("DISPLAY="+display), "", "xclip", args...)
}

func mustPaste(t *testing.T, display, target, want string) {
	t.Helper()
	got, err := xclipOut(t, display, target)
	if err != nil {
		t.Fatalf("paste %s: %v", target, err)
	}
	if got != want {
		t.Fatalf("paste %s = %q, want %q", target, got, want)
	}
}

func targets(t *testing.T, display string) []string {
	t.Helper()
	out, err := xclipOut(t, display, "TARGETS")
	if err != nil {
		t.Fatalf("paste TARGETS: %v", err)
	}
	return strings.Fields(out)
}

func TestOpenWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := Open(""); !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("Open without DISPLAY: %v, want ErrNoDisplay", err)
	}
}

func TestOpenUsesDisplayVariable(t *testing.T) {
	desktoptest.Require(t, "xclip")
	display, _ := desktoptest.Xvfb(t)
	t.Setenv("DISPLAY", display)
	o, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Copy("via DISPLAY", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "via DISPLAY")
}

func TestPlainTextIsServedAsEveryTextTarget(t *testing.T) {
	desktoptest.Require(t, "xclip")
	o, display := open(t)
	const text = "plain text – with a dash, ünïcödé"
	if err := o.Copy(text, false); err != nil {
		t.Fatal(err)
	}
	if !o.Holds(text) {
		t.Fatal("Holds = false right after Copy")
	}
	// Clipboard managers paste several times within seconds: every paste is served.
	for range 3 {
		mustPaste(t, display, "", text)
	}
	for _, target := range []string{"UTF8_STRING", "text/plain;charset=utf-8", "TEXT"} {
		mustPaste(t, display, target, text)
	}
	got := targets(t, display)
	for _, want := range []string{"TARGETS", "TIMESTAMP", "MULTIPLE", "UTF8_STRING", "text/plain;charset=utf-8", "TEXT"} {
		if !slices.Contains(got, want) {
			t.Errorf("TARGETS = %v, missing %s", got, want)
		}
	}
	if slices.Contains(got, PasswordHint) {
		t.Errorf("TARGETS of plain text = %v, includes %s", got, PasswordHint)
	}
	// "–" is outside Latin-1: STRING is neither offered nor served.
	if slices.Contains(got, "STRING") {
		t.Errorf("TARGETS = %v, offers STRING for text outside Latin-1", got)
	}
	if out, err := xclipOut(t, display, "STRING"); err == nil {
		t.Errorf("paste STRING of text outside Latin-1 = %q, want a refusal", out)
	}
	if out, err := xclipOut(t, display, PasswordHint); err == nil {
		t.Errorf("paste %s of plain text = %q, want a refusal", PasswordHint, out)
	}
	if out, err := xclipOut(t, display, "image/png"); err == nil {
		t.Errorf("paste image/png = %q, want a refusal", out)
	}
}

func TestSecretIsMarked(t *testing.T) {
	desktoptest.Require(t, "xclip")
	o, display := open(t)
	const secret = "eyJhbGciOiJIUzI1NiJ9.dGVzdA.c2lnbmF0dXJl"
	if err := o.Copy(secret, true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", secret)
	mustPaste(t, display, PasswordHint, "secret")
	got := targets(t, display)
	if !slices.Contains(got, PasswordHint) {
		t.Errorf("TARGETS of a secret = %v, without %s", got, PasswordHint)
	}
	// ASCII is Latin-1: STRING is served as is.
	if !slices.Contains(got, "STRING") {
		t.Errorf("TARGETS = %v, without STRING", got)
	}
	mustPaste(t, display, "STRING", secret)

	// A plain copy afterwards drops the mark.
	if err := o.Copy("plain again", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "plain again")
	if got := targets(t, display); slices.Contains(got, PasswordHint) {
		t.Errorf("TARGETS after a plain copy = %v, still marked", got)
	}
	if o.Holds(secret) {
		t.Error("Holds(secret) after a plain copy replaced it")
	}
}

func TestAnotherProgramTakesTheClipboard(t *testing.T) {
	desktoptest.Require(t, "xclip")
	o, display := open(t)
	if err := o.Copy("ours", true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "ours")

	// xclip -i stays in the foreground with -quiet, serving until its selection is taken.
	cmd := exec.Command("xclip", "-quiet", "-i", "-selection", "clipboard")
	cmd.Env = desktoptest.Env("DISPLAY=" + display)
	cmd.Stdin = strings.NewReader("theirs")
	desktoptest.Start(t, "xclip-in", cmd)
	desktoptest.WaitFor(t, "xclip to own the clipboard", func() bool {
		out, err := xclipOut(t, display, "")
		return err == nil && out == "theirs"
	})
	desktoptest.WaitFor(t, "Holds to turn false", func() bool { return !o.Holds("ours") })
	// SelectionClear: the owner forgets the secret, not only the server's answer changes.
	desktoptest.WaitFor(t, "the owner to forget its text", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return !o.held && o.text == ""
	})
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "theirs")
}

func TestClearServesNothing(t *testing.T) {
	desktoptest.Require(t, "xclip")
	o, display := open(t)
	if err := o.Copy("gone soon", true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "gone soon")
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	if o.Holds("gone soon") {
		t.Error("Holds after Clear")
	}
	for _, target := range []string{"", "TARGETS", PasswordHint} {
		if out, err := xclipOut(t, display, target); err == nil {
			t.Errorf("paste %q after Clear = %q, want nothing", target, out)
		}
	}
	// Clear twice, and Copy after Clear, work.
	if err := o.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := o.Copy("back", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "back")
}

func TestTooLargeIsRefused(t *testing.T) {
	o, _ := open(t)
	if err := o.Copy(strings.Repeat("x", o.maxText+1), false); err == nil {
		t.Fatal("Copy of more than one request carries: no error")
	}
	if err := o.Copy("\xff\xfe", false); err == nil {
		t.Fatal("Copy of invalid UTF-8: no error")
	}
}

// requestor is a second X client that pastes the way old and unusual clients do, which
// xclip cannot: no property, MULTIPLE, an old timestamp.
type requestor struct {
	conn   *xgb.Conn
	win    xproto.Window
	events chan xproto.SelectionNotifyEvent
}

func newRequestor(t *testing.T, display string) *requestor {
	t.Helper()
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	screen := xproto.Setup(conn).DefaultScreen(conn)
	win, err := xproto.NewWindowId(conn)
	if err != nil {
		t.Fatal(err)
	}
	err = xproto.CreateWindowChecked(conn, 0, win, screen.Root, 0, 0, 1, 1, 0,
		xproto.WindowClassInputOnly, 0, 0, nil).Check()
	if err != nil {
		t.Fatal(err)
	}
	r := &requestor{conn: conn, win: win, events: make(chan xproto.SelectionNotifyEvent, 16)}
	go func() {
		for {
			ev, xerr := conn.WaitForEvent()
			if ev == nil && xerr == nil {
				return
			}
			if e, ok := ev.(xproto.SelectionNotifyEvent); ok {
				r.events <- e
			}
		}
	}()
	return r
}

func (r *requestor) atom(t *testing.T, name string) xproto.Atom {
	t.Helper()
	a, err := xproto.InternAtom(r.conn, false, uint16(len(name)), name).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return a.Atom
}

// convert asks for target into prop and returns the SelectionNotify's property (None for a
// refusal) and the property's type and value.
func (r *requestor) convert(t *testing.T, target, prop xproto.Atom, when xproto.Timestamp) (xproto.Atom, xproto.Atom, []byte) {
	t.Helper()
	xproto.ConvertSelection(r.conn, r.win, r.atom(t, "CLIPBOARD"), target, prop, when)
	var e xproto.SelectionNotifyEvent
	select {
	case e = <-r.events:
	case <-time.After(desktoptest.Patience):
		t.Fatal("no SelectionNotify")
	}
	if e.Target != target {
		t.Fatalf("SelectionNotify for target %d, want %d", e.Target, target)
	}
	if e.Property == xproto.AtomNone {
		return xproto.AtomNone, 0, nil
	}
	v, err := xproto.GetProperty(r.conn, true, r.win, e.Property, xproto.AtomAny, 0, 1<<16).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return e.Property, v.Type, v.Value
}

func TestOldAndUnusualRequests(t *testing.T) {
	o, display := open(t)
	const text = "for old clients"
	if err := o.Copy(text, false); err != nil {
		t.Fatal(err)
	}
	r := newRequestor(t, display)
	utf8Atom := r.atom(t, "UTF8_STRING")

	// No property (obsolete clients): the answer is in the property named like the target.
	prop, typ, val := r.convert(t, utf8Atom, xproto.AtomNone, xproto.TimeCurrentTime)
	if prop != utf8Atom || typ != utf8Atom || string(val) != text {
		t.Errorf("paste with property None: property %d type %d %q, want %d %d %q", prop, typ, val, utf8Atom, utf8Atom, text)
	}

	// TIMESTAMP: when we took it; a request older than that is refused (ICCCM 2.2).
	stamp := r.atom(t, "TIMESTAMP")
	prop, typ, val = r.convert(t, stamp, r.atom(t, "P0"), xproto.TimeCurrentTime)
	if prop == xproto.AtomNone || typ != xproto.AtomInteger || len(val) != 4 {
		t.Fatalf("TIMESTAMP: property %d type %d %v", prop, typ, val)
	}
	since := xproto.Timestamp(xgb.Get32(val))
	if prop, _, _ := r.convert(t, utf8Atom, r.atom(t, "P1"), since-1); prop != xproto.AtomNone {
		t.Error("a request older than the ownership was served")
	}
	if prop, _, val := r.convert(t, utf8Atom, r.atom(t, "P1"), since); prop == xproto.AtomNone || string(val) != text {
		t.Errorf("a request at the ownership's time: property %d %q", prop, val)
	}

	// MULTIPLE: each pair converted on its own; a target we do not offer gets None.
	p2, p3, p4 := r.atom(t, "P2"), r.atom(t, "P3"), r.atom(t, "P4")
	pairs := []xproto.Atom{utf8Atom, p2, r.atom(t, PasswordHint), p3, r.atom(t, "TEXT"), p4}
	buf := make([]byte, 4*len(pairs))
	for i, a := range pairs {
		xgb.Put32(buf[4*i:], uint32(a))
	}
	multi := r.atom(t, "P_MULTI")
	xproto.ChangeProperty(r.conn, xproto.PropModeReplace, r.win, multi, r.atom(t, "ATOM_PAIR"), 32, uint32(len(pairs)), buf)
	prop, _, val = r.convert(t, r.atom(t, "MULTIPLE"), multi, xproto.TimeCurrentTime)
	if prop != multi || len(val) != len(buf) {
		t.Fatalf("MULTIPLE: property %d, %d bytes", prop, len(val))
	}
	got := []xproto.Atom{}
	for i := 0; i < len(val); i += 4 {
		got = append(got, xproto.Atom(xgb.Get32(val[i:])))
	}
	want := []xproto.Atom{utf8Atom, p2, r.atom(t, PasswordHint), xproto.AtomNone, r.atom(t, "TEXT"), p4}
	if !slices.Equal(got, want) {
		t.Fatalf("MULTIPLE pairs = %v, want %v", got, want)
	}
	for _, p := range []xproto.Atom{p2, p4} {
		v, err := xproto.GetProperty(r.conn, true, r.win, p, xproto.AtomAny, 0, 1<<16).Reply()
		if err != nil || string(v.Value) != text {
			t.Errorf("MULTIPLE property %d = %q, %v", p, v.Value, err)
		}
	}
	// MULTIPLE without a property is refused.
	if prop, _, _ := r.convert(t, r.atom(t, "MULTIPLE"), xproto.AtomNone, xproto.TimeCurrentTime); prop != xproto.AtomNone {
		t.Error("MULTIPLE without a property was served")
	}
}

func TestServerGoneThenOpenAgain(t *testing.T) {
	desktoptest.Require(t, "xclip")
	display, xvfb := desktoptest.Xvfb(t)
	o, err := Open(display)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Copy("before", false); err != nil {
		t.Fatal(err)
	}
	xvfb.Stop()
	desktoptest.WaitFor(t, "the owner to notice the server is gone", o.closed)
	if err := o.Copy("after", false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Copy with the server gone: %v, want ErrClosed", err)
	}
	if o.Holds("before") {
		t.Error("Holds with the server gone")
	}
	if err := o.Clear(); err != nil {
		t.Errorf("Clear with the server gone: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("Close with the server gone: %v", err)
	}

	o2, display2 := open(t)
	if err := o2.Copy("again", false); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display2, "", "again")
}

func TestCloseGivesTheClipboardUp(t *testing.T) {
	desktoptest.Require(t, "xclip")
	display, _ := desktoptest.Xvfb(t)
	o, err := Open(display)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Copy("closing", true); err != nil {
		t.Fatal(err)
	}
	mustPaste(t, display, "", "closing")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if out, err := xclipOut(t, display, ""); err == nil {
		t.Errorf("paste after Close = %q, want nothing", out)
	}
	if err := o.Copy("x", false); !errors.Is(err, ErrClosed) {
		t.Errorf("Copy after Close: %v, want ErrClosed", err)
	}
}
