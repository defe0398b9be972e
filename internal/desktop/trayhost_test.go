//go:build linux

package desktop

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
)

// The tray host follower against a real bus: a dbus-daemon of the test's own, the real
// status-notifier-watcher, and a watcher of the test's own that refuses as a slow one does.
// The item is a connection of the test's that exports /StatusNotifierItem as fyne.io/systray
// does. (The real tray with real panels: e2e/trayhost_test.go.)

// sessionBus starts a private session bus (the harness's config: no service activation) and
// points this process's DBUS_SESSION_BUS_ADDRESS at it.
func sessionBus(t *testing.T) string {
	t.Helper()
	desktoptest.Require(t, "dbus-daemon")
	dir := t.TempDir()
	bus := "unix:path=" + filepath.Join(dir, "bus")
	conf, err := filepath.Abs(filepath.Join("..", "..", ".ci", "session-bus.conf"))
	if err != nil {
		t.Fatal(err)
	}
	desktoptest.Start(t, "dbus-daemon", exec.Command("dbus-daemon", "--nofork", "--config-file="+conf, "--address="+bus))
	// The socket file exists a moment before the daemon accepts on it.
	desktoptest.WaitFor(t, "the bus", func() bool {
		c, err := dbus.Connect(bus)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	return bus
}

func connect(t *testing.T, bus string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exportItem exports a StatusNotifierItem's properties at /StatusNotifierItem on c, as
// fyne.io/systray does, and returns c's unique name.
func exportItem(t *testing.T, c *dbus.Conn) string {
	t.Helper()
	_, err := prop.Export(c, itemPath, prop.Map{itemInterface: {
		"Id": {Value: "homeytray-test", Emit: prop.EmitFalse},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c.Names()[0]
}

// registered lists the watcher's RegisteredStatusNotifierItems (nil while there is none).
func registered(c *dbus.Conn) []string {
	v, err := c.Object(watcherName, watcherPath).GetProperty(watcherInterface + ".RegisteredStatusNotifierItems")
	if err != nil {
		return nil
	}
	items, _ := v.Value().([]string)
	return items
}

// listed: the status-notifier-watcher lists ":1.5", xfce4-panel ":1.5/StatusNotifierItem".
func listed(items []string, self string) bool {
	return slices.ContainsFunc(items, func(s string) bool { return s == self || strings.HasPrefix(s, self+"/") })
}

// follow runs h until the test ends and fails the test if Run returned an error.
func follow(t *testing.T, h *TrayHost) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// counter counts calls and lets a test wait for the n-th.
type counter struct{ n atomic.Int32 }

func (c *counter) add()               { c.n.Add(1) }
func (c *counter) get() int           { return int(c.n.Load()) }
func (c *counter) atLeast(n int) bool { return c.get() >= n }

func TestTrayHostFollowsTheWatcher(t *testing.T) {
	desktoptest.Require(t, "status-notifier-watcher")
	bus := sessionBus(t)
	item := connect(t, bus)
	self := exportItem(t, item)
	other := connect(t, bus)
	var missing counter
	follow(t, &TrayHost{Item: item, Grace: registerEvery, Missing: missing.add,
		Refused: func(err error) { t.Errorf("Refused: %v", err) }})

	desktoptest.WaitFor(t, "Missing without a watcher", func() bool { return missing.atLeast(1) })
	for round := range 3 {
		w := desktoptest.Start(t, "status-notifier-watcher", exec.Command("status-notifier-watcher"))
		desktoptest.WaitFor(t, "the item in the watcher's list", func() bool { return listed(registered(other), self) })
		if got := missing.get(); got != round+1 {
			t.Fatalf("round %d: Missing was called %d times, want %d", round, got, round+1)
		}
		// A crash, not a goodbye: the watcher ends without a word.
		if err := syscall.Kill(-w.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		desktoptest.WaitFor(t, "the watcher to end", w.Exited)
		desktoptest.WaitFor(t, "Missing once the watcher left", func() bool { return missing.atLeast(round + 2) })
	}
}

// refusingWatcher owns the watcher's name and answers RegisterStatusNotifierItem with
// UnknownObject for the first few calls, as a watcher does whose object is not exported yet.
type refusingWatcher struct {
	refuse int
	mu     sync.Mutex
	calls  []string // the senders, accepted or not
	items  []string
}

func (w *refusingWatcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, string(sender))
	if len(w.calls) <= w.refuse {
		return dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"not yet"})
	}
	w.items = append(w.items, string(sender)+service)
	return nil
}

func (w *refusingWatcher) state() (calls, items []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls), slices.Clone(w.items)
}

// TestTrayHostRegistersUntilItSticks: a watcher that is there at start, and one that takes its
// name over, each refusing the first calls.
func TestTrayHostRegistersUntilItSticks(t *testing.T) {
	bus := sessionBus(t)
	item := connect(t, bus)
	self := exportItem(t, item)
	first := &refusingWatcher{refuse: 3}
	firstConn := connect(t, bus)
	ownWatcherName(t, firstConn, first)
	var missing counter
	follow(t, &TrayHost{Item: item, Missing: missing.add,
		Refused: func(err error) { t.Errorf("Refused: %v", err) }})
	waitSticks(t, first, self)

	// Another watcher queues for the name and takes it over when the first one leaves.
	second := &refusingWatcher{refuse: 2}
	ownWatcherName(t, connect(t, bus), second)
	firstConn.Close()
	waitSticks(t, second, self)
	if n := missing.get(); n != 0 {
		t.Errorf("Missing was called %d times; a watcher was there all along", n)
	}
}

func ownWatcherName(t *testing.T, c *dbus.Conn, w *refusingWatcher) {
	t.Helper()
	if err := c.Export(w, watcherPath, watcherInterface); err != nil {
		t.Fatal(err)
	}
	// Without flags: queue behind a watcher that owns the name.
	if _, err := c.RequestName(watcherName, 0); err != nil {
		t.Fatalf("RequestName: %v", err)
	}
}

// waitSticks waits until w took the item, and checks that every call came from the item's
// own connection and that it stopped asking once w accepted.
func waitSticks(t *testing.T, w *refusingWatcher, self string) {
	t.Helper()
	desktoptest.WaitFor(t, "the item to stick", func() bool { _, items := w.state(); return len(items) > 0 })
	calls, items := w.state()
	if len(calls) != w.refuse+1 || slices.ContainsFunc(calls, func(s string) bool { return s != self }) {
		t.Errorf("calls from %q, want %d from the item's connection %s", calls, w.refuse+1, self)
	}
	if want := []string{self + itemPath}; !slices.Equal(items, want) {
		t.Errorf("registered %q, want %q", items, want)
	}
}
