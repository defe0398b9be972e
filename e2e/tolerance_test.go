//go:build linux

package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// The tolerance suite (docs/protocol.md#tolerance): wherever Athom's official client takes
// a variant of an answer, the real binary takes it too, against the emulator producing that
// variant. The emulator's strict defaults are what every other test runs against.

// oneLine fails unless r failed with code and one line on stderr holding every want.
func oneLine(t *testing.T, what string, r result, code int, want ...string) {
	t.Helper()
	if r.code != code || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("%s: exit %d (want %d): %q", what, r.code, code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: stderr lacks %q: %q", what, w, r.stderr)
		}
	}
}

// TestToleranceNoHomeyID: a relay (or a Homey) that answers without X-Homey-ID is no "other
// Homey": sign-in, token and devices work on the LAN and, with the LAN down, through the relay.
func TestToleranceNoHomeyID(t *testing.T) {
	for _, via := range []string{emulator.ViaRelay, emulator.ViaLocal, emulator.ViaAll} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			e.srv.SetNoHomeyID(via)
			e.loginHTTP()
			h := e.srv.Homeys()[0]
			if out := e.must("", "devices"); !strings.Contains(out, e.srv.DeviceNames(h.ID)[0]) {
				t.Fatalf("devices:\n%s", out)
			}
			e.srv.StopLocal(h.ID)
			defer func() { _ = e.srv.StartLocal(h.ID) }()
			e.srv.ResetCounts()
			if out := e.must("", "devices"); !strings.Contains(out, e.srv.DeviceNames(h.ID)[0]) {
				t.Fatalf("devices through the relay:\n%s", out)
			}
			if n := e.srv.CountVia(h.ID, emulator.ViaRelay, "GET /api/manager/devices/device"); n != 1 {
				t.Errorf("%d devices calls through the relay; want 1", n)
			}
		})
	}
}

// TestToleranceNoHomeyIDImpostor: without X-Homey-ID on the LAN, another Homey at the remembered
// address still gets nothing but the ping: its ?id= answer (false) gives it away.
func TestToleranceNoHomeyIDImpostor(t *testing.T) {
	e := newTestEnv(t, false)
	e.srv.SetNoHomeyID(emulator.ViaLocal)
	e.loginHTTP()
	h := e.srv.Homeys()[0]
	e.must("", "devices") // the LAN address is remembered
	e.srv.SetWrongID(h.ID, true)
	e.srv.ResetCounts()
	if out := e.must("", "devices"); !strings.Contains(out, e.srv.DeviceNames(h.ID)[0]) {
		t.Fatalf("devices with an impostor on the LAN:\n%s", out)
	}
	all, pings := e.srv.CountVia(h.ID, emulator.ViaLocal, "*"), e.srv.CountVia(h.ID, emulator.ViaLocal, "GET /api/manager/system/ping")
	if all != pings || pings == 0 {
		t.Errorf("%d requests reached the impostor, %d of them pings: only pings may", all, pings)
	}
	if n := e.srv.CountVia(h.ID, emulator.ViaRelay, "GET /api/manager/devices/device"); n != 1 {
		t.Errorf("%d devices calls through the relay; want 1", n)
	}
}

// TestToleranceTokenBodies: delegation and users/login answering text/plain (bare or quoted):
// the printed bearer has no quotes or white space and the Homey takes it.
func TestToleranceTokenBodies(t *testing.T) {
	for _, body := range []emulator.TokenBody{emulator.TokenBodyText, emulator.TokenBodyQuoted} {
		t.Run(body.String(), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			e.srv.SetTokenBody(body)
			e.loginHTTP()
			out := e.must("", "token")
			bearer := strings.TrimSuffix(out, "\n")
			if bearer == "" || strings.ContainsAny(bearer, "\" \t\r\n") {
				t.Fatalf("token printed a bearer with quotes or white space (%d bytes)", len(out))
			}
			checkBearer(t, e.homeyByName("Home"), bearer)
			e.must("", "devices")
		})
	}
}

