package homey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/homeytest"
)

const (
	deskLamp    = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" // onoff, dim
	kettlePlug  = "9d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a" // onoff, measure_power
	waitLong    = 30 * time.Second                       // a condition's deadline: generous on a loaded machine
	routeSocket = "GET /socket.io/"
)

// rtEnv is a signed-in client of the emulator: an Athom token, Bearers with a cache and the
// local-first Router, and the first Homey.
type rtEnv struct {
	srv *homeytest.Server
	tr  *http.Transport
	hc  *http.Client
	bs  *Bearers
	h   Homey
}

// newRTEnv starts an emulator and signs in to it. It checks at cleanup that the test left no
// goroutine behind (the stream's, the sockets', the emulator's).
func newRTEnv(t *testing.T) *rtEnv {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	e := &rtEnv{tr: &http.Transport{}}
	e.hc = &http.Client{Transport: e.tr, Timeout: 15 * time.Second}
	srv, err := homeytest.New(homeytest.Options{RelayLatency: -1})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	t.Cleanup(func() {
		_ = srv.Close()
		e.tr.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	ctx := context.Background()
	code, err := srv.AuthorizeCode("")
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), Endpoint: Endpoint(srv.URL()), RedirectURL: srv.RedirectURI()}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, e.hc), code)
	if err != nil {
		t.Fatal(err)
	}
	cloud := &Cloud{BaseURL: srv.URL(), Tokens: oauth2.StaticTokenSource(tok), HTTP: e.hc}
	me, err := cloud.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.h = me.Homeys[0]
	e.bs = &Bearers{Cloud: cloud, Cache: &memCache{m: map[string]Bearer{}}, HTTP: e.hc, Router: &Routes{HTTP: e.hc}}
	return e
}

// set sets a capability through the HTTP API, as a script would.
func (e *rtEnv) set(t *testing.T, dev, capID string, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"value": v})
	err := e.bs.Do(context.Background(), e.h, func(ctx context.Context, c *Client, bearer string) error {
		resp, err := c.Send(ctx, bearer, RawRequest{Method: http.MethodPut,
			Path: "/api/manager/devices/device/" + dev + "/capability/" + capID, Body: body})
		if err != nil {
			return err
		}
		return resp.Err()
	})
	if err != nil {
		t.Fatalf("set %s %s: %v", dev, capID, err)
	}
}

// running is a Stream under Run in a goroutine; stop ends it and returns Run's error.
type running struct {
	*Stream
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startStream(t *testing.T, src BearerSource, o StreamOptions, uris ...string) *running {
	t.Helper()
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 200*time.Millisecond
	}
	s := NewStream(src, o)
	for _, u := range uris {
		if err := s.Subscribe(u); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Stream: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop cancels Run and returns what it returned (also when Run had ended by itself).
func (r *running) stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// ended waits for Run to end by itself and returns its error.
func (r *running) ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.once.Do(func() { r.err = err; r.cancel() })
		return err
	case <-time.After(waitLong):
		t.Fatalf("Run did not end within %v", waitLong)
	}
	return nil
}

// next waits for the next event that want accepts, failing the test after waitLong; the
// events it skips are returned too.
func (r *running) next(t *testing.T, what string, want func(Event) bool) (Event, []Event) {
	t.Helper()
	var skipped []Event
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-r.Events():
			if !ok {
				t.Fatalf("waiting for %s: the stream ended", what)
			}
			if want(ev) {
				return ev, skipped
			}
			skipped = append(skipped, ev)
		case <-deadline.C:
			t.Fatalf("waiting for %s: nothing within %v (skipped %d events: %s)", what, waitLong, len(skipped), kinds(skipped))
		}
	}
}

func kinds(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s %s %s %v; ", ev.Kind, ev.URI, ev.Name, ev.Err)
	}
	return b.String()
}

func isKind(k EventKind) func(Event) bool { return func(ev Event) bool { return ev.Kind == k } }

func isCapability(dev, capID, value string) func(Event) bool {
	return func(ev Event) bool {
		return ev.Kind == KindHomey && ev.DeviceID == dev && ev.CapabilityID == capID && string(ev.Value) == value
	}
}

