package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// TestSixteenDevicesOnExpiredSessions (issue 10): 5 rounds of 16 `devices` processes started
// together on an expired sign-in and expired Homey sessions, with rotating refresh tokens and a
// slow token endpoint. Every process succeeds (no keychain race: a delete or read of an item
// another process just replaced or deleted is no failure), and each round makes exactly one
// refresh and one Homey sign-in between all of them (the refresh lock, and the per-Homey sign-in
// lock with the bearer read again under it). It counts; it does not time.
func TestSixteenDevicesOnExpiredSessions(t *testing.T) {
	e := newTestEnv(t, false)
	e.srv.SetRotateRefreshTokens(true)
	e.loginHTTP()
	e.must("", "devices") // a bearer and a remembered route, as after any first use
	const rounds, procs = 5, 16
	failures := 0
	for round := range rounds {
		e.srv.ExpireAccessTokens()
		e.srv.RevokeSessions()
		e.srv.SetFault("POST /oauth2/token", emulator.Fault{Kind: emulator.FaultSlow, Delay: 300 * time.Millisecond})
		e.srv.ResetCounts()
		results := make([]result, procs)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i] = e.run("", "devices") })
		}
		wg.Wait()
		e.srv.ClearFaults()
		for i, r := range results {
			if r.code != 0 {
				failures++
				t.Errorf("round %d, process %d: exit %d: %s", round, i, r.code, r.stderr)
			}
		}
		if n := e.srv.Grants("refresh_token"); n != 1 {
			t.Errorf("round %d: %d refresh grants; want exactly 1", round, n)
		}
		if n := e.srv.Count("POST /oauth2/token"); n != 1 {
			t.Errorf("round %d: %d token requests; want exactly 1", round, n)
		}
		if n := e.srv.Count("POST /api/manager/users/login"); n != 1 {
			t.Errorf("round %d: %d users/login; want exactly 1", round, n)
		}
		// One process signs in to the Homey: its first delegation request carries the expired
		// access token (401 invalid_token), the second the refreshed one. None of the others asks.
		if n := e.srv.Count("POST /delegation/token"); n != 2 {
			t.Errorf("round %d: %d delegation requests; want 2 (one refused, one after the refresh)", round, n)
		}
	}
	t.Logf("%d of %d processes failed", failures, rounds*procs)
}
