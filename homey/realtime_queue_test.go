package homey

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
)

func capEvent(dev, capID string, v int) (Event, string) {
	data := json.RawMessage(fmt.Sprintf(`{"capabilityId":%q,"value":%d}`, capID, v))
	return parseEvent(DeviceURI(dev), []json.RawMessage{json.RawMessage(`"capability"`), data})
}

// drain pops every queued event.
func drain(q *eventQueue) []Event {
	var out []Event
	for {
		ev, ok := q.pop()
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

// TestQueueKeepsEverythingWhileThereIsRoom: below the limit nothing is coalesced or dropped.
func TestQueueKeepsEverythingWhileThereIsRoom(t *testing.T) {
	q := newEventQueue(10, 1<<20)
	for i := range 10 {
		q.push(capEvent("d1", "dim", i))
	}
	got := drain(q)
	if len(got) != 10 {
		t.Fatalf("got %d events; want 10", len(got))
	}
	for i, ev := range got {
		if string(ev.Value) != strconv.Itoa(i) || ev.Missed != 0 {
			t.Errorf("event %d = value %s missed %d", i, ev.Value, ev.Missed)
		}
	}
}

// TestQueueCoalescesWhenFull: a full queue keeps the newest value of each device and
// capability, in the order of the newest values, and counts what it replaced.
func TestQueueCoalescesWhenFull(t *testing.T) {
	q := newEventQueue(3, 1<<20)
	q.push(capEvent("d1", "onoff", 0))
	q.push(capEvent("d2", "dim", 0))
	q.push(capEvent("d1", "dim", 0))
	for i := 1; i <= 5; i++ {
		q.push(capEvent("d1", "onoff", i)) // replaces d1/onoff, moved to the back
	}
	q.push(capEvent("d2", "dim", 9))
	got := drain(q)
	want := []struct {
		dev, capID, val string
		missed          int
	}{{"d1", "dim", "0", 0}, {"d1", "onoff", "5", 5}, {"d2", "dim", "9", 1}}
	if len(got) != len(want) {
		t.Fatalf("got %d events; want %d", len(got), len(want))
	}
	for i, w := range want {
		if ev := got[i]; ev.DeviceID != w.dev || ev.CapabilityID != w.capID || string(ev.Value) != w.val || ev.Missed != w.missed {
			t.Errorf("event %d = %s/%s=%s missed %d; want %+v", i, ev.DeviceID, ev.CapabilityID, ev.Value, ev.Missed, w)
		}
	}
}

// TestQueueDropsOldestWithoutKey: events that no newer one can replace are dropped oldest
// first, and the next event delivered counts them.
func TestQueueDropsOldestWithoutKey(t *testing.T) {
	q := newEventQueue(2, 1<<20)
	for i := range 5 {
		q.push(Event{Kind: KindHomey, URI: "homey:flow:x", Name: strconv.Itoa(i)}, "")
	}
	got := drain(q)
	if len(got) != 2 || got[0].Name != "3" || got[0].Missed != 3 || got[1].Name != "4" || got[1].Missed != 0 {
		t.Errorf("got %+v", got)
	}
	q.push(Event{Name: "later"}, "")
	if got := drain(q); len(got) != 1 || got[0].Missed != 0 {
		t.Errorf("the loss was counted twice: %+v", got)
	}
}

// TestQueueBytes: the byte budget counts as much as the number of events.
func TestQueueBytes(t *testing.T) {
	big := json.RawMessage(`"` + string(make([]byte, 1000)) + `"`)
	q := newEventQueue(100, 3*(len(big)+eventOverhead))
	for i := range 10 {
		q.push(Event{Name: strconv.Itoa(i), Data: big}, "")
	}
	if n := q.len(); n != 3 {
		t.Errorf("%d events queued; want 3", n)
	}
	if got := drain(q); got[0].Missed != 7 || q.bytes != 0 {
		t.Errorf("first event missed %d (want 7); %d bytes left", got[0].Missed, q.bytes)
	}
}

// TestParseEvent reads the events of the official client's kinds.
func TestParseEvent(t *testing.T) {
	ev, key := parseEvent(DeviceURI("d1"), []json.RawMessage{json.RawMessage(`"capability"`),
		json.RawMessage(`{"capabilityId":"onoff","value":true,"transactionId":"tx","transactionTime":1704110400000}`)})
	if ev.DeviceID != "d1" || ev.CapabilityID != "onoff" || string(ev.Value) != "true" || ev.TransactionID != "tx" ||
		ev.TransactionTime.UnixMilli() != 1704110400000 || key == "" {
		t.Errorf("capability event = %+v key %q", ev, key)
	}
	ev, _ = parseEvent(DeviceURI("d1"), []json.RawMessage{json.RawMessage(`"capability"`),
		json.RawMessage(`{"capabilityId":"dim","value":0.5,"transactionTime":"2024-01-01T12:00:00.250Z"}`)})
	if ev.TransactionTime.UnixMilli() != 1704110400250 {
		t.Errorf("ISO transaction time = %v", ev.TransactionTime)
	}
	ev, key = parseEvent(DevicesURI, []json.RawMessage{json.RawMessage(`"device.update"`),
		json.RawMessage(`{"id":"d2","name":"Lamp","capabilitiesObj":{"onoff":{"id":"onoff","value":false}}}`)})
	if ev.Device == nil || ev.DeviceID != "d2" || ev.Device.Name != "Lamp" || string(ev.Device.Raw) != string(ev.Data) || key == "" {
		t.Errorf("device event = %+v", ev)
	}
	ev, key = parseEvent("homey:manager:flow", []json.RawMessage{json.RawMessage(`"flow.update"`), json.RawMessage(`{"id":"f"}`)})
	if ev.Name != "flow.update" || string(ev.Data) != `{"id":"f"}` || ev.Device != nil || key != "" {
		t.Errorf("other event = %+v key %q", ev, key)
	}
	for _, bad := range []string{`nonsense`, `-5`, `"yesterday"`, `{}`, `1e300`} {
		if tt := jsTime(json.RawMessage(bad)); !tt.IsZero() {
			t.Errorf("jsTime(%s) = %v", bad, tt)
		}
	}
}

// TestCheckURI accepts homey:<kind>:<id> only.
func TestCheckURI(t *testing.T) {
	for _, ok := range []string{DevicesURI, DeviceURI("6a1b2c3d-4e5f"), "homey:zone:z1"} {
		if err := checkURI(ok); err != nil {
			t.Errorf("checkURI(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "homey", "homey:device:", "athom:device:x", "homey::x", "homey:device:a b", "homey:device:\x00", "homey:device:é"} {
		if err := checkURI(bad); err == nil {
			t.Errorf("checkURI(%q) took it", bad)
		}
	}
}
