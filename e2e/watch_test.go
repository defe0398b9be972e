//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/homey/emulator"
)

// `homeytray watch` with the real binary against the emulator: every change made through
// `homeytray api` is printed once and in order, across dropped connections, expired sessions,
// a gap with no connection at all and a move to the relay; the same for an API-key Homey with
// the cloud failing every request.

const (
	deskLamp     = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" // Home: onoff, dim
	socketRoute  = "GET /socket.io/"                      // the realtime upgrade, on every listener
	watchChanges = 100
)

// watchProc is one running `homeytray watch`.
type watchProc struct {
	t     testing.TB
	e     *testEnv
	cmd   *exec.Cmd
	lines chan timedLine // stdout, line by line; closed at its end
	errb  *lockedBuffer  // stderr
	done  chan struct{}
	err   error // Wait's, once done is closed
	seen  []string
}

// startWatch runs `homeytray watch args…`; the test's clean-up ends it if the test did not.
func (e *testEnv) startWatch(t testing.TB, args ...string) *watchProc {
	t.Helper()
	w := &watchProc{t: t, e: e, lines: make(chan timedLine, 1024), errb: &lockedBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(binary, append([]string{"watch"}, args...)...)
	w.cmd.Env = e.vars
	w.cmd.Stderr = w.errb
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start watch: %v", err)
	}
	go func() {
		readLines(out, w.lines)
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		if w.running() {
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		e.checkNoSecret([]string{"watch"}, "stdout", strings.Join(w.seen, "\n"))
		e.checkNoSecret([]string{"watch"}, "stderr", w.errb.String())
		if t.Failed() {
			t.Logf("watch's stderr:\n%s", w.errb.String())
		}
	})
	return w
}

func (w *watchProc) running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// timedLine is a line of a process's output and when the test read it from the pipe.
type timedLine struct {
	text string
	at   time.Time
}

// readLines sends r's lines to ch, each with the time it came, and closes ch at r's end.
func readLines(r io.Reader, ch chan<- timedLine) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		ch <- timedLine{sc.Text(), time.Now()}
	}
	close(ch)
}

// next is the next line watch prints; the test fails when none comes within 30 s.
func (w *watchProc) next(what string) string {
	w.t.Helper()
	return w.nextAt(what).text
}

// nextAt is next with the time the line came.
func (w *watchProc) nextAt(what string) timedLine {
	w.t.Helper()
	select {
	case l, ok := <-w.lines:
		if !ok {
			<-w.done
			w.t.Fatalf("waiting for %s: watch ended (%v); stderr:\n%s", what, w.err, w.errb.String())
		}
		w.seen = append(w.seen, l.text)
		return l
	case <-time.After(30 * time.Second):
		w.t.Fatalf("waiting for %s: no line within 30 s", what)
	}
	return timedLine{}
}

// exit waits for watch to end by itself and returns its exit code.
func (w *watchProc) exit() int {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(60 * time.Second):
		w.t.Fatalf("watch did not end within 60 s")
	}
	for l := range w.lines {
		w.seen = append(w.seen, l.text)
	}
	if ee, ok := w.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if w.err != nil {
		w.t.Fatal(w.err)
	}
	return 0
}

// interrupt is Ctrl-C: watch must end with exit 0.
func (w *watchProc) interrupt() {
	w.t.Helper()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		w.t.Fatal(err)
	}
	if code := w.exit(); code != 0 {
		w.t.Errorf("watch after Ctrl-C: exit %d; stderr:\n%s", code, w.errb.String())
	}
}

// watchJSON is one line of `watch --json`.
type watchJSON struct {
	Time       *time.Time      `json:"time"`
	HomeyID    string          `json:"homey_id"`
	DeviceID   string          `json:"device_id"`
	Device     string          `json:"device"`
	ZoneID     string          `json:"zone_id"`
	Zone       string          `json:"zone"`
	Capability string          `json:"capability"`
	Value      json.RawMessage `json:"value"`
	Units      string          `json:"units"`
	CaughtUp   bool            `json:"caught_up"`
}

func (w *watchProc) nextJSON(what string) watchJSON {
	w.t.Helper()
	l := w.next(what)
	var j watchJSON
	if err := json.Unmarshal([]byte(l), &j); err != nil {
		w.t.Fatalf("%s: not a JSON line: %q", what, l)
	}
	return j
}

// waitSubscribed waits until watch has subscribed to the lamp's events on the Homey.
func (e *testEnv) waitSubscribed(t testing.TB, w *watchProc, homeyID string) {
	t.Helper()
	if !waitFor(30*time.Second, func() bool { return e.srv.RealtimeSubscribers(homeyID, "homey:device:"+deskLamp) == 1 || !w.running() }) || !w.running() {
		t.Fatalf("watch did not subscribe to the lamp; stderr:\n%s", w.errb.String())
	}
}

// disruption is what happens to the connection before one of the changes.
type disruption struct {
	before int    // the change it comes before (1-based)
	what   string // for messages
	do     func()
	after  func() // once that change is made (nil: nothing)
}

// changeLamp makes watchChanges changes of the lamp's onoff through `homeytray api` (args before
// the path: --homey …), each awaited on watch's output before the next, with the disruptions
// in between; then a last change of its dim, which must be the next line: nothing printed
// twice is left behind. It returns how many lines were caught up after a reconnect.
func changeLamp(t *testing.T, e *testEnv, w *watchProc, homeyID string, api []string, disruptions []disruption) int {
	t.Helper()
	caught := 0
	for i := 1; i <= watchChanges; i++ {
		var after func()
		for _, d := range disruptions {
			if d.before == i {
				t.Logf("before change %d: %s", i, d.what)
				d.do()
				after = d.after
			}
		}
		v := i%2 == 1
		e.must("", append(slices.Clone(api), "-X", "PUT", "devices/device/"+deskLamp+"/capability/onoff", "-F", fmt.Sprintf("value=%v", v))...)
		if after != nil {
			after()
		}
		j := w.nextJSON(fmt.Sprintf("change %d", i))
		if j.DeviceID != deskLamp || j.Capability != "onoff" || string(j.Value) != fmt.Sprint(v) {
			t.Fatalf("line %d: %s %s = %s; want %s onoff = %v (seen: %q)", i, j.DeviceID, j.Capability, j.Value, deskLamp, v, w.seen)
		}
		if j.Device != "Desk lamp" || j.Zone == "" || j.ZoneID == "" || j.HomeyID != homeyID || j.Time == nil || j.Time.IsZero() {
			t.Fatalf("line %d lacks a name, zone, Homey or time: %+v", i, j)
		}
		if j.CaughtUp {
			caught++
		}
	}
	e.must("", append(slices.Clone(api), "-X", "PUT", "devices/device/"+deskLamp+"/capability/dim", "-F", "value=0.42")...)
	if j := w.nextJSON("the last change"); j.Capability != "dim" || string(j.Value) != "0.42" {
		t.Fatalf("after %d changes the next line is %+v; want dim = 0.42", watchChanges, j)
	}
	return caught
}

// gap keeps every realtime connection from being made until the change is made: the change
// can only reach watch by its catch-up after the reconnect.
func gap(e *testEnv) disruption {
	return disruption{
		what: "no realtime connection until the change is made",
		do: func() {
			e.srv.SetFault(socketRoute, emulator.Fault{Kind: emulator.Fault5xx})
			e.srv.DropRealtime("")
		},
		after: func() { e.srv.SetFault(socketRoute, emulator.Fault{}) },
	}
}

// TestWatchEveryChangeOnce: signed in, `watch --json` prints each of 100 changes made through
// `homeytray api` once and in order, with every connection dropped once, every session expired
// once, a gap with no connection, and the Homey's LAN address gone (watch moves to the relay).
func TestWatchEveryChangeOnce(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	home := e.srv.Homeys()[0]
	w := e.startWatch(t, "--json")
	e.waitSubscribed(t, w, home.ID)
	g := gap(e)
	g.before = 61
	caught := changeLamp(t, e, w, home.ID, []string{"api"}, []disruption{
		{before: 21, what: "every connection dropped", do: func() { e.srv.DropRealtime("") }},
		{before: 41, what: "every session expired", do: e.srv.ExpireSessions},
		g,
		{before: 81, what: "the LAN address gone: the relay", do: func() { e.srv.StopLocal(home.ID); e.srv.DropRealtime("") }},
	})
	if caught < 1 {
		t.Errorf("%d lines caught up after a reconnect; the gap's change must be one", caught)
	}
	if n := e.srv.CountVia(home.ID, emulator.ViaRelay, socketRoute); n < 1 {
		t.Errorf("watch never connected through the relay")
	}
	w.interrupt()
	t.Logf("%d lines caught up; stderr:\n%s", caught, w.errb.String())
}

