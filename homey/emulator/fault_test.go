package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestFaultRateLimit: 429, the JSON error shape, Retry-After "2" unless the fault says otherwise;
// Times counts down like any fault.
func TestFaultRateLimit(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	me := s.URL() + "/user/me"
	for _, tc := range []struct{ set, want string }{{"", "2"}, {"120", "120"}, {"Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"}} {
		s.SetFault("GET /user/me", Fault{Kind: FaultRateLimit, RetryAfter: tc.set, Times: 1})
		r := do(t, http.MethodGet, me, nil, "")
		r.wantError(t, http.StatusTooManyRequests, "too_many_requests")
		if got := r.header.Get("Retry-After"); got != tc.want {
			t.Errorf("Retry-After = %q, want %q", got, tc.want)
		}
		if r := do(t, http.MethodGet, me, nil, ""); r.status != http.StatusUnauthorized {
			t.Errorf("after Times=1: %d, want the route's own 401", r.status)
		}
	}
}

// TestFaultWrongType: on every route the client reads, the answer is 200 JSON that parses, and
// decoding it into the route's real answer type meets a type mismatch (a client that takes
// zero values instead would not notice). A Homey's answer carries its X-Homey-ID.
func TestFaultWrongType(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	h := s.Homeys()[0]
	tests := []struct {
		method, base, path string
		into               any // the route's real answer type
	}{
		{http.MethodPost, s.URL(), "/oauth2/token", &tokenJSON{}},
		{http.MethodGet, s.URL(), "/user/me", &userDoc{}},
		{http.MethodPost, s.URL(), "/delegation/token", new(string)},
		{http.MethodGet, s.URL(), "/delegation/key", new(string)},
		{http.MethodPost, h.BaseURL, "/api/manager/users/login", new(string)},
		{http.MethodGet, h.BaseURL, "/api/manager/sessions/session/me", &sessionDoc{}},
		{http.MethodGet, h.LocalURL, "/api/manager/devices/device", &map[string]*device{}},
		{http.MethodGet, h.BaseURL, "/api/manager/devices/device/abc", &device{}},
		{http.MethodGet, h.BaseURL, "/api/manager/zones/zone", &map[string]*zone{}},
		// The ping's success body is ignored (only the literal false matters): "pong" is not
		// a bool, and a client that ignores the body rightly accepts it.
		{http.MethodGet, h.BaseURL, "/api/manager/system/ping", new(bool)},
	}
	s.SetFault("*", Fault{Kind: FaultWrongType})
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := do(t, tc.method, tc.base+tc.path, nil, "")
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || !json.Valid(r.body) {
				t.Fatalf("want 200 valid JSON, got %d %q", r.status, r.header.Get("Content-Type"))
			}
			var te *json.UnmarshalTypeError
			if err := json.Unmarshal(r.body, tc.into); !errors.As(err, &te) {
				t.Errorf("decoding into %T: %v, want a type mismatch", tc.into, err)
			}
			if tc.base != s.URL() && r.header.Get("X-Homey-ID") != h.ID {
				t.Errorf("X-Homey-ID = %q, want %s: the Homey itself answers", r.header.Get("X-Homey-ID"), h.ID)
			}
		})
	}
}

// TestFaultSlow: the answer is the route's own, after the delay; a client that gives up
// sooner gets nothing.
func TestFaultSlow(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	h := s.Homeys()[0]
	ping := h.LocalURL + "/api/manager/system/ping?id=" + h.ID
	const delay = 300 * time.Millisecond
	s.SetFault("GET /api/manager/system/ping", Fault{Kind: FaultSlow, Delay: delay})
	start := time.Now()
	res, body, err := rawGet(context.Background(), ping)
	if err != nil || res.StatusCode != 200 || string(body) != "true" || res.Header.Get("X-Homey-ID") != h.ID {
		t.Fatalf("slow ping: %v %v %q, want the normal answer", status(res), err, body)
	}
	if d := time.Since(start); d < delay {
		t.Errorf("answered after %v, before the %v delay", d, delay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), delay/10)
	defer cancel()
	if _, _, err := rawGet(ctx, ping); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a client that gives up before the delay: %v, want its deadline", err)
	}
	if s.Count("GET /api/manager/system/ping") != 2 {
		t.Errorf("Count = %d, want 2", s.Count("GET /api/manager/system/ping"))
	}
}

// TestClockOffset: with the emulated clock days off, the Date header, the delegation JWT's
// times and the expiries follow it, and the emulator stays consistent with itself: its own
// JWTs log in, its tokens and sessions work. Moving the clock forward past an expiry expires.
func TestClockOffset(t *testing.T) {
	for _, off := range []time.Duration{72 * time.Hour, -72 * time.Hour, 365 * 24 * time.Hour} {
		t.Run(off.String(), func(t *testing.T) {
			s := NewServer(t, Options{ClockOffset: off})
			h := s.Homeys()[0]
			tok := signIn(t, s)
			r := do(t, http.MethodGet, s.URL()+"/user/me", bearer(tok.AccessToken), "")
			if r.status != http.StatusOK {
				t.Fatalf("/user/me: %d", r.status)
			}
			date, err := http.ParseTime(r.header.Get("Date"))
			if err != nil || absDur(date.Sub(time.Now().Add(off))) > time.Minute {
				t.Errorf("Date = %q, want host time %+v", r.header.Get("Date"), off)
			}
			signed := delegation(t, s, tok.AccessToken, "homey")
			var claims jwt.RegisteredClaims
			if _, _, err := jwt.NewParser().ParseUnverified(signed, &claims); err != nil {
				t.Fatal(err)
			}
			if absDur(claims.IssuedAt.Sub(time.Now().Add(off))) > time.Minute || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != delegationTTL {
				t.Errorf("JWT iat %v exp %v, want the emulated clock", claims.IssuedAt, claims.ExpiresAt)
			}
			lr := login(t, h, signed)
			var sess string
			lr.decode(t, &sess)
			if lr.status != http.StatusOK {
				t.Fatalf("users/login with the emulator's own JWT: %d", lr.status)
			}
			if r := do(t, http.MethodGet, h.BaseURL+"/api/manager/devices/device", bearer(sess), ""); r.status != http.StatusOK {
				t.Errorf("devices with the session: %d", r.status)
			}
			// Two hours later on the server's clock the 3660 s access token has expired.
			s.SetClockOffset(off + 2*time.Hour)
			r = do(t, http.MethodGet, s.URL()+"/user/me", bearer(tok.AccessToken), "")
			r.wantError(t, http.StatusUnauthorized, "invalid_token")
			grant(t, s, refreshForm(tok.RefreshToken))
		})
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }
