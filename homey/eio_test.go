package homey

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDecodePacket reads the frames a Homey and the reference Socket.IO 2 server send, and
// refuses what the reference parser refuses.
func TestDecodePacket(t *testing.T) {
	for _, c := range []struct {
		in   string
		want sioPacket
		bad  bool
	}{
		{in: "0", want: sioPacket{Type: sioConnect, NSP: "/", ID: noAck}},
		{in: "0/api,", want: sioPacket{Type: sioConnect, NSP: "/api", ID: noAck}},
		{in: "0/api", want: sioPacket{Type: sioConnect, NSP: "/api", ID: noAck}},
		{in: "1/api,", want: sioPacket{Type: sioDisconnect, NSP: "/api", ID: noAck}},
		{in: `2["capability",{"a":1}]`, want: sioPacket{Type: sioEvent, NSP: "/", ID: noAck, Data: json.RawMessage(`["capability",{"a":1}]`)}},
		{in: `2/api,["homey:device:x","capability",{}]`, want: sioPacket{Type: sioEvent, NSP: "/api", ID: noAck, Data: json.RawMessage(`["homey:device:x","capability",{}]`)}},
		{in: `20["handshakeClient",{}]`, want: sioPacket{Type: sioEvent, NSP: "/", ID: 0, Data: json.RawMessage(`["handshakeClient",{}]`)}},
		{in: `2/api,12["subscribe","homey:manager:devices"]`, want: sioPacket{Type: sioEvent, NSP: "/api", ID: 12, Data: json.RawMessage(`["subscribe","homey:manager:devices"]`)}},
		{in: `30[null,{"namespace":"/api"}]`, want: sioPacket{Type: sioAck, NSP: "/", ID: 0, Data: json.RawMessage(`[null,{"namespace":"/api"}]`)}},
		{in: `3/api,7[null]`, want: sioPacket{Type: sioAck, NSP: "/api", ID: 7, Data: json.RawMessage(`[null]`)}},
		{in: `4"Not authorized"`, want: sioPacket{Type: sioError, NSP: "/", ID: noAck, Data: json.RawMessage(`"Not authorized"`)}},
		{in: `4/api,{"message":"x"}`, want: sioPacket{Type: sioError, NSP: "/api", ID: noAck, Data: json.RawMessage(`{"message":"x"}`)}},
		{in: `51-["up",{"_placeholder":true,"num":0}]`, want: sioPacket{Type: sioBinaryEvent, Attachments: 1, NSP: "/", ID: noAck, Data: json.RawMessage(`["up",{"_placeholder":true,"num":0}]`)}},
		{in: `2[7]`, want: sioPacket{Type: sioEvent, NSP: "/", ID: noAck, Data: json.RawMessage(`[7]`)}},
		{in: "", bad: true},
		{in: "7", bad: true},
		{in: "x", bad: true},
		{in: `2`, bad: true},                      // an event needs data
		{in: `2{}`, bad: true},                    // an array
		{in: `2[]`, bad: true},                    // with a name
		{in: `2[{}]`, bad: true},                  // that is a string or a number
		{in: `2["a"`, bad: true},                  // of valid JSON
		{in: `1"x"`, bad: true},                   // a disconnect has no data
		{in: `3{}`, bad: true},                    // an ack's data is an array
		{in: `4true`, bad: true},                  // an error a string or an object
		{in: `5-["x"]`, bad: true},                // attachments
		{in: `20000000000000000["x"]`, bad: true}, // an ack id beyond 2^53
		{in: `2/api,["x"]trailing`, bad: true},    // one JSON value
		{in: "0{\"sid\":\"abc\"}", want: sioPacket{Type: sioConnect, NSP: "/", ID: noAck, Data: json.RawMessage(`{"sid":"abc"}`)}},
	} {
		got, err := decodePacket([]byte(c.in))
		if c.bad {
			if !errors.Is(err, errPacket) {
				t.Errorf("decodePacket(%q) = %+v, %v; want errPacket", c.in, got, err)
			}
			continue
		}
		if err != nil || got.Type != c.want.Type || got.NSP != c.want.NSP || got.ID != c.want.ID ||
			got.Attachments != c.want.Attachments || string(got.Data) != string(c.want.Data) {
			t.Errorf("decodePacket(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// TestEncodeMessage writes what the reference client writes.
func TestEncodeMessage(t *testing.T) {
	for _, c := range []struct {
		p    sioPacket
		want string
	}{
		{sioPacket{Type: sioConnect, NSP: "/api", ID: noAck}, "40/api,"},
		{sioPacket{Type: sioConnect, NSP: "/", ID: noAck}, "40"},
		{sioPacket{Type: sioDisconnect, NSP: "/api", ID: noAck}, "41/api,"},
		{sioPacket{Type: sioEvent, NSP: "/", ID: 0, Data: json.RawMessage(`["handshakeClient",{}]`)}, `420["handshakeClient",{}]`},
		{sioPacket{Type: sioEvent, NSP: "/api", ID: 3, Data: json.RawMessage(`["subscribe","u"]`)}, `42/api,3["subscribe","u"]`},
		{sioPacket{Type: sioAck, NSP: "", ID: 9, Data: json.RawMessage(`[null]`)}, `439[null]`},
		{sioPacket{Type: sioBinaryEvent, Attachments: 2, NSP: "/api", ID: noAck, Data: json.RawMessage(`["x"]`)}, `452-/api,["x"]`},
	} {
		if got := string(encodeMessage(c.p)); got != c.want {
			t.Errorf("encodeMessage(%+v) = %q; want %q", c.p, got, c.want)
		}
	}
	msg, err := eventMessage("/api", 4, "unsubscribe", "homey:device:a")
	if err != nil || string(msg) != `42/api,4["unsubscribe","homey:device:a"]` {
		t.Errorf("eventMessage = %q, %v", msg, err)
	}
	if _, err := eventMessage("/", noAck, "x", make(chan int)); err == nil {
		t.Error("eventMessage encoded a channel")
	}
}

// TestParseOpen takes the open packet's ping settings and refuses absurd ones.
func TestParseOpen(t *testing.T) {
	h, err := parseOpen([]byte(`{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":5000}`))
	if err != nil || h.SID != "abc" || h.PingInterval != 25000 || h.PingTimeout != 5000 {
		t.Errorf("parseOpen = %+v, %v", h, err)
	}
	for _, bad := range []string{`{}`, `{"pingInterval":0,"pingTimeout":5}`, `{"pingInterval":5,"pingTimeout":-1}`,
		`{"pingInterval":1e12,"pingTimeout":5}`, `[]`, `{"pingInterval":"5","pingTimeout":5}`, ``} {
		if _, err := parseOpen([]byte(bad)); !errors.Is(err, errPacket) {
			t.Errorf("parseOpen(%s) = %v; want errPacket", bad, err)
		}
	}
}

// TestEventArgs splits an event into its name and arguments.
func TestEventArgs(t *testing.T) {
	name, args, err := eventArgs(json.RawMessage(`["homey:device:a","capability",{"value":true}]`))
	if err != nil || name != "homey:device:a" || len(args) != 2 || string(args[1]) != `{"value":true}` {
		t.Errorf("eventArgs = %q, %q, %v", name, args, err)
	}
	if name, _, err := eventArgs(json.RawMessage(`[42]`)); err != nil || name != "42" {
		t.Errorf("numeric name = %q, %v", name, err)
	}
	for _, bad := range []string{`[]`, `{}`, `[null]`, `[{}]`} {
		if _, _, err := eventArgs(json.RawMessage(bad)); err == nil {
			t.Errorf("eventArgs(%s) took it", bad)
		}
	}
}

// FuzzRealtimePacket: decoding never panics, and what decodes encodes back to a packet that
// decodes the same.
func FuzzRealtimePacket(f *testing.F) {
	for _, s := range []string{"0", "0/api,", `2/api,12["subscribe","homey:manager:devices"]`, `30[null,{"namespace":"/api"}]`,
		`4"x"`, `51-["up",{"_placeholder":true,"num":0}]`, `2/api["x"]`, "1/api", `3/,1[]`, "6", "2/api,99999999999999[\"a\"]",
		`30[{"statusCode":401,"error":"Invalid Session","error_description":"expired\nagain"}]`,
		`2/api,["homey:device:d","capability",{"capabilityId":"onoff","value":true,"transactionTime":"2024-01-01T00:00:00Z"}]`,
		`2/api,["homey:manager:devices","device.update",{"id":"d","capabilitiesObj":{"onoff":{"value":1}}}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		if len(p.NSP) > 0 && bytesContains(p.NSP, ',') {
			t.Fatalf("namespace %q holds a comma", p.NSP)
		}
		var args []json.RawMessage
		_ = json.Unmarshal(p.Data, &args)
		switch p.Type { // what the client does with a packet's data never panics, and errors stay one line
		case sioAck, sioError:
			if err := ackError("op", args); err != nil && strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("ack error on two lines: %q", err)
			}
		case sioEvent:
			if name, rest, err := eventArgs(p.Data); err == nil {
				parseEvent(name, rest)
				parseEvent(DeviceURI("d"), rest)
				parseEvent(DevicesURI, rest)
			}
		}
		again, err := decodePacket(encodeMessage(p)[1:])
		if err != nil {
			if p.NSP != "/" && len(p.NSP) > 0 && p.Data == nil && p.ID == noAck {
				return // "0/a" encodes as "0/a,": same packet, but a namespace of digits may not round trip
			}
			t.Fatalf("re-decoding %q: %v", encodeMessage(p), err)
		}
		if again.Type != p.Type || again.ID != p.ID || string(again.Data) != string(p.Data) || again.Attachments != p.Attachments {
			t.Fatalf("round trip of %q: %+v != %+v", b, again, p)
		}
	})
}

func bytesContains(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
