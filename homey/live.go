package homey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Live keeps a Homey's devices current: the list read over HTTP, then the Homey's realtime
// events applied to it, so that its reader sees each capability change once and in order, and
// none go missing across reconnects. Events sent while the stream was not connected are lost
// (the Homey replays nothing), so after every connect, once every subscription is made, Live
// reads the devices again and reports each capability whose value or lastUpdated moved since
// it last knew it: the value it has now, marked CaughtUp. A capability that changed several
// times while disconnected gives one such change; the final value is never missed.
//
// An event and a read of the devices may tell the same change: the event after the read, or
// the read after the event. Both carry the Homey's clock, the event as its transactionTime and
// the device as the capability's lastUpdated, which the Homey sets from it (Athom's own client
// drops an event whose transactionTime equals the lastUpdated it has, homey-api's
// DeviceCapability.js). So an event no later than what Live knows of its capability, and with
// the same value, is that change again (or an older one) and is not reported; without a time
// on either side the value alone decides. An event with another value is always reported,
// whatever its time: a client may send its own transactionTime, from a clock that is ahead,
// and no change after it may be lost for that. (So two changes within one read of the devices
// may show as the later one, then the earlier, then the later again: the last is right.)
type Live struct {
	stream *Stream
	list   ListFunc
	only   map[string]bool // the devices to follow; nil = every one, also those added later

	devices map[string]Device
	zones   map[string]Zone
	shared  bool            // devices was handed to the reader: copy it before a change
	asked   map[string]bool // zones looked for once, after a device named one not known
}

// ListFunc reads a Homey's devices and zones, e.g. [ListDevices] with zones.
type ListFunc func(ctx context.Context) (map[string]Device, map[string]Zone, error)

// LiveChange is one capability value that changed.
type LiveChange struct {
	DeviceID, CapabilityID string
	Value                  json.RawMessage // as the Homey sent it
	// Time is the Homey's time of the change: an event's transactionTime, a caught-up
	// capability's lastUpdated; zero when the Homey did not say.
	Time time.Time
	// CaughtUp: read from the devices after a reconnect, the event itself having been lost;
	// more than one change may lie behind it.
	CaughtUp bool
}

// LiveUpdate is one report of [Live.Run].
type LiveUpdate struct {
	// Devices and Zones are all that Live knows now. Live never changes a map it reported:
	// the reader may keep them. A device's Raw is as the Homey last sent the whole device (its
	// values may have changed since); CapabilitiesObj holds the values now.
	Devices map[string]Device
	Zones   map[string]Zone
	// Changes are the capability changes since the last report, in order.
	Changes []LiveChange
	// Connected: the connection is up, every subscription made and the devices caught up (after
	// the first connection and after every reconnect).
	Connected bool
	// Lost says why the connection was lost or could not be made; Live reconnects by itself.
	Lost error

	changed bool // Devices changed (a name, a device added or gone, a value)
}

// NewLive makes a Live for the devices and zones read at start (by list, say): a stream with
// src and o, and list to catch up after each connect. only names the device ids to follow
// (none: every device, and the ones added later).
func NewLive(src BearerSource, list ListFunc, devices map[string]Device, zones map[string]Zone, only []string, o StreamOptions) *Live {
	l := &Live{stream: NewStream(src, o), list: list, devices: maps.Clone(devices), zones: zones}
	if l.devices == nil {
		l.devices = map[string]Device{}
	}
	if len(only) > 0 {
		l.only = map[string]bool{}
		for _, id := range only {
			l.only[id] = true
		}
	}
	return l
}

// NewLiveAccess is [NewLive] for the Homey a reaches: a's realtime source, and [ListDevices]
// with zones.
func NewLiveAccess(a Access, devices map[string]Device, zones map[string]Zone, only []string, o StreamOptions) *Live {
	list := func(ctx context.Context) (map[string]Device, map[string]Zone, error) {
		return ListDevices(ctx, a, true)
	}
	return NewLive(a.Realtime(), list, devices, zones, only, o)
}

// liveRetry bounds the pause before reading the devices again after a failed read while the
// connection is up.
const (
	liveRetryMin = time.Second
	liveRetryMax = 30 * time.Second
)

