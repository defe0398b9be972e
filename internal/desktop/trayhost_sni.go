//go:build linux || freebsd || openbsd || netbsd

package desktop

// The tray host on Linux and the BSDs: fyne.io/systray speaks StatusNotifierItem there (the
// same systems as its own build constraint). The panel's StatusNotifierWatcher
// (org.kde.StatusNotifierWatcher) lists the items that hosts show; an item appears once it has
// called the watcher's RegisterStatusNotifierItem.
//
// fyne.io/systray v1.12.2 registers once at start and once each time the watcher's name gets a
// new owner, and gives up for good when that one call fails. Some watchers take their bus name
// before their object answers (status-notifier-watcher, of xmonad and taffybar, answers
// UnknownObject for a few milliseconds), so a tray started before its panel, or whose panel
// restarted, stayed invisible. systray's loop also stops for good at the first short signal on
// its connection (docs/desktop-tests.md#short-signals). So Run takes the job over: it follows
// the watcher's name on a private connection of its own and, whenever a watcher appears,
// registers the item again until the watcher accepts (docs/desktop-tests.md#late-watcher).
//
// The watcher keys an item on the unique bus name of the connection that registered it, so the
// registration must come from the connection that exports the item: systray's, which is the
// process's shared session connection. Only the RegisterStatusNotifierItem calls go over it —
// no match rule, no signal, nothing that systray's own loop would read.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	watcherName      = "org.kde.StatusNotifierWatcher"
	watcherPath      = "/StatusNotifierWatcher"
	watcherInterface = "org.kde.StatusNotifierWatcher"
	// itemPath is where fyne.io/systray exports the item, and what it passes to
	// RegisterStatusNotifierItem: the watcher then lists the sender's unique name (with this
	// path, for some watchers). Registering with the same argument keeps a second registration
	// the same item, which watchers ignore, rather than a second icon.
	itemPath      = "/StatusNotifierItem"
	itemInterface = "org.kde.StatusNotifierItem"

	busName      = "org.freedesktop.DBus"
	busPath      = "/org/freedesktop/DBus"
	ownerChanged = "org.freedesktop.DBus.NameOwnerChanged"

	// callTimeout bounds one call to the bus, the item or the watcher.
	callTimeout = 2 * time.Second
)

// Run keeps the item registered with whichever StatusNotifierWatcher comes, and calls Missing
// when there is none, until ctx is done (then it returns nil). It returns an error when it
// cannot reach the session bus or loses it.
func (h *TrayHost) Run(ctx context.Context) error {
	item := h.Item
	if item == nil {
		c, err := dbus.SessionBus()
		if err != nil {
			return fmt.Errorf("connect to the session bus: %w", err)
		}
		item = c
	}
	names := item.Names()
	if len(names) == 0 {
		return errors.New("the session bus gave the tray no name")
	}
	watch, err := privateSessionBus()
	if err != nil {
		return fmt.Errorf("connect to the session bus: %w", err)
	}
	defer watch.Close()
	// The rule first, then the owner: a watcher that comes between the two is seen twice,
	// which is harmless, rather than not at all.
	if err := watch.AddMatchSignal(
		dbus.WithMatchSender(busName),
		dbus.WithMatchObjectPath(busPath),
		dbus.WithMatchInterface(busName),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, watcherName),
	); err != nil {
		return fmt.Errorf("follow the tray host: %w", err)
	}
	signals := make(chan *dbus.Signal, 16)
	watch.Signal(signals)
	owner, err := nameOwner(ctx, watch, watcherName)
	if err != nil {
		return fmt.Errorf("look for the tray host: %w", err)
	}
	f := &follower{h: h, ctx: ctx, watch: watch, item: item, self: names[0], announce: true}
	defer f.wg.Wait()
	defer f.stopRegistering()
	defer f.stopGrace()
	f.ownerIs(owner)
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-signals:
			if !ok {
				return errors.New("lost the session bus")
			}
			if newOwner, ok := watcherOwner(sig); ok {
				f.ownerIs(newOwner)
			}
		case <-f.graceC:
			f.graceC = nil
			if f.owner == "" && f.announce && h.Missing != nil {
				f.announce = false
				f.wg.Go(h.Missing)
			}
		}
	}
}

