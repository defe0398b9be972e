package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
)

// step is one thing the refresher asks the Core for; a pass runs the pending ones in this order.
type step uint8

const (
	stepAccount step = 1 << iota // Core.Account: signed in, and as whom
	stepHomeys                   // Core.Homeys: the list and the selected one
	stepToken                    // Core.AccessToken: the Athom access token
	stepBearer                   // Core.Bearer: the selected Homey's bearer
	stepDevices                  // Core.Devices: the Devices submenu

	stepsAll = stepAccount | stepHomeys | stepToken | stepBearer | stepDevices
)

const (
	// clockCheck is the longest the refresher sleeps while something is scheduled. Go timers
	// stop while the machine is suspended, so after a wake-up a long timer would fire late; on
	// every tick the wall clock is compared with the monotonic time slept (clockJumped). The
	// tick does nothing else: no call, no I/O.
	clockCheck = time.Minute
	// jumpLimit is how far the wall clock may drift from the monotonic clock over one sleep
	// before it counts as a suspend (or a clock change): then everything is refreshed at once.
	jumpLimit = 30 * time.Second
	// minTokenGap and minBearerGap keep a Core whose answers do not move the schedule (a
	// token that is not renewed yet, a bearer served from memory) from being asked in a loop.
	minTokenGap  = 30 * time.Second
	minBearerGap = 10 * time.Second
)

// refresher keeps the sign-in fresh in the background with timers only: the access token at
// about 80% of its remaining life (Core.AccessToken renews it near expiry), the selected Homey's
// bearer before (and, if the Core served it from memory, just after) its trust window
// homey.DefaultTrust runs out, everything again after a wall-clock jump (sleep/wake), and failed
// steps again after an exponential backoff with jitter. It raises at most one notification per
// incident (see incidents).
type refresher struct {
	core  Core
	sink  Sink
	wall  func() time.Time // wall clock without a monotonic reading
	rnd   func() float64   // jitter, in [0, 1)
	trust time.Duration    // the bearer trust window of the Core

	mu          sync.Mutex
	asked       step // requested by other goroutines, taken by run
	askedByUser bool
	wake        chan struct{}

	// Owned by run's goroutine.
	pending   step
	user      bool // the pending pass was asked for by the user (start, sign-in or out, reload)
	fails     int
	retryAt   time.Time // wall; zero = now
	tokenAt   time.Time // wall; zero = not scheduled
	bearerAt  time.Time
	expiry    time.Time // of the last access token; zero = unknown (a personal access token)
	confirmed time.Time // ConfirmedAt of the last bearer
	selected  string
	signedIn  bool
	attn      bool // the sink was told attention and not healthy since
	inc       incidents

	live *liveDevices // the selected Homey's realtime connection; nil = none (Agent.LiveDevices)
}

func newRefresher(core Core, s Sink) *refresher {
	return &refresher{
		core:  core,
		sink:  s,
		wall:  func() time.Time { return time.Now().Round(0) },
		rnd:   rand.Float64,
		trust: homey.DefaultTrust,
		wake:  make(chan struct{}, 1),
	}
}

// request asks for steps as soon as possible. user marks a user's action (sign-in or out, a
// reload after the command line signed in or out): it ends the current incident and resets the
// backoff. Safe from any goroutine; it never blocks.
func (r *refresher) request(s step, user bool) {
	r.mu.Lock()
	r.asked |= s
	r.askedByUser = r.askedByUser || user
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run is the refresh loop; it returns when ctx is done. The first pass is everything.
func (r *refresher) run(ctx context.Context) {
	defer r.live.stop()
	r.request(stepsAll, true)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		r.take()
		now := r.wall()
		r.markDue(now)
		if r.pending != 0 && !now.Before(r.retryAt) {
			r.pass(ctx)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var tick <-chan time.Time
		if wait, ok := r.next(now); ok {
			timer.Reset(wait)
			tick = timer.C
		}
		wallStart, monoStart := r.wall(), time.Now()
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			timer.Stop()
		case <-tick:
			if clockJumped(wallStart, r.wall(), time.Since(monoStart)) {
				r.jumped()
			}
		}
	}
}

