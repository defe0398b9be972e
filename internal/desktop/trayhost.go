package desktop

import (
	"time"

	"github.com/godbus/dbus/v5"
)

// TrayHost keeps the tray's icon registered with the desktop's tray host and says when the
// desktop has none. Run does the work; it reports through Missing and Refused, and the tray
// words what the user reads.
type TrayHost struct {
	// Missing is called when no tray host has been there for Grace: once after the start, and
	// once more each time a tray host came and went. Not again while nothing changes. It runs
	// on a goroutine of its own and may block (it shows a notification).
	Missing func()
	// Refused is called when a tray host that appeared did not take the icon however often it
	// was asked, with the last answer; nil = ignore.
	Refused func(err error)
	// Grace is how long the desktop may go without a tray host before Missing: a panel that
	// starts with the session, or restarts, is not reported. 0 = 5 s.
	Grace time.Duration
	// Item is the D-Bus connection that exports the tray's item; nil = the process's shared
	// session connection (dbus.SessionBus), which is the one fyne.io/systray exports it on.
	// Tests give their own.
	Item *dbus.Conn
}

const (
	// defaultGrace is TrayHost.Grace's default.
	defaultGrace = 5 * time.Second
	// registerEvery and registerFor: a tray host that appeared is asked to take the icon at
	// once, then every registerEvery until it does, for at most registerFor.
	registerEvery = 200 * time.Millisecond
	registerFor   = 10 * time.Second
)

func (h *TrayHost) grace() time.Duration {
	if h.Grace > 0 {
		return h.Grace
	}
	return defaultGrace
}
