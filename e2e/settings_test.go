//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// runAtOnce starts every command line at the same moment and waits for all of them; each is
// {stdin, args...}.
func (e *testEnv) runAtOnce(t *testing.T, cmds ...[]string) []result {
	t.Helper()
	out := make([]result, len(cmds))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, c[1:]...)
			cmd.Env = e.vars
			<-start
			out[i] = execResult(t, cmd, c[0])
		})
	}
	close(start)
	wg.Wait()
	for i, c := range cmds {
		e.checkResult(c[1:], out[i])
	}
	return out
}

// settings reads config.json as it is now.
func (e *testEnv) settings(t *testing.T) *configFile {
	t.Helper()
	c, err := loadConfig(filepath.Join(e.configDir(), "config.json"))
	if err != nil {
		t.Fatalf("config.json: %v", err)
	}
	return c
}

// forgetRoutes drops the remembered routes from cache.json (a cache: the next call races).
func (e *testEnv) forgetRoutes(t *testing.T) {
	t.Helper()
	path := filepath.Join(envValue(e.vars, "XDG_CACHE_HOME"), e.appName(), "cache.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cache.json: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "routes")
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSettingsNeverForget: two processes that change the settings at once both win, round after
// round: `use` against a `token` that finds a new route for another Homey, `local add` against
// `use`, and a running tray that writes (a refresh error, routes) while the command line selects
// and adds. Before settings and cache were apart and every change a transaction, the selection
// came back to the first Homey in 7 of 30 tries.
func TestSettingsNeverForget(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	e.srv.SetAccessTokenTTL(90 * time.Second) // inside the tray's margin: it refreshes on every pass
	e.loginHTTP()
	var home, cabin emulator.HomeyInfo
	for _, h := range e.srv.Homeys() {
		switch h.Name {
		case "Home":
			home = h
		case "Cabin":
			cabin = h
		}
	}
	selects := []emulator.HomeyInfo{home, cabin}
	const rounds = 30
	keyFor := func() string {
		return e.srv.AddAPIKey(cabin.ID, []string{"homey.device.readonly", "homey.zone.readonly"})
	}
	check := func(round int, what, selected, keyName string) {
		t.Helper()
		s := e.settings(t)
		if s.SelectedHomey != selected {
			t.Fatalf("round %d, %s: the selection is %q, want %q: a change was lost", round, what, s.SelectedHomey, selected)
		}
		if keyName != "" && !slices.ContainsFunc(s.LocalHomeys, func(l localHomey) bool { return l.ID == cabin.ID && l.Name == keyName }) {
			t.Fatalf("round %d, %s: the API-key Homey %q was lost: %+v", round, what, keyName, s.LocalHomeys)
		}
	}

	// `use` against a route change, and `local add` against `use`.
	for round := range rounds {
		want := selects[round%2]
		e.forgetRoutes(t)
		rs := e.runAtOnce(t, []string{"", "use", want.ID}, []string{"", "token", "--homey", home.ID})
		if rs[0].code != 0 || rs[1].code != 0 {
			t.Fatalf("round %d: use exit %d (%s), token exit %d (%s)", round, rs[0].code, rs[0].stderr, rs[1].code, rs[1].stderr)
		}
		if _, ok := e.cache(t).Routes[home.ID]; !ok {
			t.Fatalf("round %d: the route the token found for Home is not remembered", round)
		}
		check(round, "use against a new route", want.ID, "")

		name := fmt.Sprintf("Cabin key %d", round)
		want = selects[(round+1)%2]
		rs = e.runAtOnce(t, []string{keyFor(), "local", "add", "--address", cabin.LocalURL, "--name", name},
			[]string{"", "use", want.ID})
		if rs[0].code != 0 || rs[1].code != 0 {
			t.Fatalf("round %d: local add exit %d (%s), use exit %d (%s)", round, rs[0].code, rs[0].stderr, rs[1].code, rs[1].stderr)
		}
		check(round, "local add against use", want.ID, name)
	}

	// A running tray that writes while the command line changes the settings.
	p := e.startTray(t)
	p.client.waitStatus(30*time.Second, "Signed in as")
	for round := range 10 {
		want := selects[round%2]
		name := fmt.Sprintf("Tray round %d", round)
		// The tray's next pass (each `use` tells it) fails its refresh once: it notes the error
		// in the cache; then it retries, clears it, and looks at the routes again.
		e.srv.ResetCounts()
		e.srv.SetFault(routeToken, emulator.Fault{Kind: emulator.Fault5xx, Times: 1})
		e.must("", "use", want.ID)
		e.must(keyFor(), "local", "add", "--address", cabin.LocalURL, "--name", name)
		if !waitFor(30*time.Second, func() bool { return e.srv.Count(routeToken) > 0 }) {
			t.Fatalf("round %d: the tray never refreshed", round)
		}
		// Give the tray its writes (error noted, error cleared), then nothing may be lost.
		if !waitQuiet(e.srv, routeToken, 2*time.Second, 60*time.Second) {
			t.Fatalf("round %d: the tray keeps refreshing", round)
		}
		check(round, "with the tray writing", want.ID, name)
	}
	if got := p.out.String(); strings.Contains(got, "panic") {
		t.Errorf("tray output:\n%s", got)
	}
}

// TestSameFailureWithTray: `homeytray token` prints the same line and exits with the same code
// whether a running tray answers or the command reads the keychain itself: the tray answers with
// the failure's kind and facts, and the command line words them as it words its own.
func TestSameFailureWithTray(t *testing.T) {
	requireTrayDesktop(t)
	for _, c := range []struct {
		name  string
		args  []string
		setup func(e *testEnv)
		code  int
	}{
		{"not signed in", []string{"token"}, func(*testEnv) {}, exitAuth},
		{"sign-in gone", []string{"token", "--cloud"}, func(e *testEnv) {
			e.loginHTTP()
			e.srv.RevokeRefreshTokens()
		}, exitAuth},
		{"client refused", []string{"token", "--cloud"}, func(e *testEnv) {
			e.loginHTTP()
			e.srv.SetClientRefused(true)
		}, exitAuth},
		{"server problem", []string{"token", "--cloud"}, func(e *testEnv) {
			e.loginHTTP()
			e.srv.SetFault(routeToken, emulator.Fault{Kind: emulator.FaultHTML})
		}, exitError},
		{"rate limited", []string{"token", "--cloud"}, func(e *testEnv) {
			e.loginHTTP()
			e.srv.SetFault(routeToken, emulator.Fault{Kind: emulator.FaultRateLimit, RetryAfter: "30"})
		}, exitError},
		{"network", []string{"token", "--cloud"}, func(e *testEnv) {
			e.loginHTTP()
			e.srv.SetFault(routeToken, emulator.Fault{Kind: emulator.FaultReset})
		}, exitError},
		{"unknown Homey", []string{"token", "--homey", "Nowhere"}, func(e *testEnv) { e.loginHTTP() }, exitError},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, false)
			// Access tokens that are always due: both ways must go to the token endpoint.
			e.srv.SetAccessTokenTTL(time.Second)
			c.setup(e)
			alone := e.run("", c.args...)
			p := e.startTray(t)
			if _, err := e.ping(t); err != nil {
				t.Fatalf("the tray does not answer its socket: %v", err)
			}
			viaTray := e.run("", c.args...)
			t.Logf("alone: exit %d %q; via the tray (pid %d): exit %d %q", alone.code, alone.stderr, p.pid(), viaTray.code, viaTray.stderr)
			p.stop()
			if alone.code != c.code || viaTray.code != alone.code || viaTray.stderr != alone.stderr {
				t.Errorf("alone: exit %d %q\nvia the tray: exit %d %q\nwant exit %d and the same words",
					alone.code, alone.stderr, viaTray.code, viaTray.stderr, c.code)
			}
		})
	}
}

