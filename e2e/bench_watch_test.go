//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/officialjs"
)

// BenchmarkWatchLatency (`make bench`, -benchtime 100x): a change of the lamp's onoff made with
// a whole `homeytray api -X PUT …/capability/onoff` process, to its line from a running
// `homeytray watch --json`, and to the same event at Athom's official client (homey-api's
// makeCapabilityInstance under node, testdata/bench/watch-official.js), both listening at once
// on the LAN address of the same emulator. One change per iteration; the medians and 90th
// percentiles are reported, and the `api` process's own time (start-up, the PUT, its answer)
// as a floor: a line cannot come before the Homey has the change.
func BenchmarkWatchLatency(b *testing.B) {
	sayIfSkipped(b, "make bench")
	requireDesktop(b, false)
	node, modules := officialjs.Install(b)
	e := newTestEnv(b, false)
	e.loginHTTP()
	home := e.srv.Homeys()[0]
	w := e.startWatch(b, "--json", "--capability", "onoff", "Desk lamp")
	e.waitSubscribed(b, w, home.ID)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	off := exec.CommandContext(ctx, node, filepath.Join("testdata", "bench", "watch-official.js"))
	off.Env = append(cleanEnviron(), "HOMEY_API_DIR="+modules, "ATHOM_CLOUD_API_BASEURL="+e.srv.URL(),
		"EMU_CLIENT_ID="+e.srv.ClientID(), "EMU_CLIENT_SECRET="+e.srv.ClientSecret(),
		"EMU_REDIRECT_URI="+e.srv.RedirectURI(), "EMU_HOMEY_ID="+home.ID, "EMU_DEVICE="+deskLamp)
	stdin, err := off.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := off.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var offErr strings.Builder
	off.Stderr = &offErr
	if err := off.Start(); err != nil {
		b.Fatal(err)
	}
	offLines := make(chan timedLine, 1024)
	go readLines(stdout, offLines)
	defer func() { _ = stdin.Close(); _ = off.Wait() }()
	official := func(what string) timedLine {
		b.Helper()
		select {
		case l, ok := <-offLines:
			if !ok {
				b.Fatalf("waiting for %s: the official client ended: %s", what, strings.ReplaceAll(offErr.String(), e.srv.ClientSecret(), "<redacted>"))
			}
			return l
		case <-time.After(30 * time.Second):
			b.Fatalf("waiting for %s: no line from the official client within 30 s", what)
		}
		return timedLine{}
	}
	if l := official("ready"); l.text != "ready" {
		b.Fatalf("the official client said %q", l.text)
	}

	var api, ours, theirs []time.Duration
	b.ResetTimer()
	for i := range b.N {
		v := i%2 == 0
		start := time.Now()
		e.must("", "api", "-X", "PUT", "devices/device/"+deskLamp+"/capability/onoff", "-F", fmt.Sprintf("value=%v", v))
		api = append(api, time.Since(start))
		wl := w.nextAt(fmt.Sprintf("watch's line %d", i))
		var j watchJSON
		if err := json.Unmarshal([]byte(wl.text), &j); err != nil || string(j.Value) != fmt.Sprint(v) {
			b.Fatalf("watch printed %q; want onoff %v", wl.text, v)
		}
		ol := official(fmt.Sprintf("the official client's value %d", i))
		if ol.text != fmt.Sprintf(`{"value":%v}`, v) {
			b.Fatalf("the official client printed %q; want %v", ol.text, v)
		}
		ours, theirs = append(ours, wl.at.Sub(start)), append(theirs, ol.at.Sub(start))
	}
	b.StopTimer()
	ms := func(ds []time.Duration, q int) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)*q/100].Microseconds()) / 1000
	}
	b.ReportMetric(ms(ours, 50), "watch-ms-median")
	b.ReportMetric(ms(ours, 90), "watch-ms-p90")
	b.ReportMetric(ms(theirs, 50), "official-ms-median")
	b.ReportMetric(ms(theirs, 90), "official-ms-p90")
	b.ReportMetric(ms(api, 50), "api-process-ms-median")
	b.ReportMetric(0, "ns/op") // the wall time per op is the api process's: not the measure
}
