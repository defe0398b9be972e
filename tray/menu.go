package tray

import (
	"sync/atomic"

	"fyne.io/systray"

	"github.com/homeytray/homeytray/assets"
)

// The menu. fyne.io/systray numbers items (the dbusmenu ids on Linux) in creation order and
// never reuses a number; ResetMenu would renumber every item on each rebuild. So every item is
// created once, the fixed ones first and in this order, which gives them stable ids:
//
//	1 status line (disabled)   2 Copy bearer token   3 Homeys   4 Devices
//	5 Log in… / Log out        6 separator           7 Start at login   8 Quit
//
// (Start at login is hidden, not left out, when there is no Autostart, so Quit stays 8.) The
// Homeys and Devices submenus are pools of items, created (ids 9 and up, in the order they are
// first needed) and then reused: a render retitles, checks, enables, shows or hides them. A
// hidden item stays in GetLayout with "visible": false and an empty label. Items are never
// removed: MenuItem.Remove closes the item's ClickedCh, which can race with a click being
// delivered to it (a send on a closed channel panics).

// itemState is what an item shows; apply changes only what differs, so an idle re-render sends
// nothing over D-Bus.
type itemState struct {
	label            string
	enabled, checked bool
	visible          bool
}

// created is the state of a new item as systray makes it.
func created(label string, checked bool) itemState {
	return itemState{label: label, enabled: true, checked: checked, visible: true}
}

func apply(it *systray.MenuItem, cur *itemState, want itemState) {
	if cur.visible && !want.visible {
		it.Hide() // first, so a vanishing item never shows its new (empty) label
	}
	if cur.label != want.label {
		it.SetTitle(want.label)
	}
	if cur.enabled != want.enabled {
		if want.enabled {
			it.Enable()
		} else {
			it.Disable()
		}
	}
	if cur.checked != want.checked {
		setChecked(it, want.checked)
	}
	if !cur.visible && want.visible {
		it.Show()
	}
	*cur = want
}

func setChecked(it *systray.MenuItem, on bool) {
	if on {
		it.Check()
	} else {
		it.Uncheck()
	}
}

// menu holds the items and what they show.
type menu struct {
	goos string

	status, copy, homeys, devices, login, autostart, quit *systray.MenuItem
	shown                                                 struct{ status, copy, homeys, devices, login, autostart itemState }

	homeyPool, devicePool *pool

	icon    phase // shown; -1 before the first render
	tooltip string
}

// newMenu creates the fixed items in their fixed order. Call it from onReady, before it returns.
// onSlot is called for every pool item created later (to start its click goroutine).
func newMenu(goos, title string, onHomey, onDevice func(*slot)) *menu {
	m := &menu{goos: goos, icon: -1}
	m.status = systray.AddMenuItem(menuLabel(title, goos), "")
	m.status.Disable()
	m.shown.status = itemState{label: menuLabel(title, goos), visible: true}
	m.copy = systray.AddMenuItem(labelCopy, "")
	m.shown.copy = created(labelCopy, false)
	m.homeys = systray.AddMenuItem(labelHomeys, "")
	m.shown.homeys = created(labelHomeys, false)
	m.devices = systray.AddMenuItem(labelDevices, "")
	m.shown.devices = created(labelDevices, false)
	m.login = systray.AddMenuItem(labelLogin, "")
	m.shown.login = created(labelLogin, false)
	systray.AddSeparator()
	m.autostart = systray.AddMenuItemCheckbox(labelAutostart, "", false)
	m.shown.autostart = created(labelAutostart, false)
	m.quit = systray.AddMenuItem(labelQuit, "")
	m.homeyPool = &pool{parent: m.homeys, checkbox: true, goos: goos, onSlot: onHomey}
	m.devicePool = &pool{parent: m.devices, goos: goos, onSlot: onDevice}
	return m
}

