package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/emulator"
)

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
		e.noSecret(t, ev.Err)
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
	e.noSecret(t, err)
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
	e.srv.SetFault(routeSocket, emulator.Fault{Kind: emulator.Fault5xx, Times: 2})
	r := startStream(t, e.bs.Realtime(e.h), StreamOptions{HTTP: e.hc, HandshakeTimeout: 500 * time.Millisecond}, DevicesURI)
	for i := range 2 {
		ev, _ := r.next(t, "a 5xx", isKind(KindDisconnected))
		e.noSecret(t, ev.Err)
		if StatusOf(ev.Err) != http.StatusInternalServerError {
			t.Errorf("disconnect %d: %v; want the upgrade's 500", i, ev.Err)
		}
	}
	r.next(t, "connected after the 5xx", isKind(KindConnected))
	e.srv.SetFault(routeSocket, emulator.Fault{Kind: emulator.FaultHang, Times: 1})
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
