package homey

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNormalizeAddress(t *testing.T) {
	good := map[string]string{
		"192.168.1.20":                              "http://192.168.1.20",
		" http://192.168.1.20/ ":                    "http://192.168.1.20",
		"http://homey.local:8080":                   "http://homey.local:8080",
		"https://192-168-1-20.homey.homeylocal.com": "https://192-168-1-20.homey.homeylocal.com",
	}
	for in, want := range good {
		if got, err := NormalizeAddress(in); err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ftp://x", "http://", "http://x/api", "http://u:p@x", "http://x?a=1"} {
		if got, err := NormalizeAddress(in); err == nil {
			t.Errorf("NormalizeAddress(%q) = %q, want an error", in, got)
		}
	}
}

func TestHasScope(t *testing.T) {
	for _, c := range []struct {
		scopes []string
		want   bool
	}{
		{[]string{"homey"}, true},
		{[]string{"homey.device"}, true},
		{[]string{"homey.device.readonly"}, true},
		{[]string{"homey.device.control", "homey.zone.readonly"}, false},
		{[]string{"homey.dev"}, false},
		{nil, false},
	} {
		if got := HasScope(c.scopes, ScopeDevices); got != c.want {
			t.Errorf("HasScope(%q) = %v", c.scopes, got)
		}
	}
}

// pingReply answers a ping with status, the X-Homey-ID id (none when "") and body.
func pingReply(status int, id, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if id != "" {
			w.Header().Set("X-Homey-ID", id)
		}
		writeJSON(w, status, body)
	}
}

func TestPingAddress(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name            string
		answer          http.HandlerFunc
		wantID          string
		id              string // the id Ping returns
		notHomey, wrong bool
	}{
		{"any Homey", pingReply(200, "h1", "true"), "", "h1", false, false},
		{"that Homey", pingReply(200, "h1", "true"), "h1", "h1", false, false},
		{"another Homey", pingReply(200, "h2", "true"), "h1", "", false, true},
		{"answers false", pingReply(200, "h1", " false\n"), "h1", "", false, true},
		{"false without an id asked", pingReply(200, "h1", "false"), "", "h1", false, false},
		{"no X-Homey-ID", pingReply(200, "", "true"), "", "", true, true},
		{"404 with an id", pingReply(404, "h1", `{"error":"not_found"}`), "h1", "", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newTestServer(t, map[string]http.HandlerFunc{pingOpRoute: c.answer})
			id, err := Ping(ctx, nil, srv.URL, c.wantID)
			var pe *PingError
			switch {
			case c.wrong && (!errors.As(err, &pe) || !errors.Is(err, ErrWrongHomey) || pe.NotHomey() != c.notHomey):
				t.Fatalf("Ping = %q, %v; want a PingError with NotHomey %v", id, err, c.notHomey)
			case c.wrong && (pe.BaseURL != srv.URL || pe.WantID != c.wantID || strings.Contains(err.Error(), "\n")):
				t.Errorf("PingError %+v (%q)", pe, err)
			case !c.wrong && (err != nil || id != c.id):
				t.Fatalf("Ping = %q, %v; want %q", id, err, c.id)
			}
			h := srv.seenHeaders()[0]
			if h.Get("X-Homey-ID") != c.wantID || h.Get("Authorization") != "" || h.Get("User-Agent") != userAgent {
				t.Errorf("ping headers %v", h)
			}
		})
	}
}

func TestPingQueryCarriesID(t *testing.T) {
	var query string
	srv := newTestServer(t, map[string]http.HandlerFunc{pingOpRoute: func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		pingReply(200, "a b", "true")(w, r)
	}})
	if _, err := Ping(context.Background(), nil, srv.URL, "a b"); err != nil || query != "id=a+b" {
		t.Errorf("Ping: %v, query %q", err, query)
	}
	if _, err := Ping(context.Background(), nil, srv.URL, ""); err != nil || query != "" {
		t.Errorf("Ping without an id: %v, query %q", err, query)
	}
}

func TestPingUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	_, err = Ping(context.Background(), &http.Client{Timeout: 5 * time.Second}, base, "h1")
	if !IsNetworkError(err) {
		t.Fatalf("Ping of a closed port: %v, want a network error", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "ping "+base+": ") || strings.Count(msg, base) != 1 {
		t.Errorf("error %q: want the address once, after \"ping\"", msg)
	}
	if _, err := Ping(context.Background(), nil, "http://[::1", ""); err == nil || IsNetworkError(err) {
		t.Errorf("Ping of a broken address: %v, want an error that is no network error", err)
	}
}

func TestPinged(t *testing.T) {
	ctx := context.Background()
	id := "h1"
	srv := newTestServer(t, map[string]http.HandlerFunc{pingOpRoute: pingReply(200, "h1", "true")})
	var p Pinged
	for range 3 {
		if err := p.Check(ctx, nil, srv.URL, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.count(pingOpRoute); n != 1 {
		t.Errorf("three checks within a minute pinged %d times, want 1", n)
	}
	p.Forget(id, srv.URL)
	if err := p.Check(ctx, nil, srv.URL, id); err != nil || srv.count(pingOpRoute) != 2 {
		t.Errorf("check after Forget: %v, %d pings, want 2", err, srv.count(pingOpRoute))
	}

	// Another Homey at the address: an error, and the old proof is gone.
	srv.setRoute(pingOpRoute, pingReply(200, "h2", "true"))
	p.Valid = time.Nanosecond
	time.Sleep(time.Millisecond)
	if err := p.Check(ctx, nil, srv.URL, id); !errors.Is(err, ErrWrongHomey) {
		t.Fatalf("check with another Homey there: %v, want ErrWrongHomey", err)
	}
	p.Valid = 0
	if err := p.Check(ctx, nil, srv.URL, id); !errors.Is(err, ErrWrongHomey) || srv.count(pingOpRoute) != 4 {
		t.Errorf("a failed check is no proof: %v, %d pings, want 4", err, srv.count(pingOpRoute))
	}
	// A proof is per Homey and address.
	srv.setRoute(pingOpRoute, pingReply(200, "h2", "true"))
	if err := p.Check(ctx, nil, srv.URL, "h2"); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(ctx, nil, srv.URL, id); err == nil {
		t.Error("h2's proof counted for h1")
	}
}
