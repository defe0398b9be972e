// Package tray is the tray face of homeytray: a status-area icon whose click copies a fresh
// Homey bearer, and a menu (sign-in state, Homeys, devices, sign in or out, start at login) that
// renders what the background agent (package agent) learns. The agent keeps the sign-in fresh
// and answers scripts; the menu only shows and acts. All user-facing text is in text.go; the
// clipboard, notifications and start at login are internal/desktop's.
package tray

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"time"

	"fyne.io/systray"

	"github.com/homeytray/homeytray/agent"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/desktop"
	"github.com/homeytray/homeytray/internal/failure"
)

// Options configure [Run].
type Options struct {
	Core agent.Core
	// Title is "homeytray" or "homeytray (demo)": the icon's title and tooltip and the
	// notifications' app name.
	Title string
	// ClipboardClear: a copied bearer is cleared after this long if the clipboard still holds
	// it; 0 = never (it is still cleared on Quit).
	ClipboardClear time.Duration
	// Autostart backs the "Start at login" checkbox; nil hides it (unsupported system).
	Autostart desktop.Autostart
	// Live keeps the values in the Devices submenu current over one realtime connection to the
	// selected Homey (agent.LiveDevices); nil = they are as the last list read them.
	Live agent.Realtime
	// Socket is the script socket's path; "" = do not serve (and no single-instance lock).
	Socket string
	// Logf writes one line to stderr; nil = discard.
	Logf func(format string, args ...any)
	// LoginAtStart starts "Log in…" by itself once the menu is up: a first start on Windows,
	// where a double-clicked homeytray.exe with nothing set up would otherwise sit silent.
	LoginAtStart bool
	// Clipboard and Notify reach the desktop; zero = the platform's (tests give their own).
	Clipboard desktop.Access
	Notify    func(app, title, body string, icon []byte) error
}

// actionTimeout bounds one user action's calls to the Core (sign-in has its own timeout).
const actionTimeout = 2 * time.Minute