// render shows v. The caller serialises renders.
func (m *menu) render(v view, title string) {
	usable := v.phase == phaseSignedIn || v.phase == phaseAttention
	apply(m.status, &m.shown.status, itemState{
		label: menuLabel(statusLine(v.phase, v.account, v.reason, title), m.goos), visible: true})
	apply(m.copy, &m.shown.copy, itemState{label: labelCopy, enabled: usable && v.selected != "", visible: true})
	apply(m.homeys, &m.shown.homeys, itemState{label: labelHomeys, enabled: usable && len(v.homeys) > 0, visible: true})
	apply(m.devices, &m.shown.devices, itemState{label: labelDevices, enabled: usable && v.selected != "", visible: true})
	apply(m.login, &m.shown.login, itemState{
		label: loginLabel(v.phase, v.reason), enabled: v.phase != phaseLoading, visible: true})
	var homeys, devices []entry
	if usable {
		homeys = homeyEntries(v.homeys, v.selected)
		if v.selected != "" {
			devices = deviceEntries(v.devices, v.devErr, v.devLoading)
		}
	}
	m.homeyPool.render(homeys)
	m.devicePool.render(devices)
	if v.phase != m.icon {
		if icon := iconFor(v.phase); len(icon) > 0 {
			systray.SetIcon(icon)
		}
		m.icon = v.phase
	}
	if tip := tooltip(v.phase, v.account, v.reason, title); tip != m.tooltip {
		systray.SetTooltip(tip)
		m.tooltip = tip
	}
}

// showAutostart shows the checkbox with its state, or hides it (no Autostart on this system).
func (m *menu) showAutostart(available, on bool) {
	apply(m.autostart, &m.shown.autostart, itemState{label: labelAutostart, enabled: available, checked: on, visible: available})
}

// recheck sends an item's check state again: a desktop menu may have toggled its own copy of a
// checkbox on click (GTK does) when the app's state did not change.
func recheck(it *systray.MenuItem, cur *itemState) { setChecked(it, cur.checked) }

// slot is one reusable item of a submenu.
type slot struct {
	item  *systray.MenuItem
	shown itemState
	entry atomic.Pointer[entry] // what a click on it means now; nil while hidden
}

// pool is the items of one submenu.
type pool struct {
	parent   *systray.MenuItem
	checkbox bool
	goos     string
	slots    []*slot
	onSlot   func(*slot)
}

// render shows entries in the first len(entries) slots, creating slots as needed, and hides
// the rest.
func (p *pool) render(entries []entry) {
	for i, e := range entries {
		want := itemState{label: menuLabel(e.label, p.goos), enabled: e.value != "", checked: e.checked, visible: true}
		if i == len(p.slots) {
			p.add(want)
		}
		s := p.slots[i]
		apply(s.item, &s.shown, want)
		s.entry.Store(&e)
	}
	for _, s := range p.slots[len(entries):] {
		s.entry.Store(nil)
		apply(s.item, &s.shown, itemState{})
	}
}

func (p *pool) add(want itemState) {
	var it *systray.MenuItem
	if p.checkbox {
		it = p.parent.AddSubMenuItemCheckbox(want.label, "", want.checked)
	} else {
		it = p.parent.AddSubMenuItem(want.label, "")
	}
	s := &slot{item: it, shown: created(want.label, want.checked)}
	p.slots = append(p.slots, s)
	if p.onSlot != nil {
		p.onSlot(s)
	}
}

// recheckAll re-sends the check state of every visible slot (after a click on a Homey).
func (p *pool) recheckAll() {
	for _, s := range p.slots {
		if s.shown.visible {
			recheck(s.item, &s.shown)
		}
	}
}

// iconFor is the tray icon for a phase, in the platform's format (ICO on Windows, PNG
// elsewhere). Until the Core has answered, the tray claims nothing: the signed-out icon.
func iconFor(p phase) []byte {
	switch p {
	case phaseSignedIn:
		return assets.Icon(assets.OK)
	case phaseAttention:
		return assets.Icon(assets.Attention)
	}
	return assets.Icon(assets.SignedOut)
}

// notifyIcon is the PNG shown in notifications.
func notifyIcon() []byte { return assets.NotificationIcon() }
