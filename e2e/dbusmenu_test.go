//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// A small client of the tray's StatusNotifierItem and com.canonical.dbusmenu on the session bus:
// what a panel does, driven by a test (docs/desktop-tests.md#tray-over-d-bus).

const (
	sniPath       = "/StatusNotifierItem"
	sniInterface  = "org.kde.StatusNotifierItem"
	menuPath      = "/StatusNotifierItem/menu"
	menuInterface = "com.canonical.dbusmenu"
)

// menuItem is one node of the dbusmenu layout.
type menuItem struct {
	ID          int32
	Label       string
	Type        string // "separator" or ""
	Enabled     bool
	Visible     bool
	ToggleType  string // "checkmark" for checkboxes
	ToggleState int    // 1 checked, 0 not
	Submenu     bool   // children-display = "submenu"
	Children    []*menuItem
}

// find returns the first visible item with this label, depth first (nil if none).
func (m *menuItem) find(label string) *menuItem {
	for _, c := range m.Children {
		if c.Visible && c.Label == label {
			return c
		}
		if f := c.find(label); f != nil {
			return f
		}
	}
	return nil
}

// String draws the tree, one item a line, for failure messages.
func (m *menuItem) String() string {
	var b strings.Builder
	var walk func(*menuItem, int)
	walk = func(n *menuItem, depth int) {
		for _, c := range n.Children {
			flags := ""
			if !c.Enabled {
				flags += " (disabled)"
			}
			if !c.Visible {
				flags += " (hidden)"
			}
			if c.ToggleType != "" {
				flags += fmt.Sprintf(" [%s %d]", c.ToggleType, c.ToggleState)
			}
			label := c.Label
			if c.Type == "separator" {
				label = "-----"
			}
			fmt.Fprintf(&b, "%s%d %q%s\n", strings.Repeat("  ", depth), c.ID, label, flags)
			walk(c, depth+1)
		}
	}
	walk(m, 0)
	return b.String()
}

// trayClient talks to one tray process.
type trayClient struct {
	t    testing.TB
	conn *dbus.Conn
	name string // org.kde.StatusNotifierItem-<pid>-1

	once sync.Once // the first GetLayout of fyne.io/systray v1.12.2 answers with depth 1
}

