package desktop

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

	"github.com/homeytray/homeytray/internal/failure"
)

// Desktop notifications: beeep on Windows and macOS (with beeep.AppName set from Notifier.App);
// on Linux and the BSDs our own Notify call on a private session-bus connection. beeep's Linux
// path sends over the process's shared connection (dbus.SessionBus), which fyne.io/systray uses
// too; the notification server then answers with a two-argument NotificationClosed signal
// addressed to that connection, and systray stops re-registering with a restarted panel after any
// signal with fewer than three arguments (docs/desktop-tests.md#short-signals). So the
// notifications keep off systray's connection.

// Notifier shows desktop notifications and reports the first failure (no notification server,
// say) once through Logf; later failures are dropped. Never fatal. Safe for concurrent use.
type Notifier struct {
	App  string                           // the application's name, e.g. "homeytray"
	Icon []byte                           // PNG, may be nil
	Logf func(format string, args ...any) // nil = discard
	// Send shows one notification; nil = the desktop's (tests give one of their own).
	Send func(app, title, body string, icon []byte) error

	once sync.Once
	bus  notifyBus
}

// Show shows one notification.
func (n *Notifier) Show(title, body string) {
	send := n.Send
	if send == nil {
		send = n.desktop
	}
	if err := send(n.App, title, body, n.Icon); err != nil && n.Logf != nil {
		n.once.Do(func() {
			n.Logf("desktop notifications do not work (%s); the tray goes on without them", failure.Clean(err.Error()))
		})
	}
}

// UsesDBus reports whether fyne.io/systray and the notifications speak D-Bus
// (StatusNotifierItem) on goos.
func UsesDBus(goos string) bool {
	switch goos {
	case "linux", "freebsd", "openbsd", "netbsd":
		return true
	}
	return false
}

func (n *Notifier) desktop(app, title, body string, icon []byte) error {
	if UsesDBus(runtime.GOOS) {
		return n.bus.notify(app, title, body, icon)
	}
	beeep.AppName = app // beeep's only way to name the sender
	var ico any = ""    // beeep refuses a nil icon
	if len(icon) > 0 {
		ico = icon
	}
	return beeep.Notify(title, body, ico)
}

// notifyBus is the private session-bus connection for notifications, made on first use and
// dropped after a failed call (the next notification connects again).
type notifyBus struct {
	mu   sync.Mutex
	conn *dbus.Conn
}

// notify calls org.freedesktop.Notifications.Notify (normal urgency, the server's default
// timeout).
func (notifyBus *notifyBus) notify(app, title, body string, icon []byte) error {
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
