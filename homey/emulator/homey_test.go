package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestPing(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, h := range s.Homeys() {
		for query, want := range map[string]bool{"": true, "?id=" + h.ID: true, "?id=0123456789abcdef01234567": false} {
			r := do(t, http.MethodGet, h.BaseURL+"/api/manager/system/ping"+query, nil, "")
			var got bool
			r.decode(t, &got)
			if r.status != http.StatusOK || got != want {
				t.Errorf("%s ping%s = %d %v, want 200 %v", h.Name, query, r.status, got, want)
			}
			if r.header.Get("X-Homey-ID") != h.ID || r.header.Get("X-Homey-Version") == "" {
				t.Errorf("%s ping: X-Homey-ID %q, X-Homey-Version %q", h.Name, r.header.Get("X-Homey-ID"), r.header.Get("X-Homey-Version"))
			}
		}
	}
}

var sessionTokenPattern = regexp.MustCompile(`^[0-9a-f-]{36}:[0-9a-f-]{36}:[0-9a-f]{40}$`)

func TestUsersLogin(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	h := s.Homeys()[0]
	access := signIn(t, s).AccessToken
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		str, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	now := clk.Now()
	claims := func(sub, aud string) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	tests := []struct {
		name   string
		token  func() string
		status int
	}{
		{"delegation token", func() string { return delegation(t, s, access, "homey") }, http.StatusOK},
		{"audience apps", func() string { return delegation(t, s, access, "apps") }, http.StatusUnauthorized},
		{"expired", func() string { jwt := delegation(t, s, access, "homey"); clk.Add(time.Minute); return jwt }, http.StatusUnauthorized},
		{"other key", func() string { return sign(jwt.SigningMethodRS512, otherKey, claims(fixtureUser.id, "homey")) }, http.StatusUnauthorized},
		{"RS256", func() string { return sign(jwt.SigningMethodRS256, s.key, claims(fixtureUser.id, "homey")) }, http.StatusUnauthorized},
		{"HS512 with the public key", func() string {
			return sign(jwt.SigningMethodHS512, []byte("-----BEGIN PUBLIC KEY-----"), claims(fixtureUser.id, "homey"))
		}, http.StatusUnauthorized},
		{"no exp", func() string {
			return sign(jwt.SigningMethodRS512, s.key, jwt.MapClaims{"sub": fixtureUser.id, "aud": "homey"})
		}, http.StatusUnauthorized},
		{"another user", func() string { return sign(jwt.SigningMethodRS512, s.key, claims("0123456789abcdef01234567", "homey")) }, http.StatusForbidden},
		{"garbage", func() string { return "not.a.jwt" }, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = clk.Now()
			r := login(t, h, tc.token())
			if tc.status != http.StatusOK {
				if r.status != tc.status {
					t.Fatalf("status = %d, want %d", r.status, tc.status)
				}
				return
			}
			var tok string
			r.decode(t, &tok)
			if r.status != http.StatusOK || !sessionTokenPattern.MatchString(tok) {
				t.Fatalf("status %d; token shaped %v, want <uuid>:<uuid>:<40 hex>", r.status, sessionTokenPattern.MatchString(tok))
			}
		})
	}
	for name, body := range map[string]string{"no token": "{}", "number": `{"token":1}`, "not json": "token"} {
		t.Run(name, func(t *testing.T) {
			r := do(t, http.MethodPost, h.BaseURL+"/api/manager/users/login", http.Header{"Content-Type": {"application/json"}}, body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", r.status)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	home, cabin := s.Homeys()[0], s.Homeys()[1]
	me := func(h HomeyInfo, tok string) resp {
		return do(t, http.MethodGet, h.BaseURL+"/api/manager/sessions/session/me", bearer(tok), "")
	}
	tok := homeySession(t, s, home)
	var info sessionDoc
	me(home, tok).decode(t, &info)
	if info.Type != "OAUTH" || info.ID == "" || len(info.IntersectedScopes) == 0 {
		t.Fatalf("session/me = %+v", info)
	}
	me(cabin, tok).wantError(t, http.StatusUnauthorized, "Invalid Session")
	me(home, "").wantError(t, http.StatusUnauthorized, "Invalid Session")

	s.RevokeSessions()
	me(home, tok).wantError(t, http.StatusUnauthorized, "Invalid Session")

	s.SetSessionTTL(time.Minute)
	tok = homeySession(t, s, home)
	clk.Add(59 * time.Second)
	if r := me(home, tok); r.status != http.StatusOK {
		t.Fatalf("59 s old session: status %d", r.status)
	}
	clk.Add(time.Second)
	me(home, tok).wantError(t, http.StatusUnauthorized, "Invalid Session")
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDevicesAndZones(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, h := range s.Homeys() {
		tok := homeySession(t, s, h)
		var devs map[string]device
		var zs map[string]zone
		get := func(path string, v any) {
			r := do(t, http.MethodGet, h.BaseURL+path, bearer(tok), "")
			if r.status != http.StatusOK || r.header.Get("X-Homey-ID") != h.ID {
				t.Fatalf("%s %s: status %d, X-Homey-ID %q", h.Name, path, r.status, r.header.Get("X-Homey-ID"))
			}
			r.decode(t, v)
		}
		get("/api/manager/devices/device", &devs)
		get("/api/manager/zones/zone", &zs)
		var slashDevs map[string]device
		var slashZones map[string]zone
		get("/api/manager/devices/device/", &slashDevs)
		get("/api/manager/zones/zone/", &slashZones)
		if len(devs) < 4 || len(zs) != 3 || len(slashDevs) != len(devs) || len(slashZones) != len(zs) {
			t.Fatalf("%s: %d devices, %d zones (slash variants %d, %d)", h.Name, len(devs), len(zs), len(slashDevs), len(slashZones))
		}
		for id, d := range devs {
			if id != d.ID || !uuidPattern.MatchString(id) || zs[d.Zone].ID != d.Zone || len(d.Capabilities) != len(d.CapabilitiesObj) {
				t.Errorf("%s: device %s (%s) is inconsistent", h.Name, id, d.Name)
			}
		}
		for id, z := range zs {
			if id != z.ID || !uuidPattern.MatchString(id) || z.Parent != nil && zs[*z.Parent].ID == "" {
				t.Errorf("%s: zone %s (%s) is inconsistent", h.Name, id, z.Name)
			}
		}
	}
}

func TestSetCapability(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	h := s.Homeys()[0]
	tok := homeySession(t, s, h)
	lamp := "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	put := func(dev, cap string, value any) int {
		body, _ := json.Marshal(map[string]any{"value": value})
		return do(t, http.MethodPut, h.BaseURL+"/api/manager/devices/device/"+dev+"/capability/"+cap,
			http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}, string(body)).status
	}
	tests := []struct {
		dev, cap string
		value    any
		status   int
	}{
		{lamp, "onoff", false, http.StatusOK},
		{lamp, "dim", 0.75, http.StatusOK},
		{lamp, "dim", 2, http.StatusBadRequest},
		{lamp, "onoff", "yes", http.StatusBadRequest},
		{lamp, "measure_power", 1, http.StatusNotFound},
		{"ae5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b", "measure_temperature", 3, http.StatusBadRequest},
		{"00000000-0000-4000-8000-000000000000", "onoff", true, http.StatusNotFound},
	}
	for _, tc := range tests {
		if got := put(tc.dev, tc.cap, tc.value); got != tc.status {
			t.Errorf("PUT %s/%s = %v: status %d, want %d", tc.dev[:8], tc.cap, tc.value, got, tc.status)
		}
	}
	var d device
	do(t, http.MethodGet, h.BaseURL+"/api/manager/devices/device/"+lamp, bearer(tok), "").decode(t, &d)
	if d.CapabilitiesObj["onoff"].Value != false || d.CapabilitiesObj["dim"].Value != 0.75 {
		t.Errorf("after PUT: onoff %v, dim %v; want false, 0.75", d.CapabilitiesObj["onoff"].Value, d.CapabilitiesObj["dim"].Value)
	}
}