// eventually waits for cond, failing the test after waitLong.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, waitLong)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

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

// TestStreamReconnects: every time the emulator drops every socket, the stream reconnects,
// subscribes to its whole set again, and changes made after that arrive.
func TestStreamReconnects(t *testing.T) {
	e := newRTEnv(t)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp), DeviceURI(kettlePlug), DevicesURI)
	r.next(t, "connected", isKind(KindConnected))
	const drops = 3
	for i := range drops {
		e.srv.DropRealtime("")
		ev, _ := r.next(t, "disconnected", isKind(KindDisconnected))
		if ev.Err == nil {
			t.Error("a disconnected event without its reason")
		}
		r.next(t, "connected again", isKind(KindConnected))
		for _, uri := range []string{DeviceURI(deskLamp), DeviceURI(kettlePlug), DevicesURI} {
			if n := e.srv.RealtimeSubscribers(e.h.ID, uri); n != 1 {
				t.Errorf("after drop %d: %d subscribers of %s; want 1", i+1, n, uri)
			}
		}
		v := i%2 == 0
		e.set(t, kettlePlug, "onoff", v)
		r.next(t, "kettle onoff after the drop", isCapability(kettlePlug, "onoff", fmt.Sprint(v)))
	}
	if n := e.srv.Count(routeSocket); n != drops+1 {
		t.Errorf("%d socket upgrades; want %d", n, drops+1)
	}
	if n := e.srv.Count(routeLogin); n != 1 {
		t.Errorf("%d Homey sign-ins; want 1 (the bearer is reused)", n)
	}
}

// TestStreamSessionExpiry: when the Homey's sessions expire mid-stream, the Homey ends the
// socket and refuses the old bearer in the next handshake; the stream gets a new session
// through the same single-flight sign-in that HTTP calls use. With HTTP calls running into the
// same expiry at the same time, the Homey sees one sign-in in all.
func TestStreamSessionExpiry(t *testing.T) {
	e := newRTEnv(t)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp))
	r.next(t, "connected", isKind(KindConnected))
	for round := range 3 {
		e.srv.ResetCounts()
		e.srv.ExpireSessions()
		var wg sync.WaitGroup
		for range 4 { // HTTP calls that meet the expired session too
			wg.Go(func() {
				err := e.bs.Do(context.Background(), e.h, func(ctx context.Context, c *Client, bearer string) error {
					_, err := c.Devices(ctx, bearer)
					return err
				})
				if err != nil {
					t.Errorf("devices after expiry: %v", err)
				}
			})
		}
		ev, _ := r.next(t, "disconnected by the Homey", isKind(KindDisconnected))
		if !errors.Is(ev.Err, errServerDisconnect) && !errors.Is(ev.Err, errServerClosed) {
			t.Errorf("round %d: disconnected because %v; want the Homey's disconnect", round, ev.Err)
		}
		r.next(t, "connected with a new session", isKind(KindConnected))
		wg.Wait()
		if n := e.srv.Count(routeLogin); n != 1 {
			t.Errorf("round %d: %d Homey sign-ins; want 1 between the socket and the HTTP calls", round, n)
		}
		if n := e.srv.Count(routeDelegation); n != 1 {
			t.Errorf("round %d: %d delegation tokens; want 1", round, n)
		}
		e.set(t, deskLamp, "onoff", round%2 == 1)
		r.next(t, "an event on the new session", isCapability(deskLamp, "onoff", fmt.Sprint(round%2 == 1)))
	}
}

