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

	"golang.org/x/oauth2"
)

const (
	routeDelegation = "POST /delegation/token"
	routeLogin      = "POST /api/manager/users/login"
	routeSessionMe  = "GET /api/manager/sessions/session/me"
)

// memCache is an in-memory BearerCache with injectable errors.
type memCache struct {
	mu                        sync.Mutex
	m                         map[string]Bearer
	loadErr, saveErr, dropErr error
	saves, drops              int
}

func (c *memCache) LoadBearer(id string) (*Bearer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loadErr != nil {
		return nil, c.loadErr
	}
	b, ok := c.m[id]
	if !ok {
		return nil, nil
	}
	return &b, nil
}

func (c *memCache) SaveBearer(b *Bearer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saves++
	if c.saveErr != nil {
		return c.saveErr
	}
	c.m[b.HomeyID] = *b
	return nil
}

func (c *memCache) DropBearer(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drops++
	if c.dropErr != nil {
		return c.dropErr
	}
	delete(c.m, id)
	return nil
}

// homeyFake is the cloud (delegation) and Homey h1 (login, session/me, devices) in one.
type homeyFake struct {
	mu               sync.Mutex
	valid            map[string]bool
	logins           int
	devicesAlways401 bool
}

func (f *homeyFake) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		routeDelegation: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer athom" {
				writeJSON(w, 401, `{"error":"invalid_token"}`)
				return
			}
			writeJSON(w, 200, `"jwt-1"`)
		},
		routeLogin:     f.login,
		routeSessionMe: f.authed(`{"id":"s1","type":"OAUTH","scopes":["homey"],"intersectedScopes":[]}`),
		devicesOp:      f.authed(`{"d1":{"id":"d1","name":"Lamp"}}`),
	}
}

func (f *homeyFake) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Token string }
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Homey-ID") != "h1" ||
		json.NewDecoder(r.Body).Decode(&in) != nil || in.Token != "jwt-1" {
		writeJSON(w, 400, `{"error":"bad login"}`)
		return
	}
	f.mu.Lock()
	f.logins++
	tok := fmt.Sprintf("session-%d", f.logins)
	f.valid[tok] = true
	f.mu.Unlock()
	writeJSON(w, 200, `"`+tok+`"`)
}

func (f *homeyFake) authed(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		ok := f.valid[tok] && !(f.devicesAlways401 && r.URL.Path == "/api/manager/devices/device")
		f.mu.Unlock()
		if r.Header.Get("X-Homey-ID") != "h1" || !ok {
			writeJSON(w, 401, `{"error":"Invalid Session","error_description":"Session expired"}`)
			return
		}
		writeJSON(w, 200, body)
	}
}

// bearerEnv wires Bearers to a homeyFake and a memCache, with a fixed clock.
type bearerEnv struct {
	srv   *testServer
	fake  *homeyFake
	cache *memCache
	b     *Bearers
	h     Homey
	now   time.Time
}

func newBearerEnv(t *testing.T) *bearerEnv {
	fake := &homeyFake{valid: map[string]bool{}}
	srv := newTestServer(t, fake.routes())
	e := &bearerEnv{srv: srv, fake: fake, cache: &memCache{m: map[string]Bearer{}},
		h: Homey{ID: "h1", Name: "Home", RemoteURL: srv.URL + "/"}, now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	e.b = &Bearers{
		Cloud: &Cloud{BaseURL: srv.URL, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "athom"})},
		Cache: e.cache,
		Now:   func() time.Time { return e.now },
	}
	return e
}

// cached puts a bearer confirmed ago into the cache; valid says whether the Homey accepts it.
func (e *bearerEnv) cached(tok string, ago time.Duration, valid bool) *Bearer {
	b := Bearer{Token: tok, HomeyID: "h1", BaseURL: e.srv.URL, Strategy: StrategyCloud, IssuedAt: e.now.Add(-48 * time.Hour), ConfirmedAt: e.now.Add(-ago)}
	e.cache.m["h1"] = b
	e.fake.valid[tok] = valid
	return &b
}

func (e *bearerEnv) checkCalls(t *testing.T, want map[string]int) {
	t.Helper()
	total := 0
	for route, n := range want {
		total += n
		if got := e.srv.count(route); got != n {
			t.Errorf("%s: %d calls; want %d", route, got, n)
		}
	}
	if got := e.srv.total(); got != total {
		t.Errorf("%d HTTP calls in all; want %d", got, total)
	}
}

