package homey

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// The variants the emulator can produce where Athom's official client is lenient
// (docs/protocol.md#tolerance): homeytray takes each of them, and the strict defaults keep passing (the other tests).

// me is the user's Homeys as /user/me lists them now (after SetVariant).
func (e *emu) me(t *testing.T) []Homey {
	t.Helper()
	u, err := e.cloud.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCounts()
	return u.Homeys
}

// devicesWith lists h's devices through b.
func devicesWith(ctx context.Context, b *Bearers, h Homey) (map[string]Device, error) {
	var out map[string]Device
	err := b.Do(ctx, h, func(ctx context.Context, c *Client, bearer string) (err error) {
		out, err = c.Devices(ctx, bearer)
		return err
	})
	return out, err
}

func TestNoHomeyIDHeader(t *testing.T) {
	for _, via := range []string{emulator.ViaRelay, emulator.ViaLocal, emulator.ViaAll} {
		t.Run(via, func(t *testing.T) {
			e := newEmu(t, emulator.Options{NoHomeyID: via})
			h := e.homeys[0]
			ctx := context.Background()
			if r, err := Race(ctx, h, nil); err != nil || r != e.local(h) {
				t.Fatalf("Race = %v, %v; want the LAN address", r, err)
			}
			e.srv.StopLocal(h.ID)
			if r, err := Race(ctx, h, nil); err != nil || r != e.relay(h) {
				t.Fatalf("LAN down: Race = %v, %v; want the relay", r, err)
			}
			if err := e.srv.StartLocal(h.ID); err != nil {
				t.Fatal(err)
			}
			b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: &Routes{}}
			if d, err := devicesWith(ctx, b, h); err != nil || len(d) == 0 {
				t.Fatalf("devices: %d, %v", len(d), err)
			}
		})
	}
}

// TestNoHomeyIDImpostor: without X-Homey-ID on the LAN, another Homey at the address is told
// apart by its ?id= answer (false): no bearer goes there, the relay is used.
func TestNoHomeyIDImpostor(t *testing.T) {
	e := newEmu(t, emulator.Options{NoHomeyID: emulator.ViaLocal})
	h := e.homeys[0]
	e.srv.SetWrongID(h.ID, true)
	ctx := context.Background()
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: &Routes{}}
	if _, err := devicesWith(ctx, b, h); err != nil {
		t.Fatalf("devices: %v", err)
	}
	local := e.count(h, emulator.ViaLocal, "*")
	if pings := e.count(h, emulator.ViaLocal, pingOpRoute); local != pings || pings != 1 {
		t.Errorf("%d requests to the impostor, %d of them pings; want the one ping only", local, pings)
	}
	if n := e.count(h, emulator.ViaRelay, devicesOp); n != 1 {
		t.Errorf("%d devices calls on the relay; want 1", n)
	}
	if _, err := Ping(ctx, nil, h.LocalURL, h.ID); !errors.Is(err, ErrWrongHomey) {
		t.Errorf("Ping of the impostor without X-Homey-ID: %v; want ErrWrongHomey", err)
	}
}

func TestTokenBodies(t *testing.T) {
	for _, body := range []emulator.TokenBody{emulator.TokenBodyJSON, emulator.TokenBodyText, emulator.TokenBodyQuoted} {
		t.Run(body.String(), func(t *testing.T) {
			e := newEmu(t, emulator.Options{TokenBody: body})
			ctx := context.Background()
			jwt, err := e.cloud.DelegationToken(ctx)
			if err != nil || strings.ContainsAny(jwt, "\" \n") || strings.Count(jwt, ".") != 2 {
				t.Fatalf("delegation token: %v (clean JWT: %v)", err, err == nil && !strings.ContainsAny(jwt, "\" \n"))
			}
			h := e.homeys[0]
			c := &Client{BaseURL: h.RemoteURL, HomeyID: h.ID}
			bearer, err := c.Login(ctx, jwt)
			if err != nil || strings.ContainsAny(bearer, "\" \n") {
				t.Fatalf("users/login: %v", err)
			}
			if _, err := c.SessionMe(ctx, bearer); err != nil {
				t.Fatalf("the Homey refused the session token: %v", err)
			}
		})
	}
}

func TestPro2019TrailingSlash(t *testing.T) {
	e := newEmu(t, emulator.Options{})
	if err := e.srv.SetVariant(e.homeys[0].ID, emulator.Variant{APIVersion: 2}); err != nil {
		t.Fatal(err)
	}
	h := e.me(t)[0]
	if h.APIVersion != 2 {
		t.Fatalf("apiVersion %d", h.APIVersion)
	}
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: &Routes{}}
	if d, err := devicesWith(context.Background(), b, h); err != nil || len(d) == 0 {
		t.Fatalf("devices of a Homey Pro 2019: %d, %v", len(d), err)
	}
	if n, m := e.srv.Count(devicesOp+"/"), e.srv.Count(devicesOp); n != 1 || m != 0 {
		t.Errorf("%d calls with the trailing slash, %d without; want 1, 0", n, m)
	}
}

func TestAPIVersion1Refused(t *testing.T) {
	e := newEmu(t, emulator.Options{Variants: map[string]emulator.Variant{"Home": {APIVersion: 1}}})
	h := e.me(t)[0]
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: &Routes{}}
	_, err := b.Get(context.Background(), h)
	var ue *UnsupportedError
	if !errors.Is(err, ErrUnsupportedHomey) || !errors.As(err, &ue) || !strings.Contains(err.Error(), "API version 1") ||
		strings.ContainsAny(err.Error(), "\n") {
		t.Fatalf("Get for an apiVersion 1 Homey: %v", err)
	}
	if n := e.srv.Count("*"); n != 0 {
		t.Errorf("%d calls for a Homey that cannot be signed in to", n)
	}
}