// TestCleanNames: a Homey (and a device) whose name holds a right-to-left override and a
// zero-width joiner prints cleaned everywhere a person reads it — homeys, devices, status and the
// tray's menu — and as it came in --json, which a program reads.
func TestCleanNames(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	home := e.srv.Homeys()[0]
	const evil = "Ev\u202eil\u200dHome"
	if err := e.srv.SetHomeyName(home.ID, evil); err != nil {
		t.Fatal(err)
	}
	devices := e.srv.DeviceNames(home.ID)
	if err := e.srv.RenameDevice(home.ID, devices[0], "La\u202emp\u200d"); err != nil {
		t.Fatal(err)
	}
	e.loginHTTP()
	e.must("", "use", home.ID)
	bad := func(s string) bool { return strings.ContainsAny(s, "\u202e\u200d") }
	for _, args := range [][]string{{"homeys"}, {"devices"}, {"status"}} {
		out := e.must("", args...)
		if bad(out) || !strings.Contains(out, "EvilHome") && args[0] != "devices" {
			t.Errorf("%v prints the name uncleaned (or not at all):\n%q", args, out)
		}
		if args[0] == "devices" && !strings.Contains(out, "Lamp") {
			t.Errorf("devices prints the device name uncleaned (or not at all):\n%q", out)
		}
	}
	if js := e.must("", "homeys", "--json"); !strings.Contains(js, `Ev\u202eil\u200dHome`) && !strings.Contains(js, evil) {
		t.Errorf("homeys --json does not keep the name as it came:\n%s", js)
	}
	p := e.startTray(t)
	p.client.waitStatus(30*time.Second, "Signed in as")
	m := p.client.waitMenu(30*time.Second, "the device in the Devices menu", func(m *menuItem) bool {
		return strings.Contains(m.String(), "Lamp")
	})
	if s := m.String(); bad(s) || !strings.Contains(s, "EvilHome") {
		t.Errorf("the menu shows the names uncleaned:\n%s", s)
	}
}
