//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
)

// Desktops without a tray host, and tray hosts that come late or restart: the real tray, signed
// out, on a session bus of the test's own with a keyring and dunst, and the real watchers — the
// headless status-notifier-watcher (xmonad, taffybar), and xfce4-panel with xfconfd. The test
// starts and kills the watcher; a D-Bus monitor sees when the watcher's name changed owner and
// when a watcher accepted the tray's RegisterStatusNotifierItem (docs/desktop-tests.md#late-watcher).

const (
	sniWatcherName = "org.kde.StatusNotifierWatcher"
	sniWatcherPath = "/StatusNotifierWatcher"
	// registerWithin is the promise: the icon is registered within 3 s of any watcher
	// that answers, from the moment the watcher owns its name.
	registerWithin = 3 * time.Second
	// noTrayHostGrace is how long the tray waits for a tray host before it says there is none
	// (internal/desktop's default); the tests wait twice as long for a second notice that must
	// not come.
	noTrayHostGrace = 5 * time.Second
	// hostPatience bounds every wait for a condition; the machine may be loaded.
	hostPatience = 60 * time.Second
)

// trayHostDesktop is a session bus of the test's own with a keyring, dunst on the harness's
// X display, a monitor of its notifications, and a signed-out tray on it.
type trayHostDesktop struct {
	t       *testing.T
	bus     string
	conn    *dbus.Conn // the test's own connection to the bus
	tray    *trayProc
	started time.Time // just before the tray started
	self    string    // the unique bus name the tray exports its item on
	notes   *notifyMonitor
	host    *hostMonitor
}

func newTrayHostDesktop(t *testing.T) *trayHostDesktop {
	t.Helper()
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	bus, _ := privateKeyring(t)
	d := &trayHostDesktop{t: t, bus: bus, conn: busConn(t, bus)}
	desktoptest.Start(t, "dunst", d.command("dunst"))
	if !waitFor(hostPatience, func() bool { return busHasName(bus, "org.freedesktop.Notifications") }) {
		t.Fatal("dunst did not take org.freedesktop.Notifications")
	}
	d.notes = watchNotifications(t, bus)
	d.started = time.Now()
	d.tray = e.startTray(t, "DBUS_SESSION_BUS_ADDRESS="+bus)
	d.tray.client.waitStatus(hostPatience, "Not signed in")
	if err := d.conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, d.tray.client.name).Store(&d.self); err != nil {
		t.Fatalf("the tray's unique name: %v", err)
	}
	d.host = watchTrayHost(t, bus, d.self)
	return d
}

// command is a program of the desktop, on its bus and the harness's X display.
func (d *trayHostDesktop) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+d.bus)
	return cmd
}

// noHostNotes are the tray's notifications that say the desktop shows no tray icons.
func (d *trayHostDesktop) noHostNotes() []notification {
	var out []notification
	for _, n := range d.notes.from(d.tray.pid()) {
		if hasText(n, "AppIndicator and KStatusNotifierItem Support") {
			out = append(out, n)
		}
	}
	return out
}

// fence makes the tray send one more notification (a click on the icon while signed out: the
// copy fails) and waits until it is seen. The tray sends its notifications one at a time on one
// connection, so any it sent before the click is in the monitor by then.
func (d *trayHostDesktop) fence() {
	d.t.Helper()
	failed := func(n notification) bool { return hasText(n, "could not copy") }
	before := len(slices.DeleteFunc(d.notes.from(d.tray.pid()), func(n notification) bool { return !failed(n) }))
	if err := d.tray.client.activate(); err != nil {
		d.t.Fatalf("click the icon: %v", err)
	}
	d.notes.wait(d.t, hostPatience, d.tray.pid(), before+1, failed)
}

