package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey"
)

// TestServerClockFarOff: the emulated Athom cloud and Homeys run with their clock days (or a
// year) away from ours. The app reads no absolute server time (expiries come from expires_in on
// our clock), so sign-in, token, devices and a forced refresh all work, a refreshed token is not
// refreshed again at once, a bearer past the trust window is confirmed, and the printed bearer
// works on the Homey.
func TestServerClockFarOff(t *testing.T) {
	requireDesktop(t, false)
	for _, off := range []time.Duration{72 * time.Hour, -72 * time.Hour, 365 * 24 * time.Hour} {
		t.Run(off.String(), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			e.srv.SetClockOffset(off)
			e.loginHTTP()
			checkEverythingWorks(t, e)
		})
	}
	// The server's clock is corrected by three days while we are signed in: every access
	// token and Homey session it issued is suddenly expired on its side. The app refreshes
	// once and signs in to the Homey again by itself.
	t.Run("jump +72h while signed in", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, false)
		e.loginHTTP()
		e.must("", "devices")
		e.srv.SetClockOffset(72 * time.Hour)
		e.srv.ResetCounts()
		e.must("", "homeys")
		if n := e.srv.Grants("refresh_token"); n != 1 {
			t.Errorf("refresh grants after the jump = %d, want 1", n)
		}
		e.must("", "devices") // the old Homey session answers 401: one new sign-in to the Homey
		if n := e.srv.Count("POST /api/manager/users/login"); n != 1 {
			t.Errorf("Homey sign-ins after the jump = %d, want 1", n)
		}
		checkEverythingWorks(t, e)
	})
}

func checkEverythingWorks(t *testing.T, e *testEnv) {
	t.Helper()
	bearer := strings.TrimSpace(e.must("", "token"))
	h := e.srv.Homeys()[0]
	if _, err := (&homey.Client{BaseURL: h.BaseURL, HomeyID: h.ID}).SessionMe(context.Background(), bearer); err != nil {
		t.Fatalf("the Homey refused the printed bearer: %v", err)
	}
	if out := e.must("", "devices"); !strings.Contains(out, e.srv.DeviceNames(h.ID)[0]) {
		t.Errorf("devices:\n%s", out)
	}

	// A forced refresh: the server kills the access token.
	e.srv.ExpireAccessTokens()
	e.srv.ResetCounts()
	e.must("", "homeys")
	if n := e.srv.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	e.srv.ResetCounts()
	e.must("", "homeys")
	if n := e.srv.Grants("refresh_token"); n != 0 {
		t.Errorf("the fresh token was refreshed again (%d grants): its expiry was misread", n)
	}

	// Cabin's bearer, past the 15-min trust, is confirmed with the Homey and kept.
	cabin := strings.TrimSpace(e.must("", "token", "--homey", "Cabin"))
	ageBearer(t, e)
	e.srv.ResetCounts()
	if again := strings.TrimSpace(e.must("", "token", "--homey", "Cabin")); again != cabin {
		t.Errorf("the confirmed bearer was replaced")
	}
	if n := e.srv.Count("GET /api/manager/sessions/session/me"); n != 1 {
		t.Errorf("session checks = %d, want 1", n)
	}
	if got := strings.TrimSpace(e.must("", "token")); got != bearer {
		t.Errorf("the bearer changed")
	}
}
