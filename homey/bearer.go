package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Bearer is a Homey session token with what is needed to reuse it. One session token works on
// every route of its Homey (docs/protocol.md#homey-login); BaseURL and Strategy are the route last used.
type Bearer struct {
	Token       string    `json:"token"`
	HomeyID     string    `json:"homey_id"`
	BaseURL     string    `json:"base_url"`
	Strategy    string    `json:"strategy,omitempty"` // the route's strategy: "local", "cloud", …
	IssuedAt    time.Time `json:"issued_at"`
	ConfirmedAt time.Time `json:"confirmed_at"` // last time the Homey accepted it
}

// BearerCache keeps one [Bearer] per Homey between runs. The caller implements it (a keychain,
// say); bearers are secrets.
type BearerCache interface {
	LoadBearer(homeyID string) (*Bearer, error) // (nil, nil) when none is cached
	SaveBearer(b *Bearer) error
	DropBearer(homeyID string) error
}

// BearerReloader is optionally implemented by a [BearerCache] that keeps a memory in front of a
// store shared with other processes: ReloadBearer reads the shared store, past the memory. Bearers
// calls it after taking the sign-in lock, when another process may have signed in meanwhile.
type BearerReloader interface {
	ReloadBearer(homeyID string) (*Bearer, error) // (nil, nil) when none is stored
}

// Gate lets one Homey sign-in at a time run in a process, per Homey: the others wait for it and
// then use its bearer. Share one Gate between the [Bearers] values of a process. The zero value
// is ready to use; its methods are safe for concurrent use.
type Gate struct {
	mu  sync.Mutex
	sem map[string]chan struct{}
}