// expectNoHostNotes waits for the n-th "no tray icons" notification, then waits twice the
// tray's grace (and a fence) for one more that must not come.
func (d *trayHostDesktop) expectNoHostNotes(n int) {
	d.t.Helper()
	if !waitFor(hostPatience, func() bool { return len(d.noHostNotes()) >= n }) {
		d.t.Fatalf("waited %v for notification %d that the desktop shows no tray icons; the tray sent %+v\n%s",
			hostPatience, n, d.notes.from(d.tray.pid()), d.tray.out.String())
	}
	last := d.noHostNotes()[n-1]
	for time.Since(last.At) < 2*noTrayHostGrace {
		if got := len(d.noHostNotes()); got > n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.fence()
	if got := d.noHostNotes(); len(got) != n {
		d.t.Fatalf("%d notifications that there is no tray host, want %d: %+v", len(got), n, got)
	}
}

// hostProc is one started tray host: a program in a process group of its own.
type hostProc struct {
	name string
	proc *desktoptest.Daemon
}

// kill ends the watcher without a goodbye, as a crash does, and waits until its bus name is
// free.
func (d *trayHostDesktop) kill(w *hostProc) {
	d.t.Helper()
	mark := d.host.mark()
	if err := syscall.Kill(-w.proc.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		d.t.Fatalf("kill %s: %v", w.name, err)
	}
	if !waitFor(hostPatience, w.proc.Exited) {
		d.t.Fatalf("%s did not end", w.name)
	}
	d.host.waitOwner(d.t, mark, func(owner string) bool { return owner == "" })
}

// expectRegistered waits until w's watcher lists the tray, and checks that it took the item
// within registerWithin of owning its name. mark is the host monitor's mark from before w
// started.
func (d *trayHostDesktop) expectRegistered(w *hostProc, mark int) {
	d.t.Helper()
	owned := d.host.waitOwner(d.t, mark, func(owner string) bool { return owner != "" })
	if !waitFor(hostPatience, func() bool { return listsTray(registeredItems(d.conn), d.self) }) {
		d.t.Fatalf("%s does not list the tray (%s) after %v; it lists %q\n%s", w.name, d.self, hostPatience,
			registeredItems(d.conn), d.tray.out.String())
	}
	// The monitor reads the watcher's answer on a connection of its own: it may come a moment
	// after the list changed.
	var accepted time.Time
	var refused int
	if !waitFor(hostPatience, func() bool { accepted, refused = d.host.accepted(mark, owned.owner); return !accepted.IsZero() }) {
		d.t.Fatalf("%s (%s) lists the tray, but the monitor saw no accepted RegisterStatusNotifierItem from it; it saw %+v",
			w.name, owned.owner, d.host.since(mark))
	}
	took := accepted.Sub(owned.at)
	d.t.Logf("%s: the tray was registered %v after the watcher took its name (%d refused calls before)",
		w.name, took.Round(time.Millisecond), refused)
	if took > registerWithin {
		d.t.Errorf("%s took the tray's item %v after it took its name, want within %v", w.name, took, registerWithin)
	}
}

// startSNW starts the headless status-notifier-watcher.
func (d *trayHostDesktop) startSNW() *hostProc {
	d.t.Helper()
	return &hostProc{name: "status-notifier-watcher",
		proc: desktoptest.Start(d.t, "status-notifier-watcher", d.command("status-notifier-watcher"))}
}

// xfceSettings is what xfce4-panel needs on a bus without service activation: its settings daemon,
// started by hand once, with a panel that holds only the tray plugin.
type xfceSettings struct {
	env []string
}

func (d *trayHostDesktop) startXfconfd() *xfceSettings {
	d.t.Helper()
	xfconfd, _ := filepath.Glob("/usr/lib/*/xfce4/xfconf/xfconfd")
	if len(xfconfd) == 0 {
		needOrSkip(d.t, "xfconfd (xfce4-panel's settings daemon)", "install xfce4-panel (.ci/deps.sh)")
	}
	dir := d.t.TempDir()
	x := &xfceSettings{env: []string{
		"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
	}}
	channel := filepath.Join(dir, "config", "xfce4", "xfconf", "xfce-perchannel-xml")
	if err := os.MkdirAll(channel, 0o700); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
		d.t.Fatal(err)
	}
	panel, err := os.ReadFile(filepath.Join(moduleRoot, ".ci", "xfce4-panel.xml"))
	if err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(channel, "xfce4-panel.xml"), panel, 0o600); err != nil {
		d.t.Fatal(err)
	}
	cmd := d.command(xfconfd[0])
	cmd.Env = append(cmd.Env, x.env...)
	desktoptest.Start(d.t, "xfconfd", cmd)
	if !waitFor(hostPatience, func() bool { return busHasName(d.bus, "org.xfce.Xfconf") }) {
		d.t.Fatal("xfconfd did not take org.xfce.Xfconf")
	}
	return x
}

