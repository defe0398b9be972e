package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/homey/homeytest"
)

// TestSignInTokenDevices is the whole user story: real Chromium signs in through the real
// loopback listener, `token` hands out a bearer the Homey accepts in at most three calls, a second
// `token` makes none, and `devices` lists the Homey's devices by zone.
func TestSignInTokenDevices(t *testing.T) {
	e := newTestEnv(t, true)
	out := e.login()
	if !strings.Contains(out, "Signed in as Ada Lovelace") || !strings.Contains(out, "Home") {
		t.Fatalf("login output:\n%s", out)
	}
	if n := e.srv.Grants("authorization_code"); n != 1 {
		t.Fatalf("authorization_code grants = %d, want 1", n)
	}

	e.srv.ResetCounts()
	bearer := strings.TrimSpace(e.must("", "token"))
	if calls := e.srv.Count("*"); calls > 3 {
		t.Errorf("first token after login made %d HTTP calls, want at most 3", calls)
	}
	h := e.srv.Homeys()[0]
	c := &homey.Client{BaseURL: h.BaseURL, HomeyID: h.ID}
	if _, err := c.SessionMe(context.Background(), bearer); err != nil {
		t.Fatalf("the Homey refused the printed bearer: %v", err)
	}

	e.srv.ResetCounts()
	again := strings.TrimSpace(e.must("", "token"))
	if again != bearer {
		t.Errorf("a cached bearer was not reused")
	}
	if calls := e.srv.Count("*"); calls != 0 {
		t.Errorf("warm token made %d HTTP calls, want 0", calls)
	}

	var js struct{ Token, HomeyID, BaseURL, Route string }
	if err := json.Unmarshal([]byte(e.must("", "token", "--format", "json")), &struct {
		Token   *string `json:"token"`
		HomeyID *string `json:"homey_id"`
		BaseURL *string `json:"base_url"`
		Route   *string `json:"route"`
	}{&js.Token, &js.HomeyID, &js.BaseURL, &js.Route}); err != nil {
		t.Fatal(err)
	}
	// The Homey's LAN address answers before Athom's (slower) relay.
	if js.Token != bearer || js.HomeyID != h.ID || js.BaseURL != h.LocalURL || js.Route != "local" {
		t.Errorf("token --format json = %+v, want the local route %s", js, h.LocalURL)
	}
	if got := e.must("", "token", "--format", "header"); got != "Authorization: Bearer "+bearer+"\n" {
		t.Errorf("header format wrong")
	}

	devices := e.must("", "devices")
	for _, name := range e.srv.DeviceNames(h.ID) {
		if !strings.Contains(devices, name) {
			t.Errorf("devices lacks %q:\n%s", name, devices)
		}
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal([]byte(e.must("", "devices", "--json")), &raw); err != nil || len(raw) != len(e.srv.DeviceNames(h.ID)) {
		t.Errorf("devices --json: %v, %d devices", err, len(raw))
	}
}

// TestRelayTakesOver: when the Homey's LAN address stops answering, `devices` races again and
// goes through the relay with the same bearer (no new Homey sign-in); status shows the route.
func TestRelayTakesOver(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	bearer := e.must("", "token")
	h := e.srv.Homeys()[0]
	e.srv.StopLocal(h.ID)
	e.srv.ResetCounts()
	if out := e.must("", "devices"); !strings.Contains(out, e.srv.DeviceNames(h.ID)[0]) {
		t.Fatalf("devices over the relay:\n%s", out)
	}
	if n := e.srv.Count("POST /api/manager/users/login"); n != 0 {
		t.Errorf("%d new Homey sign-ins; the bearer works on every route", n)
	}
	if got := e.must("", "token"); got != bearer {
		t.Errorf("the bearer changed when the route did")
	}
	var s statusReport
	if err := json.Unmarshal([]byte(e.must("", "status", "--json")), &s); err != nil || len(s.Bearers) == 0 || s.Bearers[0].Route != "cloud" {
		t.Errorf("status after the fallback: %v %+v", err, s.Bearers)
	}
	if err := e.srv.StartLocal(h.ID); err != nil {
		t.Fatal(err)
	}
}

// TestSignInWithPlatformOpener signs in without $BROWSER, through pkg/browser (xdg-open).
func TestSignInWithPlatformOpener(t *testing.T) {
	e := newTestEnv(t, true)
	var vars []string
	for _, kv := range e.vars {
		if !strings.HasPrefix(kv, "BROWSER=") {
			vars = append(vars, kv)
		}
	}
	e.vars = vars
	if out := e.login(); !strings.Contains(out, "Signed in as Ada Lovelace") {
		t.Fatalf("login output:\n%s", out)
	}
}

// TestSixteenProcessesOneRefresh: the server kills the access token; 16 processes hit the 401 at
// the same moment; exactly one refresh happens between them and all of them succeed.
func TestSixteenProcessesOneRefresh(t *testing.T) {
	e := newTestEnv(t, true)
	e.login()
	e.srv.ExpireAccessTokens()
	e.srv.ResetCounts()
	var wg sync.WaitGroup
	results := make([]result, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run("", "homeys", "--json")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("process %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	if n := e.srv.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want exactly 1", n)
	}
}

// TestRevokedSignIn: invalid_grant means "sign in again" (exit 4) and deletes nothing.
func TestRevokedSignIn(t *testing.T) {
	e := newTestEnv(t, true)
	e.login()
	e.srv.RevokeRefreshTokens()
	e.srv.ExpireAccessTokens()
	r := e.run("", "homeys")
	if r.code != exitAuth || !strings.Contains(r.stderr, "homeytray login") {
		t.Fatalf("exit %d, stderr %q; want 4 and the login command", r.code, r.stderr)
	}
	st := e.run("", "status", "--json")
	var s statusReport
	if err := json.Unmarshal([]byte(st.stdout), &s); err != nil || !s.SignedIn || s.LastRefreshError == "" {
		t.Fatalf("status after invalid_grant: %v %+v", err, s)
	}
	// The stored refresh token is kept: when the server honours it again, everything works.
	e.srv.RestoreRefreshTokens()
	e.must("", "homeys")
}

// TestHomeyRevokedSession: a Homey 401 means one transparent re-login.
func TestHomeyRevokedSession(t *testing.T) {
	e := newTestEnv(t, true)
	e.login()
	first := strings.TrimSpace(e.must("", "token"))
	e.srv.RevokeSessions()
	e.must("", "devices")
	second := strings.TrimSpace(e.must("", "token"))
	if first == second {
		t.Errorf("token still prints the revoked bearer after devices saw the 401")
	}
}

// TestFaultsThenHeal: every broken answer is a one-line error with exit 1 (not 4: the sign-in is
// fine), and the very next call after the server heals works without signing in again.
func TestFaultsThenHeal(t *testing.T) {
	e := newTestEnv(t, true)
	e.login()
	cases := []struct {
		route string
		args  []string
		prep  func()
	}{
		{"GET /user/me", []string{"homeys"}, nil},
		{"POST /delegation/token", []string{"token", "--homey", "Cabin"}, func() {
			if err := e.keyring().Delete("bearer:" + e.srv.Homeys()[1].ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"POST /oauth2/token", []string{"homeys"}, e.srv.ExpireAccessTokens},
		{"GET /api/manager/devices/device", []string{"devices"}, nil},
	}
	kinds := []homeytest.FaultKind{homeytest.Fault5xx, homeytest.FaultHTML, homeytest.FaultTruncated, homeytest.FaultReset, homeytest.FaultHang}
	for _, c := range cases {
		for _, kind := range kinds {
			t.Run(c.route+"/"+kind.String(), func(t *testing.T) {
				if c.prep != nil {
					c.prep()
				}
				e.srv.SetFault(c.route, homeytest.Fault{Kind: kind})
				r := e.run("", c.args...)
				e.srv.ClearFaults()
				t.Logf("%v: %s", c.args, strings.TrimSpace(r.stderr))
				if r.code != exitError {
					t.Errorf("exit %d, want 1; stderr %q", r.code, r.stderr)
				}
				if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines > 2 || strings.Contains(r.stderr, "<html") {
					t.Errorf("stderr is not a short message: %q", r.stderr)
				}
				if r := e.run("", c.args...); r.code != 0 {
					t.Errorf("after healing: exit %d: %s", r.code, r.stderr)
				}
			})
		}
	}
}

// TestCorruptConfig: an error naming the file, and the file left as it is.
func TestCorruptConfig(t *testing.T) {
	e := newTestEnv(t, false)
	dir := filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), "homeytray-"+envValue(e.vars, "HOMEYTRAY_PROFILE"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	bad := []byte(`{"client_id": "abc", "homeys": [`)
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"token"}, {"status"}, {"use", "Home"}, {"homeys"}} {
		r := e.run("", args...)
		if r.code != exitError || !strings.Contains(r.stderr, path) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and the file name", args, r.code, r.stderr)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != string(bad) {
		t.Errorf("the corrupt config was rewritten")
	}
}

func envValue(vars []string, key string) string {
	v := ""
	for _, kv := range vars {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// TestUsageErrors: mistakes in the command line exit 2 with one line and a pointer to help.
func TestUsageErrors(t *testing.T) {
	e := newTestEnv(t, false)
	for _, args := range [][]string{{"frobnicate"}, {"token", "--format", "xml"}, {"use"}, {"token", "--nope"}, {"setup"}, {"--bogus"}} {
		r := e.run("", args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
	}
	if r := e.run("", "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "homeytray ") {
		t.Errorf("--version: %+v", r)
	}
}

// TestNotSignedIn: exit 4 with the command that fixes it.
func TestNotSignedIn(t *testing.T) {
	e := newTestEnv(t, false)
	for _, args := range [][]string{{"token"}, {"token", "--cloud"}, {"homeys"}, {"status"}} {
		r := e.run("", args...)
		if r.code != exitAuth {
			t.Errorf("%v: exit %d, want 4 (stderr %q)", args, r.code, r.stderr)
		}
	}
}

// TestSetupThenLogin records the client in the keychain and signs in without the env secret.
func TestSetupThenLogin(t *testing.T) {
	e := newTestEnv(t, true)
	var vars []string
	for _, kv := range e.vars {
		if !strings.HasPrefix(kv, "HOMEYTRAY_CLIENT_") && !strings.HasPrefix(kv, "HOMEYTRAY_REDIRECT_URI=") {
			vars = append(vars, kv)
		}
	}
	e.vars = vars
	e.must(e.srv.ClientSecret()+"\n", "setup", "--client-id", e.srv.ClientID(), "--redirect-uri", e.srv.RedirectURI())
	dir := filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), "homeytray-"+envValue(e.vars, "HOMEYTRAY_PROFILE"))
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || strings.Contains(string(cfg), e.srv.ClientSecret()) || !strings.Contains(string(cfg), e.srv.ClientID()) {
		t.Fatalf("config after setup: %v", err)
	}
	if out := e.login(); !strings.Contains(out, "Signed in as") {
		t.Fatal(out)
	}
	e.must("", "use", "Cabin")
	js := e.must("", "token", "--format", "json")
	if !strings.Contains(js, e.srv.Homeys()[1].ID) {
		t.Errorf("use Cabin did not change the token's Homey: %s", js)
	}
	e.must("", "logout")
	if r := e.run("", "token"); r.code != exitAuth {
		t.Errorf("token after logout: exit %d", r.code)
	}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
