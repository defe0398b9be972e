//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/homey/emulator"
	"github.com/homeytray/homeytray/internal/desktop/x11clip"
	"github.com/homeytray/homeytray/internal/ipc"
)

// The tray's real-component tests: the real binary runs `homeytray tray` on the private session
// bus of .ci/desktop.sh, with the real gnome-keyring, a StatusNotifierWatcher, dunst as the
// notification server and Xvfb, whose clipboard the tray owns itself (the test reads it with
// xclip). The test plays the panel: it reads the menu with com.canonical.dbusmenu.GetLayout and
// clicks with Event (dbusmenu_test.go).

// requireTrayDesktop is requireDesktop plus what the tray needs: an X display, a notification
// server and a tray host, and xclip for the test to read the clipboard with. It fails under
// CI=true and skips loudly elsewhere.
func requireTrayDesktop(tb testing.TB) {
	tb.Helper()
	requireDesktop(tb, false)
	missing := ""
	switch {
	case os.Getenv("HOMEYTRAY_TEST_TRAYHOST") == "" || os.Getenv("DISPLAY") == "":
		missing = "Xvfb, dunst and a StatusNotifierWatcher"
	default:
		for _, tool := range []string{"xclip", "dunstctl"} {
			if _, err := exec.LookPath(tool); err != nil {
				missing = tool
			}
		}
	}
	needOrSkip(tb, missing, "run the tests with `make test`")
}

// trayProc is one running `homeytray tray`.
type trayProc struct {
	t      testing.TB
	e      *testEnv
	cmd    *exec.Cmd
	out    *lockedBuffer // stdout and stderr
	done   chan struct{}
	err    error // Wait's, once done is closed
	bus    string
	client *trayClient
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startTray runs `homeytray tray` with the env's variables (plus extra) and waits for its menu
// on the bus. The test's clean-up ends it if the test did not.
func (e *testEnv) startTray(t testing.TB, extra ...string) *trayProc {
	t.Helper()
	return e.startTrayCmd(t, []string{"tray"}, extra...)
}

// startTrayCmd is startTray with other arguments (e.g. `demo`).
func (e *testEnv) startTrayCmd(t testing.TB, args []string, extra ...string) *trayProc {
	t.Helper()
	p := &trayProc{t: t, e: e, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(append(slices.Clip(e.vars), "PATH="+trayPATH(t)), extra...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.bus = envValue(p.cmd.Env, "DBUS_SESSION_BUS_ADDRESS")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the tray: %v", err)
	}
	checkNoClipboardTools(t, p.cmd.Process.Pid)
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		e.checkNoSecret([]string{"tray"}, "stderr", p.out.String())
		if t.Failed() {
			t.Logf("tray output:\n%s", p.out.String())
		}
	})
	p.client = connectTray(t, p.bus, p.cmd.Process.Pid, p.alive)
	return p
}

func (p *trayProc) pid() int { return p.cmd.Process.Pid }

// trayPATH is the tray's PATH: a folder of its own with nothing in it, because the tray runs
// no program of the desktop's. Its clipboard is its own (none of xclip, xsel and wl-copy), and
// the sign-in page opens through $BROWSER, an absolute path here (.ci/browser, which sets a
// PATH of its own).
func trayPATH(t testing.TB) string {
	t.Helper()
	return t.TempDir()
}

// clipboardTools are the programs that a tray used to need for the clipboard.
var clipboardTools = []string{"xclip", "xsel", "wl-copy"}

// checkNoClipboardTools fails the test if the PATH of the process pid holds one of
// clipboardTools.
func checkNoClipboardTools(t testing.TB, pid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatalf("the tray's environment: %v", err)
	}
	path := ""
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		for _, tool := range clipboardTools {
			if _, err := os.Stat(filepath.Join(dir, tool)); err == nil {
				t.Fatalf("the tray's PATH %q holds %s: the tray must copy without it", path, tool)
			}
		}
	}
}

// alive is nil while the process runs.
func (p *trayProc) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("exit: %v; output:\n%s", p.err, p.out.String())
	default:
		return nil
	}
}

// stop ends the tray with SIGTERM (then SIGKILL) if it still runs.
func (p *trayProc) stop() {
	if p.alive() != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.t.Errorf("the tray did not end within 5 s of SIGTERM")
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wait waits for the tray to exit by itself and returns its exit code.
func (p *trayProc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("the tray still runs %v later", d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("tray: %v", p.err)
	}
	return 0
}

// waitOutput waits until the tray's stdout/stderr contains one of the strings.
func (p *trayProc) waitOutput(d time.Duration, subs ...string) string {
	p.t.Helper()
	var found string
	if !waitFor(d, func() bool {
		out := strings.ToLower(p.out.String())
		for _, s := range subs {
			if strings.Contains(out, strings.ToLower(s)) {
				found = s
				return true
			}
		}
		return false
	}) {
		p.t.Fatalf("the tray's stderr has none of %q after %v:\n%s", subs, d, p.out.String())
	}
	return found
}

// setConfig sets keys in the env's config.json (the file the tray reads at start).
func (e *testEnv) setConfig(kv map[string]any) {
	e.t.Helper()
	path := filepath.Join(e.configDir(), "config.json")
	m := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &m); err != nil {
			e.t.Fatal(err)
		}
	}
	for k, v := range kv {
		m[k] = v
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) configDir() string {
	return filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), e.appName())
}

