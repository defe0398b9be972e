package homey

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/emulator"
)

const (
	pingOpRoute = "GET /api/manager/system/ping"
	loginOp     = "POST /api/manager/users/login"
)

// emu is the emulator with a signed-in Cloud and the user's Homeys as /user/me lists them.
type emu struct {
	srv    *emulator.Server
	cloud  *Cloud
	homeys []Homey
}

func newEmu(t testing.TB, o emulator.Options) *emu {
	t.Helper()
	s := emulator.NewServer(t, o)
	code, err := s.AuthorizeCode("st")
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), Endpoint: Endpoint(s.URL()), RedirectURL: s.RedirectURI()}
	tok, err := cfg.Exchange(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cloud{BaseURL: s.URL(), Tokens: oauth2.StaticTokenSource(tok)}
	u, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Homeys) == 0 || u.Homeys[0].LocalURL == "" || u.Homeys[0].RemoteURL == "" {
		t.Fatalf("/user/me: %+v; want Homeys with localUrl and remoteUrl", u.Homeys)
	}
	s.ResetCounts()
	return &emu{srv: s, cloud: c, homeys: u.Homeys}
}

func (e *emu) local(h Homey) Route { return Route{StrategyLocal, h.LocalURL} }
func (e *emu) relay(h Homey) Route { return Route{StrategyCloud, h.RemoteURL} }

func (e *emu) count(h Homey, via, route string) int { return e.srv.CountVia(h.ID, via, route) }

func TestCandidates(t *testing.T) {
	h := Homey{ID: "h1", LocalURL: "http://10.0.0.2/", LocalURLSecure: "https://10-0-0-2.homey.homeylocal.com",
		RemoteURL: "https://h1.connect.athom.com", RemoteURLForwarded: "https://1-2-3-4.homey.homeylocal.com:4443"}
	want := []Route{{StrategyLocalSecure, "https://10-0-0-2.homey.homeylocal.com"}, {StrategyLocal, "http://10.0.0.2"},
		{StrategyRemoteForwarded, "https://1-2-3-4.homey.homeylocal.com:4443"}, {StrategyCloud, "https://h1.connect.athom.com"}}
	if got := h.Candidates(); !equalRoutes(got, want) {
		t.Errorf("Candidates = %v; want %v", got, want)
	}
	h.Platform = "cloud"
	if got := h.Candidates(); !equalRoutes(got, want[3:]) {
		t.Errorf("Homey Cloud: Candidates = %v; want the relay only", got)
	}
	if got := (Homey{ID: "x", LocalURL: " "}).Candidates(); len(got) != 0 {
		t.Errorf("no URLs: %v", got)
	}
}

func equalRoutes(a, b []Route) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRaceEmulator: the local listener wins; the relay takes over when it stops; an impostor at
// localUrl is rejected.
func TestRaceEmulator(t *testing.T) {
	e := newEmu(t, emulator.Options{})
	h := e.homeys[0]
	ctx := context.Background()

	r, err := Race(ctx, h, nil)
	if err != nil || r != e.local(h) {
		t.Fatalf("Race = %v, %v; want %v", r, err, e.local(h))
	}
	if n := e.count(h, emulator.ViaLocal, pingOpRoute); n != 1 {
		t.Errorf("%d local pings; want 1", n)
	}

	e.srv.StopLocal(h.ID)
	if r, err = Race(ctx, h, nil); err != nil || r != e.relay(h) {
		t.Fatalf("local stopped: Race = %v, %v; want %v", r, err, e.relay(h))
	}
	if err := e.srv.StartLocal(h.ID); err != nil {
		t.Fatal(err)
	}

	e.srv.SetWrongID(h.ID, true)
	e.srv.ResetCounts()
	if r, err = Race(ctx, h, nil); err != nil || r != e.relay(h) {
		t.Fatalf("wrong X-Homey-ID at localUrl: Race = %v, %v; want %v", r, err, e.relay(h))
	}
	if n := e.count(h, emulator.ViaLocal, pingOpRoute); n != 1 {
		t.Errorf("%d pings of the impostor; want 1", n)
	}
}

