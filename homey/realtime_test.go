package homey

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// TestStreamEvents: capability changes made through HTTP arrive as capability events on the
// device's URI and as device.update on the devices manager, in order, each with its value.
func TestStreamEvents(t *testing.T) {
	e := newRTEnv(t)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp), DevicesURI)
	r.next(t, "connected", isKind(KindConnected))
	for i, v := range []string{"0.1", "0.2", "0.3", "true", "false"} {
		capID := "dim"
		if i >= 3 {
			capID = "onoff"
		}
		var val any
		_ = json.Unmarshal([]byte(v), &val)
		e.set(t, deskLamp, capID, val)
		ev, skipped := r.next(t, "capability "+v, isCapability(deskLamp, capID, v))
		if ev.URI != DeviceURI(deskLamp) || ev.Name != "capability" || ev.TransactionID == "" || ev.TransactionTime.IsZero() || ev.Missed != 0 {
			t.Errorf("capability event %+v", ev)
		}
		if len(skipped) != 0 {
			t.Errorf("before %s: %s", v, kinds(skipped))
		}
		up, _ := r.next(t, "device.update "+v, func(ev Event) bool { return ev.Name == "device.update" })
		if up.URI != DevicesURI || up.Device == nil || up.DeviceID != deskLamp || up.Device.Name != "Desk lamp" {
			t.Fatalf("device.update = %+v", up)
		}
		if got, _ := json.Marshal(up.Device.CapabilitiesObj[capID].Value); string(got) != v {
			t.Errorf("device.update holds %s = %s; want %s", capID, got, v)
		}
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v; want nil after cancel", err)
	}
}

// TestStreamFollowsTheRoute: the stream asks for the route before each connection: when the
// Homey's LAN address stops answering, the stream reports it and reconnects through the relay.
func TestStreamFollowsTheRoute(t *testing.T) {
	e := newRTEnv(t)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp))
	r.next(t, "connected", isKind(KindConnected))
	if n := e.srv.CountVia(e.h.ID, emulator.ViaLocal, routeSocket); n != 1 {
		t.Fatalf("%d upgrades on the LAN address; want 1 (local first)", n)
	}
	e.srv.StopLocal(e.h.ID)
	e.srv.DropRealtime("")
	r.next(t, "connected through the relay", isKind(KindConnected))
	if n := e.srv.CountVia(e.h.ID, emulator.ViaRelay, routeSocket); n != 1 {
		t.Errorf("%d upgrades on the relay; want 1", n)
	}
	e.set(t, deskLamp, "dim", 0.7)
	r.next(t, "an event through the relay", isCapability(deskLamp, "dim", "0.7"))
}

// TestStreamAPIKey: a Homey reached with an API key streams with the key; a subscription the
// key's scopes do not allow is refused and reported; a key the Homey refuses ends Run with
// ErrKeyRefused and the handshake's 401.
func TestStreamAPIKey(t *testing.T) {
	e := newRTEnv(t)
	key := e.srv.AddAPIKey(e.h.ID, []string{"homey.device.readonly"})
	src := StaticBearer{Token: key, HomeyID: e.h.ID, BaseURL: e.h.LocalURL}
	r := startStream(t, src, StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp), ZonesURI)
	ev, _ := r.next(t, "the zones refused", isKind(KindSubscribeFailed))
	var ae *APIError
	if ev.URI != ZonesURI || !errors.As(ev.Err, &ae) || ae.StatusCode != http.StatusForbidden {
		t.Errorf("subscribe-failed = %+v; want zones refused with 403", ev)
	}
	r.next(t, "connected", isKind(KindConnected))
	if got := r.Subscriptions(); len(got) != 1 || got[0] != DeviceURI(deskLamp) {
		t.Errorf("set after the refusal = %v", got)
	}
	e.set(t, deskLamp, "onoff", false)
	r.next(t, "an event through the key", isCapability(deskLamp, "onoff", "false"))

	bad := startStream(t, StaticBearer{Token: "not-a-key", HomeyID: e.h.ID, BaseURL: e.h.LocalURL}, StreamOptions{HTTP: e.hc}, DevicesURI)
	err := bad.ended(t)
	e.noSecret(t, err)
	if !errors.Is(err, ErrKeyRefused) || !IsUnauthorized(err) || strings.Contains(err.Error(), "not-a-key") {
		t.Errorf("Run with a refused key = %v; want ErrKeyRefused and a 401, without the key", err)
	}
	wrong := startStream(t, StaticBearer{Token: key, HomeyID: "0123456789abcdef01234567", BaseURL: e.h.LocalURL}, StreamOptions{HTTP: e.hc}, DevicesURI)
	if err := wrong.ended(t); StatusOf(err) != http.StatusBadRequest {
		t.Errorf("Run with another Homey's id = %v; want the handshake's 400", err)
	}
}

