package homey

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
	"github.com/homeytray/homeytray/internal/officialjs"
)

// BenchmarkRealtimeLatency measures, against the emulator on its local listener, the time from
// a capability PUT (sent through HTTP by another client) to its capability event arriving at a
// Stream; one change per iteration (run it with -benchtime 100x), the median and the 90th
// percentile are reported.
func BenchmarkRealtimeLatency(b *testing.B) {
	srv, err := emulator.New(emulator.Options{RelayLatency: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hi := srv.Homeys()[0]
	ctx := context.Background()
	key := srv.AddAPIKey(hi.ID, []string{"homey"})
	s := NewStream(StaticBearer{Token: key, HomeyID: hi.ID, BaseURL: hi.LocalURL}, StreamOptions{})
	if err := s.Subscribe(DeviceURI(deskLamp)); err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	defer func() { cancel(); <-done }()
	for ev := range s.Events() {
		if ev.Kind == KindConnected {
			break
		}
	}
	c := &Client{BaseURL: hi.LocalURL, HomeyID: hi.ID, HTTP: &http.Client{Timeout: 15 * time.Second}}
	put := func(v float64) error {
		resp, err := c.Send(ctx, key, RawRequest{Method: http.MethodPut,
			Path: "/api/manager/devices/device/" + deskLamp + "/capability/dim", Body: fmt.Appendf(nil, `{"value":%v}`, v)})
		if err != nil {
			return err
		}
		return resp.Err()
	}
	if err := put(0.001); err != nil { // a warm connection for the PUTs
		b.Fatal(err)
	}
	<-s.Events()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		v := fmt.Sprint(float64(i%900+10) / 1000)
		start := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- put(mustFloat(v)) }()
		for ev := range s.Events() {
			if ev.CapabilityID == "dim" && string(ev.Value) == v {
				break
			}
		}
		lat = append(lat, time.Since(start))
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

func mustFloat(s string) float64 {
	var f float64
	_ = json.Unmarshal([]byte(s), &f)
	return f
}

// reportLatencies reports the median and the 90th percentile in milliseconds.
func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms-p90")
	b.ReportMetric(0, "ns/op") // the wall time per op includes the PUT's own answer: not the measure
}

// BenchmarkRealtimeLatencyOfficial is BenchmarkRealtimeLatency for Athom's official JS client
// (homey-api under node, makeCapabilityInstance), for comparison: b.N changes in one node run.
func BenchmarkRealtimeLatencyOfficial(b *testing.B) {
	node, modules := officialjs.Install(b)
	srv, err := emulator.New(emulator.Options{RelayLatency: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	b.ResetTimer()
	cmd := exec.Command(node, filepath.Join("testdata", "bench-realtime-official.js"))
	cmd.Env = append(os.Environ(), "HOMEY_API_DIR="+modules, "ATHOM_CLOUD_API_BASEURL="+srv.URL(),
		"EMU_CLIENT_ID="+srv.ClientID(), "EMU_CLIENT_SECRET="+srv.ClientSecret(), "EMU_REDIRECT_URI="+srv.RedirectURI(),
		"EMU_DEVICE="+deskLamp, fmt.Sprintf("BENCH_N=%d", b.N))
	out, err := cmd.Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("bench-realtime-official.js: %v", err)
	}
	var res struct{ LatenciesMs []float64 }
	if err := json.Unmarshal(out, &res); err != nil || len(res.LatenciesMs) != b.N {
		b.Fatalf("bench-realtime-official.js printed %q", out)
	}
	lat := make([]time.Duration, 0, b.N)
	for _, ms := range res.LatenciesMs {
		lat = append(lat, time.Duration(ms*float64(time.Millisecond)))
	}
	reportLatencies(b, lat)
}