// startPanel starts xfce4-panel; its tray plugin (a child process) is the watcher and the host.
func (d *trayHostDesktop) startPanel(x *xfceSettings) *hostProc {
	d.t.Helper()
	cmd := d.command("xfce4-panel", "--disable-wm-check") // no window manager: skip its 5 s wait for one
	cmd.Env = append(cmd.Env, x.env...)
	// The panel's tray plugin runs in a child process, in the panel's process group.
	return &hostProc{name: "xfce4-panel", proc: desktoptest.Start(d.t, "xfce4-panel", cmd)}
}

// registeredItems is the watcher's RegisteredStatusNotifierItems (nil while there is none).
func registeredItems(c *dbus.Conn) []string {
	v, err := c.Object(sniWatcherName, sniWatcherPath).GetProperty(sniWatcherName + ".RegisteredStatusNotifierItems")
	if err != nil {
		return nil
	}
	items, _ := v.Value().([]string)
	return items
}

// listsTray: status-notifier-watcher lists ":1.5", xfce4-panel ":1.5/StatusNotifierItem".
func listsTray(items []string, self string) bool {
	return slices.ContainsFunc(items, func(s string) bool { return s == self || strings.HasPrefix(s, self+"/") })
}

// TestTrayWithoutTrayHost: with no tray host, the tray says so once in a notification that names
// the fix, and not again while nothing changes; a watcher that comes gets the icon; once it is
// gone, the tray says so once more.
func TestTrayWithoutTrayHost(t *testing.T) {
	t.Parallel() // mostly waiting: two grace periods and two windows
	d := newTrayHostDesktop(t)
	d.expectNoHostNotes(1)
	first := d.noHostNotes()[0]
	t.Logf("the notice came %v after the tray started: %q / %q", first.At.Sub(d.started).Round(time.Millisecond),
		first.Summary, first.Body)
	if first.Summary == "" || !strings.Contains(first.Body, "GNOME") {
		t.Errorf("the notification: %+v", first)
	}
	if !strings.Contains(d.tray.out.String(), "homeytray: no system tray host") {
		t.Errorf("no line on stderr says that there is no tray host:\n%s", d.tray.out.String())
	}

	needOrSkip(t, missingProgram("status-notifier-watcher"), "install haskell-status-notifier-item-utils (.ci/deps.sh)")
	mark := d.host.mark()
	w := d.startSNW()
	d.expectRegistered(w, mark)
	d.kill(w)
	d.expectNoHostNotes(2)
}

// TestTrayLateWatcher: status-notifier-watcher, which answers UnknownObject for a moment after
// it took its name, started after the tray, then killed and started again twice: each time the
// icon is registered within 3 s.
func TestTrayLateWatcher(t *testing.T) {
	needOrSkip(t, missingProgram("status-notifier-watcher"), "install haskell-status-notifier-item-utils (.ci/deps.sh)")
	d := newTrayHostDesktop(t)
	d.lateAndRestarted(d.startSNW)
}

// TestTrayLatePanel: the same with xfce4-panel as the watcher and host.
func TestTrayLatePanel(t *testing.T) {
	needOrSkip(t, missingProgram("xfce4-panel"), "install xfce4-panel (.ci/deps.sh)")
	d := newTrayHostDesktop(t)
	x := d.startXfconfd()
	d.lateAndRestarted(func() *hostProc { return d.startPanel(x) })
}

// lateAndRestarted starts a watcher 2 s after the tray (the case: after the tray's own
// start-up registration failed), kills it and starts it again, twice.
func (d *trayHostDesktop) lateAndRestarted(start func() *hostProc) {
	d.t.Helper()
	// fyne.io/systray tried and failed once at start; the watcher comes after that.
	d.tray.waitOutput(hostPatience, "failed to register")
	d.shortSignal()
	time.Sleep(time.Until(d.started.Add(2 * time.Second))) // the scenario, not a wait for something
	for round := range 3 {
		if round > 0 {
			d.t.Logf("restart %d", round)
		}
		mark := d.host.mark()
		w := start()
		d.expectRegistered(w, mark)
		d.kill(w)
	}
}

