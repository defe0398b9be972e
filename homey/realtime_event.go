package homey

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind uint8

const (
	// KindHomey is an event the Homey sent on a subscribed URI.
	KindHomey EventKind = iota
	// KindConnected: the stream joined the Homey and made every subscription it holds (a
	// refused one is reported by KindSubscribeFailed first). Events the Homey sent while the
	// stream was not connected are lost: read again the state that matters.
	KindConnected
	// KindDisconnected: the connection was lost or could not be made (Err says why); the
	// stream tries again after a pause.
	KindDisconnected
	// KindSubscribeFailed: the Homey refused to subscribe to URI (Err says why: an unknown
	// device, a missing scope); the URI is no longer in the stream's set.
	KindSubscribeFailed
)

// String names the kind: "event", "connected", "disconnected", "subscribe-failed".
func (k EventKind) String() string {
	switch k {
	case KindHomey:
		return "event"
	case KindConnected:
		return "connected"
	case KindDisconnected:
		return "disconnected"
	case KindSubscribeFailed:
		return "subscribe-failed"
	}
	return "kind " + strconv.Itoa(int(k))
}

// Event is what a [Stream] delivers: an event of the Homey (KindHomey) or a change of the
// stream's own state.
type Event struct {
	Kind EventKind
	URI  string // the subscription the event came on (KindHomey, KindSubscribeFailed)
	Name string // the Homey's name for it: "capability", "device.update", …

	// Data is the event's data as the Homey sent it (for device events the same bytes as
	// Device.Raw).
	Data json.RawMessage

	// DeviceID is the device of a homey:device:<id> event or of a device.* event.
	DeviceID string
	// CapabilityID, Value, TransactionID and TransactionTime are those of a "capability"
	// event: the capability, its new value as JSON, and the change's id and time (zero when
	// the Homey sent none or an unreadable one).
	CapabilityID    string
	Value           json.RawMessage
	TransactionID   string
	TransactionTime time.Time
	// Device is the device of a device.create, device.update or device.delete event (for a
	// delete possibly only its ID); nil otherwise.
	Device *Device

	// Missed counts the events lost just before this one because the reader was slow: older
	// values of the same key that this one replaced, and events dropped to make room.
	Missed int
	// Err says why, for KindDisconnected and KindSubscribeFailed.
	Err error
}

// parseEvent reads the (event, data) arguments of an event on uri, and the key under which a
// newer one replaces it in a full queue ("" = none).
func parseEvent(uri string, args []json.RawMessage) (Event, string) {
	ev := Event{Kind: KindHomey, URI: uri}
	if len(args) > 0 {
		_ = json.Unmarshal(args[0], &ev.Name)
	}
	if len(args) > 1 {
		ev.Data = args[1]
	}
	switch id, isDevice := strings.CutPrefix(uri, "homey:device:"); {
	case isDevice:
		ev.DeviceID = id
		if ev.Name != "capability" {
			return ev, ""
		}
		var c struct {
			CapabilityID    string          `json:"capabilityId"`
			Value           json.RawMessage `json:"value"`
			TransactionID   string          `json:"transactionId"`
			TransactionTime json.RawMessage `json:"transactionTime"`
		}
		if json.Unmarshal(ev.Data, &c) != nil || c.CapabilityID == "" {
			return ev, ""
		}
		ev.CapabilityID, ev.Value, ev.TransactionID = c.CapabilityID, c.Value, c.TransactionID
		ev.TransactionTime = jsTime(c.TransactionTime)
		return ev, "capability\x00" + id + "\x00" + c.CapabilityID
	case uri == DevicesURI && strings.HasPrefix(ev.Name, "device."):
		var d Device
		if json.Unmarshal(ev.Data, &d) != nil || d.ID == "" {
			return ev, ""
		}
		d.Raw = ev.Data
		ev.Device, ev.DeviceID = &d, d.ID
		return ev, "device\x00" + d.ID
	}
	return ev, ""
}

// jsTime reads a time as JavaScript clients send it: milliseconds since 1970 (Date.now()) or
// an ISO 8601 string (a Date in JSON); zero for anything else.
func jsTime(raw json.RawMessage) time.Time {
	var ms float64
	if json.Unmarshal(raw, &ms) == nil {
		if ms <= 0 || ms > 1e15 {
			return time.Time{}
		}
		return time.UnixMilli(int64(ms)).UTC()
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