func TestBearersGet(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(e *bearerEnv)
		calls  map[string]int
		token  string
		issued time.Duration // want IssuedAt = now - issued
		saves  int
		drops  int
		// confirmedAgo: want ConfirmedAt = now - confirmedAgo when no call was made
		confirmedAgo time.Duration
	}{
		{name: "none", setup: func(*bearerEnv) {},
			calls: map[string]int{routeDelegation: 1, routeLogin: 1}, token: "session-1", saves: 1},
		{name: "cached fresh", setup: func(e *bearerEnv) { e.cached("cached", 5*time.Minute, true) },
			calls: map[string]int{}, token: "cached", issued: 48 * time.Hour, confirmedAgo: 5 * time.Minute},
		{name: "cached fresh, revoked: trusted anyway", setup: func(e *bearerEnv) { e.cached("cached", 14*time.Minute, false) },
			calls: map[string]int{}, token: "cached", issued: 48 * time.Hour, confirmedAgo: 14 * time.Minute},
		{name: "cached stale", setup: func(e *bearerEnv) { e.cached("cached", 20*time.Minute, true) },
			calls: map[string]int{routeSessionMe: 1}, token: "cached", issued: 48 * time.Hour, saves: 1},
		{name: "cached exactly Trust old", setup: func(e *bearerEnv) { e.cached("cached", DefaultTrust, true) },
			calls: map[string]int{routeSessionMe: 1}, token: "cached", issued: 48 * time.Hour, saves: 1},
		{name: "confirmed in the future", setup: func(e *bearerEnv) { e.cached("cached", -time.Hour, true) },
			calls: map[string]int{routeSessionMe: 1}, token: "cached", issued: 48 * time.Hour, saves: 1},
		{name: "custom Trust", setup: func(e *bearerEnv) { e.b.Trust = time.Minute; e.cached("cached", 2*time.Minute, true) },
			calls: map[string]int{routeSessionMe: 1}, token: "cached", issued: 48 * time.Hour, saves: 1},
		// One session token works on every route: the trust window does not depend on it.
		{name: "cached for another URL: trusted, saved with the new route", setup: func(e *bearerEnv) {
			e.cached("cached", time.Minute, true)
			b := e.cache.m["h1"]
			b.BaseURL, b.Strategy = "http://old.invalid", StrategyLocal
			e.cache.m["h1"] = b
		}, calls: map[string]int{}, token: "cached", issued: 48 * time.Hour, saves: 1, confirmedAgo: time.Minute},
		{name: "cached before routes (no strategy): no save", setup: func(e *bearerEnv) {
			e.cached("cached", time.Minute, true)
			b := e.cache.m["h1"]
			b.Strategy = ""
			e.cache.m["h1"] = b
		}, calls: map[string]int{}, token: "cached", issued: 48 * time.Hour, confirmedAgo: time.Minute},
		{name: "cached for another Homey", setup: func(e *bearerEnv) {
			e.cached("cached", time.Minute, true)
			b := e.cache.m["h1"]
			b.HomeyID = "h2"
			e.cache.m["h1"] = b
		}, calls: map[string]int{routeDelegation: 1, routeLogin: 1}, token: "session-1", saves: 1},
		{name: "cached stale, 401", setup: func(e *bearerEnv) { e.cached("cached", 20*time.Minute, false) },
			calls: map[string]int{routeSessionMe: 1, routeDelegation: 1, routeLogin: 1}, token: "session-1", saves: 1, drops: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBearerEnv(t)
			tt.setup(e)
			br, err := e.b.Get(context.Background(), e.h)
			if err != nil {
				t.Fatal(err)
			}
			e.checkCalls(t, tt.calls)
			want := Bearer{Token: tt.token, HomeyID: "h1", BaseURL: e.srv.URL, Strategy: StrategyCloud,
				IssuedAt: e.now.Add(-tt.issued), ConfirmedAt: e.now}
			if len(tt.calls) == 0 {
				want.ConfirmedAt = e.now.Add(-tt.confirmedAgo) // handed out as cached
			}
			if *br != want {
				t.Errorf("Get = %+v\nwant  %+v", *br, want)
			}
			if e.cache.saves != tt.saves || e.cache.drops != tt.drops {
				t.Errorf("%d saves, %d drops; want %d, %d", e.cache.saves, e.cache.drops, tt.saves, tt.drops)
			}
			if got := e.cache.m["h1"]; tt.saves > 0 && got != want {
				t.Errorf("cache holds %+v; want %+v", got, want)
			}
		})
	}
}

func TestBearersCacheErrors(t *testing.T) {
	errCache := errors.New("keychain sentinel")
	tests := []struct {
		name  string
		setup func(e *bearerEnv)
		calls map[string]int
	}{
		{"load", func(e *bearerEnv) { e.cache.loadErr = errCache }, map[string]int{}},
		{"save after login", func(e *bearerEnv) { e.cache.saveErr = errCache },
			map[string]int{routeDelegation: 1, routeLogin: 1}},
		{"save after confirm", func(e *bearerEnv) { e.cached("c", time.Hour, true); e.cache.saveErr = errCache },
			map[string]int{routeSessionMe: 1}},
		{"drop after 401", func(e *bearerEnv) { e.cached("c", time.Hour, false); e.cache.dropErr = errCache },
			map[string]int{routeSessionMe: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBearerEnv(t)
			tt.setup(e)
			br, err := e.b.Get(context.Background(), e.h)
			if br != nil || !errors.Is(err, errCache) {
				t.Fatalf("Get = %v, %v; want no bearer and the cache error", br, err)
			}
			if strings.Contains(err.Error(), "session-") {
				t.Errorf("error %q holds a bearer", err)
			}
			e.checkCalls(t, tt.calls)
		})
	}
}

func TestBearersGetErrors(t *testing.T) {
	e := newBearerEnv(t)
	if _, err := e.b.Get(context.Background(), Homey{ID: "h1", LocalURL: "http://192.168.1.2"}); !errors.Is(err, errNoURL) {
		t.Errorf("no remote URL: %v", err)
	}
	if _, err := e.b.Get(context.Background(), Homey{RemoteURL: e.srv.URL}); !errors.Is(err, errNoHomeyID) {
		t.Errorf("no id: %v", err)
	}
	e.fake.valid["c"] = true
	e.cached("c", time.Hour, true)
	e.srv.setRoute(routeSessionMe, jsonHandler(500, `{"error":"boom"}`))
	if _, err := e.b.Get(context.Background(), e.h); IsUnauthorized(err) || err == nil || e.cache.drops != 0 {
		t.Errorf("session/me 500: %v, %d drops; want the error and no drop", err, e.cache.drops)
	}
	e.checkCalls(t, map[string]int{routeSessionMe: 1})
}

func TestBearersNoCache(t *testing.T) {
	e := newBearerEnv(t)
	e.b.Cache = nil
	for range 2 {
		if _, err := e.b.Get(context.Background(), e.h); err != nil {
			t.Fatal(err)
		}
	}
	e.checkCalls(t, map[string]int{routeDelegation: 2, routeLogin: 2})
}