// shortSignal sends the tray's shared connection a signal with two arguments, as a notification
// server's NotificationClosed is. fyne.io/systray's own watch on the tray host stops for good at
// such a signal (docs/desktop-tests.md#short-signals): from here on only the tray's own
// registration can bring the icon to a watcher.
func (d *trayHostDesktop) shortSignal() {
	d.t.Helper()
	msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/Notifications")),
		dbus.FieldInterface:   dbus.MakeVariant("org.freedesktop.Notifications"),
		dbus.FieldMember:      dbus.MakeVariant("NotificationClosed"),
		dbus.FieldDestination: dbus.MakeVariant(d.self),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(uint32(0), uint32(0))),
	}, Body: []any{uint32(1), uint32(2)}}
	if call := d.conn.Send(msg, nil); call.Err != nil {
		d.t.Fatalf("send a short signal to the tray: %v", call.Err)
	}
}

func missingProgram(name string) string {
	if _, err := exec.LookPath(name); err != nil {
		return name
	}
	return ""
}

// hostMonitor records, from a D-Bus monitor, the watcher's changes of owner and the answers to
// the tray's RegisterStatusNotifierItem calls, in the order the bus passed them on, each with
// the time the monitor saw it.
type hostMonitor struct {
	mu     sync.Mutex
	events []hostEvent
	calls  map[uint32]bool // serials of the tray's RegisterStatusNotifierItem calls
}

type hostEvent struct {
	at       time.Time
	owner    string // an owner change: the watcher's new owner ("" = gone)
	isOwner  bool
	from     string // an answer to a registration: the watcher's unique name
	accepted bool   // a method return (else an error)
}

func watchTrayHost(t *testing.T, bus, tray string) *hostMonitor {
	t.Helper()
	m := &hostMonitor{calls: map[uint32]bool{}}
	rules := []string{
		"type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" + sniWatcherName + "'",
		"type='method_call',sender='" + tray + "',interface='" + sniWatcherName + "',member='RegisterStatusNotifierItem'",
		"type='method_return',destination='" + tray + "'",
		"type='error',destination='" + tray + "'",
	}
	eavesdrop(t, bus, rules, 1024, func(msg *dbus.Message) { m.see(msg, time.Now()) })
	return m
}

func (m *hostMonitor) see(msg *dbus.Message, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	header := func(f dbus.HeaderField) any {
		if v, ok := msg.Headers[f]; ok {
			return v.Value()
		}
		return nil
	}
	switch msg.Type {
	case dbus.TypeSignal:
		if len(msg.Body) == 3 {
			owner, _ := msg.Body[2].(string)
			m.events = append(m.events, hostEvent{at: at, isOwner: true, owner: owner})
		}
	case dbus.TypeMethodCall:
		m.calls[msg.Serial()] = true
	case dbus.TypeMethodReply, dbus.TypeError:
		serial, _ := header(dbus.FieldReplySerial).(uint32)
		if !m.calls[serial] {
			return // the answer to another call of the tray's
		}
		delete(m.calls, serial)
		from, _ := header(dbus.FieldSender).(string)
		m.events = append(m.events, hostEvent{at: at, from: from, accepted: msg.Type == dbus.TypeMethodReply})
	}
}

// mark is a position in the record: the waits below look only at what came after it.
func (m *hostMonitor) mark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// waitOwner waits for the first change of the watcher's owner after mark that satisfies ok.
func (m *hostMonitor) waitOwner(t *testing.T, mark int, ok func(owner string) bool) hostEvent {
	t.Helper()
	var found hostEvent
	if !waitFor(hostPatience, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, e := range m.events[mark:] {
			if e.isOwner && ok(e.owner) {
				found = e
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the monitor saw no such change of %s's owner in %v", sniWatcherName, hostPatience)
	}
	return found
}

// since lists the events after mark.
func (m *hostMonitor) since(mark int) []hostEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events[mark:])
}

// accepted is when the watcher owner first accepted a registration of the tray after mark
// (zero if it did not), and how many of the tray's calls it refused before.
func (m *hostMonitor) accepted(mark int, owner string) (at time.Time, refused int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events[mark:] {
		if e.isOwner || e.from != owner {
			continue
		}
		if e.accepted {
			return e.at, refused
		}
		refused++
	}
	return time.Time{}, refused
}