// TestToleranceRefreshErrors: a dead refresh token answered with any 400 or 401 means "sign in
// again" (exit 4, the login command), invalid_client means the client is refused (exit 4,
// `homeytray setup`); the stored sign-in is kept either way; a 5xx stays exit 1.
func TestToleranceRefreshErrors(t *testing.T) {
	for _, c := range []struct {
		name         string
		status       int
		code         string
		clientRefuse bool
		exit         int
		hint         string
	}{
		{"401 invalid_token", 401, "invalid_token", false, exitAuth, "homeytray login"},
		{"400 invalid_request", 400, "invalid_request", false, exitAuth, "homeytray login"},
		{"401 unauthorized", 401, "unauthorized", false, exitAuth, "homeytray login"},
		{"client refused", 0, "", true, exitAuth, "homeytray setup"},
		{"500 server_error", 500, "server_error", false, exitError, "try again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			e.loginHTTP()
			e.srv.SetRefreshError(c.status, c.code)
			e.srv.SetClientRefused(c.clientRefuse)
			e.srv.RevokeRefreshTokens()
			e.srv.ExpireAccessTokens()
			r := e.run("", "homeys")
			oneLine(t, "homeys", r, c.exit, c.hint)
			var s statusReport
			if err := json.Unmarshal([]byte(e.must("", "status", "--json")), &s); err != nil || !s.SignedIn {
				t.Errorf("status after the refused refresh: %v %+v; the sign-in must be kept", err, s)
			}
			e.srv.SetClientRefused(false)
			e.srv.RestoreRefreshTokens()
			e.must("", "homeys") // the kept refresh token works again
		})
	}
}

// TestToleranceAuthoriseURL: the sign-in address says response_type=code and
// authorization_type=code.
func TestToleranceAuthoriseURL(t *testing.T) {
	e := newTestEnv(t, false)
	p := e.startLoginHTTP()
	u, err := url.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("response_type") != "code" || q.Get("authorization_type") != "code" {
		t.Errorf("authorise URL query: response_type %q, authorization_type %q", q.Get("response_type"), q.Get("authorization_type"))
	}
	if r := p.finish(); r.code != 0 {
		t.Fatalf("login: exit %d %s", r.code, r.stderr)
	}
}