func (e *testEnv) appName() string { return "homeytray-" + envValue(e.vars, "HOMEYTRAY_PROFILE") }

// cache reads cache.json: what homeytray remembers of the account (a missing file is empty).
func (e *testEnv) cache(t testing.TB) *cacheFile {
	t.Helper()
	var c cacheFile
	b, err := os.ReadFile(filepath.Join(envValue(e.vars, "XDG_CACHE_HOME"), e.appName(), "cache.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &c
	}
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatalf("cache.json: %v\n%s", err, b)
	}
	return &c
}

// The X clipboard, through xclip as a user's other programs see it.

func readClipboard(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xclip", "-o", "-selection", "clipboard").Output()
	if err != nil {
		return "" // nothing owns the clipboard (or it holds no text)
	}
	return string(out)
}

// writeClipboard puts s on the X clipboard, so that the next copy is seen as a change. The test
// process owns it (until another client takes it, or the test ends) and is the owner when this
// returns. Not `xclip -i`: xclip 0.13 queues its SetSelectionOwner request and forks before the
// request is sent, so its child may take the clipboard after the copy that the test then waits
// for (once in a loaded run: the device id clicked in the menu never replaced the sentinel).
func writeClipboard(t testing.TB, s string) {
	t.Helper()
	o, err := x11clip.Open(os.Getenv("DISPLAY"))
	if err != nil {
		t.Fatalf("write the clipboard: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Copy(s, false); err != nil {
		t.Fatalf("write the clipboard: %v", err)
	}
}

// waitClipboard polls the clipboard until cond holds and returns what it holds.
func waitClipboard(t testing.TB, d time.Duration, what string, cond func(string) bool) string {
	t.Helper()
	var got string
	if !waitFor(d, func() bool { got = readClipboard(t); return cond(got) }) {
		t.Fatalf("waited %v for %s; the clipboard holds %d bytes", d, what, len(got))
	}
	return got
}

const sentinel = "homeytray-test-sentinel"

// copyBearer runs do (a click) and waits until the clipboard holds something new: the bearer.
func copyBearer(t testing.TB, do func()) (bearer string, latency time.Duration) {
	t.Helper()
	writeClipboard(t, sentinel)
	start := time.Now()
	do()
	// Polled every 10 ms: closer would starve the tray of the two cores.
	for deadline := start.Add(5 * time.Second); ; {
		got := readClipboard(t)
		if got != "" && got != sentinel {
			return got, time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bearer on the clipboard 5 s after the click")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkBearer fails unless the emulated Homey accepts bearer.
func checkBearer(t testing.TB, h emulatedHomey, bearer string) {
	t.Helper()
	if strings.ContainsAny(bearer, " \n\t") {
		t.Fatalf("the clipboard holds %d bytes with white space, not a bare bearer", len(bearer))
	}
	c := &homey.Client{BaseURL: h.BaseURL, HomeyID: h.ID}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.SessionMe(ctx, bearer); err != nil {
		t.Fatalf("the Homey %s refused the copied bearer: %v", h.Name, err)
	}
}

type emulatedHomey = struct{ ID, Name, BaseURL string }

func (e *testEnv) homeyByName(name string) emulatedHomey {
	e.t.Helper()
	for _, h := range e.srv.Homeys() {
		if h.Name == name {
			return emulatedHomey{h.ID, h.Name, h.BaseURL}
		}
	}
	e.t.Fatalf("the emulator has no Homey %q", name)
	return emulatedHomey{}
}

// checkNotification fails if a notification carries a secret, or has no app name of ours.
func (e *testEnv) checkNotification(t testing.TB, n notification, bearer string) {
	t.Helper()
	text := n.AppName + "\n" + n.Summary + "\n" + n.Body
	if bearer != "" && strings.Contains(text, bearer) {
		t.Errorf("the notification %q shows the bearer", n.Summary)
	}
	e.checkNoSecret([]string{"notification"}, "the desktop", text)
	if !strings.HasPrefix(n.AppName, "homeytray") {
		t.Errorf("notification app name = %q, want homeytray…", n.AppName)
	}
}

func isCopied(n notification) bool { return hasText(n, "bearer token copied") }

func visible(items []*menuItem) []*menuItem {
	var out []*menuItem
	for _, it := range items {
		if it.Visible {
			out = append(out, it)
		}
	}
	return out
}

func hasText(n notification, sub string) bool {
	return strings.Contains(strings.ToLower(n.Summary+" "+n.Body), strings.ToLower(sub))
}

// signedInTray signs in (Go's HTTP client as the browser), applies config and starts the tray
// once the status line says who is signed in.
func signedInTray(t testing.TB, cfg map[string]any, extra ...string) (*testEnv, *trayProc) {
	t.Helper()
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	e.loginHTTP()
	if cfg != nil {
		e.setConfig(cfg)
	}
	p := e.startTray(t, extra...)
	if got := p.client.waitStatus(10*time.Second, "Signed in as"); got != "Signed in as Ada Lovelace" {
		t.Fatalf("status line = %q, want %q", got, "Signed in as Ada Lovelace")
	}
	return e, p
}

// TestTrayMenu drives one signed-in tray through the whole menu, as a user with a panel would.
func TestTrayMenu(t *testing.T) {
	requireTrayDesktop(t)
	notes := watchNotifications(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	e, p := signedInTray(t, map[string]any{"clipboard_clear_seconds": 1})
	c := p.client
	home, cabin := e.homeyByName("Home"), e.homeyByName("Cabin")

	t.Run("Menu", func(t *testing.T) {
		m := c.menu()
		st := m.Children[0]
		if st.Enabled || st.Label != "Signed in as Ada Lovelace" {
			t.Errorf("the first item must be the disabled status line, got %q enabled=%v", st.Label, st.Enabled)
		}
		var labels []string
		for _, it := range m.Children {
			if it.Visible {
				l := it.Label
				if it.Type == "separator" {
					l = "-"
				}
				labels = append(labels, l)
			}
		}
		want := []string{"Signed in as Ada Lovelace", "Copy bearer token", "Homeys", "Devices", "Log out", "-", "Start at login", "Quit"}
		if !slices.Equal(labels, want) {
			t.Errorf("menu = %q\nwant   %q\n%s", labels, want, m)
		}
		if it := m.find("Start at login"); it == nil || it.ToggleType != "checkmark" || it.ToggleState != 0 {
			t.Errorf("Start at login is not an unticked checkbox:\n%s", m)
		}
	})

	t.Run("ItemIsMenu", func(t *testing.T) {
		v, err := c.property("ItemIsMenu")
		if err != nil {
			t.Fatal(err)
		}
		if isMenu, _ := v.Value().(bool); isMenu {
			t.Errorf("ItemIsMenu is true: a panel would open the menu instead of copying on a click (SetOnTapped must come before systray.Run)")
		}
		if v, err := c.property("Title"); err != nil || !strings.HasPrefix(fmt.Sprint(v.Value()), "homeytray") {
			t.Errorf("Title = %v, %v", v, err)
		}
	})

	t.Run("RegisteredWithWatcher", func(t *testing.T) {
		var owner string
		if err := c.conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, c.name).Store(&owner); err != nil {
			t.Fatal(err)
		}
		var items []string
		if !waitFor(30*time.Second, func() bool {
			v, err := c.conn.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher").
				GetProperty("org.kde.StatusNotifierWatcher.RegisteredStatusNotifierItems")
			items, _ = v.Value().([]string)
			return err == nil && slices.ContainsFunc(items, func(s string) bool { return strings.Contains(s, owner) })
		}) {
			t.Errorf("the watcher lists %q, not the tray (%s)", items, owner)
		}
	})

	t.Run("ActivateCopiesBearer", func(t *testing.T) {
		bearer, took := copyBearer(t, func() {
			if err := c.activate(); err != nil {
				t.Fatalf("Activate: %v", err)
			}
		})
		t.Logf("Activate → bearer on the clipboard: %v", took.Round(time.Millisecond))
		checkBearer(t, home, bearer)
		n := notes.wait(t, 30*time.Second, p.pid(), 1, isCopied)
		e.checkNotification(t, n[0], bearer)
		t.Logf("notification: %q / %q", n[0].Summary, n[0].Body)
		if n[0].Urgency == 2 {
			t.Errorf("a routine copy notified with critical urgency (dunst never expires those)")
		}
		// dunst, the real server, got it: close it and read dunst's history.
		if out, err := exec.Command("dunstctl", "close-all").CombinedOutput(); err != nil {
			t.Fatalf("dunstctl close-all: %v %s", err, out)
		}
		hist, err := exec.Command("dunstctl", "history").Output()
		if err != nil {
			t.Fatalf("dunstctl history: %v", err)
		}
		if !strings.Contains(string(hist), n[0].Summary) || strings.Contains(string(hist), bearer) {
			t.Errorf("dunst's history lacks the notification %q (or shows the bearer)", n[0].Summary)
		}

		t.Run("ClearedAfterConfiguredTime", func(t *testing.T) {
			// clipboard_clear_seconds is 1: the clipboard is empty soon after.
			start := time.Now()
			waitClipboard(t, 30*time.Second, "the clipboard to be cleared", func(s string) bool { return s != bearer })
			if got := readClipboard(t); got != "" {
				t.Errorf("after the clear the clipboard holds %d bytes, want none", len(got))
			}
			t.Logf("cleared %v after the copy was seen", time.Since(start).Round(10*time.Millisecond))
		})
		t.Run("NotClearedWhenReplaced", func(t *testing.T) {
			copied := time.Now()
			bearer, _ := copyBearer(t, c.activateOrFail)
			writeClipboard(t, "the user copied something else")
			// Past the 1 s clear: the tray leaves nothing to wait for when it does nothing.
			time.Sleep(time.Until(copied.Add(1300 * time.Millisecond)))
			if got := readClipboard(t); got != "the user copied something else" {
				t.Errorf("the tray cleared a clipboard that no longer held its bearer (now %d bytes, bearer=%v)", len(got), got == bearer)
			}
		})
	})

	t.Run("CopyBearerToken", func(t *testing.T) {
		copiedBefore := len(notes.wait(t, 0, p.pid(), 0, isCopied))
		bearer, took := copyBearer(t, func() { c.click("Copy bearer token") })
		t.Logf("Copy bearer token → clipboard: %v", took.Round(time.Millisecond))
		checkBearer(t, home, bearer)
		if tok := strings.TrimSpace(e.must("", "token")); tok != bearer {
			t.Errorf("`homeytray token` and the tray's copy differ")
		}
		copied := notes.wait(t, 30*time.Second, p.pid(), copiedBefore+1, isCopied)
		for _, n := range copied {
			e.checkNotification(t, n, bearer)
		}
	})

	t.Run("Homeys", func(t *testing.T) {
		homeys := c.item("Homeys")
		if n := len(visible(homeys.Children)); n != 2 {
			t.Fatalf("Homeys submenu has %d items, want 2:\n%s", n, c.menu())
		}
		checked := func(m *menuItem, name string) bool {
			h := m.find("Homeys")
			it := h.findHomey(name)
			return it != nil && it.ToggleType == "checkmark" && it.ToggleState == 1
		}
		m := c.menu()
		if !checked(m, "Home") || checked(m, "Cabin") {
			t.Fatalf("Home must be the one ticked Homey:\n%s", m.find("Homeys"))
		}
		c.clickID(m.find("Homeys").findHomey("Cabin").ID)
		c.waitMenu(5*time.Second, "Cabin ticked, Home not", func(m *menuItem) bool {
			return checked(m, "Cabin") && !checked(m, "Home")
		})
		var js struct {
			Token   string `json:"token"`
			HomeyID string `json:"homey_id"`
		}
		if err := json.Unmarshal([]byte(e.must("", "token", "--format", "json")), &js); err != nil {
			t.Fatal(err)
		}
		if js.HomeyID != cabin.ID {
			t.Errorf("after picking Cabin in the tray, `homeytray token` is for %s", js.HomeyID)
		}
		checkBearer(t, cabin, js.Token)
		bearer, _ := copyBearer(t, func() { c.click("Copy bearer token") })
		checkBearer(t, cabin, bearer)
		checkDevices(t, e, c, cabin, bearer)

		c.clickID(c.menu().find("Homeys").findHomey("Home").ID)
		c.waitMenu(5*time.Second, "Home ticked again", func(m *menuItem) bool { return checked(m, "Home") && !checked(m, "Cabin") })
		if js := e.must("", "token", "--format", "json"); !strings.Contains(js, home.ID) {
			t.Errorf("after picking Home again, `homeytray token` is for another Homey")
		}
	})

	t.Run("Devices", func(t *testing.T) {
		bearer := strings.TrimSpace(e.must("", "token"))
		checkDevices(t, e, c, home, bearer)
	})

	t.Run("StartAtLogin", func(t *testing.T) {
		dir := filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), "autostart")
		file := filepath.Join(dir, e.appName()+".desktop")
		c.click("Start at login")
		c.waitMenu(5*time.Second, "Start at login ticked", func(m *menuItem) bool {
			it := m.find("Start at login")
			return it != nil && it.ToggleState == 1
		})
		b, err := os.ReadFile(file)
		if err != nil {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no autostart entry %s: %v (folder holds %v)", file, err, entries)
		}
		if !strings.Contains(string(b), "\nExec="+binary) {
			t.Errorf("the entry does not run this binary (%s):\n%s", binary, b)
		}
		validateDesktopFile(t, file)
		if out := e.must("", "autostart", "status"); !strings.Contains(out, "starts when you log in") {
			t.Errorf("autostart status after the tick: %q", out)
		}
		c.click("Start at login")
		c.waitMenu(5*time.Second, "Start at login unticked", func(m *menuItem) bool {
			it := m.find("Start at login")
			return it != nil && it.ToggleState == 0
		})
		if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the autostart entry is still there after unticking: %v", err)
		}
		if out := e.must("", "autostart", "status"); !strings.Contains(out, "does not start") {
			t.Errorf("autostart status after unticking: %q", out)
		}
	})

	t.Run("SecondTray", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		second := exec.CommandContext(ctx, binary, "tray")
		second.Env = e.vars
		out, err := second.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "already running") {
			t.Errorf("a second tray: %v, %q; want exit 0 and \"already running\"", err, out)
		}
		if err := p.alive(); err != nil {
			t.Fatalf("the first tray ended: %v", err)
		}
	})

	t.Run("Quit", func(t *testing.T) {
		c.quit()
		if code := p.wait(5 * time.Second); code != 0 {
			t.Errorf("Quit: exit %d, want 0", code)
		}
	})

	// Notifications only for copies (no noise on a healthy run).
	for _, n := range notes.from(p.pid()) {
		e.checkNotification(t, n, "")
		if !hasText(n, "copied") {
			t.Errorf("unexpected notification: %q / %q", n.Summary, n.Body)
		}
	}
}

