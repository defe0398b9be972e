package homey

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/emulator"
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
	srv *emulator.Server
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
	srv, err := emulator.New(emulator.Options{RelayLatency: -1})
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

// noSecret fails the test if err's text holds a code, token or session the emulator issued.
func (e *rtEnv) noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range e.srv.IssuedSecrets() {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error holds a secret: %v", err)
		}
	}
}