// take moves requests into pending.
func (r *refresher) take() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asked == 0 {
		return
	}
	r.pending |= r.asked
	r.retryAt = time.Time{}
	if r.askedByUser {
		r.user, r.fails = true, 0
		r.inc.end()
	}
	r.asked, r.askedByUser = 0, false
}

// markDue makes scheduled steps pending once their time has come.
func (r *refresher) markDue(now time.Time) {
	if !r.signedIn {
		return
	}
	if !r.tokenAt.IsZero() && !now.Before(r.tokenAt) {
		r.pending, r.tokenAt = r.pending|stepToken, time.Time{}
	}
	if !r.bearerAt.IsZero() && !now.Before(r.bearerAt) {
		r.pending, r.bearerAt = r.pending|stepBearer, time.Time{}
	}
}

// next is how long to sleep: until the earliest scheduled step or retry, at most clockCheck;
// false when nothing is scheduled (signed out), so the loop sleeps until a request.
func (r *refresher) next(now time.Time) (time.Duration, bool) {
	var due time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	if r.pending != 0 {
		consider(r.retryAt)
	}
	if r.signedIn {
		consider(r.tokenAt)
		consider(r.bearerAt)
	}
	if due.IsZero() {
		return 0, false
	}
	return min(max(due.Sub(now), 0), clockCheck), true
}

// jumped: the machine slept (or the clock was set). Tokens and bearers may have expired, the
// network may be another one: refresh everything but the account now, with a fresh backoff.
func (r *refresher) jumped() {
	if !r.signedIn && r.pending == 0 {
		return
	}
	r.pending |= stepsAll &^ stepAccount
	r.retryAt, r.fails = time.Time{}, 0
}

// pass runs the pending steps and handles the outcome.
func (r *refresher) pass(ctx context.Context) {
	err := r.steps(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		r.failed(err)
		return
	}
	r.user, r.fails, r.retryAt = false, 0, time.Time{}
	if ended := r.inc.end(); ended || r.attn {
		r.attn = false
		r.sink.Healthy()
	}
}

// steps runs the pending steps in order and stops at the first error.
func (r *refresher) steps(ctx context.Context) error {
	if r.pending&stepAccount != 0 {
		acc, err := r.core.Account(ctx)
		if err != nil {
			return r.stepErr(err)
		}
		r.signedIn = true
		r.sink.SignedIn(acc)
		r.pending &^= stepAccount
	}
	if !r.signedIn {
		r.pending = 0
		return nil
	}
	if r.pending&stepHomeys != 0 {
		list, sel, err := r.core.Homeys(ctx)
		if err != nil {
			return r.stepErr(err)
		}
		if sel != r.selected {
			r.live.stop() // its reports would be of the Homey no longer selected
			r.selected, r.confirmed, r.bearerAt = sel, time.Time{}, time.Time{}
			r.pending |= stepBearer | stepDevices
		}
		r.sink.Homeys(list, sel)
		r.pending &^= stepHomeys
	}
	if r.pending&stepToken != 0 {
		tok, err := r.core.AccessToken(ctx)
		if err != nil {
			return r.stepErr(err)
		}
		r.expiry = tok.Expiry
		r.tokenAt = tokenDue(r.wall(), tok.Expiry)
		r.pending &^= stepToken
	}
	if r.selected == "" {
		r.live.stop()
		if r.pending&stepDevices != 0 {
			r.sink.Devices(nil, nil, nil)
		}
		r.pending &^= stepBearer | stepDevices
		r.bearerAt = time.Time{}
		return nil
	}
	if r.pending&stepBearer != 0 {
		b, err := r.core.Bearer(ctx, "")
		if err != nil {
			return r.stepErr(err)
		}
		r.bearerAt = bearerDue(r.wall(), b.ConfirmedAt, r.confirmed, r.trust)
		r.confirmed = b.ConfirmedAt
		r.pending &^= stepBearer
	}
	if r.pending&stepDevices != 0 {
		// A new list, a new connection (after a wake-up, a change of the settings): the old
		// one ends first, so that none of its reports comes after the list.
		r.live.stop()
		devices, zones, err := r.core.Devices(ctx, r.selected)
		if err != nil {
			r.sink.Devices(nil, nil, err)
			return r.stepErr(err)
		}
		r.sink.Devices(devices, zones, nil)
		r.live.start(ctx, r.selected, devices, zones)
		r.pending &^= stepDevices
	}
	return nil
}