func (c *trayClient) activateOrFail() {
	c.t.Helper()
	if err := c.activate(); err != nil {
		c.t.Fatalf("Activate: %v", err)
	}
}

// checkDevices: the Devices submenu lists the Homey's devices, each under its zone, and clicking
// one copies its id.
func checkDevices(t *testing.T, e *testEnv, c *trayClient, h emulatedHomey, bearer string) {
	t.Helper()
	hc := &homey.Client{BaseURL: h.BaseURL, HomeyID: h.ID}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	devices, err := hc.Devices(ctx, bearer)
	if err != nil {
		t.Fatal(err)
	}
	zones, err := hc.Zones(ctx, bearer)
	if err != nil {
		t.Fatal(err)
	}
	names := e.srv.DeviceNames(h.ID)
	var grouped map[string]deviceEntry
	m := c.waitMenu(10*time.Second, "the Devices submenu of "+h.Name, func(m *menuItem) bool {
		d := m.find("Devices")
		if d == nil {
			return false
		}
		grouped = groupDevices(d)
		for _, n := range names {
			if _, ok := grouped[n]; !ok {
				return false
			}
		}
		return true
	})
	if len(grouped) != len(names) {
		t.Errorf("the Devices submenu has %d devices, %s has %d:\n%s", len(grouped), h.Name, len(names), m.find("Devices"))
	}
	for _, d := range devices {
		got, ok := grouped[d.Name]
		if !ok {
			continue
		}
		if z := zones[d.Zone].Name; !strings.Contains(got.zone, z) {
			t.Errorf("%s is under %q, its zone is %q", d.Name, got.zone, z)
		}
		if want := deviceState(d); got.state != want {
			t.Errorf("%s shows the state %q beside its name, want %q", d.Name, got.state, want)
		}
	}
	// A click copies the device's id.
	var d homey.Device
	for _, x := range devices {
		d = x
		break
	}
	writeClipboard(t, sentinel)
	c.clickID(grouped[d.Name].id)
	if got := waitClipboard(t, 30*time.Second, "the device id on the clipboard", func(s string) bool { return s != sentinel && s != "" }); got != d.ID {
		t.Errorf("clicking %s copied %q, want its id %q", d.Name, got, d.ID)
	}
}