// raceEnv is a Homey whose four addresses are inline servers with chosen ping answers.
type raceEnv struct {
	h    Homey
	srvs map[string]*testServer // by strategy
	done chan struct{}
}

type pingAnswer int

const (
	pingOK pingAnswer = iota
	pingFalse
	pingWrongHeader
	pingInactive
	pingHang
	pingSlowOK // 150 ms, then OK
	pingDown   // the server is closed
)

func newRaceEnv(t *testing.T, answers map[string]pingAnswer) *raceEnv {
	e := &raceEnv{h: Homey{ID: "h1", Name: "Home"}, srvs: map[string]*testServer{}, done: make(chan struct{})}
	t.Cleanup(func() { close(e.done) })
	for strategy, a := range answers {
		s := newTestServer(t, map[string]http.HandlerFunc{pingOpRoute: e.ping(a)})
		e.srvs[strategy] = s
		u := s.URL
		if a == pingDown {
			s.Close()
		}
		switch strategy {
		case StrategyLocalSecure:
			e.h.LocalURLSecure = u
		case StrategyLocal:
			e.h.LocalURL = u
		case StrategyRemoteForwarded:
			e.h.RemoteURLForwarded = u
		case StrategyCloud:
			e.h.RemoteURL = u
		}
	}
	return e
}

func (e *raceEnv) ping(a pingAnswer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("id") != "h1" || r.Header.Get("X-Homey-ID") != "h1" {
			writeJSON(w, 400, `{"error":"ping without ?id= or X-Homey-ID"}`)
			return
		}
		id := "h1"
		switch a {
		case pingHang:
			hang(e.done)(w, r)
			return
		case pingSlowOK:
			time.Sleep(150 * time.Millisecond)
		case pingWrongHeader:
			id = "h2"
		case pingInactive:
			w.Header().Set("X-Homey-ID", id)
			writeJSON(w, 403, `{"error":"Subscription Inactive","statusCode":403}`)
			return
		}
		w.Header().Set("X-Homey-ID", id)
		if a == pingFalse {
			writeJSON(w, 200, `false`)
			return
		}
		writeJSON(w, 200, `true`)
	}
}

func (e *raceEnv) url(strategy string) string { return e.srvs[strategy].URL }

func TestRaceSelection(t *testing.T) {
	const (
		ls = StrategyLocalSecure
		l  = StrategyLocal
		rf = StrategyRemoteForwarded
		c  = StrategyCloud
	)
	tests := []struct {
		name    string
		answers map[string]pingAnswer
		want    string // winning strategy; "" = an error
		wantErr error
	}{
		{"local beats a faster relay answer order", map[string]pingAnswer{l: pingSlowOK, c: pingOK}, l, nil},
		{"localSecure decides first", map[string]pingAnswer{ls: pingSlowOK, l: pingOK, rf: pingOK, c: pingOK}, ls, nil},
		{"localSecure fails: first other success", map[string]pingAnswer{ls: pingDown, l: pingSlowOK, rf: pingOK, c: pingSlowOK}, rf, nil},
		{"localSecure inactive: that error", map[string]pingAnswer{ls: pingInactive, l: pingOK, c: pingOK}, "", ErrSubscriptionInactive},
		{"local fails: cloud", map[string]pingAnswer{l: pingDown, c: pingOK}, c, nil},
		{"local fails: cloud, not remoteForwarded", map[string]pingAnswer{l: pingFalse, rf: pingOK, c: pingSlowOK}, c, nil},
		{"local and cloud fail: offline even with remoteForwarded", map[string]pingAnswer{l: pingFalse, rf: pingOK, c: pingDown}, "", ErrOffline},
		{"remoteForwarded then cloud", map[string]pingAnswer{rf: pingWrongHeader, c: pingOK}, c, nil},
		{"cloud alone", map[string]pingAnswer{c: pingOK}, c, nil},
		{"cloud inactive", map[string]pingAnswer{c: pingInactive}, "", ErrSubscriptionInactive},
		{"local hangs: cloud after 1 s", map[string]pingAnswer{l: pingHang, c: pingOK}, c, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRaceEnv(t, tt.answers)
			start := time.Now()
			r, err := Race(context.Background(), e.h, nil)
			took := time.Since(start)
			if tt.want == "" {
				if !errors.Is(err, tt.wantErr) || !r.IsZero() {
					t.Fatalf("Race = %v, %v; want %v", r, err, tt.wantErr)
				}
				checkErrText(t, err, `Homey "Home"`)
				if tt.wantErr == ErrSubscriptionInactive && (errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "Subscription Inactive")) {
					t.Errorf("inactive: %q matches ErrOffline or does not say why", err)
				}
				return
			}
			if err != nil || r != (Route{tt.want, e.url(tt.want)}) {
				t.Fatalf("Race = %v, %v; want %s", r, err, tt.want)
			}
			if tt.answers[l] == pingHang && (took < 900*time.Millisecond || took > 3*time.Second) {
				t.Errorf("took %v; want the 1000 ms local timeout", took)
			}
		})
	}
}

