package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
	"github.com/homeytray/homeytray/internal/officialjs"
)

// BenchmarkOfficialComparison (`make bench-compare`) does each job with homeytray (whole processes
// of the built binary) and with Athom's official JS client (a whole `node
// testdata/bench/official.js` process, homey-api@3.20.0), alternating, against the same
// in-process emulator, which counts the HTTP calls of each run:
//
//	warm token  a stored sign-in with a Homey session: print the Homey bearer
//	cold token  a stored Athom sign-in, no Homey session: delegation + users/login, print it
//	devices     the devices and zones of a Homey on the LAN, and of one reached through the relay
//	sign-in     sign in by code (an HTTP GET of the authorise URL is the browser) -> devices
//
// homey-api reaches the Homey with strategy ['local', 'cloud'] (its default list starts with mDNS,
// which waits up to 3 s here): it pings localUrl and the relay at once and aborts the relay ping
// when the local one answers, before the emulator's 40 ms relay latency is over, so the emulator
// (which counts a relay request after that wait) does not count that ping.
//
// Beside them it measures the floors: `homeytray --version` (the binary's start-up) and the kcread
// yardstick (a minimal keychain read), and the official client's own: node loading homey-api and
// exiting. It reports the medians as metrics and prints one table on stdout.
func BenchmarkOfficialComparison(b *testing.B) {
	sayIfSkipped(b, "make bench-compare")
	requireDesktop(b, false)
	node, modules := officialjs.Install(b)
	e := newTestEnv(b, false)
	e.loginHTTP()
	e.must("", "token")
	homeyID := e.srv.Homeys()[0].ID // homeytray's default Homey: the first one
	kr := e.keyring()
	yard := newYardstick(b)
	// "Cabin" is reached through the relay only: its LAN listener is down for the whole run, so
	// both clients race, find the LAN address dead and settle on the relay (40 ms round trip).
	relayed := e.srv.Homeys()[1]
	e.srv.StopLocal(relayed.ID)
	e.must("", "devices", "--homey", relayed.Name)
	var officialFor func(job, store, homeyID string) string
	dir := b.TempDir()
	official := func(job, store string) string {
		b.Helper()
		return officialFor(job, store, homeyID)
	}
	officialFor = func(job, store, homeyID string) string {
		b.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "bench", "official.js"), job, store)
		cmd.Env = append(cleanEnviron(),
			"HOMEY_API_DIR="+modules,
			"ATHOM_CLOUD_API_BASEURL="+e.srv.URL(),
			"EMU_CLIENT_ID="+e.srv.ClientID(),
			"EMU_CLIENT_SECRET="+e.srv.ClientSecret(),
			"EMU_REDIRECT_URI="+e.srv.RedirectURI(),
			"EMU_HOMEY_ID="+homeyID,
		)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			b.Fatalf("node official.js %s: %v\n%s", job, err, strings.ReplaceAll(errb.String(), e.srv.ClientSecret(), "<redacted>"))
		}
		return strings.TrimSpace(out.String())
	}

	// The official client's stores: a full one (warm) and one without the Homey session (cold).
	warmStore, coldStore, loginStore := filepath.Join(dir, "warm.json"), filepath.Join(dir, "cold.json"), filepath.Join(dir, "login.json")
	official("login", warmStore)
	if tok := official("token", warmStore); tok == "" {
		b.Fatal("official.js token printed nothing")
	}
	cold := readStore(b, warmStore)
	delete(cold, "homey-"+homeyID)
	if len(cold) == len(readStore(b, warmStore)) {
		b.Fatalf("the official client's store holds no session for homey-%s", homeyID)
	}
	officialFor("token", warmStore, relayed.ID) // a Homey session for the relayed Homey too
	coldJSON, err := json.Marshal(cold)
	if err != nil {
		b.Fatal(err)
	}

	jobs := []*benchJob{
		{name: "warm token", tray: func() { e.must("", "token") }, official: func() { official("token", warmStore) }},
		{
			name:         "cold token",
			prepTray:     func() { benchMust(b, kr.Delete("bearer:"+homeyID)) },
			tray:         func() { e.must("", "token") },
			prepOfficial: func() { benchMust(b, os.WriteFile(coldStore, coldJSON, 0o600)) },
			official:     func() { official("token", coldStore) },
		},
		{
			name:     "devices (LAN)",
			tray:     func() { e.must("", "devices") },
			official: func() { official("devices", warmStore) },
		},
		{
			name: "devices (relay)",
			// `sign-in -> devices` logs out, which drops every Homey session: get this one back
			// untimed, as the LAN job has its own from that job's `devices`.
			prepTray: func() { e.must("", "token", "--homey", relayed.Name) },
			tray:     func() { e.must("", "devices", "--homey", relayed.Name) },
			official: func() { officialFor("devices", warmStore, relayed.ID) },
		},
		{
			name:     "sign-in -> devices",
			prepTray: func() { e.must("", "logout") },
			tray:     func() { e.loginHTTP(); e.must("", "devices") },
			official: func() { official("login", loginStore) },
		},
	}
	var version, keychain, nodeLoad []time.Duration
	loadOnly := fmt.Sprintf("require(%q)", filepath.Join(modules, "node_modules", "homey-api"))
	for b.Loop() {
		for _, j := range jobs {
			j.run(b, e)
		}
		start := time.Now()
		cmd := exec.Command(binary, "--version")
		cmd.Env = e.vars
		benchMust(b, cmd.Run())
		version = append(version, time.Since(start))
		start = time.Now()
		yard.run(b)
		keychain = append(keychain, time.Since(start))
		start = time.Now()
		benchMust(b, exec.Command(node, "-e", loadOnly).Run())
		nodeLoad = append(nodeLoad, time.Since(start))
	}
	b.StopTimer()

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var table strings.Builder
	fmt.Fprintf(&table, "homeytray vs homey-api@%s (node %s), %d runs each, medians, against the same emulator\n", officialjs.Version, nodeVersion(node), len(version))
	fmt.Fprintf(&table, "%-20s %12s %7s %14s %7s %8s\n", "job", "homeytray", "calls", "homey-api", "calls", "ratio")
	for _, j := range jobs {
		mt, mo := median(j.trayTimes), median(j.officialTimes)
		ct, co := j.calls(j.trayCalls), j.calls(j.officialCalls)
		fmt.Fprintf(&table, "%-20s %9.1f ms %7s %11.1f ms %7s %7.1fx\n", j.name, ms(mt), ct, ms(mo), co, float64(mo)/float64(mt))
		key := strings.NewReplacer(" -> ", "-", " ", "-").Replace(j.name)
		b.ReportMetric(ms(mt), key+"-homeytray-ms")
		b.ReportMetric(ms(mo), key+"-homey-api-ms")
		b.ReportMetric(float64(sumInts(j.trayCalls))/float64(len(j.trayCalls)), key+"-homeytray-calls")
		b.ReportMetric(float64(sumInts(j.officialCalls))/float64(len(j.officialCalls)), key+"-homey-api-calls")
	}
	fmt.Fprintf(&table, "calls of the last run, by route:\n")
	for _, j := range jobs {
		fmt.Fprintf(&table, "  %s: homeytray %s\n  %s: homey-api %s\n", j.name, j.trayRoutes, j.name, j.officialRoutes)
	}
	mv, mk, mn := median(version), median(keychain), median(nodeLoad)
	fmt.Fprintf(&table, "floors: `homeytray --version` (start-up) %.1f ms; kcread (minimal keychain read) %.1f ms;\n", ms(mv), ms(mk))
	fmt.Fprintf(&table, "        node loading homey-api and exiting %.1f ms\n", ms(mn))
	b.ReportMetric(ms(mv), "version-ms")
	b.ReportMetric(ms(mk), "keychain-read-ms")
	b.ReportMetric(ms(mn), "node-load-homey-api-ms")
	// On stdout: go test truncates a benchmark's log after a few lines unless -v.
	fmt.Print(table.String())
}

// benchJob is one job done both ways; each run is timed and its HTTP calls counted on the emulator.
type benchJob struct {
	name                       string
	prepTray, prepOfficial     func() // untimed, before each run
	tray, official             func()
	trayTimes, officialTimes   []time.Duration
	trayCalls, officialCalls   []int
	trayRoutes, officialRoutes string // the calls of the last run, by route
}

func (j *benchJob) run(b *testing.B, e *testEnv) {
	b.Helper()
	side := func(prep, do func(), times *[]time.Duration, calls *[]int, routes *string) {
		b.StopTimer()
		if prep != nil {
			prep()
		}
		e.srv.ResetCounts()
		b.StartTimer()
		start := time.Now()
		do()
		*times = append(*times, time.Since(start))
		*calls = append(*calls, e.srv.Count("*"))
		*routes = callRoutes(e)
	}
	side(j.prepTray, j.tray, &j.trayTimes, &j.trayCalls, &j.trayRoutes)
	side(j.prepOfficial, j.official, &j.officialTimes, &j.officialCalls, &j.officialRoutes)
}

// calls is "n" when every run made n HTTP calls, else "min-max".
func (j *benchJob) calls(c []int) string {
	lo, hi := c[0], c[0]
	for _, n := range c {
		lo, hi = min(lo, n), max(hi, n)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// emulatorRoutes are the routes the jobs can call (emulator counts calls by "METHOD /path").
var emulatorRoutes = []string{
	"GET /oauth2/authorise", "POST /oauth2/token", "GET /user/me", "POST /delegation/token",
	"GET /api/manager/system/ping", "POST /api/manager/users/login",
	"GET /api/manager/sessions/session/me", "GET /api/manager/devices/device", "GET /api/manager/zones/zone",
}

// callRoutes lists the calls counted since the last ResetCounts, by route.
func callRoutes(e *testEnv) string {
	var parts []string
	known := 0
	for _, r := range emulatorRoutes {
		n := e.srv.Count(r)
		if n == 0 {
			continue
		}
		known += n
		// A Homey's calls say how they went: over the LAN or through the relay.
		var via []string
		for _, h := range e.srv.Homeys() {
			for _, v := range []string{emulator.ViaLocal, emulator.ViaRelay} {
				if k := e.srv.CountVia(h.ID, v, r); k > 0 {
					via = append(via, fmt.Sprintf("%d %s", k, v))
				}
			}
		}
		if len(via) > 0 {
			parts = append(parts, fmt.Sprintf("%d× %s (%s)", n, r, strings.Join(via, ", ")))
		} else {
			parts = append(parts, fmt.Sprintf("%d× %s", n, r))
		}
	}
	if other := e.srv.Count("*") - known; other > 0 {
		parts = append(parts, fmt.Sprintf("%d× other", other))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sumInts(c []int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func benchMust(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func readStore(tb testing.TB, file string) map[string]json.RawMessage {
	tb.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("the official client's store: %v", err)
	}
	return m
}

func nodeVersion(node string) string {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// sayIfSkipped prints on stderr that b was skipped, and what runs it: go test hides a
// benchmark's skip message unless -v.
func sayIfSkipped(b *testing.B, how string) {
	b.Cleanup(func() {
		if b.Skipped() {
			fmt.Fprintf(os.Stderr, "%s SKIPPED: it needs node, npm and the desktop session of .ci/desktop.sh; run `%s`\n", b.Name(), how)
		}
	})
}