type deviceEntry struct {
	id    int32
	zone  string // the label of the zone it is under (header or submenu)
	state string // the main state shown beside the name ("on", "19.8 °C"), "" = none
}

// deviceState is the state the tray shows beside a device of the emulator's fixture: its
// onoff, locked or contact flag, else its temperature (the test's own reading of the fixture).
func deviceState(d homey.Device) string {
	for _, f := range [][3]string{{"onoff", "on", "off"}, {"locked", "locked", "unlocked"}, {"alarm_contact", "open", "closed"}, {"alarm_motion", "motion", "no motion"}} {
		if c, ok := d.CapabilitiesObj[f[0]]; ok {
			if c.Value == true {
				return f[1]
			}
			return f[2]
		}
	}
	if c, ok := d.CapabilitiesObj["measure_temperature"]; ok {
		return fmt.Sprint(c.Value) + " " + c.Units
	}
	return ""
}

// groupDevices reads a Devices submenu in either shape the contract allows: zones as disabled
// headers followed by their devices, or zones as submenus holding them (nested as deep as needed).
func groupDevices(d *menuItem) map[string]deviceEntry {
	out := map[string]deviceEntry{}
	var walk func(n *menuItem, zone string)
	walk = func(n *menuItem, zone string) {
		header := zone
		for _, it := range n.Children {
			switch {
			case !it.Visible || it.Type == "separator":
			case len(it.Children) > 0 || it.Submenu:
				walk(it, it.Label)
			case !it.Enabled:
				header = it.Label
			default:
				// "Desk lamp · on": the name, and the main state beside it (if any)
				name, state := it.Label, ""
				if i := strings.LastIndex(name, " · "); i >= 0 {
					name, state = name[:i], name[i+len(" · "):]
				}
				out[name] = deviceEntry{it.ID, header, state}
			}
		}
	}
	walk(d, "")
	return out
}