// connectTray waits until the tray process pid owns its StatusNotifierItem name on bus.
func connectTray(t testing.TB, bus string, pid int, alive func() error) *trayClient {
	t.Helper()
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatalf("connect to the session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &trayClient{t: t, conn: conn, name: fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", pid)}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var has bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, c.name).Store(&has); err != nil {
			t.Fatalf("NameHasOwner: %v", err)
		}
		if has {
			return c
		}
		if err := alive(); err != nil {
			t.Fatalf("the tray ended before it showed a menu: %v", err)
		}
		if time.Now().After(deadline) {
			var names []string
			_ = conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names)
			t.Fatalf("no %s on the bus after 10 s; names: %v", c.name, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// layout reads the whole menu once.
func (c *trayClient) layout() (*menuItem, error) {
	var rev uint32
	var root []any
	call := c.conn.Object(c.name, menuPath).Call(menuInterface+".GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		return nil, fmt.Errorf("GetLayout: %w", call.Err)
	}
	if err := call.Store(&rev, &root); err != nil {
		return nil, fmt.Errorf("GetLayout answer: %w", err)
	}
	return parseLayout(root)
}

// menu reads the whole menu (the first call of all is made twice: see once).
func (c *trayClient) menu() *menuItem {
	c.t.Helper()
	c.once.Do(func() { _, _ = c.layout() })
	m, err := c.layout()
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

// parseLayout turns one (ia{sv}av) node into a menuItem.
func parseLayout(node []any) (*menuItem, error) {
	if len(node) != 3 {
		return nil, fmt.Errorf("layout node has %d fields, want 3", len(node))
	}
	id, ok1 := node[0].(int32)
	props, ok2 := node[1].(map[string]dbus.Variant)
	kids, ok3 := node[2].([]dbus.Variant)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("layout node has types %T %T %T, want (ia{sv}av)", node[0], node[1], node[2])
	}
	m := &menuItem{ID: id, Enabled: true, Visible: true}
	for k, v := range props {
		switch k {
		case "label":
			m.Label, _ = v.Value().(string)
		case "type":
			m.Type, _ = v.Value().(string)
		case "enabled":
			m.Enabled, _ = v.Value().(bool)
		case "visible":
			m.Visible, _ = v.Value().(bool)
		case "toggle-type":
			m.ToggleType, _ = v.Value().(string)
		case "toggle-state":
			m.ToggleState = variantInt(v)
		case "children-display":
			s, _ := v.Value().(string)
			m.Submenu = s == "submenu"
		}
	}
	for _, k := range kids {
		sub, ok := k.Value().([]any)
		if !ok {
			return nil, fmt.Errorf("child of %d is %T, want a struct", id, k.Value())
		}
		child, err := parseLayout(sub)
		if err != nil {
			return nil, err
		}
		m.Children = append(m.Children, child)
	}
	return m, nil
}

func variantInt(v dbus.Variant) int {
	switch n := v.Value().(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case uint32:
		return int(n)
	case int16:
		return int(n)
	case byte:
		return int(n)
	}
	return -1
}

// item finds an item by label, failing the test when the menu has none.
func (c *trayClient) item(label string) *menuItem {
	c.t.Helper()
	m := c.menu()
	it := m.find(label)
	if it == nil {
		c.t.Fatalf("the menu has no item %q:\n%s", label, m)
	}
	return it
}

// click sends the "clicked" event a panel sends when the user picks the item.
func (c *trayClient) click(label string) {
	c.t.Helper()
	c.clickID(c.item(label).ID)
}

func (c *trayClient) clickID(id int32) {
	c.t.Helper()
	call := c.conn.Object(c.name, menuPath).Call(menuInterface+".Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(0))
	if call.Err != nil {
		c.t.Fatalf("click %d: %v", id, call.Err)
	}
}

// quit clicks Quit. The tray may leave the bus before the reply to that click is out:
// fyne.io/systray hands a click on before its Event method returns, and quitting closes the
// connection that would carry the reply (a loaded run saw "Message recipient disconnected from
// message bus without replying"). Event returns no value, so the lost reply carries nothing;
// the exit code, which every caller checks next, says the click worked. Any other error fails.
func (c *trayClient) quit() {
	c.t.Helper()
	id := c.item("Quit").ID
	call := c.conn.Object(c.name, menuPath).Call(menuInterface+".Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(0))
	if call.Err == nil {
		return
	}
	var noReply dbus.Error
	if errors.As(call.Err, &noReply) && noReply.Name == "org.freedesktop.DBus.Error.NoReply" {
		return
	}
	c.t.Fatalf("click Quit (%d): %v", id, call.Err)
}

// activate is a left click on the icon (StatusNotifierItem.Activate).
func (c *trayClient) activate() error {
	return c.conn.Object(c.name, sniPath).Call(sniInterface+".Activate", 0, int32(0), int32(0)).Err
}

// property reads a StatusNotifierItem property (ItemIsMenu, Title, IconPixmap, ...).
func (c *trayClient) property(name string) (dbus.Variant, error) {
	return c.conn.Object(c.name, sniPath).GetProperty(sniInterface + "." + name)
}

// waitMenu polls the layout until cond holds (or fails the test after d) and returns it.
func (c *trayClient) waitMenu(d time.Duration, what string, cond func(*menuItem) bool) *menuItem {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := c.layout()
		if err == nil && cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			if err != nil {
				c.t.Fatalf("waiting %v for %s: %v", d, what, err)
			}
			c.t.Fatalf("waiting %v for %s; the menu is:\n%s", d, what, m)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// status is the first item of the menu: the disabled status line.
func status(m *menuItem) string {
	for _, c := range m.Children {
		if c.Visible {
			return c.Label
		}
	}
	return ""
}

// waitStatus waits until the status line starts with prefix and returns it.
func (c *trayClient) waitStatus(d time.Duration, prefix string) string {
	c.t.Helper()
	m := c.waitMenu(d, fmt.Sprintf("the status line %q…", prefix), func(m *menuItem) bool {
		return strings.HasPrefix(status(m), prefix)
	})
	return status(m)
}

// notification is one org.freedesktop.Notifications.Notify call seen on the bus.
type notification struct {
	At                     time.Time // when the monitor saw the call
	PID                    uint32    // of the sender
	AppName, Summary, Body string
	Urgency                int
}

// notifyMonitor records every Notify call on the bus (a D-Bus monitor, as dbus-monitor is).
type notifyMonitor struct {
	mu  sync.Mutex
	all []notification
}

func watchNotifications(t testing.TB, bus string) *notifyMonitor {
	t.Helper()
	nm := &notifyMonitor{}
	monitor(t, bus, []string{"type='method_call',interface='org.freedesktop.Notifications',member='Notify'"},
		func(msg *dbus.Message, pid uint32, at time.Time) {
			if len(msg.Body) < 8 {
				return
			}
			n := notification{At: at, PID: pid, Urgency: -1}
			n.AppName, _ = msg.Body[0].(string)
			n.Summary, _ = msg.Body[3].(string)
			n.Body, _ = msg.Body[4].(string)
			if hints, ok := msg.Body[6].(map[string]dbus.Variant); ok {
				if u, ok := hints["urgency"]; ok {
					n.Urgency = variantInt(u)
				}
			}
			nm.mu.Lock()
			nm.all = append(nm.all, n)
			nm.mu.Unlock()
		})
	return nm
}

// from lists the notifications sent by process pid.
func (nm *notifyMonitor) from(pid int) []notification {
	nm.mu.Lock()
	defer nm.mu.Unlock()
	var out []notification
	for _, n := range nm.all {
		if int(n.PID) == pid {
			out = append(out, n)
		}
	}
	return out
}

// wait polls until process pid has sent at least n notifications matching keep.
func (nm *notifyMonitor) wait(t testing.TB, d time.Duration, pid, n int, keep func(notification) bool) []notification {
	t.Helper()
	var got []notification
	ok := waitFor(d, func() bool {
		got = got[:0]
		for _, x := range nm.from(pid) {
			if keep == nil || keep(x) {
				got = append(got, x)
			}
		}
		return len(got) >= n
	})
	if !ok {
		t.Fatalf("waited %v for %d notification(s) from the tray; it sent %+v", d, n, nm.from(pid))
	}
	return got
}

// methodCall is one method call seen by a monitor.
type methodCall struct {
	PID                       uint32 // 0 when the sender was gone before it could be asked
	Sender, Interface, Member string
	Destination, Path         string
}

// callMonitor records method calls that match rules.
type callMonitor struct {
	mu  sync.Mutex
	all []methodCall
}

func watchCalls(t testing.TB, bus string, rules ...string) *callMonitor {
	t.Helper()
	cm := &callMonitor{}
	monitor(t, bus, rules, func(msg *dbus.Message, pid uint32, _ time.Time) {
		c := methodCall{PID: pid}
		c.Sender, _ = msg.Headers[dbus.FieldSender].Value().(string)
		c.Interface, _ = msg.Headers[dbus.FieldInterface].Value().(string)
		c.Member, _ = msg.Headers[dbus.FieldMember].Value().(string)
		c.Destination, _ = msg.Headers[dbus.FieldDestination].Value().(string)
		if p, ok := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath); ok {
			c.Path = string(p)
		}
		cm.mu.Lock()
		cm.all = append(cm.all, c)
		cm.mu.Unlock()
	})
	return cm
}

func (cm *callMonitor) calls() []methodCall {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	return append([]methodCall(nil), cm.all...)
}

// monitor becomes a D-Bus monitor for rules and hands every matching method call to fn with the
// PID of its sender (asked on a second connection the moment the call is seen) and the time it
// was seen.
func monitor(t testing.TB, bus string, rules []string, fn func(msg *dbus.Message, pid uint32, at time.Time)) {
	t.Helper()
	asker, err := dbus.Connect(bus)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	t.Cleanup(func() { asker.Close() }) // after the monitor's own clean-up: its reader asks on it
	eavesdrop(t, bus, rules, 1024, func(msg *dbus.Message) {
		at := time.Now()
		if msg.Type != dbus.TypeMethodCall {
			return
		}
		sender, _ := msg.Headers[dbus.FieldSender].Value().(string)
		var pid uint32
		_ = asker.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, sender).Store(&pid)
		fn(msg, pid, at)
	})
}

// eavesdrop becomes a D-Bus monitor for rules (none: every message) on a connection of its own
// and hands each message to fn, in order, on one goroutine, until the test ends; buffered
// messages beyond size are dropped, as godbus drops them.
//
// The clean-up takes the channel back from godbus before it closes the connection: godbus's Close
// closes the eavesdrop channel but its reader keeps sending to it until the socket is closed a
// moment later, and a message arriving in between panicked the whole test binary ("send on closed
// channel" in Conn.inWorker, once in a loaded run). Eavesdrop(nil) ends the sends under godbus's
// own lock, so the channel can be closed safely.
func eavesdrop(t testing.TB, bus string, rules []string, size int, fn func(*dbus.Message)) {
	t.Helper()
	mon, err := dbus.Connect(bus)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	if err := mon.BusObject().Call("org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, rules, uint32(0)).Err; err != nil {
		mon.Close()
		t.Fatalf("BecomeMonitor: %v", err)
	}
	ch := make(chan *dbus.Message, size)
	mon.Eavesdrop(ch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg := range ch {
			fn(msg)
		}
	}()
	t.Cleanup(func() {
		mon.Eavesdrop(nil)
		close(ch)
		<-done
		mon.Close()
	})
}

// findHomey finds a Homey in the Homeys submenu m: its label is the name, possibly followed by
// how it is reached ("Home (local)", "Cabin (cloud)", "Cabin (API key)").
func (m *menuItem) findHomey(name string) *menuItem {
	for _, c := range m.Children {
		if c.Visible && (c.Label == name || strings.HasPrefix(c.Label, name+" (")) {
			return c
		}
	}
	return nil
}
