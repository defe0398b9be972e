package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
)

// refreshCore is a Core for the refresher: a token that lives tokenLife from each successful
// AccessToken, a bearer confirmed on every Bearer call, and switchable failures.
type refreshCore struct {
	tokenLife time.Duration
	start     time.Time // when the test made it (in its synctest bubble)

	mu         sync.Mutex
	account    error
	tokenErr   error
	bearerErr  error
	calls      map[string][]time.Time // method → call times
	selected   string
	confirmNow bool // Bearer confirms (ConfirmedAt = now) on each call; else keeps the first
	confirmed  time.Time
}

func newRefreshCore() *refreshCore {
	return &refreshCore{tokenLife: time.Hour, calls: map[string][]time.Time{}, selected: "h1", confirmNow: true, start: time.Now()}
}

// after sleeps d in the synctest bubble, lets the refresher act, and checks that it has called
// method want times by then.
func (c *refreshCore) after(t *testing.T, d time.Duration, method string, want int) {
	t.Helper()
	time.Sleep(d)
	synctest.Wait()
	if n := c.count(method); n != want {
		t.Fatalf("%s called %d times at %v, want %d", method, n, time.Since(c.start), want)
	}
}

func (c *refreshCore) record(name string) {
	c.calls[name] = append(c.calls[name], time.Now())
}

func (c *refreshCore) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls[name])
}

func (c *refreshCore) set(fn func(c *refreshCore)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

func (c *refreshCore) Account(context.Context) (Account, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("Account")
	return Account{Name: "Ada"}, c.account
}

func (c *refreshCore) AccessToken(context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("AccessToken")
	if c.tokenErr != nil {
		return nil, c.tokenErr
	}
	return &oauth2.Token{AccessToken: "at", Expiry: time.Now().Add(c.tokenLife)}, nil
}

func (c *refreshCore) Bearer(context.Context, string) (*homey.Bearer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("Bearer")
	if c.bearerErr != nil {
		return nil, c.bearerErr
	}
	if c.confirmNow || c.confirmed.IsZero() {
		c.confirmed = time.Now()
	}
	return &homey.Bearer{Token: "bearer", HomeyID: c.selected, ConfirmedAt: c.confirmed}, nil
}

func (c *refreshCore) Homeys(context.Context) ([]homey.Homey, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("Homeys")
	return []homey.Homey{{ID: "h1", Name: "Home"}, {ID: "h2", Name: "Cabin"}}, c.selected, nil
}

func (c *refreshCore) Select(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.selected = id
	return nil
}

func (c *refreshCore) Devices(context.Context, string) (map[string]homey.Device, map[string]homey.Zone, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("Devices")
	return map[string]homey.Device{"d1": {ID: "d1", Name: "Lamp", Zone: "z"}}, map[string]homey.Zone{"z": {ID: "z", Name: "Kitchen"}}, nil
}

func (c *refreshCore) Login(context.Context) error  { return nil }
func (c *refreshCore) Logout(context.Context) error { return nil }
func (c *refreshCore) Reload() error                { return nil }
func (c *refreshCore) SettingsChanged() bool        { return false }

// recordSink records what the refresher reports, and the notifications.
type recordSink struct {
	mu      sync.Mutex
	events  []string
	notes   []Incident
	phase   string
	devices map[string]homey.Device
}

func (s *recordSink) add(ev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	switch ev {
	case "signedIn", "signedOut", "attention":
		s.phase = ev
	case "healthy":
		if s.phase == "attention" {
			s.phase = "signedIn"
		}
	}
}

func (s *recordSink) SignedIn(Account)             { s.add("signedIn") }
func (s *recordSink) SignedOut()                   { s.add("signedOut") }
func (s *recordSink) Attention(*failure.Failure)   { s.add("attention") }
func (s *recordSink) Healthy()                     { s.add("healthy") }
func (s *recordSink) Homeys([]homey.Homey, string) { s.add("homeys") }
func (s *recordSink) Devices(d map[string]homey.Device, _ map[string]homey.Zone, _ error) {
	s.add("devices")
	s.mu.Lock()
	s.devices = d
	s.mu.Unlock()
}

func (s *recordSink) Incident(n Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes = append(s.notes, n)
}

func (s *recordSink) noteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notes)
}

