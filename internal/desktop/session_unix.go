//go:build linux || freebsd || openbsd || netbsd

package desktop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ErrNoSession: there is no D-Bus session bus here (an SSH login, a container, a machine with no
// desktop), so there is no tray host and no notification server to show anything on.
var ErrNoSession = errors.New("no desktop session here (no D-Bus session bus)")

// Session checks that a desktop session bus answers, as the tray needs one: fyne.io/systray
// exports the icon on it, and without one it panics when it quits (it closes a connection it
// never made). It looks where godbus looks — $DBUS_SESSION_BUS_ADDRESS, else the systemd user
// bus in /run/user/<uid>/bus — but never autolaunches a bus with dbus-launch (a bus made for
// this process alone has no panel on it), and it gives a bus that does not answer a few seconds.
func Session() error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		user := filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "bus")
		if _, err := os.Stat(user); err != nil {
			return ErrNoSession
		}
	}
	done := make(chan error, 1)
	go func() {
		c, err := privateSessionBus()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNoSession, err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%w: the session bus does not answer", ErrNoSession)
	}
}
