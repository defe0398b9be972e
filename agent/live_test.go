package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/homey/emulator"
)

// countingRealtime counts the connections asked for, by Homey; it hands out none.
type countingRealtime struct {
	mu  sync.Mutex
	ids []string
}

func (c *countingRealtime) Realtime(_ context.Context, id string) (homey.BearerSource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
	return nil, errors.New("no realtime in this test")
}

func (c *countingRealtime) asked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

// TestLiveDevicesWhen: with LiveDevices, a connection is made after each device list: at
// start, after a wake-up (a wall-clock jump), on a switch of Homey; none while signed out; and
// none at all without LiveDevices (serve builds its agent with New alone).
func TestLiveDevicesWhen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRefreshCore()
		rt := &countingRealtime{}
		var offset atomic.Int64
		wall := func() time.Time { return time.Now().Round(0).Add(time.Duration(offset.Load())) }
		s := &recordSink{}
		a := New(c, s)
		a.LiveDevices(rt)
		a.ref.rnd, a.ref.wall = func() float64 { return 0.5 }, wall
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = a.Run(ctx, nil); close(done) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		if got := rt.asked(); len(got) != 1 || got[0] != "h1" {
			t.Fatalf("connections at start: %q; want one to h1", got)
		}
		offset.Store(int64(3 * time.Hour)) // the machine slept
		time.Sleep(clockCheck)
		synctest.Wait()
		if got := rt.asked(); len(got) != 2 {
			t.Fatalf("connections after the wake-up: %q; want a second one", got)
		}
		c.set(func(c *refreshCore) { c.selected = "h2" })
		a.SelectionChanged()
		synctest.Wait()
		if got := rt.asked(); len(got) != 3 || got[2] != "h2" {
			t.Fatalf("connections after the switch: %q; want one to h2", got)
		}

		plain := &countingRealtime{}
		c2 := newRefreshCore()
		b := New(c2, &recordSink{})
		ctx2, cancel2 := context.WithCancel(context.Background())
		done2 := make(chan struct{})
		go func() { _ = b.Run(ctx2, nil); close(done2) }()
		synctest.Wait()
		cancel2()
		<-done2
		if c2.count("Devices") != 1 || len(plain.asked()) != 0 || b.ref.live != nil {
			t.Errorf("an agent without LiveDevices: %d device lists, connections %q", c2.count("Devices"), plain.asked())
		}
	})
}

// emuCore is a refreshCore whose Homeys, devices and realtime connections are an emulator's,
// reached with API keys.
type emuCore struct {
	*refreshCore
	homeys []homey.Homey
	access map[string]*homey.KeyAccess
	sel    atomic.Value // string
}

func (c *emuCore) Homeys(context.Context) ([]homey.Homey, string, error) {
	return c.homeys, c.sel.Load().(string), nil
}

func (c *emuCore) Devices(ctx context.Context, id string) (map[string]homey.Device, map[string]homey.Zone, error) {
	return homey.ListDevices(ctx, c.access[id], true)
}

func (c *emuCore) Realtime(_ context.Context, id string) (homey.BearerSource, error) {
	return c.access[id].Realtime(), nil
}

const deskLamp = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" // on the emulator's first Homey