// TestStreamSubscribeAtRunTime: the set changes while connected; an unsubscribed device's
// change is not delivered (it is set before a subscribed one, so it would have come first).
func TestStreamSubscribeAtRunTime(t *testing.T) {
	e := newRTEnv(t)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp))
	r.next(t, "connected", isKind(KindConnected))
	if err := r.Subscribe(DeviceURI(kettlePlug)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the kettle subscribed", func() bool { return e.srv.RealtimeSubscribers(e.h.ID, DeviceURI(kettlePlug)) == 1 })
	r.Unsubscribe(DeviceURI(deskLamp))
	eventually(t, "the lamp unsubscribed", func() bool { return e.srv.RealtimeSubscribers(e.h.ID, DeviceURI(deskLamp)) == 0 })
	e.set(t, deskLamp, "onoff", false)
	e.set(t, kettlePlug, "onoff", true)
	ev, skipped := r.next(t, "the kettle", isCapability(kettlePlug, "onoff", "true"))
	if len(skipped) != 0 || ev.Missed != 0 {
		t.Errorf("before the kettle: %s", kinds(skipped))
	}
	if err := r.Subscribe("devices"); err == nil {
		t.Error("Subscribe took a malformed URI")
	}
	if err := r.Subscribe(DeviceURI("no-such-device")); err != nil {
		t.Fatal(err)
	}
	ev, _ = r.next(t, "an unknown device refused", isKind(KindSubscribeFailed))
	if StatusOf(ev.Err) != http.StatusNotFound {
		t.Errorf("unknown device: %v; want 404", ev.Err)
	}
}

// TestBackoff: the pause doubles from MinBackoff up to MaxBackoff, loses at most half to
// jitter, and is at least a server's Retry-After.
func TestBackoff(t *testing.T) {
	s := NewStream(StaticBearer{}, StreamOptions{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		for range 100 {
			if d := s.backoff(n, 0); d > want || d < want/2 {
				t.Fatalf("backoff(%d) = %v; want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := s.backoff(1, 5*time.Second); d != 5*time.Second {
		t.Errorf("backoff with Retry-After 5s = %v", d)
	}
	if d := NewStream(StaticBearer{}, StreamOptions{}).backoff(100, 0); d > DefaultMaxBackoff || d < DefaultMaxBackoff/2 {
		t.Errorf("default cap: %v", d)
	}
}

// TestStreamBadSource: a credential without a usable address ends Run at once: no pause and
// no retry mends the source's mistake.
func TestStreamBadSource(t *testing.T) {
	for _, base := range []string{"", "ftp://homey", "http://"} {
		r := startStream(t, StaticBearer{Token: "k", HomeyID: "h", BaseURL: base}, StreamOptions{}, DevicesURI)
		if err := r.ended(t); err == nil || !strings.Contains(err.Error(), "invalid base URL") {
			t.Errorf("base %q: Run = %v", base, err)
		}
	}
}