// enter waits until no other sign-in to homeyID runs in this process (or ctx ends).
func (g *Gate) enter(ctx context.Context, homeyID string) (release func(), err error) {
	g.mu.Lock()
	if g.sem == nil {
		g.sem = map[string]chan struct{}{}
	}
	ch := g.sem[homeyID]
	if ch == nil {
		ch = make(chan struct{}, 1)
		g.sem[homeyID] = ch
	}
	g.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// DefaultTrust is how long a confirmed bearer is handed out without asking the Homey.
const DefaultTrust = 15 * time.Minute

// Bearers hands out Homey session bearers: cached ones while they are trusted, else checked with
// the Homey, else new ones from a delegation token and a Homey login.
type Bearers struct {
	Cloud *Cloud
	Cache BearerCache      // nil = no cache: every Get logs in
	Trust time.Duration    // 0 = DefaultTrust: a bearer confirmed within Trust is handed out with no call
	Now   func() time.Time // nil = time.Now
	HTTP  *http.Client     // for Homey calls; nil = a client with a 15 s timeout
	// Router picks the route to each Homey (e.g. *Routes: local first); nil = always the cloud
	// relay (remoteUrl).
	Router Router
	// Gate makes the Homey sign-ins (delegation + users/login) of this process single-flight
	// per Homey; share one between the Bearers of a process. nil = one of this Bearers' own.
	Gate *Gate
	// Lock, when set, takes a lock shared with other processes for signing in to the Homey
	// homeyID (a lock file, say) and returns its release. It is held from re-reading the cache
	// until the new bearer is saved, so that many processes on an expired session make one
	// sign-in between them.
	Lock func(ctx context.Context, homeyID string) (unlock func(), err error)

	gateOnce sync.Once
	ownGate  *Gate
}

// Get returns a usable bearer for h:
//   - cached and confirmed less than Trust ago: no HTTP call (the Router is asked for a route
//     with bearer false; a bearer whose route changed is saved with the new one);
//   - cached but older: one call, [Client.SessionMe]; if accepted, ConfirmedAt becomes now and
//     the bearer is saved; on 401 it is dropped and Get logs in;
//   - none: [Cloud.DelegationToken] and [Client.Login], two calls; the new bearer is saved.
//
// A sign-in (none cached, or the cached one refused) is single-flight: in the process through
// Gate, across processes through Lock; under them the cache is read again, and a bearer that
// another sign-in saved meanwhile is used instead of signing in once more.
//
// A Homey with apiVersion 1 (firmware 1.x, no delegation sign-in) is refused at once with an
// error matching [ErrUnsupportedHomey]. The trust window does not depend on the route. With a Router, a network error at the route
// reports it Failed and the call runs once more on a new route. Errors of the cache are
// returned (wrapped), never ignored.
func (b *Bearers) Get(ctx context.Context, h Homey) (*Bearer, error) {
	if err := supported(h); err != nil {
		return nil, err
	}
	cached, err := b.load(h.ID)
	if err != nil {
		return nil, err
	}
	if cached != nil && b.trusted(cached) {
		rt, err := b.router().BaseURL(ctx, h, false)
		if err != nil {
			return nil, err
		}
		return b.atRoute(cached, rt)
	}
	var out *Bearer
	err = b.onRoute(ctx, h, func(c *Client, rt Route) error {
		var err error
		if cached != nil {
			out, err = b.confirm(ctx, h, c, rt, cached)
		} else {
			out, err = b.signIn(ctx, h, c, rt, "")
		}
		return err
	})
	return out, err
}

// Do runs fn with a bearer for h, on the route the Router gives (pinged first if a secret has
// not gone there in this process yet). On a network error at that route it reports the route
// Failed and runs fn once more on a new route. If fn's error [IsUnauthorized], Do drops the
// cached bearer, signs in again once (single-flight, see [Bearers.Get]) and runs fn once more;
// that second error is returned as it is.
func (b *Bearers) Do(ctx context.Context, h Homey, fn func(ctx context.Context, c *Client, bearer string) error) error {
	br, err := b.Get(ctx, h)
	if err != nil {
		return err
	}
	err = b.onRoute(ctx, h, func(c *Client, rt Route) error {
		if err := fn(ctx, c, br.Token); err != nil {
			return err
		}
		_, err := b.atRoute(br, rt)
		return err
	})
	if !IsUnauthorized(err) {
		return err
	}
	failed := br.Token
	return b.onRoute(ctx, h, func(c *Client, rt Route) error {
		br, err := b.signIn(ctx, h, c, rt, failed)
		if err != nil {
			return err
		}
		return fn(ctx, c, br.Token)
	})
}

// signIn gets a new bearer for h, one sign-in at a time per Homey (Gate, then Lock). failed is
// the bearer the Homey refused, "" when none was cached. Under the locks the cache is read
// again: a bearer other than failed was saved by a sign-in that ran meanwhile and is used (after
// a check if it is no longer trusted); else failed is dropped and a new sign-in runs.
func (b *Bearers) signIn(ctx context.Context, h Homey, c *Client, rt Route, failed string) (*Bearer, error) {
	release, err := b.gate().enter(ctx, h.ID)
	if err != nil {
		return nil, err
	}
	defer release()
	if b.Lock != nil {
		unlock, err := b.Lock(ctx, h.ID)
		if err != nil {
			return nil, fmt.Errorf("homey sign-in lock: %w", err)
		}
		defer unlock()
	}
	cur, err := b.reload(h.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case cur != nil && cur.Token != failed && b.trusted(cur):
		return b.atRoute(cur, rt)
	case cur != nil && cur.Token != failed:
		return b.check(ctx, h, c, rt, cur)
	case cur != nil:
		if err := b.drop(h.ID); err != nil {
			return nil, err
		}
	}
	return b.login(ctx, h, c, rt)
}

func (b *Bearers) gate() *Gate {
	if b.Gate != nil {
		return b.Gate
	}
	b.gateOnce.Do(func() { b.ownGate = &Gate{} })
	return b.ownGate
}

// reload reads the cache again (past a memory in front of it, see [BearerReloader]).
func (b *Bearers) reload(homeyID string) (*Bearer, error) {
	r, ok := b.Cache.(BearerReloader)
	if !ok {
		return b.load(homeyID)
	}
	br, err := r.ReloadBearer(homeyID)
	if err != nil {
		return nil, fmt.Errorf("load bearer: %w", err)
	}
	if br == nil || br.Token == "" || br.HomeyID != homeyID {
		return nil, nil
	}
	return br, nil
}

// supported refuses what cannot be signed in to: no id, or apiVersion 1.
func supported(h Homey) error {
	switch {
	case h.ID == "":
		return errNoHomeyID
	case h.APIVersion == 1:
		return &UnsupportedError{HomeyName: h.Name, APIVersion: h.APIVersion}
	}
	return nil
}

// ErrUnsupportedHomey: the Homey speaks an API this program cannot sign in to.
var ErrUnsupportedHomey = errors.New("unsupported Homey")

// UnsupportedError is a Homey with apiVersion 1 (firmware 1.5.13 and older), which signs in
// without delegation tokens (docs/protocol.md#tolerance). It matches [ErrUnsupportedHomey].
type UnsupportedError struct {
	HomeyName  string
	APIVersion int
}

// Error is one line, e.g. `Homey "Old" speaks API version 1 (firmware 1.x), which cannot be
// signed in to with an Athom account here`.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("Homey %q speaks API version %d (firmware 1.x), which cannot be signed in to with an Athom account here",
		sanitize.Line(e.HomeyName, 100), e.APIVersion)
}

// Is matches [ErrUnsupportedHomey].
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupportedHomey }

// onRoute runs fn with a Client at the route for h (asked with bearer true). On a network error
// at that route, and with a Router, it reports the route Failed and runs fn once more on the
// route the Router gives next.
func (b *Bearers) onRoute(ctx context.Context, h Homey, fn func(c *Client, rt Route) error) error {
	rt, err := b.router().BaseURL(ctx, h, true)
	if err != nil {
		return err
	}
	err = fn(b.clientAt(h, rt), rt)
	if b.Router == nil || ctx.Err() != nil || !isNetworkErrorAt(err, rt.BaseURL) {
		return err
	}
	b.Router.Failed(h, rt)
	next, rerr := b.Router.BaseURL(ctx, h, true)
	if rerr != nil {
		return fmt.Errorf("%w (after %s failed: %v)", rerr, rt.Strategy, err)
	}
	return fn(b.clientAt(h, next), next)
}

// atRoute returns br with rt as its route, saved if its base URL changed.
func (b *Bearers) atRoute(br *Bearer, rt Route) (*Bearer, error) {
	if br.BaseURL == rt.BaseURL && br.Strategy == rt.Strategy {
		return br, nil
	}
	nb := *br
	nb.BaseURL, nb.Strategy = rt.BaseURL, rt.Strategy
	if br.BaseURL == rt.BaseURL { // only the strategy was missing (a bearer saved before routes)
		return &nb, nil
	}
	return b.save(&nb)
}

// trusted: confirmed less than Trust ago (and not in the future), whatever the route.
func (b *Bearers) trusted(br *Bearer) bool {
	age := b.now().Sub(br.ConfirmedAt)
	return age >= 0 && age < b.trust()
}

// confirm asks the Homey whether it still accepts the cached bearer; if not, it signs in again.
func (b *Bearers) confirm(ctx context.Context, h Homey, c *Client, rt Route, cached *Bearer) (*Bearer, error) {
	_, err := c.SessionMe(ctx, cached.Token)
	if IsUnauthorized(err) {
		return b.signIn(ctx, h, c, rt, cached.Token)
	}
	if err != nil {
		return nil, err
	}
	br := *cached
	br.BaseURL, br.Strategy, br.ConfirmedAt = rt.BaseURL, rt.Strategy, b.now()
	return b.save(&br)
}

// check is confirm under the sign-in locks: on 401 it drops the bearer and logs in itself.
func (b *Bearers) check(ctx context.Context, h Homey, c *Client, rt Route, cached *Bearer) (*Bearer, error) {
	_, err := c.SessionMe(ctx, cached.Token)
	if IsUnauthorized(err) {
		if err := b.drop(h.ID); err != nil {
			return nil, err
		}
		return b.login(ctx, h, c, rt)
	}
	if err != nil {
		return nil, err
	}
	br := *cached
	br.BaseURL, br.Strategy, br.ConfirmedAt = rt.BaseURL, rt.Strategy, b.now()
	return b.save(&br)
}

// login signs in to the Homey with a fresh delegation token and saves the new bearer.
func (b *Bearers) login(ctx context.Context, h Homey, c *Client, rt Route) (*Bearer, error) {
	if b.Cloud == nil {
		return nil, errNoCloud
	}
	jwt, err := b.Cloud.DelegationToken(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := c.Login(ctx, jwt)
	if err != nil {
		return nil, err
	}
	now := b.now()
	return b.save(&Bearer{Token: tok, HomeyID: h.ID, BaseURL: rt.BaseURL, Strategy: rt.Strategy, IssuedAt: now, ConfirmedAt: now})
}

func (b *Bearers) router() Router {
	if b.Router != nil {
		return b.Router
	}
	return relayRouter{}
}

// clientAt is the Client for h at route rt.
func (b *Bearers) clientAt(h Homey, rt Route) *Client {
	return &Client{BaseURL: rt.BaseURL, HomeyID: h.ID, APIVersion: h.APIVersion, HTTP: b.HTTP}
}

// load returns the cached bearer of homeyID, or nil when there is none or it is not for it.
func (b *Bearers) load(homeyID string) (*Bearer, error) {
	if b.Cache == nil {
		return nil, nil
	}
	br, err := b.Cache.LoadBearer(homeyID)
	if err != nil {
		return nil, fmt.Errorf("load bearer: %w", err)
	}
	if br == nil || br.Token == "" || br.HomeyID != homeyID {
		return nil, nil
	}
	return br, nil
}

func (b *Bearers) save(br *Bearer) (*Bearer, error) {
	if b.Cache == nil {
		return br, nil
	}
	if err := b.Cache.SaveBearer(br); err != nil {
		return nil, fmt.Errorf("save bearer: %w", err)
	}
	return br, nil
}

func (b *Bearers) drop(homeyID string) error {
	if b.Cache == nil {
		return nil
	}
	if err := b.Cache.DropBearer(homeyID); err != nil {
		return fmt.Errorf("drop bearer: %w", err)
	}
	return nil
}

func (b *Bearers) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Bearers) trust() time.Duration {
	if b.Trust > 0 {
		return b.Trust
	}
	return DefaultTrust
}

var (
	errNoCloud = errors.New("no cloud to log in to the Homey with")
	errNoURL   = errors.New("no URL to reach it")
)