// TestRaceOfflineText: every address and its reason on one line; ErrOffline, not inactive.
func TestRaceOfflineText(t *testing.T) {
	e := newRaceEnv(t, map[string]pingAnswer{StrategyLocal: pingWrongHeader, StrategyCloud: pingDown})
	_, err := Race(context.Background(), e.h, nil)
	if !errors.Is(err, ErrOffline) || errors.Is(err, ErrSubscriptionInactive) {
		t.Fatalf("Race = %v; want ErrOffline", err)
	}
	checkErrText(t, err, `Homey "Home" offline`)
	msg := err.Error()
	for _, want := range []string{"local " + e.url(StrategyLocal) + ": ", "X-Homey-ID differs",
		"cloud " + e.url(StrategyCloud) + ": ", "refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not hold %q", msg, want)
		}
	}
	if strings.Contains(msg, pingOpRoute+": ") {
		t.Errorf("error %q repeats the ping operation", msg)
	}
	var oe *OfflineError
	if !errors.As(err, &oe) || len(oe.Routes) != 2 {
		t.Errorf("OfflineError with 2 routes; got %#v", err)
	}
	if _, err := Race(context.Background(), Homey{ID: "h1"}, nil); !errors.Is(err, errNoURL) {
		t.Errorf("no addresses: %v", err)
	}
}

// memRoutes is a Load/Save pair over a map, counting saves.
type memRoutes struct {
	mu    sync.Mutex
	m     map[string]Route
	saves int
	err   error
}

func (m *memRoutes) load(id string) (Route, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[id]
	return r, ok
}

func (m *memRoutes) save(id string, r Route) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saves++
	if m.err != nil {
		return m.err
	}
	m.m[id] = r
	return nil
}

func (m *memRoutes) routes() *Routes { return &Routes{Load: m.load, Save: m.save} }