func TestPing403(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		msg  string
		want error
		text string
	}{
		{emulator.PingInvalidSerial, ErrInvalidSerial, "invalid serial number"},
		{emulator.PingSubscriptionInactive, ErrSubscriptionInactive, "subscription inactive"},
	} {
		t.Run(c.msg, func(t *testing.T) {
			e := newEmu(t, emulator.Options{})
			h := e.homeys[0]
			if err := e.srv.SetVariant(h.ID, emulator.Variant{Ping403: c.msg}); err != nil {
				t.Fatal(err)
			}
			_, err := Race(ctx, h, nil)
			if !errors.Is(err, c.want) || errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("Race with every ping 403 %q: %v", c.msg, err)
			}
			// Only the LAN address says so: the relay's answer is used, as the official client does.
			if err := e.srv.SetVariant(h.ID, emulator.Variant{Ping403: c.msg, Ping403Via: emulator.ViaLocal}); err != nil {
				t.Fatal(err)
			}
			if r, err := Race(ctx, h, nil); err != nil || r != e.relay(h) {
				t.Fatalf("Race with the LAN ping 403: %v, %v; want the relay", r, err)
			}
		})
	}
}

func TestHomeyCloudOnlyRelay(t *testing.T) {
	e := newEmu(t, emulator.Options{Variants: map[string]emulator.Variant{"Home": {Platform: "cloud"}}})
	h := e.me(t)[0]
	if h.Platform != "cloud" || h.LocalURL == "" {
		t.Fatalf("/user/me: %+v; want a Homey Cloud that still lists a localUrl", h)
	}
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: &Routes{}}
	if _, err := devicesWith(context.Background(), b, h); err != nil {
		t.Fatal(err)
	}
	if n := e.count(h, emulator.ViaLocal, "*"); n != 0 {
		t.Errorf("%d requests to the localUrl of a Homey Cloud; want 0", n)
	}
}

func TestRemoteForwarded(t *testing.T) {
	e := newEmu(t, emulator.Options{Variants: map[string]emulator.Variant{"Cabin": {Forwarded: true}}})
	h := e.me(t)[1]
	if h.RemoteURLForwarded == "" || h.LocalURL != "" {
		t.Fatalf("/user/me: %+v; want remoteUrlForwarded and no localUrl", h)
	}
	r, err := Race(context.Background(), h, nil)
	if err != nil || r.Strategy != StrategyRemoteForwarded {
		t.Fatalf("Race = %v, %v; want remoteForwarded", r, err)
	}
	b := &Bearers{Cloud: e.cloud, Cache: &memCache{m: map[string]Bearer{}}, Router: &Routes{}}
	if _, err := devicesWith(context.Background(), b, h); err != nil {
		t.Fatal(err)
	}
	if n := e.count(h, emulator.ViaForwarded, devicesOp); n != 1 {
		t.Errorf("%d devices calls through the forwarded port; want 1", n)
	}
}

// TestRelayHeadStart: at home the LAN address answers within the head start and the relay is
// never pinged; with the LAN address refusing, the relay is pinged at once and wins.
func TestRelayHeadStart(t *testing.T) {
	e := newEmu(t, emulator.Options{RelayLatency: -1}) // no latency: a ping that started would be counted
	h := e.homeys[0]
	ctx := context.Background()
	for range 5 {
		if r, err := Race(ctx, h, nil); err != nil || r != e.local(h) {
			t.Fatalf("Race = %v, %v", r, err)
		}
	}
	if n := e.count(h, emulator.ViaRelay, "*"); n != 0 {
		t.Errorf("the relay was pinged %d times although the LAN answered first", n)
	}
	e.srv.StopLocal(h.ID)
	defer func() { _ = e.srv.StartLocal(h.ID) }()
	// A head start of an hour: the relay may only start because the LAN address failed.
	if r, err := race(ctx, h, nil, time.Hour); err != nil || r != e.relay(h) {
		t.Fatalf("LAN down: Race = %v, %v; want the relay at once", r, err)
	}
}

// TestSignInSingleFlight: 16 callers on a Homey that revoked its sessions make one users/login
// between them: goroutines sharing a Gate, and "processes" (Bearers with their own Gate) sharing
// only the cache and a Lock.
func TestSignInSingleFlight(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "one process", false: "many processes"}[shared]
		t.Run(name, func(t *testing.T) {
			e := newEmu(t, emulator.Options{})
			h := e.homeys[0]
			ctx := context.Background()
			cache := &memCache{m: map[string]Bearer{}}
			var lockMu sync.Mutex
			lock := func(context.Context, string) (func(), error) { lockMu.Lock(); return lockMu.Unlock, nil }
			gate := &Gate{}
			newBearers := func() *Bearers {
				b := &Bearers{Cloud: e.cloud, Cache: cache, Router: &Routes{}, Lock: lock}
				if shared {
					b.Gate = gate
				}
				return b
			}
			if _, err := devicesWith(ctx, newBearers(), h); err != nil {
				t.Fatal(err)
			}
			e.srv.RevokeSessions()
			e.srv.ResetCounts()
			one := newBearers()
			var wg sync.WaitGroup
			errs := make([]error, 16)
			for i := range errs {
				wg.Go(func() {
					b := one
					if !shared {
						b = newBearers()
					}
					_, errs[i] = devicesWith(ctx, b, h)
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
			}
			if n, d := e.srv.Count(loginOp), e.srv.Count("POST /delegation/token"); n != 1 || d != 1 {
				t.Errorf("%d users/login and %d delegation calls; want 1 and 1", n, d)
			}
		})
	}
}
