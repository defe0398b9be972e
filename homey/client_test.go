package homey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// devicesExample is the devices example of docs/protocol.md#devices-and-zones, plus a device without "id".
const devicesExample = `{
  "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d": {
    "id": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "name": "Desk lamp", "zone": "0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a",
    "driverId": "homey:app:com.example:bulb", "class": "light", "virtualClass": null,
    "capabilities": ["onoff", "dim"],
    "capabilitiesObj": {
      "onoff": {"id":"onoff","type":"boolean","getable":true,"setable":true,"title":"Turned on","value":true,"lastUpdated":"2024-01-01T12:00:00.000Z","options":{}},
      "dim":   {"id":"dim","type":"number","getable":true,"setable":true,"title":"Dim level","min":0,"max":1,"step":0.01,"decimals":2,"value":0.4,"lastUpdated":"2024-01-01T12:00:00.000Z","options":{}}
    },
    "available": true, "unavailableMessage": null, "ready": true,
    "flags": [], "ui": {"quickAction": "onoff", "components": []},
    "iconObj": {"id": "abc123", "url": "/icon/abc123/icon.svg"}, "settings": {}, "settingsObj": true
  },
  "no-id": {"name": "Thermometer", "zone": "z2", "class": "sensor", "capabilities": ["measure_temperature"],
    "capabilitiesObj": {"measure_temperature": {"id":"measure_temperature","type":"number","title":"Temperature","units":"°C","value":null}}}
}`

const zonesExample = `{
  "z1": {"id":"z1","name":"Home","parent":null,"icon":"home","active":false,"activeOrigins":[]},
  "z2": {"id":"z2","name":"Living room","parent":"z1","icon":"livingRoom"},
  "z3": {"name":"Attic","parent":"z1"}
}`

func TestDevices(t *testing.T) {
	srv := newTestServer(t, map[string]http.HandlerFunc{devicesOp: jsonHandler(200, devicesExample)})
	c := &Client{BaseURL: srv.URL, HomeyID: "h1"}
	devs, err := c.Devices(context.Background(), "session-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 {
		t.Fatalf("got %d devices; want 2", len(devs))
	}
	lamp := devs["6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
	if lamp.Name != "Desk lamp" || lamp.Class != "light" || lamp.Zone != "0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a" ||
		!reflect.DeepEqual(lamp.Capabilities, []string{"onoff", "dim"}) {
		t.Errorf("lamp = %+v", lamp)
	}
	updated := json.RawMessage(`"2024-01-01T12:00:00.000Z"`)
	wantCaps := map[string]Capability{
		"onoff": {ID: "onoff", Type: "boolean", Title: "Turned on", Value: true, LastUpdated: updated},
		"dim":   {ID: "dim", Type: "number", Title: "Dim level", Value: 0.4, LastUpdated: updated},
	}
	if !reflect.DeepEqual(lamp.CapabilitiesObj, wantCaps) {
		t.Errorf("capabilitiesObj = %+v; want %+v", lamp.CapabilitiesObj, wantCaps)
	}
	if got := lamp.CapabilitiesObj["dim"].Updated(); !got.Equal(time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("dim updated %v", got)
	}
	var raw map[string]any
	if err := json.Unmarshal(lamp.Raw, &raw); err != nil || raw["driverId"] != "homey:app:com.example:bulb" {
		t.Errorf("Raw = %s (%v); want the whole device object", lamp.Raw, err)
	}
	thermo := devs["no-id"]
	if thermo.ID != "no-id" || thermo.CapabilitiesObj["measure_temperature"].Units != "°C" ||
		thermo.CapabilitiesObj["measure_temperature"].Value != nil {
		t.Errorf("device without id = %+v", thermo)
	}
}

func TestZones(t *testing.T) {
	srv := newTestServer(t, map[string]http.HandlerFunc{"GET /api/manager/zones/zone": jsonHandler(200, zonesExample)})
	zones, err := (&Client{BaseURL: srv.URL, HomeyID: "h1"}).Zones(context.Background(), "session-1")
	if err != nil {
		t.Fatal(err)
	}
	z1 := "z1"
	want := map[string]Zone{
		"z1": {ID: "z1", Name: "Home"},
		"z2": {ID: "z2", Name: "Living room", Parent: &z1},
		"z3": {ID: "z3", Name: "Attic", Parent: &z1},
	}
	if !reflect.DeepEqual(zones, want) {
		t.Errorf("zones = %+v; want %+v", zones, want)
	}
}

// TestHomeyHeaders checks what every Homey request carries: X-Homey-ID, User-Agent, and a
// bearer in Authorization except on users/login.
func TestHomeyHeaders(t *testing.T) {
	srv := newTestServer(t, map[string]http.HandlerFunc{
		"GET /api/manager/system/ping": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("id") != "h1" {
				w.WriteHeader(400)
				return
			}
			w.Header().Set("X-Homey-ID", "h1")
			writeJSON(w, 200, `true`)
		},
		"POST /api/manager/users/login": func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Token string }
			if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil || in.Token != "jwt-1" {
				writeJSON(w, 400, `{"error":"bad login body"}`)
				return
			}
			writeJSON(w, 200, `"session-1"`)
		},
		"GET /api/manager/sessions/session/me": jsonHandler(200,
			`{"id":"s1","type":"OAUTH","scopes":["homey"],"intersectedScopes":["homey.device.readonly"]}`),
		devicesOp:                     jsonHandler(200, `{}`),
		"GET /api/manager/zones/zone": jsonHandler(200, `{}`),
	})
	c := &Client{BaseURL: srv.URL + "/", HomeyID: "h1"}
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	tok, err := c.Login(ctx, "jwt-1")
	if err != nil || tok != "session-1" {
		t.Fatalf("Login = %q, %v", tok, err)
	}
	s, err := c.SessionMe(ctx, tok)
	want := &SessionInfo{ID: "s1", Type: "OAUTH", Scopes: []string{"homey"}, IntersectedScopes: []string{"homey.device.readonly"}}
	if err != nil || !reflect.DeepEqual(s, want) {
		t.Fatalf("SessionMe = %+v, %v; want %+v", s, err, want)
	}
	if _, err := c.Devices(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Zones(ctx, tok); err != nil {
		t.Fatal(err)
	}
	wantAuth := []string{"", "", "Bearer session-1", "Bearer session-1", "Bearer session-1"}
	for i, h := range srv.seenHeaders() {
		if h.Get("X-Homey-ID") != "h1" || h.Get("User-Agent") != "homeytray" || h.Get("Authorization") != wantAuth[i] {
			t.Errorf("request %d: X-Homey-ID %q, User-Agent %q, Authorization %q; want h1, homeytray, %q",
				i, h.Get("X-Homey-ID"), h.Get("User-Agent"), h.Get("Authorization"), wantAuth[i])
		}
	}
	if srv.total() != 5 {
		t.Errorf("%d requests; want 5", srv.total())
	}
}