// TestRoutesRemembered: a remembered route costs no race; a remembered LAN route is pinged once
// per process (per Routes) before a secret is sent; a failing ping races again.
func TestRoutesRemembered(t *testing.T) {
	e := newEmu(t, emulator.Options{})
	h := e.homeys[0]
	ctx := context.Background()
	mem := &memRoutes{m: map[string]Route{}}

	rs := mem.routes()
	r, err := rs.BaseURL(ctx, h, false)
	if err != nil || r != e.local(h) || mem.m[h.ID] != r || mem.saves != 1 {
		t.Fatalf("first BaseURL = %v, %v (saved %v, %d saves); want the local route saved", r, err, mem.m[h.ID], mem.saves)
	}
	e.srv.ResetCounts()
	for _, bearer := range []bool{false, true, true} { // the race pinged it: no more pings
		if r, err := rs.BaseURL(ctx, h, bearer); err != nil || r != e.local(h) {
			t.Fatalf("BaseURL(bearer %v) = %v, %v", bearer, r, err)
		}
	}
	if n := e.srv.Count("*"); n != 0 {
		t.Errorf("remembered route in the same process: %d calls; want 0", n)
	}

	rs = mem.routes() // a new process
	if r, err := rs.BaseURL(ctx, h, false); err != nil || r != e.local(h) {
		t.Fatalf("new process, no bearer: %v, %v", r, err)
	}
	if n := e.srv.Count("*"); n != 0 {
		t.Errorf("remembered route without a bearer: %d calls; want 0", n)
	}
	for range 3 {
		if r, err := rs.BaseURL(ctx, h, true); err != nil || r != e.local(h) {
			t.Fatalf("new process, bearer: %v, %v", r, err)
		}
	}
	if n, all := e.count(h, emulator.ViaLocal, pingOpRoute), e.srv.Count("*"); n != 1 || all != 1 {
		t.Errorf("new process, 3 × bearer: %d local pings, %d calls; want 1, 1", n, all)
	}

	// The remembered relay route needs no ping, even with a bearer.
	mem.m[h.ID] = e.relay(h)
	e.srv.ResetCounts()
	if r, err := mem.routes().BaseURL(ctx, h, true); err != nil || r != e.relay(h) || e.srv.Count("*") != 0 {
		t.Errorf("remembered relay: %v, %v, %d calls; want it with no call", r, err, e.srv.Count("*"))
	}

	// A remembered route that is not one of the Homey's addresses any more: race.
	mem.m[h.ID] = Route{StrategyLocal, "http://127.0.0.1:1"}
	if r, err := mem.routes().BaseURL(ctx, h, false); err != nil || r != e.local(h) {
		t.Errorf("stale remembered route: %v, %v; want a race won by local", r, err)
	}

	// Failed forgets the route.
	rs = mem.routes()
	rs.Failed(h, Route{StrategyCloud, "http://other"}) // not the remembered one: kept
	if mem.m[h.ID] != e.local(h) {
		t.Fatalf("Failed of another route forgot %v", mem.m[h.ID])
	}
	rs.Failed(h, e.local(h))
	if !mem.m[h.ID].IsZero() {
		t.Errorf("after Failed: remembered %v; want none", mem.m[h.ID])
	}

	// A save error is returned.
	boom := errors.New("config sentinel")
	mem.err = boom
	if _, err := mem.routes().BaseURL(ctx, h, false); !errors.Is(err, boom) {
		t.Errorf("save error: %v", err)
	}
}

// TestRoutesWrongIDBeforeBearer: a remembered LAN address now answered by another Homey gets no
// secret: the ping rejects it, the route is forgotten and the relay takes over.
func TestRoutesWrongIDBeforeBearer(t *testing.T) {
	e := newEmu(t, emulator.Options{})
	h := e.homeys[0]
	mem := &memRoutes{m: map[string]Route{h.ID: e.local(h)}}
	e.srv.SetWrongID(h.ID, true)
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: mem.routes()}
	var got int
	err := b.Do(context.Background(), h, func(ctx context.Context, c *Client, bearer string) error {
		m, err := c.Devices(ctx, bearer)
		got = len(m)
		return err
	})
	if err != nil || got == 0 {
		t.Fatalf("Do = %v (%d devices)", err, got)
	}
	if n := e.count(h, emulator.ViaLocal, "*"); n != 2 { // the check ping + the race ping
		t.Errorf("%d requests to the impostor; want 2 pings", n)
	}
	if e.count(h, emulator.ViaLocal, loginOp) != 0 || e.count(h, emulator.ViaLocal, devicesOp) != 0 {
		t.Error("a secret went to the impostor")
	}
	if mem.m[h.ID] != e.relay(h) {
		t.Errorf("remembered %v; want the relay", mem.m[h.ID])
	}
}