func (s *recordSink) state() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase
}

// startRefresher runs a refresher in the current synctest bubble until the test function ends.
func startRefresher(t *testing.T, c *refreshCore, wall func() time.Time) (*refresher, *recordSink) {
	t.Helper()
	s := &recordSink{}
	r := newRefresher(c, s)
	r.rnd = func() float64 { return 0.5 }
	if wall != nil {
		r.wall = wall
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	synctest.Wait()
	return r, s
}

var errOffline = &url.Error{Op: "Post", URL: "https://api.athom.com/oauth2/token",
	Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}

func TestRefreshFirstPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		_, s := startRefresher(t, c, nil)
		for _, m := range []string{"Account", "Homeys", "AccessToken", "Bearer", "Devices"} {
			if n := c.count(m); n != 1 {
				t.Errorf("%s called %d times at start, want 1", m, n)
			}
		}
		if s.state() != "signedIn" || len(s.devices) != 1 || s.noteCount() != 0 {
			t.Errorf("state %q, devices %v, %d notes", s.state(), s.devices, s.noteCount())
		}
	})
}

func TestRefreshAccessTokenAt80Percent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		start := time.Now()
		startRefresher(t, c, nil)
		c.after(t, 47*time.Minute+59*time.Second, "AccessToken", 1)
		c.after(t, 2*time.Second, "AccessToken", 2)
		c.mu.Lock()
		at := c.calls["AccessToken"][1].Sub(start)
		c.mu.Unlock()
		if at != 48*time.Minute {
			t.Errorf("second AccessToken at %v, want 48m0s (80%% of 1h)", at)
		}
		// The new token lives an hour from then: the next ask is 48 min later again.
		c.after(t, 48*time.Minute, "AccessToken", 3)
	})
}

func TestRefreshBearerBeforeTrustEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		startRefresher(t, c, nil)
		due := homey.DefaultTrust * 8 / 10
		c.after(t, due-time.Second, "Bearer", 1)
		c.after(t, 2*time.Second, "Bearer", 2)
	})
}

func TestRefreshBearerServedFromMemory(t *testing.T) {
	// A Core that serves a trusted bearer from memory does not move ConfirmedAt when asked at
	// 80%: the refresher asks again just after the window ends, when the Core must confirm.
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		c.confirmNow = false
		startRefresher(t, c, nil)
		trust := homey.DefaultTrust
		c.after(t, trust*8/10+time.Millisecond, "Bearer", 2)
		c.after(t, trust-trust*8/10, "Bearer", 2)
		c.after(t, time.Second, "Bearer", 3)
	})
}

func TestRefreshAfterWallClockJump(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		var offset atomic.Int64 // the time the machine "slept": wall moves, monotonic does not
		wall := func() time.Time { return time.Now().Round(0).Add(time.Duration(offset.Load())) }
		startRefresher(t, c, wall)
		c.after(t, 5*time.Minute, "AccessToken", 1)
		offset.Store(int64(3 * time.Hour))
		time.Sleep(clockCheck)
		synctest.Wait()
		for _, m := range []string{"AccessToken", "Bearer", "Devices", "Homeys"} {
			if n := c.count(m); n != 2 {
				t.Errorf("%s called %d times within %v of the wake-up, want 2", m, n, clockCheck)
			}
		}
		if n := c.count("Account"); n != 1 {
			t.Errorf("Account called %d times, want 1 (a wake-up does not re-read the account)", n)
		}
	})
}

func TestClockJumped(t *testing.T) {
	w := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		wall, mono time.Duration
		want       bool
	}{
		{time.Minute, time.Minute, false},
		{time.Minute + 10*time.Second, time.Minute, false},
		{time.Minute + jumpLimit + time.Second, time.Minute, true},
		{8 * time.Hour, time.Minute, true},
		{-time.Hour, time.Minute, true},
	}
	for _, tt := range tests {
		if got := clockJumped(w, w.Add(tt.wall), tt.mono); got != tt.want {
			t.Errorf("clockJumped(wall %v, mono %v) = %v, want %v", tt.wall, tt.mono, got, tt.want)
		}
	}
}