// TestToleranceHomeyVariants: a Homey Pro 2019 (apiVersion 2), a Homey Cloud, a Homey behind a
// port forward, firmware 1.x (refused in one line), and 403 pings (their own errors; a LAN-only
// 403 falls back to the relay).
func TestToleranceHomeyVariants(t *testing.T) {
	home := func(e *testEnv) string { return e.srv.Homeys()[0].ID }
	cabin := func(e *testEnv) string { return e.srv.Homeys()[1].ID }
	for _, c := range []struct {
		name  string
		homey func(*testEnv) string
		v     emulator.Variant
		check func(t *testing.T, e *testEnv, id string, r result)
	}{
		{"pro2019", home, emulator.Variant{APIVersion: 2}, func(t *testing.T, e *testEnv, id string, r result) {
			if r.code != 0 || e.srv.Count("GET /api/manager/devices/device/") != 1 || e.srv.Count("GET /api/manager/devices/device") != 0 {
				t.Errorf("devices of a Homey Pro 2019: exit %d %q, %d calls at /device/", r.code, r.stderr, e.srv.Count("GET /api/manager/devices/device/"))
			}
		}},
		{"homey cloud", home, emulator.Variant{Platform: "cloud"}, func(t *testing.T, e *testEnv, id string, r result) {
			if r.code != 0 || e.srv.CountVia(id, emulator.ViaLocal, "*") != 0 || e.srv.CountVia(id, emulator.ViaRelay, "GET /api/manager/devices/device") != 1 {
				t.Errorf("devices of a Homey Cloud: exit %d %q, %d LAN requests (want 0)", r.code, r.stderr, e.srv.CountVia(id, emulator.ViaLocal, "*"))
			}
		}},
		{"forwarded", cabin, emulator.Variant{Forwarded: true}, func(t *testing.T, e *testEnv, id string, r result) {
			if r.code != 0 || e.srv.CountVia(id, emulator.ViaForwarded, "GET /api/manager/devices/device") != 1 {
				t.Errorf("devices through remoteUrlForwarded: exit %d %q", r.code, r.stderr)
			}
		}},
		{"v1", cabin, emulator.Variant{APIVersion: 1}, func(t *testing.T, e *testEnv, id string, r result) {
			oneLine(t, "devices of firmware 1.x", r, exitError, "API version 1")
			if n := e.srv.CountVia(id, emulator.ViaRelay, "*") + e.srv.CountVia(id, emulator.ViaLocal, "*"); n != 0 {
				t.Errorf("%d requests to a Homey that cannot be signed in to", n)
			}
		}},
		{"invalid serial", home, emulator.Variant{Ping403: emulator.PingInvalidSerial}, func(t *testing.T, e *testEnv, id string, r result) {
			oneLine(t, "devices with an invalid serial number", r, exitError, "invalid serial number", "Athom support")
		}},
		{"subscription inactive", home, emulator.Variant{Ping403: emulator.PingSubscriptionInactive}, func(t *testing.T, e *testEnv, id string, r result) {
			oneLine(t, "devices with the subscription inactive", r, exitError, "subscription inactive")
		}},
		{"subscription inactive on the LAN only", home, emulator.Variant{Ping403: emulator.PingSubscriptionInactive, Ping403Via: emulator.ViaLocal},
			func(t *testing.T, e *testEnv, id string, r result) {
				if r.code != 0 || e.srv.CountVia(id, emulator.ViaRelay, "GET /api/manager/devices/device") != 1 {
					t.Errorf("a LAN-only 403 must fall back to the relay: exit %d %q", r.code, r.stderr)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			id := c.homey(e)
			if err := e.srv.SetVariant(id, c.v); err != nil {
				t.Fatal(err)
			}
			e.loginHTTP()
			var name string
			for _, h := range e.srv.Homeys() {
				if h.ID == id {
					name = h.Name
				}
			}
			e.srv.ResetCounts()
			c.check(t, e, id, e.run("", "devices", "--homey", name))
		})
	}
}

// TestTolerancePATWithoutHomeys: a personal access token that works for the account but is
// refused at the delegation step says that it cannot sign in to Homeys, names the browser
// sign-in, and is not kept.
func TestTolerancePATWithoutHomeys(t *testing.T) {
	e := newTestEnv(t, false)
	pat := e.srv.IssueAppsOnlyToken()
	e.secrets = append(e.secrets, pat)
	r := e.run(pat+"\n", "login", "--pat")
	oneLine(t, "login --pat", r, exitAuth, "cannot sign in to Homeys", "homeytray login")
	var s statusReport
	if err := json.Unmarshal([]byte(e.run("", "status", "--json").stdout), &s); err != nil || s.SignedIn {
		t.Errorf("status after the refused PAT: %v %+v; it must not be kept", err, s)
	}
}

// TestToleranceTrayRefreshErrors: in the tray, a refresh refused with another code than
// invalid_grant is one "Sign-in needs attention" notification that offers Log in…; a refused
// client is one notification that names `homeytray setup`. (The flow of
// TestTrayRefreshNeedsAttention, with the variant's answer.)
func TestToleranceTrayRefreshErrors(t *testing.T) {
	requireTrayDesktop(t)
	notes := watchNotifications(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	for _, c := range []struct {
		name         string
		status       int
		code         string
		clientRefuse bool
		body         string
	}{
		{"401 invalid_token", 401, "invalid_token", false, "Log in…"},
		{"client refused", 0, "", true, "homeytray setup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, p := startTrayDroppingFirstRefresh(t)
			cl := p.client
			if !waitFor(30*time.Second, func() bool { return e.srv.Count("POST /oauth2/token") >= 1 }) {
				t.Fatalf("the tray never asked for a fresh access token")
			}
			e.srv.SetRefreshError(c.status, c.code)
			e.srv.SetClientRefused(c.clientRefuse)
			e.srv.RevokeRefreshTokens()
			e.srv.ExpireAccessTokens()
			e.srv.RevokeSessions()
			st := cl.waitStatus(15*time.Second, "Sign-in needs attention: ")
			e.checkNoSecret([]string{"tray"}, "the status line", st)
			got := notes.wait(t, 30*time.Second, p.pid(), 1, nil)
			e.checkNotification(t, got[0], "")
			if !hasText(got[0], c.body) {
				t.Errorf("notification %q / %q lacks %q", got[0].Summary, got[0].Body, c.body)
			}
			tries := e.srv.Count("POST /oauth2/token")
			waitFor(15*time.Second, func() bool { return e.srv.Count("POST /oauth2/token") > tries })
			if all := notes.from(p.pid()); len(all) != 1 {
				t.Errorf("%d notifications for one incident, want exactly 1", len(all))
			}
			p.stop()
		})
	}
}