// TestBearersRouted: the whole pipeline on the emulator: local first, one login serves both
// routes, the relay takes over when local stops answering, with no new login.
func TestBearersRouted(t *testing.T) {
	e := newEmu(t, emulator.Options{})
	h := e.homeys[0]
	ctx := context.Background()
	cache := &memCache{m: map[string]Bearer{}}
	b := &Bearers{Cloud: e.cloud, Cache: cache, Router: &Routes{}}
	devices := func() error {
		return b.Do(ctx, h, func(ctx context.Context, c *Client, bearer string) error {
			_, err := c.Devices(ctx, bearer)
			return err
		})
	}
	if err := devices(); err != nil {
		t.Fatal(err)
	}
	if br := cache.m[h.ID]; br.BaseURL != h.LocalURL || br.Strategy != StrategyLocal {
		t.Errorf("bearer route %s %s; want local", br.Strategy, br.BaseURL)
	}
	if l, r := e.count(h, emulator.ViaLocal, devicesOp), e.count(h, emulator.ViaRelay, "*"); l != 1 || r != 0 {
		t.Errorf("devices: %d local, %d relay requests; want 1, 0", l, r)
	}
	e.srv.ResetCounts()
	if err := devices(); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count("*"); n != 1 {
		t.Errorf("warm devices: %d calls; want 1", n)
	}

	e.srv.StopLocal(h.ID)
	e.srv.ResetCounts()
	if err := devices(); err != nil {
		t.Fatalf("devices with local stopped: %v", err)
	}
	if n := e.count(h, emulator.ViaRelay, devicesOp); n != 1 {
		t.Errorf("%d devices calls on the relay; want 1", n)
	}
	if n := e.srv.Count(loginOp) + e.srv.Count("POST /delegation/token"); n != 0 {
		t.Errorf("%d login calls after the switch; want 0 (one session works on every route)", n)
	}
	if br := cache.m[h.ID]; br.BaseURL != h.RemoteURL || br.Strategy != StrategyCloud {
		t.Errorf("bearer route %s %s; want cloud", br.Strategy, br.BaseURL)
	}
	tok, err := b.Get(ctx, h)
	if err != nil || tok.BaseURL != h.RemoteURL {
		t.Errorf("Get after the switch: %v, %v", tok, err)
	}
}

// TestBearersRoutedGetRetry: a stale bearer confirmed on a remembered https-like route that
// fails at the network level: Failed, a race and the confirmation on the new route.
func TestBearersRoutedGetRetry(t *testing.T) {
	e := newEmu(t, emulator.Options{})
	h := e.homeys[0]
	ctx := context.Background()
	rs := &Routes{}
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: rs, Trust: time.Nanosecond}
	if _, err := b.Get(ctx, h); err != nil {
		t.Fatal(err)
	}
	e.srv.StopLocal(h.ID) // the route is remembered and was checked by this process
	e.srv.ResetCounts()
	br, err := b.Get(ctx, h)
	if err != nil || br.BaseURL != h.RemoteURL {
		t.Fatalf("Get = %v, %v; want the bearer confirmed through the relay", br, err)
	}
	if n := e.count(h, emulator.ViaRelay, "GET /api/manager/sessions/session/me"); n != 1 {
		t.Errorf("%d session/me on the relay; want 1", n)
	}
	if n := e.srv.Count(loginOp); n != 0 {
		t.Errorf("%d logins; want 0", n)
	}
}

// BenchmarkDevices: a warm devices call on the local route and on the relay (the emulator's
// default relay latency); reports the median.
func BenchmarkDevices(b *testing.B) {
	e := newEmu(b, emulator.Options{})
	h := e.homeys[0]
	ctx := context.Background()
	bs := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}}
	br, err := bs.Get(ctx, h)
	if err != nil {
		b.Fatal(err)
	}
	for _, rt := range []Route{e.local(h), e.relay(h)} {
		name := map[bool]string{true: "local", false: "relay"}[rt.IsLocal()]
		b.Run(name, func(b *testing.B) {
			c := &Client{BaseURL: rt.BaseURL, HomeyID: h.ID}
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := c.Devices(ctx, br.Token); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.ReportMetric(float64(median(took).Microseconds())/1000, "ms-median")
		})
	}
	// A warm Bearers.Do with a Routes router, as the app runs it: the route is remembered and
	// checked, so each call is the devices request on the local route alone.
	b.Run("routed", func(b *testing.B) {
		routed := &Bearers{Cloud: e.cloud, Cache: bs.Cache, Router: &Routes{}}
		fn := func(ctx context.Context, c *Client, bearer string) error {
			_, err := c.Devices(ctx, bearer)
			return err
		}
		if err := routed.Do(ctx, h, fn); err != nil {
			b.Fatal(err)
		}
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			if err := routed.Do(ctx, h, fn); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		b.ReportMetric(float64(median(took).Microseconds())/1000, "ms-median")
	})
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	for i := range s { // insertion sort: small n
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