func TestTokenAndBearerDue(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	trust := 15 * time.Minute
	tests := []struct {
		name string
		got  time.Time
		want time.Time
	}{
		{"token, 1h left", tokenDue(now, now.Add(time.Hour)), now.Add(48 * time.Minute)},
		{"token, 12 min left", tokenDue(now, now.Add(12*time.Minute)), now.Add(576 * time.Second)},
		{"token, nearly expired", tokenDue(now, now.Add(10*time.Second)), now.Add(minTokenGap)},
		{"token, expired", tokenDue(now, now.Add(-time.Hour)), now.Add(minTokenGap)},
		{"token, no expiry", tokenDue(now, time.Time{}), time.Time{}},
		{"bearer, just confirmed", bearerDue(now, now, time.Time{}, trust), now.Add(12 * time.Minute)},
		{"bearer, unchanged", bearerDue(now, now.Add(-12*time.Minute), now.Add(-12*time.Minute), trust), now.Add(3*time.Minute + time.Second)},
		{"bearer, old from the cache", bearerDue(now, now.Add(-14*time.Minute), time.Time{}, trust), now.Add(time.Minute + time.Second)},
		{"bearer, past its window", bearerDue(now, now.Add(-time.Hour), now.Add(-time.Hour), trust), now.Add(12 * time.Minute)},
		{"bearer, unknown", bearerDue(now, time.Time{}, time.Time{}, trust), now.Add(12 * time.Minute)},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s: due %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestRefreshSignInGoneNotifiesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		_, s := startRefresher(t, c, nil)
		c.set(func(c *refreshCore) { c.tokenErr = fmt.Errorf("refresh the token: %w", auth.ErrSignInGone) })
		time.Sleep(6 * time.Hour) // the token comes due at 48 min, then retries with backoff
		synctest.Wait()
		if n := c.count("AccessToken"); n < 8 {
			t.Fatalf("AccessToken called %d times in 6 h, want many retries", n)
		}
		if n := s.noteCount(); n != 1 {
			t.Fatalf("%d notifications for one incident, want 1: %v", n, s.notes)
		}
		if n := s.notes[0]; !n.NeedsUser || n.Failure.Kind != failure.SignInGone || s.state() != "attention" {
			t.Errorf("note %v, state %q", s.notes[0], s.state())
		}
		// The retries are rare: at most every backoffCapAttend.
		c.mu.Lock()
		calls := c.calls["AccessToken"]
		c.mu.Unlock()
		for i := 2; i < len(calls); i++ {
			if gap := calls[i].Sub(calls[i-1]); gap > backoffCapAttend {
				t.Errorf("retry %d after %v, more than the cap", i, gap)
			}
		}

		// It works again: the incident ends. A new failure is a new incident: one more note.
		c.set(func(c *refreshCore) { c.tokenErr = nil })
		time.Sleep(backoffCapAttend)
		synctest.Wait()
		if s.state() != "signedIn" {
			t.Fatalf("state %q after a good refresh, want signedIn", s.state())
		}
		c.set(func(c *refreshCore) { c.tokenErr = auth.ErrSignInGone })
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if n := s.noteCount(); n != 2 {
			t.Errorf("%d notifications after a second incident, want 2", n)
		}
	})
}

func TestRefreshNetworkBlip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		_, s := startRefresher(t, c, nil)
		// The token comes due at 48 min; the network is gone from 45 to 58 min: less than the
		// 12 min the token has left.
		time.Sleep(45 * time.Minute)
		c.set(func(c *refreshCore) { c.tokenErr = errOffline; c.bearerErr = errOffline })
		time.Sleep(13 * time.Minute)
		synctest.Wait()
		if n := c.count("AccessToken"); n < 4 {
			t.Fatalf("AccessToken called %d times, want retries during the blip", n)
		}
		c.set(func(c *refreshCore) { c.tokenErr = nil; c.bearerErr = nil })
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := s.noteCount(); n != 0 {
			t.Errorf("%d notifications for a blip shorter than the token: %v", n, s.notes)
		}
		if s.state() != "signedIn" {
			t.Errorf("state %q, want signedIn (network errors need no attention)", s.state())
		}
	})
}

func TestRefreshNetworkOutageOutlastsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		start := time.Now()
		_, s := startRefresher(t, c, nil)
		time.Sleep(40 * time.Minute)
		c.set(func(c *refreshCore) { c.tokenErr = errOffline; c.bearerErr = errOffline })
		time.Sleep(59*time.Minute - 40*time.Minute)
		synctest.Wait()
		if n := s.noteCount(); n != 0 {
			t.Fatalf("%d notifications before the token expired", n)
		}
		time.Sleep(4 * time.Hour)
		synctest.Wait()
		if n := s.noteCount(); n != 1 {
			t.Fatalf("%d notifications for an outage that outlasted the token, want 1: %v", n, s.notes)
		}
		if n := s.notes[0]; n.NeedsUser || n.Failure.Kind != failure.Network || !n.Expiry.Equal(start.Add(time.Hour)) {
			t.Errorf("note %+v, want an outage with the token's expiry", n)
		}
		// Retries keep going at most backoffCap apart.
		c.mu.Lock()
		calls := c.calls["AccessToken"]
		c.mu.Unlock()
		if gap := calls[len(calls)-1].Sub(calls[len(calls)-2]); gap > backoffCap {
			t.Errorf("retries %v apart, more than %v", gap, backoffCap)
		}
	})
}

func TestRefreshNotSignedIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// At start: simply signed out, no notification, and nothing to do in the background.
		c := newRefreshCore()
		c.account = auth.ErrNotSignedIn
		r, s := startRefresher(t, c, nil)
		time.Sleep(10 * time.Hour)
		synctest.Wait()
		if s.state() != "signedOut" || s.noteCount() != 0 || c.count("Account") != 1 || c.count("AccessToken") != 0 {
			t.Fatalf("state %q, %d notes, Account %d, AccessToken %d", s.state(), s.noteCount(), c.count("Account"), c.count("AccessToken"))
		}
		// The command line signs in and tells the tray.
		c.set(func(c *refreshCore) { c.account = nil })
		r.request(stepsAll, true)
		synctest.Wait()
		if s.state() != "signedIn" {
			t.Fatalf("state %q after a reload, want signedIn", s.state())
		}
		// The sign-in vanishes behind the tray's back: that needs attention, once.
		c.set(func(c *refreshCore) { c.tokenErr = fmt.Errorf("load: %w", auth.ErrNotSignedIn) })
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if s.state() != "attention" || s.noteCount() != 1 {
			t.Fatalf("state %q, %d notes; want attention and 1", s.state(), s.noteCount())
		}
		// The user signs out (a user action): plain signed out, the incident is over.
		c.set(func(c *refreshCore) { c.account = auth.ErrNotSignedIn })
		r.request(stepsAll, true)
		synctest.Wait()
		if s.state() != "signedOut" || s.noteCount() != 1 {
			t.Errorf("state %q, %d notes; want signedOut and still 1", s.state(), s.noteCount())
		}
	})
}

func TestRefreshKeychainAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		c.account = &auth.KeychainError{Kind: auth.Locked}
		_, s := startRefresher(t, c, nil)
		if s.state() != "attention" || s.noteCount() != 1 {
			t.Fatalf("state %q, %d notes; want attention and 1", s.state(), s.noteCount())
		}
		// Unlocked later: the next retry finds it.
		c.set(func(c *refreshCore) { c.account = nil })
		time.Sleep(backoffCapAttend)
		synctest.Wait()
		if s.state() != "signedIn" || c.count("AccessToken") != 1 {
			t.Errorf("state %q, AccessToken %d; want signedIn and 1", s.state(), c.count("AccessToken"))
		}
	})
}