func validateDesktopFile(t *testing.T, file string) {
	t.Helper()
	if _, err := exec.LookPath("desktop-file-validate"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("desktop-file-validate is missing: `make deps` installs it")
		}
		t.Logf("SKIPPED the validation: desktop-file-validate is not installed")
		return
	}
	if out, err := exec.Command("desktop-file-validate", file).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("desktop-file-validate %s: %v\n%s", file, err, out)
	}
}

// TestTrayServesScripts: on a bus of its own (with a keyring, but no tray host and no
// notification server), the tray still exports its menu and copies, says on stderr what is
// missing, and `homeytray token` gets the tray's bearer without a single Secret Service call.
func TestTrayServesScripts(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	bus, _ := privateKeyring(t)
	e.setenv("DBUS_SESSION_BUS_ADDRESS=" + bus)
	e.loginHTTP()
	secrets := watchCalls(t, bus, "type='method_call',destination='org.freedesktop.secrets'")
	p := e.startTray(t)
	c := p.client
	c.waitStatus(10*time.Second, "Signed in as Ada Lovelace")

	t.Run("NoTrayHost", func(t *testing.T) {
		// fyne.io/systray logs its own raw line ("systray error: failed to register: …"); the
		// user needs one of ours that says what is missing.
		if !waitFor(30*time.Second, func() bool {
			for _, line := range strings.Split(p.out.String(), "\n") {
				l := strings.ToLower(line)
				if strings.HasPrefix(l, "homeytray:") && (strings.Contains(l, "statusnotifierwatcher") ||
					strings.Contains(l, "tray host") || strings.Contains(l, "panel") || strings.Contains(l, "system tray")) {
					return true
				}
			}
			return false
		}) {
			t.Errorf("no line of the tray's own on stderr says that there is no tray host (StatusNotifierWatcher):\n%s", p.out.String())
		}
		c.item("Copy bearer token") // the menu is there all the same
	})

	var bearer string
	t.Run("NoNotificationServer", func(t *testing.T) {
		bearer, _ = copyBearer(t, c.activateOrFail)
		checkBearer(t, e.homeyByName("Home"), bearer)
		p.waitOutput(30*time.Second, "notification")
	})
	if bearer == "" {
		t.FailNow()
	}

	t.Run("TokenFromTheTray", func(t *testing.T) {
		fromTray := 0
		for _, call := range secrets.calls() {
			if int(call.PID) == p.pid() {
				fromTray++
			}
		}
		if fromTray == 0 {
			t.Fatalf("the monitor saw no Secret Service call from the tray at all: it watches the wrong thing")
		}
		before := len(secrets.calls())
		e.srv.ResetCounts()
		got := strings.TrimSpace(e.must("", "token"))
		if got != bearer {
			t.Errorf("`homeytray token` printed another bearer than the tray's")
		}
		cloud := strings.TrimSpace(e.must("", "token", "--cloud"))
		if cloud == "" || cloud == bearer {
			t.Errorf("token --cloud printed no access token")
		}
		after := secrets.calls()[before:]
		for _, call := range after {
			who := "the CLI"
			if int(call.PID) == p.pid() {
				who = "the tray"
			}
			t.Errorf("%s called %s.%s on the Secret Service while answering `token`", who, call.Interface, call.Member)
		}
		if n := e.srv.Count("*"); n != 0 {
			t.Errorf("`token` answered by the tray made %d HTTP calls, want 0", n)
		}
		// And it needs no bus at all.
		noBus := append(slices.Clip(e.vars), "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "none"))
		cmd := exec.Command(binary, "token")
		cmd.Env = noBus
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != bearer {
			t.Errorf("`homeytray token` without a session bus: %v", err)
		}
	})

	t.Run("Devices", func(t *testing.T) {
		out := e.must("", "devices")
		for _, name := range e.srv.DeviceNames(e.homeyByName("Home").ID) {
			if !strings.Contains(out, name) {
				t.Errorf("devices from the tray lacks %q", name)
			}
		}
	})
}

// TestTrayWithoutDisplay: no display to own a clipboard on (neither DISPLAY nor WAYLAND_DISPLAY,
// as for a tray started from a text console). Copying says so clearly; the menu and the
// scripts' socket keep working.
func TestTrayWithoutDisplay(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	e.loginHTTP()
	notes := watchNotifications(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	p := e.startTray(t, "DISPLAY=", "WAYLAND_DISPLAY=")
	c := p.client
	c.waitStatus(10*time.Second, "Signed in as Ada Lovelace")
	const says = "no display to own a clipboard on"
	p.waitOutput(30*time.Second, says) // said at start
	writeClipboard(t, sentinel)
	said := strings.Count(p.out.String(), says)
	c.click("Copy bearer token")
	if !waitFor(30*time.Second, func() bool { return strings.Count(p.out.String(), says) > said }) {
		t.Errorf("the click on Copy bearer token said nothing on stderr:\n%s", p.out.String())
	}
	notes.wait(t, 30*time.Second, p.pid(), 1, func(n notification) bool { return hasText(n, says) })
	if got := readClipboard(t); got != sentinel {
		t.Errorf("the clipboard changed although the tray has no display")
	}
	for _, n := range notes.from(p.pid()) {
		e.checkNotification(t, n, "")
		if isCopied(n) {
			t.Errorf("a notification says %q although nothing was copied", n.Summary)
		}
	}
	if out := strings.TrimSpace(e.must("", "token")); out == "" {
		t.Errorf("token printed nothing")
	}
	c.item("Devices")
	c.quit()
	if code := p.wait(5 * time.Second); code != 0 {
		t.Errorf("Quit: exit %d", code)
	}
}

// TestTrayRefreshNeedsAttention: the sign-in is revoked behind the tray's back; its background
// refresh alone (no click, no command) turns the status line into "Sign-in needs attention: …",
// offers "Log in…", and raises exactly one notification, not one per retry.
//
// The refresher asks for the access token again at 80% of its life but not sooner than 30 s
// (tray/refresh.go minTokenGap), and re-confirms the bearer after 12 minutes: too slow for a
// test. Its retry after a failed pass is the background path a test can reach in seconds: the
// token endpoint drops the tray's first refresh (a network blip: no notification, the token's
// expiry is not known yet), the sign-in is then revoked, and the retry 2.5–5 s later finds out.
func TestTrayRefreshNeedsAttention(t *testing.T) {
	requireTrayDesktop(t)
	notes := watchNotifications(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	e, p := startTrayDroppingFirstRefresh(t)
	c := p.client
	iconBefore, _ := c.property("IconPixmap")
	if !waitFor(30*time.Second, func() bool { return e.srv.Count("POST /oauth2/token") >= 1 }) {
		t.Fatalf("the tray never asked for a fresh access token")
	}
	e.srv.RevokeRefreshTokens()
	e.srv.ExpireAccessTokens()
	e.srv.RevokeSessions()
	revoked := time.Now()
	if got := status(c.menu()); got != "Signed in as Ada Lovelace" {
		t.Errorf("a network blip changed the status line to %q", got)
	}

	st := c.waitStatus(15*time.Second, "Sign-in needs attention: ")
	t.Logf("%v after the revocation: %q", time.Since(revoked).Round(10*time.Millisecond), st)
	e.checkNoSecret([]string{"tray"}, "the status line", st)
	m := c.menu()
	if m.find("Log in…") == nil || m.find("Log out") != nil {
		t.Errorf("a sign-in that is gone must offer Log in…:\n%s", m)
	}
	if iconAfter, err := c.property("IconPixmap"); err != nil || fmt.Sprint(iconAfter.Value()) == fmt.Sprint(iconBefore.Value()) {
		t.Errorf("the icon did not change (IconPixmap: %v)", err)
	}
	first := notes.wait(t, 30*time.Second, p.pid(), 1, nil)
	e.checkNotification(t, first[0], "")
	t.Logf("notification: %q / %q", first[0].Summary, first[0].Body)

	// Not one per retry: wait for the next retry of the refresh, then count again.
	tries := e.srv.Count("POST /oauth2/token")
	if !waitFor(30*time.Second, func() bool { return e.srv.Count("POST /oauth2/token") > tries }) {
		t.Logf("no retry within 15 s; counting the notifications so far")
	}
	if all := notes.from(p.pid()); len(all) != 1 {
		t.Errorf("%d notifications for one incident, want exactly 1: %+v", len(all), all)
	}
	if got := status(c.menu()); !strings.HasPrefix(got, "Sign-in needs attention: ") {
		t.Errorf("after a retry the status line is %q", got)
	}
}

// TestTrayFootprint measures an idle signed-in tray (RSS, CPU over 10 s) and the time from a
// click on Copy bearer token to the bearer on the clipboard, then quits it with the bearer still
// on the clipboard: Quit clears it. The numbers are logged, not asserted (issue 3: under 30 MiB,
// under 1% of a core, under 100 ms).
func TestTrayFootprint(t *testing.T) {
	requireTrayDesktop(t)
	notes := watchNotifications(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	e, p := signedInTray(t, nil)
	c := p.client
	bearer, _ := copyBearer(t, func() { c.click("Copy bearer token") }) // warms the cache
	checkBearer(t, e.homeyByName("Home"), bearer)

	// Two measures of a warm click: until the tray's "copied" notification (sent once the tray
	// owns the selection; seen by the bus monitor, nothing else running), and until `xclip -o`
	// reads the bearer (polled every 10 ms; each poll is an X round trip that competes with the
	// tray).
	var toNote, toRead []time.Duration
	for range 5 {
		writeClipboard(t, sentinel)
		before := len(notes.from(p.pid()))
		start := time.Now()
		c.click("Copy bearer token")
		n := notes.wait(t, 30*time.Second, p.pid(), before+1, nil)
		toNote = append(toNote, n[len(n)-1].At.Sub(start))
		if got := readClipboard(t); got != bearer {
			t.Fatalf("after the notification the clipboard does not hold the bearer (%d bytes)", len(got))
		}
	}
	for range 5 {
		_, d := copyBearer(t, func() { c.click("Copy bearer token") })
		toRead = append(toRead, d)
	}
	poll := time.Now()
	for range 5 {
		readClipboard(t)
	}
	t.Logf("warm click on Copy bearer token → copied (notification seen): %s", spread(toNote))
	t.Logf("warm click on Copy bearer token → xclip -o reads the bearer: %s (one xclip -o takes %v)",
		spread(toRead), (time.Since(poll) / 5).Round(100*time.Microsecond))

	idle := 10 * time.Second
	if testing.Short() {
		idle = 2 * time.Second
	}
	cpu0, err := procCPU(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(idle) // the measurement window itself
	cpu1, err := procCPU(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(t0)
	rss, hwm := procRSS(t, p.pid())
	t.Logf("idle signed-in tray over %v: CPU %v (%.3f%% of one core), VmRSS %.1f MiB (peak %.1f MiB)",
		wall.Round(time.Millisecond), cpu1-cpu0, 100*float64(cpu1-cpu0)/float64(wall), float64(rss)/1024, float64(hwm)/1024)

	t.Run("QuitClearsClipboard", func(t *testing.T) {
		bearer, _ := copyBearer(t, func() { c.click("Copy bearer token") })
		c.quit()
		if code := p.wait(5 * time.Second); code != 0 {
			t.Errorf("Quit: exit %d, want 0", code)
		}
		if got := readClipboard(t); got == bearer || got != "" {
			t.Errorf("after Quit the clipboard holds %d bytes (the bearer: %v), want none", len(got), got == bearer)
		}
	})
}

// spread is "min a, median b, max c" of a few durations.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %v, median %v, max %v (%d clicks)", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]), len(s))
}

// procCPU is the user+system CPU time of a process (/proc/<pid>/stat, in clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	utime, err1 := strconv.ParseInt(f[11], 10, 64)           // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64)           // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

// procRSS reads VmRSS and VmHWM (KiB) from /proc/<pid>/status.
func procRSS(t *testing.T, pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}

// tellTestTray sends the tray of e what `homeytray use`/`login` send after a change.
func tellTestTray(t *testing.T, e *testEnv) {
	t.Helper()
	path, err := ipc.SocketPath(e.appName())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The answer is the reload's outcome: under a fault it is an error, which is expected.
	if _, err := ipc.Ask(ctx, path, ipc.Request{Op: ipc.OpChanged}); err != nil {
		t.Fatalf("the tray's socket: %v", err)
	}
}

// startTrayDroppingFirstRefresh signs a user in with 30 s access tokens (inside auth's 60 s
// margin: every AccessToken refreshes) and starts the tray with the token endpoint dropping its
// first refresh (a network blip), so that the tray's retry a few seconds later is the background
// pass a test can steer; it returns once the tray says who is signed in.
func startTrayDroppingFirstRefresh(t *testing.T) (*testEnv, *trayProc) {
	t.Helper()
	e := newTestEnv(t, false)
	e.srv.SetAccessTokenTTL(30 * time.Second)
	e.loginHTTP()
	e.srv.ResetCounts()
	e.srv.SetFault("POST /oauth2/token", emulator.Fault{Kind: emulator.FaultReset, Times: 1})
	p := e.startTray(t)
	p.client.waitStatus(10*time.Second, "Signed in as Ada Lovelace")
	return e, p
}