// TestLiveDevicesFollow: against the emulator, each change of a value reaches the sink; a
// switch of Homey closes the first connection and opens one to the second; a new device list
// (as after a wake-up) makes a new connection; the end of Run closes it.
func TestLiveDevicesFollow(t *testing.T) {
	srv, err := emulator.New(emulator.Options{RelayLatency: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hc := &http.Client{Timeout: 15 * time.Second}
	c := &emuCore{refreshCore: newRefreshCore(), access: map[string]*homey.KeyAccess{}}
	pinged := &homey.Pinged{}
	keys := map[string]string{}
	for _, h := range srv.Homeys() {
		key := srv.AddAPIKey(h.ID, []string{"homey"})
		keys[h.ID] = key
		hh := homey.Homey{ID: h.ID, Name: h.Name}
		c.homeys = append(c.homeys, hh)
		c.access[h.ID] = &homey.KeyAccess{H: hh, Address: h.LocalURL, Key: key, HTTP: hc, Pinged: pinged}
	}
	home, cabin := c.homeys[0].ID, c.homeys[1].ID
	c.sel.Store(home)
	s := &switchSink{recordSink: &recordSink{}}
	a := New(c, s)
	a.LiveDevices(c)
	a.ref.live.opt = homey.StreamOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	var stopped error
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	defer stop()
	waitUntil(t, "a connection to Home", func() bool { return srv.RealtimeSubscribers(home, homey.DeviceURI(deskLamp)) == 1 })

	for i := range 5 {
		v := i%2 == 0
		set(t, c.access[home], deskLamp, "onoff", v)
		waitUntil(t, "the lamp's new value in the sink", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.devices[deskLamp].CapabilitiesObj["onoff"].Value == v
		})
	}

	// The lamp on Home keeps changing while the selection moves to Cabin: once the sink has
	// heard of Cabin, no list of Home's devices may reach it.
	toggling, toggled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(toggled)
		for i := 0; ; i++ {
			select {
			case <-toggling:
				return
			default:
			}
			_ = put(ctx, c.access[home], deskLamp, "onoff", i%2 == 0) // a failure only skips a change
		}
	}()
	seen := s.lampLists()
	waitUntil(t, "the lamp's changes reaching the sink again", func() bool { return s.lampLists() >= seen+3 })
	c.sel.Store(cabin)
	a.SelectionChanged()
	waitUntil(t, "the connection moved to Cabin", func() bool {
		return srv.RealtimeClients(home) == 0 && srv.RealtimeClients(cabin) == 1
	})
	close(toggling)
	<-toggled
	if n := s.lampListsAfterSwitch(cabin); n != 0 {
		t.Errorf("%d lists of Home's devices reached the sink after it was told Cabin is selected", n)
	}
	before := srv.CountVia(cabin, emulator.ViaLocal, "GET /socket.io/")
	a.Refresh(false) // a new device list, as after a wake-up
	waitUntil(t, "a new connection to Cabin", func() bool {
		return srv.CountVia(cabin, emulator.ViaLocal, "GET /socket.io/") > before && srv.RealtimeClients(cabin) == 1
	})
	if stopped = stop(); stopped != nil {
		t.Errorf("Run = %v", stopped)
	}
	waitUntil(t, "no connection after Run", func() bool { return srv.RealtimeClients("") == 0 })
}

// set sets a capability through the HTTP API with the key, as another client would.
func set(t *testing.T, a *homey.KeyAccess, dev, capID string, v any) {
	t.Helper()
	if err := put(context.Background(), a, dev, capID, v); err != nil {
		t.Fatal(err)
	}
}

// put is set's request, for a goroutine that may not end the test.
func put(ctx context.Context, a *homey.KeyAccess, dev, capID string, v any) error {
	body, _ := json.Marshal(map[string]any{"value": v})
	return a.Do(ctx, false, func(ctx context.Context, c *homey.Client, bearer string) error {
		resp, err := c.Send(ctx, bearer, homey.RawRequest{Method: http.MethodPut,
			Path: "/api/manager/devices/device/" + dev + "/capability/" + capID, Body: body})
		if err != nil {
			return err
		}
		return resp.Err()
	})
}

// waitUntil waits for cond with a generous deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// switchSink is a recordSink that also counts the device lists holding the desk lamp (Home's):
// in all, and since the Homey last reported as selected was.
type switchSink struct {
	*recordSink
	swMu     sync.Mutex // its own: the test reads recordSink.mu's fields as s.mu
	selected string
	lamp     int // lists with the lamp
	since    int // of those, since selected was reported
}

func (s *switchSink) Homeys(list []homey.Homey, sel string) {
	s.swMu.Lock()
	s.selected, s.since = sel, 0
	s.swMu.Unlock()
	s.recordSink.Homeys(list, sel)
}

func (s *switchSink) Devices(d map[string]homey.Device, z map[string]homey.Zone, err error) {
	s.swMu.Lock()
	if _, ok := d[deskLamp]; ok {
		s.lamp++
		s.since++
	}
	s.swMu.Unlock()
	s.recordSink.Devices(d, z, err)
}

func (s *switchSink) lampLists() int {
	s.swMu.Lock()
	defer s.swMu.Unlock()
	return s.lamp
}

func (s *switchSink) lampListsAfterSwitch(sel string) int {
	s.swMu.Lock()
	defer s.swMu.Unlock()
	if s.selected != sel {
		return -1 // never told
	}
	return s.since
}