// follower is Run's state; only Run's goroutine touches it.
type follower struct {
	h     *TrayHost
	ctx   context.Context
	watch *dbus.Conn // private: the signals and the checks
	item  *dbus.Conn // exports the item: the registrations
	self  string     // the unique name of item, the connection that exports the item
	wg    sync.WaitGroup

	known    bool             // owner has been set
	owner    string           // the watcher's unique name; "" = none
	announce bool             // Missing may be called when the grace ends
	grace    *time.Timer      // runs while there is no watcher
	graceC   <-chan time.Time // grace.C while it runs, else nil
	stop     context.CancelFunc
}

// ownerIs takes in the watcher's owner: "" = none (at start, or it left), else a watcher that
// is there at start, appeared or replaced another.
func (f *follower) ownerIs(owner string) {
	if f.known && owner == f.owner {
		return // seen at start and then in its signal
	}
	f.known, f.owner = true, owner
	f.stopRegistering()
	if owner == "" {
		f.startGrace()
		return
	}
	f.stopGrace()
	f.announce = true // a watcher came: say so again once it is gone
	ctx, cancel := context.WithCancel(f.ctx)
	f.stop = cancel
	f.wg.Go(func() { f.register(ctx, owner) })
}

func (f *follower) startGrace() {
	f.stopGrace()
	f.grace = time.NewTimer(f.h.grace())
	f.graceC = f.grace.C
}

func (f *follower) stopGrace() {
	if f.grace != nil {
		f.grace.Stop()
	}
	f.graceC = nil
}

func (f *follower) stopRegistering() {
	if f.stop != nil {
		f.stop()
		f.stop = nil
	}
}

// register asks the watcher owner to take the item, at once and then every registerEvery,
// until it accepts, ctx is done (another watcher, or the end) or registerFor has passed (then
// it reports the last answer to Refused).
func (f *follower) register(ctx context.Context, owner string) {
	try, cancel := context.WithTimeout(ctx, registerFor)
	defer cancel()
	tick := time.NewTicker(registerEvery)
	defer tick.Stop()
	for {
		err := f.registerOnce(try, owner)
		if err == nil {
			return
		}
		select {
		case <-try.Done():
			if ctx.Err() == nil && f.h.Refused != nil {
				f.h.Refused(err)
			}
			return
		case <-tick.C:
		}
	}
}

// registerOnce makes one attempt.
func (f *follower) registerOnce(ctx context.Context, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	// The item must answer before a host hears of it: systray exports it on a goroutine of its
	// own, and a host that cannot read an item it was told about may drop it.
	var id dbus.Variant
	if err := f.watch.Object(f.self, itemPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		itemInterface, "Id").Store(&id); err != nil {
		return fmt.Errorf("the tray's item does not answer: %w", err)
	}
	if err := f.item.Object(owner, watcherPath).CallWithContext(ctx, watcherInterface+".RegisterStatusNotifierItem", 0,
		itemPath).Err; err != nil {
		return fmt.Errorf("register with the tray host: %w", err)
	}
	return nil
}

// nameOwner is the unique name that owns name, or "" when nobody does.
func nameOwner(ctx context.Context, c *dbus.Conn, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var owner string
	err := c.BusObject().CallWithContext(ctx, busName+".GetNameOwner", 0, name).Store(&owner)
	var de dbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
		return "", nil
	}
	return owner, err
}

// watcherOwner reads the watcher's new owner from a NameOwnerChanged signal of the bus; ok is
// false for any other signal (the private connection also gets NameAcquired, addressed to it).
func watcherOwner(sig *dbus.Signal) (owner string, ok bool) {
	if sig == nil || sig.Name != ownerChanged || sig.Sender != busName || sig.Path != busPath || len(sig.Body) != 3 {
		return "", false
	}
	name, ok1 := sig.Body[0].(string)
	owner, ok2 := sig.Body[2].(string)
	if !ok1 || !ok2 || name != watcherName {
		return "", false
	}
	return owner, true
}