// TestWatchAPIKeyWithoutCloud: the same for a Homey reached with an API key, the Athom cloud
// failing every request (and never asked).
func TestWatchAPIKeyWithoutCloud(t *testing.T) {
	e := newTestEnv(t, false)
	home := e.srv.Homeys()[0]
	key := e.srv.AddAPIKey(home.ID, allScopes)
	e.secrets = append(e.secrets, key)
	e.removeLocalOnCleanup(t, home.ID)
	e.must(key+"\n", "local", "add", "--address", localURL(t, home), "--name", "Home")
	e.srv.SetFault(emulator.FaultCloud, emulator.Fault{Kind: emulator.Fault5xx})
	e.srv.ResetCounts()
	w := e.startWatch(t, "--json", "--homey", "Home")
	e.waitSubscribed(t, w, home.ID)
	g := gap(e)
	g.before = 61
	caught := changeLamp(t, e, w, home.ID, []string{"api", "--homey", "Home"}, []disruption{
		{before: 21, what: "every connection dropped", do: func() { e.srv.DropRealtime("") }},
		{before: 41, what: "every session expired (a key has none)", do: e.srv.ExpireSessions},
		g,
	})
	if caught < 1 {
		t.Errorf("%d lines caught up after a reconnect; the gap's change must be one", caught)
	}
	w.interrupt()
	if n := e.srv.Count(emulator.FaultCloud) + e.cloudCalls(); n != 0 {
		t.Errorf("the cloud was asked %d times", n)
	}
}

// TestWatchText: the plain lines: local time, device, zone, capability, value with its units.
func TestWatchText(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	home := e.srv.Homeys()[0]
	w := e.startWatch(t, "Desk lamp", "--capability", "dim")
	e.waitSubscribed(t, w, home.ID)
	e.must("", "api", "-X", "PUT", "devices/device/"+deskLamp+"/capability/onoff", "-F", "value=false") // not printed: --capability dim
	e.must("", "api", "-X", "PUT", "devices/device/"+deskLamp+"/capability/dim", "-F", "value=0.3")
	l := w.next("the dim")
	f := strings.Split(l, "\t")
	if len(f) != 5 || f[1] != "Desk lamp" || f[3] != "dim" || f[4] != "0.3" {
		t.Fatalf("line %q; want time, Desk lamp, zone, dim, 0.3 separated by tabs", l)
	}
	if _, err := time.ParseInLocation("2006-01-02 15:04:05", f[0], time.Local); err != nil {
		t.Errorf("time %q: %v", f[0], err)
	}
	w.interrupt()

	// The README's script example, notify-send aside: watch --json piped into jq.
	const frontDoor = "bf6a7b8c-9d0e-4f1a-9b2c-4d5e6f7a8b9c"
	pipe := exec.Command("sh", "-c", `"$0" watch --json "Front door" --capability locked |
  jq --unbuffered -r 'select(.value == false) | "\(.device) unlocked at \(.time)"'`, binary)
	pipe.Env = e.vars
	pipe.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches the whole pipeline
	out, err := pipe.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb lockedBuffer
	pipe.Stderr = &errb
	if err := pipe.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan timedLine, 16)
	go readLines(out, lines)
	defer func() {
		_ = syscall.Kill(-pipe.Process.Pid, syscall.SIGINT)
		_ = pipe.Wait()
		e.checkNoSecret([]string{"watch | jq"}, "stderr", errb.String())
	}()
	if !waitFor(30*time.Second, func() bool { return e.srv.RealtimeSubscribers(home.ID, "homey:device:"+frontDoor) == 1 }) {
		t.Fatalf("the pipeline's watch did not subscribe: %s", errb.String())
	}
	e.must("", "api", "-X", "PUT", "devices/device/"+frontDoor+"/capability/locked", "-F", "value=true") // not printed: jq keeps false
	e.must("", "api", "-X", "PUT", "devices/device/"+frontDoor+"/capability/locked", "-F", "value=false")
	select {
	case l := <-lines:
		if !strings.HasPrefix(l.text, "Front door unlocked at 20") {
			t.Errorf("the pipeline printed %q", l.text)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the pipeline printed nothing within 30 s: %s", errb.String())
	}
}

// TestWatchRefused: a DEVICE or --capability that names nothing is a usage error (exit 2), as
// are nonsense flags; the sign-in gone while watching ends it with exit 4 and the usual line.
func TestWatchRefused(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	for _, args := range [][]string{{"No such device"}, {"--capability", "no_such_capability"}, {"Desk lamp", "--capability", "measure_power"}, {"--bogus"}} {
		r := e.run("", append([]string{"watch"}, args...)...)
		if r.code != exitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || r.stdout != "" {
			t.Errorf("watch %q: exit %d, stdout %q, stderr %q; want exit 2 and one or two lines", args, r.code, r.stdout, r.stderr)
		}
	}

	home := e.srv.Homeys()[0]
	w := e.startWatch(t, "--json")
	e.waitSubscribed(t, w, home.ID)
	e.srv.RevokeRefreshTokens()
	e.srv.ExpireAccessTokens()
	e.srv.ExpireSessions()
	if code := w.exit(); code != exitAuth {
		t.Fatalf("watch with the sign-in gone: exit %d; want 4; stderr:\n%s", code, w.errb.String())
	}
	stderr := w.errb.String()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) < 2 || !strings.Contains(lines[len(lines)-1], "homeytray login") || !strings.Contains(lines[len(lines)-2], "no longer valid") {
		t.Errorf("stderr ends with %q; want the sign-in line and 'Run: homeytray login'", lines)
	}
	e.srv.RestoreRefreshTokens()
}

