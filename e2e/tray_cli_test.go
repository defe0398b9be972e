//go:build linux

package e2e

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTrayFollowsCLI: `logout` and `login` on the command line tell the running tray, which shows
// the new state (within a second; the deadline leaves room for a loaded CI machine running
// the other packages' tests at the same time, and the time taken is logged); `use` moves its
// Homeys check mark.
func TestTrayFollowsCLI(t *testing.T) {
	const within = 3 * time.Second
	e, p := signedInTray(t, nil)
	start := time.Now()
	e.must("", "use", "Cabin")
	p.client.waitMenu(within, "Cabin checked", func(m *menuItem) bool {
		c := m.find("Homeys").findHomey("Cabin")
		return c != nil && c.ToggleState == 1
	})
	t.Logf("use → menu: %s", time.Since(start))
	start = time.Now()
	e.must("", "logout")
	if got := p.client.waitStatus(within, "Not signed in"); got != "Not signed in" {
		t.Fatalf("after CLI logout the status line is %q", got)
	}
	if p.client.item("Log in…") == nil {
		t.Errorf("no Log in… item after logout")
	}
	t.Logf("logout → status line: %s", time.Since(start))
	e.loginHTTP()
	if got := p.client.waitStatus(within, "Signed in as"); got != "Signed in as Ada Lovelace" {
		t.Fatalf("after CLI login the status line is %q", got)
	}
}

// BenchmarkTokenViaTray: a whole `homeytray token` process answered by the running tray, beside
// `homeytray --version` (the binary's own start-up). Target: at most 1.3 times.
func BenchmarkTokenViaTray(b *testing.B) {
	e, _ := signedInTray(b, nil)
	want := strings.TrimSpace(e.must("", "token"))
	e.srv.ResetCounts()
	var tok, ver []time.Duration
	for b.Loop() {
		start := time.Now()
		if got := strings.TrimSpace(e.must("", "token")); got != want {
			b.Fatalf("token changed")
		}
		tok = append(tok, time.Since(start))
		start = time.Now()
		cmd := exec.Command(binary, "--version")
		cmd.Env = e.vars
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		ver = append(ver, time.Since(start))
	}
	mt, mv := median(tok), median(ver)
	b.ReportMetric(float64(mt.Microseconds())/1000, "token-ms")
	b.ReportMetric(float64(mv.Microseconds())/1000, "version-ms")
	b.ReportMetric(float64(mt)/float64(mv), "ratio")
	b.ReportMetric(float64(e.srv.Count("*"))/float64(b.N), "calls/op")
}

// TestDemoTray is `make demo`: the tray on the in-process emulator. "Log in…" opens the real
// (headless) browser on the emulator's sign-in, the tray shows who signed in, and "Copy bearer
// token" puts a bearer on the clipboard.
func TestDemoTray(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, true)
	e.setenv("HOMEYTRAY_REDIRECT_URI=http://localhost:" + strconv.Itoa(freePort(t)) + "/callback")
	p := e.startTrayCmd(t, []string{"demo"})
	t.Cleanup(func() { e.run("", "demo", "logout", "--all") })
	if got := p.client.waitStatus(10*time.Second, "Not signed in"); got != "Not signed in" {
		t.Fatalf("a fresh demo tray says %q", got)
	}
	p.client.click("Log in…")
	got := p.client.waitStatus(20*time.Second, "Signed in as")
	stopBrowsers()
	if got != "Signed in as Ada Lovelace" {
		t.Fatalf("after Log in… the status line is %q", got)
	}
	bearer, _ := copyBearer(t, func() { p.client.click("Copy bearer token") })
	if bearer == "" {
		t.Fatal("no bearer on the clipboard")
	}
	if tok := strings.TrimSpace(e.must("", "demo", "token")); tok != bearer {
		t.Errorf("`demo token` (answered by the demo tray) differs from the copied bearer")
	}
}

// TestTrayWithoutKeychain: a session bus with no Secret Service. The tray runs, its status line
// names the keychain, and nothing pretends to be signed in.
func TestTrayWithoutKeychain(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	bus, _ := privateBus(t)
	p := e.startTray(t, "DBUS_SESSION_BUS_ADDRESS="+bus)
	got := p.client.waitStatus(10*time.Second, "Sign-in needs attention")
	if !strings.HasPrefix(got, "Sign-in needs attention") || !strings.Contains(strings.ToLower(got), "keychain") {
		t.Fatalf("status line without a keychain: %q", got)
	}
	if err := p.alive(); err != nil {
		t.Errorf("the tray did not keep running: %v", err)
	}
}

// TestTrayMovesBackToTheLAN: a Homey that fell back to the relay (its LAN address went away) is
// raced again when the tray looks at the Homey list (here: after a change on the command line, as
// after a wake-up), so scripts get the LAN route again.
func TestTrayMovesBackToTheLAN(t *testing.T) {
	e, p := signedInTray(t, nil)
	h := e.srv.Homeys()[0]
	route := func() string {
		var js struct{ Route string }
		if err := json.Unmarshal([]byte(e.must("", "token", "--format", "json")), &js); err != nil {
			t.Fatal(err)
		}
		return js.Route
	}
	if r := route(); r != "local" {
		t.Fatalf("route at start: %q", r)
	}
	e.srv.StopLocal(h.ID)
	e.must("", "devices") // fails over to the relay and remembers it
	if r := route(); r != "cloud" {
		t.Fatalf("route after the LAN address went away: %q", r)
	}
	if err := e.srv.StartLocal(h.ID); err != nil {
		t.Fatal(err)
	}
	e.must("", "use", h.Name) // the tray reloads and looks at the list again
	deadline := time.Now().Add(5 * time.Second)
	for route() != "local" {
		if time.Now().After(deadline) {
			t.Fatalf("the tray stayed on the relay; menu:\n%s", p.client.menu())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