// TestStreamSignInGone: when the Homey refuses the bearer and the Athom sign-in cannot make a
// new one, Run ends with the sign-in's own error, for the caller to match with errors.Is.
func TestStreamSignInGone(t *testing.T) {
	e := newRTEnv(t)
	errGone := errors.New("the sign-in is no longer valid")
	e.bs.Cloud.Tokens = failingTokens{errGone}
	if _, err := e.bs.Get(context.Background(), e.h); err == nil {
		t.Fatal("signed in without a token")
	}
	e.bs.Cache.(*memCache).m[e.h.ID] = Bearer{Token: "stale", HomeyID: e.h.ID, BaseURL: e.h.LocalURL,
		Strategy: StrategyLocal, ConfirmedAt: time.Now()}
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DevicesURI)
	err := r.ended(t)
	if !errors.Is(err, errGone) || !IsUnauthorized(err) {
		t.Errorf("Run = %v; want the sign-in's error and the handshake's 401", err)
	}
	if strings.Contains(err.Error(), "stale") {
		t.Errorf("the error holds the bearer: %v", err)
	}
	if n := e.srv.Count("IO handshakeClient 401"); n != 1 {
		t.Errorf("%d refused handshakes; want 1", n)
	}
}

type failingTokens struct{ err error }

func (f failingTokens) Token() (*oauth2.Token, error) { return nil, f.err }

// TestStreamFollowsTheRoute: the stream asks for the route before each connection: when the
// Homey's LAN address stops answering, the stream reports it and reconnects through the relay.
func TestStreamFollowsTheRoute(t *testing.T) {
	e := newRTEnv(t)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp))
	r.next(t, "connected", isKind(KindConnected))
	if n := e.srv.CountVia(e.h.ID, homeytest.ViaLocal, routeSocket); n != 1 {
		t.Fatalf("%d upgrades on the LAN address; want 1 (local first)", n)
	}
	e.srv.StopLocal(e.h.ID)
	e.srv.DropRealtime("")
	r.next(t, "connected through the relay", isKind(KindConnected))
	if n := e.srv.CountVia(e.h.ID, homeytest.ViaRelay, routeSocket); n != 1 {
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

// TestStreamSlowReader: a reader that takes nothing while the Homey sends many changes holds
// the socket up for nothing (no pong missed, nothing cut off); the queue keeps at most its
// size, the newest value of each capability and device is delivered last, and every event is
// accounted for: delivered, or counted in a delivered event's Missed.
func TestStreamSlowReader(t *testing.T) {
	e := newRTEnv(t)
	e.srv.SetRealtimePing(20*time.Millisecond, 2*time.Second) // pings keep going while the reader sleeps
	const size, changes = 8, 200
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc, QueueSize: size}, DeviceURI(deskLamp), DevicesURI)
	r.next(t, "connected", isKind(KindConnected))
	pings := e.srv.Count("IO ping")
	for i := 1; i <= changes; i++ {
		e.set(t, deskLamp, "dim", float64(i)/1000)
	}
	last := fmt.Sprint(float64(changes) / 1000)
	eventually(t, "the last change queued", func() bool {
		return r.queuedValue(deskLamp, "dim") == last && r.queuedDim(deskLamp) == last
	})
	if n := r.q.len(); n > size {
		t.Errorf("%d events queued; want at most %d", n, size)
	}
	var got []Event
	accounted := 0
	for accounted < 2*changes {
		ev, _ := r.next(t, fmt.Sprintf("events for %d changes (%d accounted for)", changes, accounted), func(Event) bool { return true })
		got = append(got, ev)
		accounted += 1 + ev.Missed
	}
	if accounted != 2*changes || len(got) > size+1 || r.q.len() != 0 {
		t.Errorf("%d events accounted for, %d delivered, %d left; want %d, at most %d, none", accounted, len(got), r.q.len(), 2*changes, size+1)
	}
	var lastCap, lastDev Event
	for _, ev := range got {
		switch {
		case ev.CapabilityID == "dim":
			lastCap = ev
		case ev.Device != nil:
			lastDev = ev
		}
	}
	if string(lastCap.Value) != last {
		t.Errorf("last dim delivered = %s; want %s", lastCap.Value, last)
	}
	if v, _ := lastDev.Device.CapabilitiesObj["dim"].Value.(float64); fmt.Sprint(v) != last {
		t.Errorf("last device.update delivered has dim %v; want %s", v, last)
	}
	if n := e.srv.RealtimeClients(e.h.ID); n != 1 || e.srv.Count(routeSocket) != 1 {
		t.Errorf("%d clients, %d upgrades: the slow reader cost the connection", n, e.srv.Count(routeSocket))
	}
	eventually(t, "pings answered meanwhile", func() bool { return e.srv.Count("IO ping") > pings })
}