// stepErr turns "not signed in" into the signed-out state when that is news to nobody: at
// start, after the user's own action, or when we were not signed in anyway. Found by a
// background refresh while signed in, the sign-in vanished behind the user's back: that stays
// an error, an incident that needs attention.
func (r *refresher) stepErr(err error) error {
	if !errors.Is(err, auth.ErrNotSignedIn) || (!r.user && r.signedIn) {
		return err
	}
	r.live.stop()
	r.signedIn, r.selected, r.pending = false, "", 0
	r.tokenAt, r.bearerAt, r.expiry, r.confirmed = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	r.inc.end()
	r.attn = false
	r.sink.SignedOut()
	return nil
}

// failed records a failed pass: the status line for an error that needs the user, at most one
// notification per incident, and the next retry.
func (r *refresher) failed(err error) {
	f := failure.Of(err)
	k := incidentNetwork
	limit := backoffCap
	if f.NeedsUser() {
		k = incidentAttention
		r.attn = true
		r.sink.Attention(f)
		limit = backoffCapAttend
	}
	now := r.wall()
	if r.inc.fail(k, now, r.expiry) {
		r.sink.Incident(Incident{Failure: f, NeedsUser: r.inc.kind == incidentAttention, Expiry: r.expiry})
	}
	// A server that said when to come back (429 Retry-After) is not asked sooner; a long wait
	// is capped like an attention incident's, so a bogus header cannot park the tray for days.
	wait := max(backoff(r.fails, r.rnd(), limit), min(homey.RetryAfterOf(err), backoffCapAttend))
	r.retryAt = now.Add(wait)
	r.fails++
}

// tokenDue is when to ask for the access token again: after 80% of its remaining life, so a
// Core that renews near expiry is asked a few times as the end nears. Zero expiry (a personal
// access token) schedules nothing.
func tokenDue(now, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{}
	}
	d := expiry.Sub(now) * 8 / 10
	return now.Add(max(d, minTokenGap))
}

// bearerDue is when to ask for the bearer again: at 80% of its trust window after the Homey
// last confirmed it; if that is past, or the last ask did not move ConfirmedAt (the Core served
// it from memory), just after the window ends, when the Core has to confirm it with the Homey.
func bearerDue(now, confirmed, previous time.Time, trust time.Duration) time.Time {
	if confirmed.IsZero() {
		return now.Add(trust * 8 / 10)
	}
	earliest := now.Add(minBearerGap)
	if due := confirmed.Add(trust * 8 / 10); !confirmed.Equal(previous) && !due.Before(earliest) {
		return due
	}
	if due := confirmed.Add(trust + time.Second); !due.Before(earliest) {
		return due
	}
	// The Core's window is not ours (or its clock is not): do not ask in a loop.
	return now.Add(max(trust*8/10, minBearerGap))
}

// clockJumped reports whether the wall clock moved differently from the monotonic time slept
// (mono): the machine was suspended, or the clock was set.
func clockJumped(wallStart, wallNow time.Time, mono time.Duration) bool {
	d := wallNow.Sub(wallStart) - mono
	return d > jumpLimit || d < -jumpLimit
}