// Run shows the tray and blocks until the user quits or ctx is done; then it clears a bearer it
// left on the clipboard and returns nil. It must be called from main's goroutine (systray locks
// the OS thread). When Options.Socket is set, it first takes the single-instance lock, the
// socket: if another tray runs it returns ErrAlreadyRunning before showing anything.
func Run(ctx context.Context, o Options) error {
	if o.Core == nil {
		return errors.New("tray: no Core")
	}
	if o.Title == "" {
		o.Title = "homeytray"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Clipboard.Write == nil {
		o.Clipboard = desktop.System()
	}
	var l net.Listener
	if o.Socket != "" {
		var err error
		if l, err = agent.Listen(o.Socket); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := newApp(ctx, cancel, o)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the agent's socket is closed when Run returns
	wg.Go(func() {
		if err := a.agent.Run(ctx, l); err != nil && ctx.Err() == nil {
			o.Logf("%v", err)
		}
	})
	if desktop.UsesDBus(a.goos) {
		wg.Go(func() { a.followTrayHost(ctx) })
	}
	go func() {
		<-ctx.Done()
		systray.Quit()
	}()
	// A click on the icon copies (SNI Activate on Linux, a left click on Windows). Set before
	// Run: the item's ItemIsMenu is fixed when it is exported (docs/desktop-tests.md#setontapped-before-run). Not on macOS,
	// where a click opens the menu (docs/decisions.md#tray-menu) and fyne would run the handler instead.
	if runtime.GOOS != "darwin" {
		systray.SetOnTapped(a.tapped)
	}
	systray.Run(a.onReady, a.onExit)
	return nil
}

// view is what the menu shows.
type view struct {
	phase      phase
	account    agent.Account
	reason     *failure.Failure // phaseAttention: why
	homeys     []homey.Homey
	selected   string
	devices    []deviceGroup
	devErr     error
	devLoading bool
}

// app is one running tray.
type app struct {
	o      Options
	ctx    context.Context
	cancel context.CancelFunc
	goos   string
	clip   *desktop.Clipboard
	notes  *desktop.Notifier
	agent  *agent.Agent

	mu   sync.Mutex // guards v and rendering
	v    view
	menu *menu // set in onReady

	copyMu   sync.Mutex // one copy at a time, in click order
	selectMu sync.Mutex
	autoMu   sync.Mutex

	loginMu   sync.Mutex
	loginStop context.CancelFunc // the running sign-in, if any
	loginDone chan struct{}
}

func newApp(ctx context.Context, cancel context.CancelFunc, o Options) *app {
	a := &app{
		o: o, ctx: ctx, cancel: cancel, goos: runtime.GOOS,
		clip:  desktop.NewClipboard(o.Clipboard, o.ClipboardClear),
		notes: &desktop.Notifier{App: o.Title, Icon: notifyIcon(), Logf: o.Logf, Send: o.Notify},
	}
	a.agent = agent.New(o.Core, sink{a})
	if o.Live != nil {
		a.agent.LiveDevices(o.Live)
	}
	return a
}

// onReady builds the menu and returns at once: fyne.io/systray answers GetLayout only after it
// returned (docs/desktop-tests.md#onready-must-return). Everything that may block runs in goroutines.
func (a *app) onReady() {
	systray.SetTitle(a.o.Title)
	systray.SetTooltip(a.o.Title)
	if icon := iconFor(phaseLoading); len(icon) > 0 {
		systray.SetIcon(icon)
	}
	a.mu.Lock()
	a.menu = newMenu(a.goos, a.o.Title, a.onHomeySlot, a.onDeviceSlot)
	a.menu.showAutostart(a.o.Autostart != nil, false)
	a.mu.Unlock()

	m := a.menu
	a.onClick(m.copy, a.copyBearer)
	a.onClick(m.login, a.loginOrOut)
	a.onClick(m.autostart, a.toggleAutostart)
	a.onClick(m.quit, systray.Quit)
	if a.o.Autostart != nil {
		go a.loadAutostart()
	}
	if a.o.LoginAtStart {
		go a.login()
	}
	if desktop.ClipboardMissing() {
		a.o.Logf("clipboard: %s", errorText(failure.ErrNoClipboard))
	}
}

// followTrayHost keeps the icon registered with the panel's tray host, whenever one comes
// (internal/desktop does it: fyne.io/systray gives up after one try), and tells the user where
// they look when the desktop has none: a notification (a tray started from the menu has no
// terminal) and a line on stderr. The menu is exported all the same, and scripts are served.
func (a *app) followTrayHost(ctx context.Context) {
	h := &desktop.TrayHost{
		Missing: func() {
			a.o.Logf("%s", noTrayHostText)
			a.show(noTrayHostNote())
		},
		Refused: func(err error) { a.o.Logf("%s: %s", trayHostRefusedText, failure.Clean(err.Error())) },
	}
	if err := h.Run(ctx); err != nil && ctx.Err() == nil {
		a.o.Logf("%s: %s", trayHostLostText, failure.Clean(err.Error()))
	}
}

// onExit runs on main's goroutine when systray quits.
func (a *app) onExit() {
	a.cancel()
	a.clip.CloseWithin(2 * time.Second)
}

// onClick runs fn for every click on it. systray drops a click that arrives while nobody
// receives (docs/desktop-tests.md#clicks-are-dropped), so the receiving goroutine only hands the work off.
func (a *app) onClick(it *systray.MenuItem, fn func()) {
	go func() {
		for {
			select {
			case <-a.ctx.Done():
				return
			case _, ok := <-it.ClickedCh:
				if !ok {
					return
				}
				go fn()
			}
		}
	}()
}

func (a *app) onHomeySlot(s *slot) {
	a.onClick(s.item, func() {
		if e := s.entry.Load(); e != nil && e.value != "" {
			a.selectHomey(e.value)
		}
	})
}

func (a *app) onDeviceSlot(s *slot) {
	a.onClick(s.item, func() {
		if e := s.entry.Load(); e != nil && e.value != "" {
			name := e.label
			if e.name != "" {
				name = e.name // without the state beside it
			}
			a.copyDevice(e.value, name)
		}
	})
}

// tapped is a click on the icon itself (SNI Activate, a left click on Windows): copy.
func (a *app) tapped() { go a.copyBearer() }

// update changes the view and renders it.
func (a *app) update(fn func(v *view)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn(&a.v)
	if a.menu != nil && a.ctx.Err() == nil { // after Quit, systray's connection is closing
		a.menu.render(a.v, a.o.Title)
	}
}

// sink is what the agent reports to: the menu's view.
type sink struct{ a *app }

func (s sink) SignedIn(acc agent.Account) {
	s.a.update(func(v *view) {
		if v.phase != phaseSignedIn && v.phase != phaseAttention {
			v.devLoading = true
		}
		v.phase, v.account, v.reason = phaseSignedIn, acc, nil
	})
}

func (s sink) SignedOut() {
	s.a.update(func(v *view) { *v = view{phase: phaseSignedOut} })
}

func (s sink) Attention(f *failure.Failure) {
	s.a.update(func(v *view) { v.phase, v.reason = phaseAttention, f })
}

func (s sink) Healthy() {
	s.a.update(func(v *view) {
		if v.phase == phaseAttention {
			v.phase, v.reason = phaseSignedIn, nil
		}
	})
}

func (s sink) Homeys(list []homey.Homey, selected string) {
	s.a.update(func(v *view) {
		if selected != v.selected {
			v.devices, v.devErr, v.devLoading = nil, nil, selected != ""
		}
		v.homeys, v.selected = list, selected
	})
}

func (s sink) Devices(devices map[string]homey.Device, zones map[string]homey.Zone, err error) {
	groups := groupDevices(devices, zones)
	s.a.update(func(v *view) {
		v.devLoading = false
		if err != nil && len(v.devices) > 0 {
			return // keep the last good list; the agent retries
		}
		v.devices, v.devErr = groups, err
	})
}

func (s sink) Incident(i agent.Incident) { s.a.show(incidentNote(i)) }

// Actions, each in its own goroutine.

func (a *app) copyBearer() {
	a.copyMu.Lock()
	defer a.copyMu.Unlock()
	ctx, cancel := context.WithTimeout(a.ctx, actionTimeout)
	defer cancel()
	b, err := a.o.Core.Bearer(ctx, "")
	if err != nil {
		a.fail(titleCopyFailed, err)
		return
	}
	if err := a.clip.CopySecret(b.Token); err != nil {
		a.fail(titleCopyFailed, err)
		return
	}
	a.show(copiedNote(b, a.homeyName(b.HomeyID), a.o.ClipboardClear))
}

func (a *app) copyDevice(id, name string) {
	a.copyMu.Lock()
	defer a.copyMu.Unlock()
	if err := a.clip.CopyText(id); err != nil {
		a.fail(titleDeviceFailed, err)
		return
	}
	a.show(deviceCopiedNote(name))
}

func (a *app) homeyName(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, h := range a.v.homeys {
		if h.ID == id {
			return homeyName(h)
		}
	}
	return ""
}

func (a *app) selectHomey(id string) {
	a.selectMu.Lock()
	defer a.selectMu.Unlock()
	err := a.o.Core.Select(id)
	a.update(func(v *view) {
		if err == nil && id != v.selected {
			v.selected, v.devices, v.devErr, v.devLoading = id, nil, nil, true
		}
	})
	a.mu.Lock()
	a.menu.homeyPool.recheckAll()
	a.mu.Unlock()
	if err != nil {
		a.fail(titleSelectFailed, err)
		return
	}
	a.agent.SelectionChanged()
}

// loginOrOut is the one item that signs in or out, depending on what it shows.
func (a *app) loginOrOut() {
	a.mu.Lock()
	p, in := a.v.phase, wantsLogin(a.v.phase, a.v.reason)
	a.mu.Unlock()
	switch {
	case p == phaseLoading:
		return // disabled until the state is known (a D-Bus click reaches us all the same)
	case in:
		a.login()
	default:
		a.logout()
	}
}

// login runs the browser sign-in. A second click while one runs starts over (the user may have
// closed the browser tab): the first is cancelled and waited for, so its loopback port is free.
func (a *app) login() {
	a.loginMu.Lock()
	if a.loginStop != nil {
		a.loginStop()
		<-a.loginDone
	}
	ctx, cancel := context.WithCancel(a.ctx)
	done := make(chan struct{})
	a.loginStop, a.loginDone = cancel, done
	a.loginMu.Unlock()
	defer close(done)
	defer cancel()

	err := a.o.Core.Login(ctx)
	switch {
	case ctx.Err() != nil:
		return // replaced by a newer click, or quitting
	case err != nil:
		a.fail(titleLoginFailed, err)
	}
	a.agent.Refresh(true)
}

func (a *app) logout() {
	ctx, cancel := context.WithTimeout(a.ctx, actionTimeout)
	defer cancel()
	err := a.o.Core.Logout(ctx)
	a.clip.Clear()
	if err != nil {
		a.fail(titleLogoutFailed, err)
	}
	a.agent.Refresh(true)
}

func (a *app) loadAutostart() {
	on, err := a.o.Autostart.Enabled()
	if err != nil {
		a.o.Logf("start at login: %s", errorText(err))
	}
	a.mu.Lock()
	a.menu.showAutostart(true, on)
	a.mu.Unlock()
}

func (a *app) toggleAutostart() {
	if a.o.Autostart == nil {
		return
	}
	a.autoMu.Lock()
	defer a.autoMu.Unlock()
	on, err := a.o.Autostart.Enabled()
	if err == nil {
		err = a.o.Autostart.SetEnabled(!on)
	}
	if err != nil {
		a.fail(titleAutostartFailed, err)
	}
	on, _ = a.o.Autostart.Enabled()
	a.mu.Lock()
	a.menu.showAutostart(true, on)
	recheck(a.menu.autostart, &a.menu.shown.autostart)
	a.mu.Unlock()
}

// fail tells the user that an action failed: a notification and a line on stderr.
func (a *app) fail(title string, err error) {
	if a.ctx.Err() != nil {
		return
	}
	a.o.Logf("%s: %s", title, errorText(err))
	a.show(failNote(title, err))
}

// show shows one notification.
func (a *app) show(n note) { a.notes.Show(n.title, n.body) }