// lampState is the state the Devices submenu shows beside the lamp, "" while it is not there.
func lampState(m *menuItem) string {
	d := m.find("Devices")
	if d == nil {
		return ""
	}
	return groupDevices(d)["Desk lamp"].state
}

// TestTrayDevicesLive: while the tray runs, the Devices submenu shows a changed value within a
// second of the change (the median of 10 changes made by another client; each one must show),
// and after a switch of Homey and back it still follows the lamp.
func TestTrayDevicesLive(t *testing.T) {
	e, p := signedInTray(t, nil)
	c := p.client
	home := e.srv.Homeys()[0]
	c.waitMenu(30*time.Second, "the lamp in the Devices submenu", func(m *menuItem) bool { return lampState(m) != "" })
	if !waitFor(30*time.Second, func() bool { return e.srv.RealtimeSubscribers(home.ID, "homey:device:"+deskLamp) == 1 }) {
		t.Fatalf("the tray did not subscribe to the lamp:\n%s", p.out.String())
	}
	bearer := strings.TrimSpace(e.must("", "token"))
	e.secrets = append(e.secrets, bearer)
	hc := &homey.Client{BaseURL: home.LocalURL, HomeyID: home.ID}
	put := func(v bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := hc.Send(ctx, bearer, homey.RawRequest{Method: "PUT",
			Path: "/api/manager/devices/device/" + deskLamp + "/capability/onoff", Body: fmt.Appendf(nil, `{"value":%v}`, v)})
		if err == nil {
			err = resp.Err()
		}
		if err != nil {
			t.Fatalf("PUT onoff=%v: %v", v, err)
		}
	}
	var took []time.Duration
	for i := range 10 {
		v := i%2 == 0
		want := map[bool]string{true: "on", false: "off"}[v]
		if lampState(c.menu()) == want { // set the other value first, untimed
			put(!v)
			c.waitMenu(30*time.Second, "the lamp "+map[bool]string{true: "on", false: "off"}[!v], func(m *menuItem) bool { return lampState(m) != want })
		}
		start := time.Now()
		put(v)
		c.waitMenu(30*time.Second, "the lamp "+want, func(m *menuItem) bool { return lampState(m) == want })
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("a change to the Devices submenu: median %v, max %v", took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if took[len(took)/2] > time.Second {
		t.Errorf("the Devices submenu showed a change after %v (median of %d); the bound is a second", took[len(took)/2], len(took))
	}

	// A switch of Homey and back: the connection follows, and the lamp is live again.
	cabin := e.homeyByName("Cabin")
	m := c.menu()
	c.clickID(m.find("Homeys").findHomey("Cabin").ID)
	if !waitFor(30*time.Second, func() bool {
		return e.srv.RealtimeClients(cabin.ID) == 1 && e.srv.RealtimeClients(home.ID) == 0
	}) {
		t.Fatalf("after the switch to Cabin: %d connections to Cabin, %d to Home", e.srv.RealtimeClients(cabin.ID), e.srv.RealtimeClients(home.ID))
	}
	m = c.waitMenu(30*time.Second, "Home in the Homeys submenu", func(m *menuItem) bool {
		h := m.find("Homeys")
		return h != nil && h.findHomey("Home") != nil
	})
	c.clickID(m.find("Homeys").findHomey("Home").ID)
	if !waitFor(30*time.Second, func() bool { return e.srv.RealtimeSubscribers(home.ID, "homey:device:"+deskLamp) == 1 }) {
		t.Fatal("the tray did not subscribe to the lamp again after switching back")
	}
	now := lampState(c.waitMenu(30*time.Second, "the lamp back in the Devices submenu", func(m *menuItem) bool { return lampState(m) != "" }))
	next := map[string]bool{"on": false, "off": true}[now]
	put(next)
	c.waitMenu(30*time.Second, "the lamp's change after switching back", func(m *menuItem) bool {
		return lampState(m) == map[bool]string{true: "on", false: "off"}[next]
	})
	if n := e.srv.RealtimeClients(""); n != 1 {
		t.Errorf("%d realtime connections; the tray keeps one", n)
	}
}
