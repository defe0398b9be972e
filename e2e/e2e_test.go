package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/homey/emulator"
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

// TestFaultsThenHeal: for every endpoint the app calls and every way an answer can break, the
// command fails with exit 1 (not 4: the sign-in is fine) and one or two lines that say what
// failed and what to do, without an HTML page or a panic; a 429 says when to try again (its
// Retry-After); a slow answer is no failure. The very next call after the server heals works
// without signing in again. Each endpoint has its own user (testEnv) and runs in parallel with
// the others: a hang costs the 3 s HTTP timeout.
func TestFaultsThenHeal(t *testing.T) {
	requireDesktop(t, false)
	kinds := []emulator.FaultKind{emulator.Fault5xx, emulator.FaultHTML, emulator.FaultTruncated, emulator.FaultWrongType,
		emulator.FaultReset, emulator.FaultHang, emulator.FaultRateLimit, emulator.FaultSlow}
	for _, c := range faultCases() {
		name := c.name
		if name == "" {
			name = c.route
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false)
			e.loginHTTP()
			e.must("", "token", "--homey", "Cabin") // every Homey has a bearer and a route
			codeGrants := e.srv.Grants("authorization_code")
			for _, kind := range kinds {
				t.Run(kind.String(), func(t *testing.T) {
					if c.prep != nil {
						c.prep(t, e)
					}
					e.srv.SetFault(c.route, emulator.Fault{Kind: kind, RetryAfter: "30"})
					r := c.run(e)
					e.srv.ClearFaults()
					t.Logf("%s: exit %d: %s", kind, r.code, strings.TrimSpace(r.stderr))
					checkFaultResult(t, c, kind, r)
					if c.heal != nil {
						c.heal(t, e) // a sign-in by design
						codeGrants = e.srv.Grants("authorization_code")
						return
					}
					if r := c.run(e); r.code != 0 {
						t.Errorf("after healing: exit %d: %s", r.code, r.stderr)
					}
					if n := e.srv.Grants("authorization_code"); n != codeGrants {
						t.Errorf("the user had to sign in again (%d code grants, want %d)", n, codeGrants)
					}
				})
			}
		})
	}
}

// faultCase is one endpoint of TestFaultsThenHeal and a command that calls it.
type faultCase struct {
	name  string // "" = route
	route string // the emulator's fault key
	args  []string
	prep  func(t *testing.T, e *testEnv) // puts the app where the command must call route
	// okKinds are the fault kinds the command rightly survives (besides FaultSlow).
	okKinds []emulator.FaultKind
	// login: the command is a sign-in (`login --no-browser` with Go as the browser).
	login bool
	// names: the error's first line holds one of these (what failed); nil = the route's path.
	names []string
	heal  func(t *testing.T, e *testEnv) // nil: run the command again, exit 0
}

func (c faultCase) run(e *testEnv) result {
	if c.login {
		return e.loginHTTPResult()
	}
	return e.run("", c.args...)
}

func faultCases() []faultCase {
	dropBearer := func(t *testing.T, e *testEnv) { // Cabin has no bearer: the next token signs in to it
		if err := e.keyring().Delete("bearer:" + e.srv.Homeys()[1].ID); err != nil && !errors.Is(err, auth.ErrNotFound) {
			t.Fatal(err)
		}
	}
	return []faultCase{
		// The refresh grant: the access token is dead, homeys must refresh first.
		{route: "POST /oauth2/token", args: []string{"homeys"}, prep: func(_ *testing.T, e *testEnv) { e.srv.ExpireAccessTokens() },
			names: []string{"refresh", "POST /oauth2/token"}},
		{route: "GET /user/me", args: []string{"homeys"}},
		{route: "POST /delegation/token", args: []string{"token", "--homey", "Cabin"}, prep: dropBearer},
		// devices pings the remembered LAN route before it sends a bearer there (once per
		// process). A fault on every ping of every address leaves no route: offline, exit 1.
		// A ping's success body is ignored (only the literal false counts), as the official
		// client does, so wrong-typed JSON there is no failure.
		{route: "GET /api/manager/system/ping", args: []string{"devices"}, okKinds: []emulator.FaultKind{emulator.FaultWrongType},
			names: []string{`Homey "Home" offline`, "GET /api/manager/system/ping"}},
		{route: "POST /api/manager/users/login", args: []string{"token", "--homey", "Cabin"}, prep: dropBearer},
		// A bearer confirmed more than the 15-min trust ago is checked with sessions/session/me.
		{route: "GET /api/manager/sessions/session/me", args: []string{"token", "--homey", "Cabin"}, prep: ageBearer},
		{route: "GET /api/manager/devices/device", args: []string{"devices"}},
		{route: "GET /api/manager/zones/zone", args: []string{"devices"}},
		// The code exchange of a sign-in: the failed sign-in keeps the one before it.
		{name: "POST /oauth2/token (code)", route: "POST /oauth2/token", login: true, names: []string{"exchange the code", "POST /oauth2/token"}, heal: func(t *testing.T, e *testEnv) {
			if r := e.run("", "homeys"); r.code != 0 {
				t.Errorf("the earlier sign-in is gone after a failed one: exit %d: %s", r.code, r.stderr)
			}
			e.loginHTTP()
		}},
	}
}