func TestPing(t *testing.T) {
	const op = "GET /api/manager/system/ping"
	answer := func(id string, status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if id != "" {
				w.Header().Set("X-Homey-ID", id)
			}
			writeJSON(w, status, body)
		}
	}
	tests := []struct {
		name   string
		h      http.HandlerFunc
		want   error // errors.Is target; nil = success
		status int   // want an *APIError with this status
	}{
		{"ok", answer("h1", 200, `{"ok":true}`), nil, 0},
		{"ok empty body", answer("h1", 200, ``), nil, 0},
		{"other Homey id", answer("h2", 200, `true`), ErrWrongHomey, 0},
		{"no Homey id: the ?id= answer decides (docs/protocol.md#tolerance)", answer("", 200, `true`), nil, 0},
		{"no Homey id, answers false", answer("", 200, `false`), ErrWrongHomey, 0},
		{"no Homey id, not JSON", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>portal</html>"))
		}, ErrWrongHomey, 0},
		{"no Homey id, broken JSON", answer("", 200, `{"ok":`), ErrWrongHomey, 0},
		{"body false", answer("h1", 200, ` false `), ErrWrongHomey, 0},
		{"subscription inactive", answer("h1", 403, `{"error":"Subscription Inactive","statusCode":403}`), ErrSubscriptionInactive, 403},
		{"invalid serial number", answer("h1", 403, `{"error":"Invalid Serial Number","statusCode":403}`), ErrInvalidSerial, 403},
		{"offline HTML", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
		}, ErrBadResponse, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, map[string]http.HandlerFunc{op: tt.h})
			err := (&Client{BaseURL: srv.URL, HomeyID: "h1"}).Ping(context.Background())
			if tt.want == nil && tt.status == 0 {
				if err != nil {
					t.Fatalf("Ping: %v", err)
				}
				return
			}
			checkErrText(t, err, op)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%q, %v) = false", err, tt.want)
			}
			var ae *APIError
			if got := errors.As(err, &ae); got != (tt.status != 0) || (got && ae.StatusCode != tt.status) {
				t.Errorf("err = %#v; want an APIError with status %d", err, tt.status)
			}
			if tt.want != ErrSubscriptionInactive && errors.Is(err, ErrSubscriptionInactive) {
				t.Errorf("%q matches ErrSubscriptionInactive", err)
			}
		})
	}
}

func TestClientRefusesBadSetup(t *testing.T) {
	ctx := context.Background()
	if _, err := (&Client{BaseURL: "http://127.0.0.1:1"}).Devices(ctx, "b"); !errors.Is(err, errNoHomeyID) {
		t.Errorf("no Homey id: %v", err)
	}
	if err := (&Client{BaseURL: "ftp://x", HomeyID: "h1"}).Ping(ctx); err == nil {
		t.Error("ftp base URL accepted")
	}
	if _, err := (&Client{BaseURL: "", HomeyID: "h1"}).Zones(ctx, "b"); err == nil {
		t.Error("empty base URL accepted")
	}
}

func TestLoginEmptyToken(t *testing.T) {
	srv := newTestServer(t, map[string]http.HandlerFunc{"POST /api/manager/users/login": jsonHandler(200, `""`)})
	_, err := (&Client{BaseURL: srv.URL, HomeyID: "h1"}).Login(context.Background(), "jwt-SECRET")
	checkErrText(t, err, "POST /api/manager/users/login", "jwt-SECRET")
	if !errors.Is(err, ErrBadResponse) {
		t.Errorf("err = %v; want ErrBadResponse", err)
	}
}
