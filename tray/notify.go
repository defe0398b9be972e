package tray

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"runtime"
	"sync"
	"time"

	"github.com/gen2brain/beeep"
	"github.com/godbus/dbus/v5"
)

// Desktop notifications: beeep on Windows and macOS (with beeep.AppName set from
// Options.Title); on Linux and the BSDs our own Notify call on a private session-bus
// connection. beeep's Linux path sends over the process's shared connection (dbus.SessionBus),
// which fyne.io/systray uses too; the notification server then answers with a two-argument
// NotificationClosed signal addressed to that connection, and systray stops re-registering with
// a restarted panel after any signal with fewer than three arguments (TESTING.md §9). So the
// notifications keep off systray's connection.

// sendNotification shows one notification; tests replace it.
var sendNotification = desktopNotification

// notifier shows the tray's notifications and reports the first failure (no notification
// server, say) once through logf; later failures are dropped. Never fatal.
type notifier struct {
	app  string
	icon []byte // PNG, may be nil
	logf func(format string, args ...any)
	once sync.Once
}

func (n *notifier) show(nt note) {
	if err := sendNotification(n.app, nt.title, nt.body, n.icon); err != nil {
		n.once.Do(func() {
			n.logf("desktop notifications do not work (%s); the tray goes on without them", clean(err.Error()))
		})
	}
}

// usesDBus: fyne.io/systray and notifications speak D-Bus (StatusNotifierItem) here.
func usesDBus(goos string) bool {
	switch goos {
	case "linux", "freebsd", "openbsd", "netbsd":
		return true
	}
	return false
}

func desktopNotification(app, title, body string, icon []byte) error {
	if usesDBus(runtime.GOOS) {
		return busNotify(app, title, body, icon)
	}
	var ico any = "" // beeep refuses a nil icon
	if len(icon) > 0 {
		ico = icon
	}
	return beeep.Notify(title, body, ico)
}

// notifyBus is the private session-bus connection for notifications, made on first use and
// dropped after a failed call (the next notification connects again).
var notifyBus struct {
	mu   sync.Mutex
	conn *dbus.Conn
}

// busNotify calls org.freedesktop.Notifications.Notify (normal urgency, the server's default
// timeout).
func busNotify(app, title, body string, icon []byte) error {
	notifyBus.mu.Lock()
	defer notifyBus.mu.Unlock()
	if notifyBus.conn == nil {
		c, err := privateSessionBus()
		if err != nil {
			return fmt.Errorf("connect to the session bus: %w", err)
		}
		notifyBus.conn = c
	}
	hints := map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1))}
	if img, ok := imageData(icon); ok {
		hints["image-data"] = dbus.MakeVariant(img)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call := notifyBus.conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications").CallWithContext(
		ctx, "org.freedesktop.Notifications.Notify", 0,
		app, uint32(0), "", title, body, []string{}, hints, int32(-1))
	if call.Err != nil {
		notifyBus.conn.Close()
		notifyBus.conn = nil
		return fmt.Errorf("notify: %w", call.Err)
	}
	return nil
}

func privateSessionBus() (*dbus.Conn, error) {
	c, err := dbus.SessionBusPrivate()
	if err != nil {
		return nil, err
	}
	if err := c.Auth(nil); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Hello(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// trayHostMissing reports whether no StatusNotifierWatcher (the panel's tray host) owns its name
// on the session bus. It asks on a private connection of its own, like the notifications.
func trayHostMissing() (bool, error) {
	c, err := privateSessionBus()
	if err != nil {
		return false, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var has bool
	err = c.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && !has, err
}

// busImage is the "image-data" hint, (iiibiiay): non-premultiplied RGBA rows.
type busImage struct {
	Width, Height, Rowstride int32
	HasAlpha                 bool
	BitsPerSample, Channels  int32
	Data                     []byte
}

// imageData decodes a PNG icon of at most 256×256 for the hint.
func imageData(icon []byte) (busImage, bool) {
	if len(icon) == 0 {
		return busImage{}, false
	}
	src, err := png.Decode(bytes.NewReader(icon))
	if err != nil {
		return busImage{}, false
	}
	b := src.Bounds()
	if b.Dx() > 256 || b.Dy() > 256 {
		return busImage{}, false
	}
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Bounds(), src, b.Min, draw.Src)
	return busImage{
		Width: int32(b.Dx()), Height: int32(b.Dy()), Rowstride: int32(img.Stride),
		HasAlpha: true, BitsPerSample: 8, Channels: 4, Data: img.Pix,
	}, true
}