func TestRefreshSelect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		r, _ := startRefresher(t, c, nil)
		_ = c.Select("h2")
		r.request(stepHomeys|stepBearer|stepDevices, false)
		synctest.Wait()
		if c.count("Bearer") != 2 || c.count("Devices") != 2 || c.count("Account") != 1 {
			t.Errorf("after a selection: Bearer %d, Devices %d, Account %d; want 2, 2, 1",
				c.count("Bearer"), c.count("Devices"), c.count("Account"))
		}
	})
}

func TestRefreshPersonalAccessToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &patCore{refreshCore: newRefreshCore()}
		s := &recordSink{}
		r := newRefresher(c, s)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go r.run(ctx)
		c.set(func(rc *refreshCore) { rc.bearerErr = errOffline })
		time.Sleep(48 * time.Hour)
		synctest.Wait()
		if c.count("AccessToken") != 1 {
			t.Errorf("AccessToken called %d times for a token without expiry, want 1", c.count("AccessToken"))
		}
		if s.noteCount() != 0 {
			t.Errorf("%d notes: a network outage cannot outlast a token without expiry", s.noteCount())
		}
		cancel()
		synctest.Wait()
	})
}

// patCore hands out a personal access token: no expiry.
type patCore struct{ *refreshCore }

func (c *patCore) AccessToken(ctx context.Context) (*oauth2.Token, error) {
	if _, err := c.refreshCore.AccessToken(ctx); err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: "pat"}, nil
}

func TestRefreshStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		s := &recordSink{}
		r := newRefresher(c, s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.run(ctx); close(done) }()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("run did not return after its context ended")
		}
		if errors.Is(ctx.Err(), context.Canceled) && s.noteCount() != 0 {
			t.Error("a cancelled refresher notified")
		}
	})
}

// limited is a 429 answer of the token endpoint as auth reports it: its status and its
// Retry-After header, read by homey.RetryAfterOf.
type limited struct{ after time.Duration }

func (e limited) Error() string   { return "token endpoint: 429 too_many_requests" }
func (e limited) StatusCode() int { return 429 }
func (e limited) RetryHeader() http.Header {
	h := http.Header{}
	if e.after > 0 {
		h.Set("Retry-After", strconv.Itoa(int(e.after/time.Second)))
	}
	return h
}

// TestRefreshHonoursRetryAfter: a server that asks for 10 minutes of quiet gets them, though the
// backoff alone would retry after seconds; a bogus hours-long Retry-After is capped.
func TestRefreshHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		after, wantGap time.Duration
	}{
		{10 * time.Minute, 10 * time.Minute},
		{72 * time.Hour, backoffCapAttend},
		{0, backoff(0, 0.5, backoffCap)}, // no header: the plain backoff
	} {
		t.Run(tc.after.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newRefreshCore()
				r, s := startRefresher(t, c, nil)
				c.set(func(c *refreshCore) { c.account = fmt.Errorf("account: %w", limited{tc.after}) })
				r.request(stepsAll, true)
				synctest.Wait()
				failedAt := time.Now()
				before := c.count("Account")
				time.Sleep(tc.wantGap - time.Second)
				synctest.Wait()
				if n := c.count("Account"); n != before {
					t.Fatalf("retried %v after a 429 that asked for %v", time.Since(failedAt), tc.after)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if n := c.count("Account"); n != before+1 {
					t.Fatalf("%d retries by %v, want 1", n-before, tc.wantGap+time.Second)
				}
				if s.state() != "signedIn" || s.noteCount() != 0 {
					t.Errorf("a rate limit is not the user's problem: state %q, %d notes", s.state(), s.noteCount())
				}
			})
		})
	}
}

func TestErrorTextRateLimit(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("user: %w", limited{90 * time.Second}):    "the server is limiting requests (HTTP 429); try again in 90 s",
		fmt.Errorf("user: %w", limited{}):                    "the server is limiting requests (HTTP 429); try again in a minute",
		&homey.APIError{Op: "GET /user/me", StatusCode: 429}: "the server is limiting requests (HTTP 429); try again in a minute",
	} {
		if got := failure.Of(err).Text(); got != want {
			t.Errorf("Text of %v = %q, want %q", err, got, want)
		}
	}
}
