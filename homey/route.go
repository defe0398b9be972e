package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Discovery strategies, as the official client names them (docs/protocol.md#routes).
const (
	StrategyLocalSecure     = "localSecure"     // https://<a-b-c-d>.homey.homeylocal.com (localUrlSecure)
	StrategyLocal           = "local"           // http://<LAN IP> (localUrl)
	StrategyRemoteForwarded = "remoteForwarded" // https://<public>.homey.homeylocal.com:<port> (remoteUrlForwarded)
	StrategyCloud           = "cloud"           // Athom's relay, https://<id>.connect.athom.com (remoteUrl)
)

// ErrOffline: no address of the Homey answered its ping (the official client's "Homey Offline").
var ErrOffline = errors.New("offline")

// Route is one way to reach a Homey: a strategy and its base URL (no trailing slash).
type Route struct {
	Strategy string `json:"strategy"`
	BaseURL  string `json:"base_url"`
}

// IsZero reports whether r is no route.
func (r Route) IsZero() bool { return r == Route{} }

// IsLocal reports whether r goes straight to the Homey on its network, not through Athom's relay.
func (r Route) IsLocal() bool { return !r.IsZero() && r.Strategy != StrategyCloud }

// Kind names the route for people: "local" (straight to the Homey) or "cloud" (Athom's relay);
// "" when there is no route.
func (r Route) Kind() string {
	switch {
	case r.Strategy == "":
		return ""
	case r.IsLocal():
		return "local"
	}
	return "cloud"
}

// String is "<strategy> <base URL>".
func (r Route) String() string { return r.Strategy + " " + r.BaseURL }

// pingTimeouts are the official client's per-strategy ping timeouts (docs/protocol.md#the-official-race).
var pingTimeouts = map[string]time.Duration{
	StrategyLocalSecure:     1200 * time.Millisecond,
	StrategyLocal:           1000 * time.Millisecond,
	StrategyRemoteForwarded: 2000 * time.Millisecond,
	StrategyCloud:           5000 * time.Millisecond,
}

// Candidates lists the routes of h in the order the official client prefers them
// (localSecure, local, remoteForwarded, cloud), each only when /user/me gave its URL. A Homey
// Cloud (platform "cloud") is only reachable through the relay.
func (h Homey) Candidates() []Route {
	all := []Route{
		{StrategyLocalSecure, h.LocalURLSecure},
		{StrategyLocal, h.LocalURL},
		{StrategyRemoteForwarded, h.RemoteURLForwarded},
		{StrategyCloud, h.RemoteURL},
	}
	var out []Route
	for _, r := range all {
		r.BaseURL = strings.TrimRight(strings.TrimSpace(r.BaseURL), "/")
		if r.BaseURL == "" || (h.Platform == "cloud" && r.Strategy != StrategyCloud) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// has reports whether r is one of h's candidates.
func (h Homey) has(r Route) bool {
	for _, c := range h.Candidates() {
		if c == r {
			return true
		}
	}
	return false
}

// pingResult is the outcome of one ping of a race.
type pingResult struct {
	route Route
	err   error
}

// RelayHeadStart is how long the LAN addresses of a Homey have before [Race] pings the cloud
// relay as well (the "Happy Eyeballs" idea of RFC 8305): at home the LAN answers within a few
// milliseconds and the relay is not asked at all; away from home the relay is pinged at once when
// the LAN address fails, and at most this much later than at once when it just does not answer.
const RelayHeadStart = 250 * time.Millisecond

// Race pings the candidates of h (GET /api/manager/system/ping?id=<id> with X-Homey-ID, each
// with the official timeout) and picks a route the way the official client does
// (docs/protocol.md#the-official-race): localSecure decides first if the Homey has one (on failure the first other success
// wins); else local, else remoteForwarded, each with the cloud relay as the fallback; else the
// cloud relay alone. The addresses other than the relay are pinged at once; the relay after
// [RelayHeadStart], or at once when the deciding address fails. Pings still running when a route
// is chosen are cancelled. A Homey Cloud has only its relay ([Homey.Candidates]).
//
// An address answered by another Homey (an X-Homey-ID that differs, or the body false) is
// rejected. A 403 "Subscription Inactive" or "Invalid Serial Number" at localSecure ends the race
// with that error; at another address the relay may still win, as in the official client. When
// no address wins, the error matches [ErrOffline] (or [ErrSubscriptionInactive] /
// [ErrInvalidSerial] when a Homey said so) and names each address and why, on one line.
func Race(ctx context.Context, h Homey, c *http.Client) (Route, error) {
	return race(ctx, h, c, RelayHeadStart)
}

// race is Race with the relay's head start as a parameter (tests lengthen it).
func race(ctx context.Context, h Homey, c *http.Client, relayHeadStart time.Duration) (Route, error) {
	cands := h.Candidates()
	switch {
	case h.ID == "":
		return Route{}, errNoHomeyID
	case len(cands) == 0:
		return Route{}, fmt.Errorf("homey %s: %w", h.ID, errNoURL)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan pingResult, len(cands))
	start := func(r Route) {
		go func() {
			pctx, pcancel := context.WithTimeout(ctx, pingTimeouts[r.Strategy])
			defer pcancel()
			err := (&Client{BaseURL: r.BaseURL, HomeyID: h.ID, HTTP: c}).Ping(pctx)
			if err != nil && pctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				err = fmt.Errorf("no answer within %v", pingTimeouts[r.Strategy])
			}
			results <- pingResult{r, err}
		}()
	}
	var relay *Route // the relay, waiting for its head start
	for _, r := range cands {
		if r.Strategy == StrategyCloud && len(cands) > 1 {
			relay = &r
			continue
		}
		start(r)
	}
	var headStart <-chan time.Time
	if relay != nil {
		t := time.NewTimer(relayHeadStart)
		defer t.Stop()
		headStart = t.C
	}
	startRelay := func() {
		if relay != nil {
			start(*relay)
			relay, headStart = nil, nil
		}
	}
	first := cands[0].Strategy // the decider: localSecure, local or remoteForwarded (or cloud alone)
	fallback := func(r Route) bool {
		if first == StrategyLocalSecure {
			return true // any other success
		}
		return r.Strategy == StrategyCloud
	}
	var failed []pingResult
	var decided bool // the decider failed: take the first successful fallback
	var ok []Route   // fallbacks that succeeded before the decider failed
	for pending := len(cands); pending > 0; {
		var res pingResult
		select {
		case <-headStart:
			startRelay()
			continue
		case res = <-results:
			pending--
		case <-ctx.Done():
			return Route{}, ctx.Err()
		}
		if res.err != nil {
			failed = append(failed, res)
			if res.route.Strategy == first {
				if first == StrategyLocalSecure && isSubscriptionError(res.err) {
					return Route{}, raceError(h, failed)
				}
				decided = true
				startRelay()
				if len(ok) > 0 {
					return ok[0], nil
				}
			}
			continue
		}
		switch {
		case res.route.Strategy == first:
			return res.route, nil
		case !fallback(res.route):
			continue
		case decided:
			return res.route, nil
		}
		ok = append(ok, res.route)
	}
	return Route{}, raceError(h, failed)
}

// isSubscriptionError: the Homey said 403 "Subscription Inactive" or "Invalid Serial Number".
func isSubscriptionError(err error) bool {
	return errors.Is(err, ErrSubscriptionInactive) || errors.Is(err, ErrInvalidSerial)
}

// raceError is the error of a race in which no route won.
func raceError(h Homey, failed []pingResult) error {
	e := &OfflineError{HomeyID: h.ID, HomeyName: h.Name}
	for _, f := range failed {
		e.Routes = append(e.Routes, f.route)
		e.Errs = append(e.Errs, f.err)
		switch {
		case errors.Is(f.err, ErrSubscriptionInactive):
			e.cause = ErrSubscriptionInactive
		case errors.Is(f.err, ErrInvalidSerial) && e.cause == nil:
			e.cause = ErrInvalidSerial
		}
	}
	return e
}

// OfflineError is a race that no route won: each route tried and why it failed. It matches
// [ErrOffline], or [ErrSubscriptionInactive] / [ErrInvalidSerial] when a Homey said so.
type OfflineError struct {
	HomeyID, HomeyName string
	Routes             []Route
	Errs               []error // Errs[i] is why Routes[i] failed

	cause error // ErrSubscriptionInactive or ErrInvalidSerial when a Homey said so; else nil
}

// Error is one line, e.g. `Homey "Home" offline: local http://192.168.1.50: connection refused;
// cloud https://…: no answer within 5s`.
func (e *OfflineError) Error() string {
	name := e.HomeyName
	if name == "" {
		name = e.HomeyID
	}
	what := " offline"
	switch e.cause {
	case ErrSubscriptionInactive:
		what = ": subscription inactive"
	case ErrInvalidSerial:
		what = ": invalid serial number"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Homey %q%s", sanitize.Line(name, 100), what)
	for i, r := range e.Routes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(r.Strategy + " " + r.BaseURL + ": " + pingCause(e.Errs[i]))
	}
	return b.String()
}

// Is matches ErrOffline, or ErrSubscriptionInactive / ErrInvalidSerial when that was the cause.
func (e *OfflineError) Is(target error) bool {
	if e.cause != nil {
		return target == e.cause
	}
	return target == ErrOffline
}

// Unwrap gives the per-route errors.
func (e *OfflineError) Unwrap() []error { return e.Errs }

const pingOp = "GET /api/manager/system/ping: "

// pingCause is a ping error without the operation prefix, on one line.
func pingCause(err error) string {
	return sanitize.Line(strings.TrimPrefix(err.Error(), pingOp), 160)
}

// Router picks the base URL for a Homey. BaseURL returns the route to use; bearer says that a
// secret (a session bearer or a delegation token) is about to be sent there. Failed reports
// that a request on r failed at the network level, so the next BaseURL must look again.
type Router interface {
	BaseURL(ctx context.Context, h Homey, bearer bool) (Route, error)
	Failed(h Homey, r Route)
}

// Routes is a [Router] that remembers each Homey's winning route (through Load and Save, e.g.
// in the config file) and races ([Race]) only when it has none:
//   - a remembered route that is still one of the Homey's candidates is used without a race;
//   - before a secret goes to a remembered route other than the cloud relay, that route is
//     pinged once per process (per Routes value): a LAN address may belong to another device
//     on another network; if that ping fails the route is forgotten and a race runs;
//   - Failed forgets the route (Save with a zero Route), so the next BaseURL races again.
//
// Its methods are safe for concurrent use; concurrent races for one Homey share one race.
type Routes struct {
	HTTP *http.Client                  // for the pings; nil = a client with a 15 s timeout
	Load func(id string) (Route, bool) // nil = remembered in memory only
	Save func(id string, r Route) error

	mu       sync.Mutex
	mem      map[string]Route     // when Load is nil
	checked  map[string]Route     // routes pinged by this process (a race or a check)
	inflight map[string]*raceCall // running races by Homey id
}

type raceCall struct {
	done chan struct{}
	r    Route
	err  error
}

// BaseURL returns the route to use for h (see [Routes]).
func (rs *Routes) BaseURL(ctx context.Context, h Homey, bearer bool) (Route, error) {
	if h.ID == "" {
		return Route{}, errNoHomeyID
	}
	if r, ok := rs.load(h.ID); ok && !r.IsZero() && h.has(r) {
		if !bearer || r.Strategy == StrategyCloud || rs.wasChecked(h.ID, r) {
			return r, nil
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeouts[r.Strategy])
		err := (&Client{BaseURL: r.BaseURL, HomeyID: h.ID, HTTP: rs.HTTP}).Ping(pctx)
		cancel()
		if err == nil {
			rs.markChecked(h.ID, r)
			return r, nil
		}
		if ctx.Err() != nil {
			return Route{}, ctx.Err()
		}
		rs.Failed(h, r)
	}
	return rs.race(ctx, h)
}

// race runs one Race per Homey at a time and remembers its winner.
func (rs *Routes) race(ctx context.Context, h Homey) (Route, error) {
	rs.mu.Lock()
	if c := rs.inflight[h.ID]; c != nil {
		rs.mu.Unlock()
		select {
		case <-c.done:
			return c.r, c.err
		case <-ctx.Done():
			return Route{}, ctx.Err()
		}
	}
	c := &raceCall{done: make(chan struct{})}
	if rs.inflight == nil {
		rs.inflight = map[string]*raceCall{}
	}
	rs.inflight[h.ID] = c
	rs.mu.Unlock()
	defer func() {
		rs.mu.Lock()
		delete(rs.inflight, h.ID)
		rs.mu.Unlock()
		close(c.done)
	}()
	c.r, c.err = Race(ctx, h, rs.HTTP)
	if c.err != nil {
		return c.r, c.err
	}
	rs.markChecked(h.ID, c.r)
	if err := rs.store(h.ID, c.r); err != nil {
		c.err = fmt.Errorf("save route: %w", err)
	}
	return c.r, c.err
}

// Failed forgets r for h if it is the remembered route.
func (rs *Routes) Failed(h Homey, r Route) {
	rs.mu.Lock()
	if rs.checked[h.ID] == r {
		delete(rs.checked, h.ID)
	}
	rs.mu.Unlock()
	if cur, ok := rs.load(h.ID); ok && cur == r {
		_ = rs.store(h.ID, Route{}) // Failed cannot report it; the next BaseURL races either way
	}
}

func (rs *Routes) load(id string) (Route, bool) {
	if rs.Load != nil {
		return rs.Load(id)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.mem[id]
	return r, ok
}

func (rs *Routes) store(id string, r Route) error {
	if rs.Load != nil || rs.Save != nil {
		if rs.Save == nil {
			return nil
		}
		return rs.Save(id, r)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.mem == nil {
		rs.mem = map[string]Route{}
	}
	if r.IsZero() {
		delete(rs.mem, id)
	} else {
		rs.mem[id] = r
	}
	return nil
}

func (rs *Routes) wasChecked(id string, r Route) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.checked[id] == r
}

func (rs *Routes) markChecked(id string, r Route) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.checked == nil {
		rs.checked = map[string]Route{}
	}
	rs.checked[id] = r
}

// relayRouter is what Bearers does without a Router: always the cloud relay (remoteUrl).
type relayRouter struct{}

func (relayRouter) BaseURL(_ context.Context, h Homey, _ bool) (Route, error) {
	switch {
	case h.ID == "":
		return Route{}, errNoHomeyID
	case h.BaseURL() == "":
		return Route{}, fmt.Errorf("homey %s: %w", h.ID, errNoURL)
	}
	return Route{Strategy: StrategyCloud, BaseURL: h.BaseURL()}, nil
}

func (relayRouter) Failed(Homey, Route) {}
