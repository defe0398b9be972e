package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// rawSocket is a realtime client that writes frames by hand, to see the emulator's answers.
type rawSocket struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialRaw opens base's realtime socket and reads the open packet and the root connect.
func dialRaw(t *testing.T, base string) *rawSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/socket.io/?EIO=3&transport=websocket", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	c := &rawSocket{t: t, ws: ws}
	t.Cleanup(func() { _ = ws.CloseNow() })
	open := c.read()
	var hs struct {
		SID                       string
		Upgrades                  []string
		PingInterval, PingTimeout int
	}
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hs) != nil || hs.SID == "" ||
		hs.PingInterval != 5000 || hs.PingTimeout != 8000 || hs.Upgrades == nil {
		t.Fatalf("open packet %q", open)
	}
	if got := c.read(); got != "40" {
		t.Fatalf("root connect = %q; want 40", got)
	}
	return c
}

func (c *rawSocket) send(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("write %q: %v", msg, err)
	}
}

func (c *rawSocket) read() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return string(b)
}

// ack sends msg and reads the ack with id, returning its error argument's statusCode (0 for
// null) and the whole ack.
func (c *rawSocket) ack(msg, prefix string) (int, string) {
	c.t.Helper()
	c.send(msg)
	got := c.read()
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("after %q got %q; want an ack %q…", msg, got, prefix)
	}
	var args []map[string]any
	_ = json.Unmarshal([]byte(got[len(prefix):]), &args)
	if len(args) == 0 || args[0] == nil {
		return 0, got
	}
	st, _ := args[0]["statusCode"].(float64)
	return int(st), got
}

// TestRealtimeStrict: the handshake, the namespace and the subscriptions are checked like the
// HTTP routes: nothing before the handshake, bad bearers 401, unknown URIs 404, missing scopes
// 403; Engine.IO 4 and polling are refused; pings are answered.
func TestRealtimeStrict(t *testing.T) {
	s := NewServer(t, Options{RelayLatency: -1})
	h := s.Homeys()[0]
	for _, q := range []string{"EIO=4&transport=websocket", "EIO=3&transport=polling", "transport=websocket"} {
		r := do(t, http.MethodGet, h.LocalURL+"/socket.io/?"+q, nil, "")
		if r.status != http.StatusBadRequest {
			t.Errorf("GET /socket.io/?%s = %d; want 400", q, r.status)
		}
	}
	sess := homeySession(t, s, h)
	readKey := s.AddAPIKey(h.ID, []string{"homey.zone.readonly"})
	for _, base := range []string{h.LocalURL, h.BaseURL} {
		c := dialRaw(t, base)
		c.send("2")
		if got := c.read(); got != "3" {
			t.Errorf("pong = %q", got)
		}
		if st, _ := c.ack(`42/api,1["subscribe","homey:manager:devices"]`, "43/api,1"); st != 401 {
			t.Errorf("subscribe before the handshake: %d; want 401", st)
		}
		c.send("40/api,")
		if got := c.read(); !strings.HasPrefix(got, "44/api,") {
			t.Errorf("joining /api before the handshake: %q; want an error packet", got)
		}
		if st, _ := c.ack(`422["handshakeClient",{"token":"nope","homeyId":"`+h.ID+`"}]`, "432"); st != 401 {
			t.Errorf("handshake with a bad token: %d; want 401", st)
		}
		if st, _ := c.ack(`423["handshakeClient",{"token":"`+sess+`","homeyId":"0123456789abcdef01234567"}]`, "433"); st != 400 {
			t.Errorf("handshake for another Homey: %d; want 400", st)
		}
		st, got := c.ack(`424["handshakeClient",{"token":"`+sess+`","homeyId":"`+h.ID+`"}]`, "434")
		if st != 0 || !strings.Contains(got, `"namespace":"/api"`) {
			t.Fatalf("handshake = %q", got)
		}
		if st, _ := c.ack(`425["subscribe","homey:manager:devices"]`, "435"); st != 400 {
			t.Errorf("subscribe on the root namespace: %d; want 400", st)
		}
		c.send("40/api,")
		if got := c.read(); got != "40/api," {
			t.Fatalf("join = %q", got)
		}
		for uri, want := range map[string]int{
			"homey:manager:devices": 0, "homey:device:6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d": 0, "homey:manager:zones": 0,
			"homey:device:nope": 404, "homey:manager:flow": 404, "nonsense": 404,
		} {
			if st, _ := c.ack(`42/api,6["subscribe","`+uri+`"]`, "43/api,6"); st != want {
				t.Errorf("subscribe %s: %d; want %d", uri, st, want)
			}
		}
		if st, _ := c.ack(`42/api,7["bogus",1]`, "43/api,7"); st != 404 {
			t.Errorf("unknown event: %d; want 404", st)
		}
		k := dialRaw(t, base)
		k.ack(`420["handshakeClient",{"token":"`+readKey+`","homeyId":"`+h.ID+`"}]`, "430")
		k.send("40/api,")
		k.read()
		if st, _ := k.ack(`42/api,1["subscribe","homey:device:6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]`, "43/api,1"); st != 403 {
			t.Errorf("a key without homey.device.readonly subscribing to a device: %d; want 403", st)
		}
		if st, _ := k.ack(`42/api,2["subscribe","homey:manager:zones"]`, "43/api,2"); st != 0 {
			t.Errorf("the key subscribing to zones: %d; want 0", st)
		}
		if st, _ := k.ack(`42/api,3["api",{"uri":"homey:manager:devices","operation":"setCapabilityValue","args":{"deviceId":"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","capabilityId":"onoff","value":false}}]`, "43/api,3"); st != 403 {
			t.Errorf("the key setting a value through the api event: %d; want 403", st)
		}
		if st, got := k.ack(`42/api,4["api",{"uri":"homey:manager:zones","operation":"getZones","args":{}}]`, "43/api,4"); st != 0 || !strings.Contains(got, `"name":`) {
			t.Errorf("the key reading zones through the api event: %d %.80s", st, got)
		}
		if st, _ := c.ack(`42/api,8["api",{"uri":"homey:manager:flow","operation":"getFlows","args":{}}]`, "43/api,8"); st != 404 {
			t.Errorf("an unknown api operation: %d; want 404", st)
		}
	}
	if n := s.Count("GET /socket.io/"); n != 4+3 {
		t.Errorf("%d requests to /socket.io/; want 7", n)
	}
}

