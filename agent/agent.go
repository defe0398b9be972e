// Package agent is homeytray's background work: it keeps the sign-in fresh (the Athom access
// token ahead of its expiry, the selected Homey's bearer before its trust window ends, all of it
// again after the machine wakes up), raises one notification per incident that needs the user,
// and answers scripts over the script socket (internal/ipc). It is the one process of a user
// that refreshes. The tray runs it behind its menu; `homeytray serve` runs it alone.
//
// Everything it knows about accounts, tokens and Homeys comes from a [Core], which the cli
// implements; what it learns goes to a [Sink]: the tray's menu renders it, `serve` logs it.
// Nothing here draws, copies or notifies: that is the faces' work.
package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/ipc"
)

// Core is what the agent (and the menu) needs from the application; the cli implements it.
// Every method may block on the network or the keychain. Errors are the auth and homey errors,
// wrapped: the agent sorts them with internal/failure.
type Core interface {
	// Account is who is signed in (the cache and the keychain); auth.ErrNotSignedIn when signed out.
	Account(ctx context.Context) (Account, error)
	// AccessToken is a valid Athom access token, renewed when near expiry (and saved). A zero
	// Expiry means unknown (a personal access token).
	AccessToken(ctx context.Context) (*oauth2.Token, error)
	// Bearer is a usable bearer for a Homey, named by id or name ("" = the selected one): from
	// memory while trusted.
	Bearer(ctx context.Context, homey string) (*homey.Bearer, error)
	// Homeys is the account's Homeys (cached; fetched when unknown) and the selected one's id.
	Homeys(ctx context.Context) (list []homey.Homey, selected string, err error)
	// Select makes homeyID the selected Homey (the setting `homeytray use` changes).
	Select(homeyID string) error
	// Devices lists the devices and zones of a Homey (id or name; "" = the selected one), keyed by id.
	Devices(ctx context.Context, homey string) (map[string]homey.Device, map[string]homey.Zone, error)
	// Login runs the browser sign-in: it opens the browser and waits for the callback.
	Login(ctx context.Context) error
	// Logout deletes the sign-in.
	Logout(ctx context.Context) error
	// Reload forgets what the core keeps in memory of the sign-in (the command line signed in
	// or out, or set up another client).
	Reload() error
	// SettingsChanged reports whether the user's settings changed on disk since it was last
	// asked (another process's `use`, `local add`, `setup`).
	SettingsChanged() bool
}

// Account is the signed-in Athom user.
type Account struct{ Name, Email string }

// Sink receives what the agent learns, from the agent's own goroutines, one call at a time.
type Sink interface {
	SignedIn(acc Account)
	SignedOut()
	// Attention: the sign-in needs the user (the status line, the icon).
	Attention(f *failure.Failure)
	// Healthy: a refresh worked again after a failure.
	Healthy()
	Homeys(list []homey.Homey, selected string)
	// Devices is the selected Homey's devices and zones (nil, nil, nil when none is selected).
	Devices(devices map[string]homey.Device, zones map[string]homey.Zone, err error)
	// Incident is the one notification of an incident.
	Incident(i Incident)
}

// Incident is a failure worth telling the user once: one that needs them, or a network outage
// that outlasted the access token.
type Incident struct {
	Failure   *failure.Failure
	NeedsUser bool
	Expiry    time.Time // an outage: when the access token that could not be renewed expired
}

// settingsPoll is how often the agent looks whether another process changed the settings: a
// `use` at the terminal shows in the menu within it.
const settingsPoll = time.Second

// Agent is one running agent.
type Agent struct {
	core Core
	ref  *refresher
}

// New is an agent over core that reports to sink.
func New(core Core, sink Sink) *Agent {
	return &Agent{core: core, ref: newRefresher(core, sink)}
}

// Core is the agent's core, for the menu's actions.
func (a *Agent) Core() Core { return a.core }

// Refresh asks for everything again, as soon as possible. user marks the user's own action
// (sign-in or out, a change on the command line): it ends the current incident and resets the
// backoff. Safe from any goroutine; it never blocks.
func (a *Agent) Refresh(user bool) { a.ref.request(stepsAll, user) }

// SelectionChanged asks for the selected Homey's list, bearer and devices again.
func (a *Agent) SelectionChanged() { a.ref.request(stepHomeys|stepBearer|stepDevices, false) }

// Run runs the agent until ctx is done: the refresh loop, the watch on the settings and, when l
// is not nil, the script socket on l (closed when Run returns). It returns nil when ctx ended,
// or the socket's error.
func (a *Agent) Run(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.ref.run(ctx) })
	wg.Go(func() { a.watchSettings(ctx) })
	if l == nil {
		<-ctx.Done()
		return nil
	}
	// Serve returns when ctx is done or the listener closed under it.
	err := ipc.Serve(ctx, l, a.Handler())
	if err == nil && ctx.Err() == nil {
		err = errors.New("script socket: closed")
	}
	return err
}

// watchSettings asks for the selection again whenever another process changed the settings.
func (a *Agent) watchSettings(ctx context.Context) {
	t := time.NewTicker(settingsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if a.core.SettingsChanged() {
				a.SelectionChanged()
			}
		}
	}
}

// Handler answers the script socket (script.go).
func (a *Agent) Handler() ipc.Handler {
	return scriptHandler(a.core, func() { a.Refresh(true) })
}

// Listen takes the script socket at path, which is also the single-instance lock of the tray
// and `serve`: ipc.ErrAlreadyRunning when another one of this user has it.
func Listen(path string) (net.Listener, error) {
	l, err := ipc.Listen(path)
	if err != nil && !errors.Is(err, ipc.ErrAlreadyRunning) {
		return nil, fmt.Errorf("script socket: %w", err)
	}
	return l, err
}