// queuedValue is the newest queued value of a device's capability ("" when none is queued).
func (s *Stream) queuedValue(dev, capID string) string {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	if e := s.q.byKey["capability\x00"+dev+"\x00"+capID]; e != nil {
		return string(e.Value.(*queued).ev.Value)
	}
	return ""
}

// queuedDim is the dim of the newest queued device event of dev ("" when none is queued).
func (s *Stream) queuedDim(dev string) string {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	if e := s.q.byKey["device\x00"+dev]; e != nil {
		return fmt.Sprint(e.Value.(*queued).ev.Device.CapabilitiesObj["dim"].Value)
	}
	return ""
}

// TestStreamPingTimeout: a Homey that stops answering pings (the socket open, nothing else
// wrong) is left after pingTimeout and reconnected to, again and again, until it answers.
func TestStreamPingTimeout(t *testing.T) {
	e := newRTEnv(t)
	e.srv.SetRealtimePing(100*time.Millisecond, time.Second)
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc}, DeviceURI(deskLamp))
	r.next(t, "connected", isKind(KindConnected))
	e.srv.SetRealtimePongs(false)
	for i := range 2 {
		ev, _ := r.next(t, "a ping timeout", isKind(KindDisconnected))
		if ev.Err == nil || !strings.Contains(ev.Err.Error(), "no pong") {
			t.Errorf("disconnect %d because %v; want a ping timeout", i, ev.Err)
		}
	}
	e.srv.SetRealtimePongs(true)
	r.next(t, "connected once pongs come back", isKind(KindConnected))
	if n := e.srv.Count(routeSocket); n < 3 {
		t.Errorf("%d upgrades; want at least 3", n)
	}
}

// TestStreamRetriesWhatPasses: answers that may pass by themselves (5xx and a hang at the
// upgrade, a Homey that never acks the handshake, an address nobody listens on) are retried
// with a pause, each reported by a disconnected event; the stream connects once they pass.
func TestStreamRetriesWhatPasses(t *testing.T) {
	e := newRTEnv(t)
	e.srv.SetFault(routeSocket, homeytest.Fault{Kind: homeytest.Fault5xx, Times: 2})
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc, HandshakeTimeout: 500 * time.Millisecond}, DevicesURI)
	for i := range 2 {
		ev, _ := r.next(t, "a 5xx", isKind(KindDisconnected))
		if StatusOf(ev.Err) != http.StatusInternalServerError {
			t.Errorf("disconnect %d: %v; want the upgrade's 500", i, ev.Err)
		}
	}
	r.next(t, "connected after the 5xx", isKind(KindConnected))
	e.srv.SetFault(routeSocket, homeytest.Fault{Kind: homeytest.FaultHang, Times: 1})
	e.srv.DropRealtime("")
	r.next(t, "the drop", isKind(KindDisconnected))
	ev, _ := r.next(t, "the hung upgrade", isKind(KindDisconnected))
	if !IsNetworkError(ev.Err) {
		t.Errorf("hung upgrade: %v; want a network error (no answer in time)", ev.Err)
	}
	r.next(t, "connected after the hang", isKind(KindConnected))

	dead := startStream(t, StaticBearer{Token: "k", HomeyID: e.h.ID, BaseURL: "http://127.0.0.1:1"}, StreamOptions{HTTP: e.hc}, DevicesURI)
	for range 3 {
		ev, _ := dead.next(t, "a refused connection", isKind(KindDisconnected))
		if !IsNetworkError(ev.Err) {
			t.Errorf("unreachable: %v; want a network error", ev.Err)
		}
	}
	if err := dead.stop(); err != nil {
		t.Errorf("Run = %v; want nil after cancel", err)
	}
	if _, ok := <-dead.Events(); ok {
		t.Error("Events still open after Run returned")
	}
	if err := dead.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
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