// TestRealtimeEvents: a value set through HTTP reaches the subscribers of the device and of
// the devices manager, with the transaction the client sent; a session that expires ends its
// socket, and its next handshake is refused.
func TestRealtimeEvents(t *testing.T) {
	s := NewServer(t, Options{RelayLatency: -1})
	h := s.Homeys()[0]
	sess := homeySession(t, s, h)
	c := dialRaw(t, h.LocalURL)
	c.ack(`420["handshakeClient",{"token":"`+sess+`","homeyId":"`+h.ID+`"}]`, "430")
	c.send("40/api,")
	c.read()
	const lamp = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	c.ack(`42/api,1["subscribe","homey:device:`+lamp+`"]`, "43/api,1")
	c.ack(`42/api,2["subscribe","homey:manager:devices"]`, "43/api,2")
	if n := s.RealtimeSubscribers(h.ID, "homey:device:"+lamp); n != 1 {
		t.Fatalf("%d subscribers", n)
	}
	r := do(t, http.MethodPut, h.LocalURL+"/api/manager/devices/device/"+lamp+"/capability/dim",
		http.Header{"Authorization": {"Bearer " + sess}, "Content-Type": {"application/json"}},
		`{"value":0.25,"transactionId":"tx-1","transactionTime":1700000000000}`)
	if r.status != http.StatusOK {
		t.Fatalf("PUT = %d", r.status)
	}
	if got := c.read(); got != `42/api,["homey:device:`+lamp+`","capability",{"capabilityId":"dim","transactionId":"tx-1","transactionTime":1700000000000,"value":0.25}]` {
		t.Errorf("capability event = %s", got)
	}
	up := c.read()
	if !strings.HasPrefix(up, `42/api,["homey:manager:devices","device.update",{"id":"`+lamp+`"`) || !strings.Contains(up, `"value":0.25`) {
		t.Errorf("device.update = %.200s", up)
	}
	// Changes within one millisecond still get strictly later times: the official client
	// drops a change whose time equals the last one's.
	var last float64
	for i := range 20 {
		r := do(t, http.MethodPut, h.LocalURL+"/api/manager/devices/device/"+lamp+"/capability/onoff",
			http.Header{"Authorization": {"Bearer " + sess}, "Content-Type": {"application/json"}}, fmt.Sprintf(`{"value":%v}`, i%2 == 0))
		if r.status != http.StatusOK {
			t.Fatalf("PUT = %d", r.status)
		}
		var ev []json.RawMessage
		_ = json.Unmarshal([]byte(strings.TrimPrefix(c.read(), "42/api,")), &ev)
		c.read() // device.update
		var data struct{ TransactionTime float64 }
		if len(ev) != 3 || json.Unmarshal(ev[2], &data) != nil || data.TransactionTime <= last {
			t.Fatalf("change %d: transaction time %v after %v", i, data.TransactionTime, last)
		}
		last = data.TransactionTime
	}
	s.ExpireSessions()
	if got := c.read(); got != "41/api," {
		t.Errorf("after the expiry: %q; want the Homey's disconnect", got)
	}
	c2 := dialRaw(t, h.LocalURL)
	if st, _ := c2.ack(`420["handshakeClient",{"token":"`+sess+`","homeyId":"`+h.ID+`"}]`, "430"); st != 401 {
		t.Errorf("handshake with the expired session: %d; want 401", st)
	}
}
