//go:build linux

package e2e

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// TestTrayUnderFaults runs a signed-in tray through every broken answer the cloud can give
// (issue 5): the status line keeps saying who is signed in (the sign-in is fine, the server is
// not), the tray retries in the background without a click, sends at most one notification per
// incident — exactly one once the outage outlasts the access token — survives without a panic,
// and is back to normal once the server heals. A 429 is not asked again before its Retry-After.
//
// Each kind gets its own user and tray, run in parallel: the incidents wait for the tray's
// backoff (2.5–5 s, then 5–10 s) and the token's life, not for each other.
func TestTrayUnderFaults(t *testing.T) {
	requireTrayDesktop(t)
	notes := watchNotifications(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	const ttl = 4 * time.Second // the access token's life: a short outage already outlasts it
	kinds := []emulator.Fault{
		{Kind: emulator.Fault5xx},
		{Kind: emulator.FaultHTML},
		{Kind: emulator.FaultTruncated},
		{Kind: emulator.FaultWrongType},
		{Kind: emulator.FaultReset},
		{Kind: emulator.FaultHang},
		{Kind: emulator.FaultRateLimit, RetryAfter: "7"},
	}
	for _, f := range kinds {
		t.Run(f.Kind.String(), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			// Inside the Session's margin: every AccessToken of the tray asks the token endpoint,
			// so each background attempt is one POST /oauth2/token the emulator counts.
			e.srv.SetAccessTokenTTL(ttl)
			e.loginHTTP()
			p := e.startTray(t)
			c := p.client
			if got := c.waitStatus(15*time.Second, "Signed in as"); got != "Signed in as Ada Lovelace" {
				t.Fatalf("status line = %q", got)
			}
			devicesShown := func(m *menuItem) bool {
				d := m.find("Devices")
				return d != nil && len(visible(d.Children)) > 0
			}
			c.waitMenu(15*time.Second, "the Devices submenu", devicesShown)
			before := len(notes.from(p.pid()))

			// Wait for the start-up pass to be over: each attempt below is then one token request.
			const tokenRoute = "POST /oauth2/token"
			if !waitQuiet(e.srv, tokenRoute, time.Second, 20*time.Second) {
				t.Fatalf("the tray never stopped asking for tokens")
			}
			tries := newRequestClock(t, e.srv, tokenRoute)
			e.srv.SetFault("*", f)
			faultAt := time.Now()
			tellTestTray(t, e) // the command line changed something: the tray reloads at once
			// The tray retries by itself (its backoff) until an attempt fails after the last good
			// token's end (at most ttl after the fault began): that attempt notifies, once.
			if !waitFor(60*time.Second, func() bool { return tries.last().After(faultAt.Add(ttl + 500*time.Millisecond)) }) {
				t.Fatalf("%d attempts in 60 s, none after the token ran out: the tray must retry by itself", tries.n())
			}
			got := notes.wait(t, 30*time.Second, p.pid(), before+1, nil)[before:]
			e.checkNotification(t, got[0], "")
			t.Logf("attempt %d after %v: notification %q / %q", tries.n(), time.Since(faultAt).Round(100*time.Millisecond), got[0].Summary, got[0].Body)
			// Not one per retry: wait for the next attempt, give a notification time to come.
			n := tries.n()
			if !waitFor(60*time.Second, func() bool { return tries.n() > n }) {
				t.Fatalf("no retry within 60 s")
			}
			time.Sleep(time.Second)
			if got := notes.from(p.pid())[before:]; len(got) != 1 {
				t.Errorf("%d notifications for one outage, want exactly 1: %+v", len(got), got)
			}
			if got := status(c.menu()); got != "Signed in as Ada Lovelace" {
				t.Errorf("during the outage the status line is %q; the sign-in is fine", got)
			}
			if !devicesShown(c.menu()) {
				t.Errorf("the outage emptied the Devices submenu:\n%s", c.menu())
			}
			if f.Kind == emulator.FaultRateLimit {
				// The emulator said "Retry-After: 7": no attempt may follow another sooner.
				if gap := tries.minGap(); gap < 6500*time.Millisecond {
					t.Errorf("the tray asked again %v after a 429 that said 7 s", gap)
				}
			}

			// Healed: the next pass gets past the token endpoint to the Homey's devices again.
			const devicesRoute = "GET /api/manager/devices/device"
			listed := e.srv.Count(devicesRoute)
			e.srv.ClearFaults()
			tellTestTray(t, e)
			if !waitFor(30*time.Second, func() bool { return e.srv.Count(devicesRoute) > listed }) {
				t.Errorf("the tray did not get back to the devices after the server healed")
			}
			if got := status(c.menu()); got != "Signed in as Ada Lovelace" {
				t.Errorf("after healing the status line is %q", got)
			}
			if n := len(notes.from(p.pid())[before:]); n != 1 {
				t.Errorf("%d notifications after healing, want still 1", n)
			}
			if err := p.alive(); err != nil {
				t.Fatalf("the tray died: %v", err)
			}
			if out := p.out.String(); strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Errorf("the tray's output shows a panic:\n%s", out)
			}
		})
	}
}

// requestClock notes when the emulator's count of one route goes up (polled every 10 ms, so
// times are at most that late).
type requestClock struct {
	mu    sync.Mutex
	times []time.Time
	stop  chan struct{}
}

func newRequestClock(t testing.TB, srv *emulator.Server, route string) *requestClock {
	rc := &requestClock{stop: make(chan struct{})}
	t.Cleanup(func() { close(rc.stop) })
	base := srv.Count(route)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		seen := base
		for {
			select {
			case <-rc.stop:
				return
			case <-tick.C:
			}
			if n := srv.Count(route); n > seen {
				rc.mu.Lock()
				for ; seen < n; seen++ {
					rc.times = append(rc.times, time.Now())
				}
				rc.mu.Unlock()
			}
		}
	}()
	return rc
}

func (rc *requestClock) n() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.times)
}

// last is when the latest request was seen (zero before the first).
func (rc *requestClock) last() time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.times) == 0 {
		return time.Time{}
	}
	return rc.times[len(rc.times)-1]
}

// waitQuiet waits up to max for a moment when route has had no request for quiet.
func waitQuiet(srv *emulator.Server, route string, quiet, max time.Duration) bool {
	n, since := srv.Count(route), time.Now()
	return waitFor(max, func() bool {
		if m := srv.Count(route); m != n {
			n, since = m, time.Now()
		}
		return time.Since(since) >= quiet
	})
}

// minGap is the shortest time between two counted requests (0 with fewer than two).
func (rc *requestClock) minGap() time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(rc.times); i++ {
		if d := rc.times[i].Sub(rc.times[i-1]); gap == 0 || d < gap {
			gap = d
		}
	}
	return gap
}