// Run follows the Homey until ctx ends (then it returns nil) or it fails for good: the stream's
// final errors (see [Stream.Run]), a read of the devices that failed for a reason that will
// not pass by itself (the sign-in gone, say), or a subscription the Homey refused for a
// missing scope. report is called from Run's goroutine, one report at a time.
func (l *Live) Run(ctx context.Context, report func(LiveUpdate)) error {
	if err := l.stream.Subscribe(DevicesURI); err != nil {
		return err
	}
	for id := range l.devices {
		if err := l.follow(id); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.stream.Run(ctx) }()
	stop := func(err error) error {
		cancel()
		serr := <-done
		if err == nil {
			err = serr
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}

	var (
		up      bool // connected, and the devices caught up at least once on this connection
		retry   *time.Timer
		retryC  <-chan time.Time
		backoff = liveRetryMin
	)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	// catchUp reads the devices and reports what moved; a failure that may pass is retried on
	// a timer while the connection is up.
	catchUp := func(u *LiveUpdate) error {
		err := l.catchUp(ctx, u)
		if err == nil {
			backoff = liveRetryMin
			if retry != nil {
				retry.Stop()
			}
			retryC = nil
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
		if retry == nil {
			retry = time.NewTimer(backoff)
		} else {
			retry.Reset(backoff)
		}
		retryC = retry.C
		backoff = min(2*backoff, liveRetryMax)
		return nil
	}
	for {
		var u LiveUpdate
		select {
		case ev, ok := <-l.stream.Events():
			if !ok {
				return stop(nil)
			}
			switch ev.Kind {
			case KindConnected:
				if err := catchUp(&u); err != nil {
					return stop(err)
				}
				up, u.Connected = true, true
			case KindDisconnected:
				if retry != nil {
					retry.Stop()
				}
				retryC = nil
				up, u.Lost = false, ev.Err
				if u.Lost == nil {
					u.Lost = errors.New("realtime: disconnected")
				}
			case KindSubscribeFailed:
				// A missing scope will not pass. Anything else (404: a device deleted
				// meanwhile) is settled by the next catch-up, which subscribes again to every
				// device it lists.
				if StatusOf(ev.Err) == http.StatusForbidden {
					return stop(fmt.Errorf("realtime: %w", ev.Err))
				}
			case KindHomey:
				l.apply(ev, &u)
				// Read the devices (and zones) again when the reader was slow and events
				// were dropped, or when a device moved to a zone not known yet (once per zone:
				// a key that may not read zones never learns it).
				if up && (ev.Missed > 0 || l.newZone(ev.Device)) {
					if err := catchUp(&u); err != nil {
						return stop(err)
					}
				}
			}
		case <-retryC:
			retryC = nil
			if err := catchUp(&u); err != nil {
				return stop(err)
			}
		case <-ctx.Done():
			return stop(nil)
		}
		if len(u.Changes) > 0 || u.Connected || u.Lost != nil || u.changed {
			u.Devices, u.Zones = l.devices, l.zones
			l.shared = true
			report(u)
		}
	}
}

// newZone reports whether d (of a device event) is in a zone not known and not looked for yet.
func (l *Live) newZone(d *Device) bool {
	if d == nil || d.Zone == "" || l.asked[d.Zone] {
		return false
	}
	if _, ok := l.zones[d.Zone]; ok {
		return false
	}
	if l.asked == nil {
		l.asked = map[string]bool{}
	}
	l.asked[d.Zone] = true
	return true
}

// follow subscribes to the events of device id, if it is one to follow.
func (l *Live) follow(id string) error {
	if l.only != nil && !l.only[id] {
		return nil
	}
	return l.stream.Subscribe(DeviceURI(id))
}

// catchUp reads the devices and adds to u every capability that moved since Live last knew it.
func (l *Live) catchUp(ctx context.Context, u *LiveUpdate) error {
	devices, zones, err := l.list(ctx)
	if err != nil {
		return fmt.Errorf("catch up after connecting: %w", err)
	}
	for _, id := range slices.Sorted(maps.Keys(devices)) {
		d := devices[id]
		if err := l.follow(id); err != nil { // again: a subscription may have been refused
			return err
		}
		old, known := l.devices[id]
		if !known || l.only != nil && !l.only[id] {
			continue
		}
		for _, capID := range slices.Sorted(maps.Keys(d.CapabilitiesObj)) {
			c := d.CapabilitiesObj[capID]
			was, ok := old.CapabilitiesObj[capID]
			if !ok || !moved(was, c) {
				continue
			}
			u.Changes = append(u.Changes, LiveChange{DeviceID: id, CapabilityID: capID,
				Value: rawJSON(c.Value), Time: c.Updated(), CaughtUp: true})
		}
	}
	for id := range l.devices {
		if _, ok := devices[id]; !ok {
			l.stream.Unsubscribe(DeviceURI(id))
		}
	}
	l.devices, l.shared = devices, true // the list's map may be its caller's too: copy before a change
	if zones != nil {
		l.zones = zones
	}
	u.changed = true
	return nil
}

// moved reports whether a capability read again differs from what was known: a later
// lastUpdated, or another value.
func moved(was, now Capability) bool {
	tw, tn := was.Updated(), now.Updated()
	if !tw.IsZero() && !tn.IsZero() && tn.After(tw) {
		return true
	}
	return !reflect.DeepEqual(was.Value, now.Value)
}

// apply takes one event of the Homey into the devices and adds a change to u.
func (l *Live) apply(ev Event, u *LiveUpdate) {
	switch {
	case ev.CapabilityID != "":
		if l.only != nil && !l.only[ev.DeviceID] {
			return
		}
		d, known := l.devices[ev.DeviceID]
		if !known {
			d = Device{ID: ev.DeviceID}
		}
		c, ok := d.CapabilitiesObj[ev.CapabilityID]
		var v any
		_ = json.Unmarshal(ev.Value, &v)
		if ok && repeated(c, v, ev.TransactionTime) {
			return
		}
		if !ok {
			c = Capability{ID: ev.CapabilityID}
		}
		c.Value, c.LastUpdated = v, jsonTime(ev.TransactionTime)
		d.CapabilitiesObj = maps.Clone(d.CapabilitiesObj)
		if d.CapabilitiesObj == nil {
			d.CapabilitiesObj = map[string]Capability{}
		}
		d.CapabilitiesObj[ev.CapabilityID] = c
		l.put(d)
		u.Changes = append(u.Changes, LiveChange{DeviceID: ev.DeviceID, CapabilityID: ev.CapabilityID,
			Value: ev.Value, Time: ev.TransactionTime})
		u.changed = true
	case ev.Device != nil && ev.Name == "device.delete":
		if _, ok := l.devices[ev.DeviceID]; ok {
			l.own()
			delete(l.devices, ev.DeviceID)
			l.stream.Unsubscribe(DeviceURI(ev.DeviceID))
			u.changed = true
		}
	case ev.Device != nil && (ev.Name == "device.create" || ev.Name == "device.update"):
		d := *ev.Device
		old, known := l.devices[d.ID]
		if known {
			// The values are the capability events' to tell (device.update may come before
			// or after them): keep the known ones, take the rest of the device.
			caps := maps.Clone(d.CapabilitiesObj)
			for id, c := range caps {
				if was, ok := old.CapabilitiesObj[id]; ok {
					c.Value, c.LastUpdated = was.Value, was.LastUpdated
					caps[id] = c
				}
			}
			d.CapabilitiesObj = caps
		} else {
			_ = l.follow(d.ID) // a valid URI: the id came in a device's JSON
		}
		l.put(d)
		u.changed = true
	}
}

// repeated reports whether a capability event tells a change Live knows already: the same
// value, at a time no later than the known one (or with no time to tell).
func repeated(known Capability, v any, at time.Time) bool {
	if !reflect.DeepEqual(known.Value, v) {
		return false
	}
	kt := known.Updated()
	return at.IsZero() || kt.IsZero() || !at.After(kt)
}

// put stores d in the devices.
func (l *Live) put(d Device) {
	l.own()
	l.devices[d.ID] = d
}

// own makes the devices map Live's alone before a change.
func (l *Live) own() {
	if l.shared {
		l.devices, l.shared = maps.Clone(l.devices), false
	}
}

// jsonTime is t as a capability's lastUpdated: an ISO 8601 string in UTC with milliseconds;
// nil for the zero time.
func jsonTime(t time.Time) json.RawMessage {
	if t.IsZero() {
		return nil
	}
	return json.RawMessage(strconv.Quote(t.UTC().Format("2006-01-02T15:04:05.000Z")))
}

// rawJSON is v as JSON ("null" when it cannot be encoded).
func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