// ageBearer makes Cabin's cached bearer older than the 15-min trust: the next token checks it
// with the Homey (GET sessions/session/me) before handing it out.
func ageBearer(t *testing.T, e *testEnv) {
	key := "bearer:" + e.srv.Homeys()[1].ID
	v, err := e.keyring().Get(key)
	if err != nil {
		t.Fatal(err)
	}
	var b homey.Bearer
	if err := json.Unmarshal([]byte(v), &b); err != nil {
		t.Fatal(err)
	}
	b.ConfirmedAt = time.Now().Add(-time.Hour)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keyring().Set(key, string(data)); err != nil {
		t.Fatal(err)
	}
}

// checkFaultResult: exit 1 with a short message and the next step, or exit 0 where the app
// rightly survives the fault; never a panic, an HTML page or a "sign in again".
func checkFaultResult(t *testing.T, c faultCase, kind emulator.FaultKind, r result) {
	t.Helper()
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("the command panicked: %s", r.stderr)
	}
	if kind == emulator.FaultSlow || slices.Contains(c.okKinds, kind) {
		if r.code != 0 {
			t.Errorf("exit %d, want 0: %s", r.code, r.stderr)
		}
		return
	}
	if r.code != exitError {
		t.Errorf("exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	msg := strings.TrimSpace(r.stderr)
	if c.login { // the sign-in printed its URL first: the error is what follows
		lines := strings.Split(msg, "\n")
		msg = strings.Join(lines[max(len(lines)-2, 0):], "\n")
	}
	lines := strings.Split(msg, "\n")
	if len(lines) != 2 || strings.Contains(msg, "<html") || strings.Contains(msg, "<!") {
		t.Errorf("want one line saying what failed and one with the next step, got %q", msg)
	}
	names := c.names
	if names == nil {
		_, path, _ := strings.Cut(c.route, " ")
		names = []string{path}
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(lines[0], n) }) {
		t.Errorf("the message does not say what failed (one of %q): %q", names, lines[0])
	}
	if kind == emulator.FaultRateLimit && !strings.Contains(msg, "Try again in 30 s") {
		t.Errorf("a 429 with Retry-After: 30 gives no \"Try again in 30 s\": %q", msg)
	}
	if strings.Contains(msg, "homeytray login") {
		t.Errorf("the message sends the user to sign in again: %q", msg)
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
	e.setupFromStdin()
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

// TestSecondLoginMeanwhile: a second `login` while one waits for its browser is a one-line error
// naming the port (the first one holds it); the first sign-in is neither ended nor taken over and
// completes when its browser arrives.
func TestSecondLoginMeanwhile(t *testing.T) {
	e := newTestEnv(t, false)
	first := e.startLoginHTTP()
	port := strings.TrimSuffix(strings.TrimPrefix(e.srv.RedirectURI(), "http://localhost:"), "/callback")
	second := e.run("", "login", "--no-browser")
	if second.code != exitError || !strings.Contains(second.stderr, port) || strings.Count(strings.TrimSpace(second.stderr), "\n") > 1 {
		t.Errorf("second login: exit %d, %q; want 1 naming port %s", second.code, second.stderr, port)
	}
	if r := first.finish(); r.code != 0 || !strings.Contains(r.stdout, "Signed in as") {
		t.Fatalf("the first sign-in: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	e.must("", "token")
}
