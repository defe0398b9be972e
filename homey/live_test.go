package homey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// runningLive is a Live under Run in a goroutine, its reports on a channel.
type runningLive struct {
	updates chan LiveUpdate
	cancel  context.CancelFunc
	done    chan error
}

func startLive(t *testing.T, a Access, only ...string) *runningLive {
	t.Helper()
	devices, zones, err := ListDevices(context.Background(), a, true)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLiveAccess(a, devices, zones, only, StreamOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningLive{updates: make(chan LiveUpdate, 4096), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- l.Run(ctx, func(u LiveUpdate) { r.updates <- u }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run after cancel = %v; want nil", err)
		}
	})
	return r
}

// next waits for the next report that want accepts; the changes of the reports it skips are
// returned too.
func (r *runningLive) next(t *testing.T, what string, want func(LiveUpdate) bool) (LiveUpdate, []LiveChange) {
	t.Helper()
	var skipped []LiveChange
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		select {
		case u := <-r.updates:
			if want(u) {
				return u, skipped
			}
			skipped = append(skipped, u.Changes...)
		case err := <-r.done:
			r.done <- err
			t.Fatalf("waiting for %s: Run ended: %v", what, err)
		case <-deadline.C:
			t.Fatalf("waiting for %s: nothing within %v", what, waitLong)
		}
	}
}

// change waits for the next capability change and fails on any other change before it.
func (r *runningLive) change(t *testing.T, what string) LiveChange {
	t.Helper()
	u, skipped := r.next(t, what, func(u LiveUpdate) bool { return len(u.Changes) > 0 })
	if len(skipped) > 0 || len(u.Changes) != 1 {
		t.Fatalf("waiting for %s: changes %+v, then %+v", what, skipped, u.Changes)
	}
	return u.Changes[0]
}

func connected(u LiveUpdate) bool { return u.Connected }

// TestLiveEachChangeOnce: every change of a capability is reported once and in order across a
// dropped connection, an expired session (the Homey disconnects the socket instead of sending
// the change) and a gap while no connection can be made (the change is caught up from the
// device list after the reconnect); the reported devices carry the new value.
func TestLiveEachChangeOnce(t *testing.T) {
	e := newRTEnv(t)
	a := SignedIn{Bearers: e.bs, H: e.h}
	r := startLive(t, a)
	r.next(t, "connected", connected)
	caughtUp := 0
	for i := range 40 {
		switch i {
		case 10:
			e.srv.DropRealtime("")
		case 20:
			e.srv.ExpireSessions()
		case 30:
			e.srv.SetFault(routeSocket, emulator.Fault{Kind: emulator.Fault5xx}) // no connection until cleared
			e.srv.DropRealtime("")
		}
		v := i%2 == 0
		e.set(t, deskLamp, "onoff", v)
		if i == 30 {
			e.srv.SetFault(routeSocket, emulator.Fault{})
		}
		c := r.change(t, fmt.Sprintf("change %d", i))
		if c.DeviceID != deskLamp || c.CapabilityID != "onoff" || string(c.Value) != fmt.Sprint(v) || c.Time.IsZero() {
			t.Fatalf("change %d = %+v; want onoff %v", i, c, v)
		}
		if c.CaughtUp {
			caughtUp++
		}
	}
	if caughtUp < 1 { // the gap's (the expired session's, if the change came first)
		t.Errorf("%d changes caught up from the device list; want at least 1", caughtUp)
	}
	// Nothing more is pending: the next change is the one reported next, and the devices hold it.
	e.set(t, deskLamp, "dim", 0.42)
	u, skipped := r.next(t, "the dim", func(u LiveUpdate) bool { return len(u.Changes) > 0 })
	if len(skipped) > 0 || len(u.Changes) != 1 || u.Changes[0].CapabilityID != "dim" {
		t.Fatalf("after the 40 changes: %+v, then %+v", skipped, u.Changes)
	}
	if got := u.Devices[deskLamp].CapabilitiesObj["dim"].Value; got != 0.42 {
		t.Errorf("the reported lamp's dim = %v", got)
	}
	if got := u.Devices[deskLamp].CapabilitiesObj["onoff"].Value; got != false {
		t.Errorf("the reported lamp's onoff = %v", got)
	}
}

// TestLiveOnlySomeDevices: with devices named, only they are subscribed to and reported.
func TestLiveOnlySomeDevices(t *testing.T) {
	e := newRTEnv(t)
	r := startLive(t, SignedIn{Bearers: e.bs, H: e.h}, kettlePlug)
	r.next(t, "connected", connected)
	if n := e.srv.RealtimeSubscribers(e.h.ID, DeviceURI(deskLamp)); n != 0 {
		t.Errorf("the lamp has %d subscribers; only the kettle is followed", n)
	}
	e.set(t, deskLamp, "onoff", false)
	e.set(t, kettlePlug, "onoff", true)
	if c := r.change(t, "the kettle"); c.DeviceID != kettlePlug {
		t.Errorf("change = %+v; want the kettle's", c)
	}
}

// TestLiveNames: a device renamed on the Homey (device.update) is reported with its new name,
// and its values stay those the capability events told.
func TestLiveNames(t *testing.T) {
	e := newRTEnv(t)
	r := startLive(t, SignedIn{Bearers: e.bs, H: e.h})
	r.next(t, "connected", connected)
	if err := e.srv.RenameDevice(e.h.ID, "Desk lamp", "Reading lamp"); err != nil {
		t.Fatal(err)
	}
	e.set(t, deskLamp, "onoff", true)
	u, _ := r.next(t, "the new name", func(u LiveUpdate) bool { return u.Devices[deskLamp].Name == "Reading lamp" })
	if v := u.Devices[deskLamp].CapabilitiesObj["onoff"].Value; v != true {
		t.Errorf("onoff after the rename = %v", v)
	}
}

// TestLiveAPIKey: a Homey reached with an API key streams with the key after the ping proof;
// a refused key ends Run with a KeyError holding a 401 that matches ErrKeyRefused, and the
// key is in no error.
func TestLiveAPIKey(t *testing.T) {
	e := newRTEnv(t)
	key := e.srv.AddAPIKey(e.h.ID, []string{"homey.device.readonly", "homey.zone.readonly"})
	pinged := &Pinged{}
	a := &KeyAccess{H: e.h, Address: e.h.LocalURL, Key: key, HTTP: e.hc, Pinged: pinged}
	r := startLive(t, a)
	r.next(t, "connected", connected)
	if n := e.srv.CountVia(e.h.ID, emulator.ViaLocal, "GET /api/manager/system/ping"); n == 0 {
		t.Errorf("the key went to the address before a ping proved the Homey there")
	}
	e.set(t, deskLamp, "onoff", false)
	if c := r.change(t, "a change through the key"); string(c.Value) != "false" {
		t.Errorf("change = %+v", c)
	}

	src := a.Realtime()
	_, err := src.Bearer(context.Background(), key)
	var ke *KeyError
	if !errors.As(err, &ke) || !errors.Is(err, ErrKeyRefused) || !IsUnauthorized(err) || ke.Address != e.h.LocalURL {
		t.Errorf("Bearer after the key was refused = %v; want a KeyError with a 401 and ErrKeyRefused", err)
	}
	if err != nil && strings.Contains(err.Error(), key) {
		t.Errorf("the error holds the key")
	}
	bad := &KeyAccess{H: e.h, Address: e.h.LocalURL, Key: "not-a-key", HTTP: e.hc, Pinged: pinged}
	l := NewLiveAccess(bad, nil, nil, nil, StreamOptions{MinBackoff: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	err = l.Run(ctx, func(LiveUpdate) {})
	e.noSecret(t, err)
	if !errors.Is(err, ErrKeyRefused) || !IsUnauthorized(err) || !errors.As(err, &ke) {
		t.Errorf("Live with a refused key = %v; want a KeyError with ErrKeyRefused", err)
	}
}

// TestLiveWrongHomeyAtAddress: another Homey at the API-key Homey's address gets no key and
// counts as the Homey being away: the stream keeps trying and connects once it is back.
func TestLiveWrongHomeyAtAddress(t *testing.T) {
	e := newRTEnv(t)
	key := e.srv.AddAPIKey(e.h.ID, []string{"homey.device.readonly", "homey.zone.readonly"})
	a := &KeyAccess{H: e.h, Address: e.h.LocalURL, Key: key, HTTP: e.hc, Pinged: &Pinged{}}
	r := startLive(t, a)
	r.next(t, "connected", connected)
	e.srv.SetWrongID(e.h.ID, true)
	e.srv.DropRealtime("")
	r.next(t, "the loss", func(u LiveUpdate) bool { return u.Lost != nil })
	// Two more failed attempts: the impostor is pinged and never handed the key.
	eventually(t, "two more pings of the impostor", func() bool {
		return e.srv.CountVia(e.h.ID, emulator.ViaLocal, "GET /api/manager/system/ping") >= 3
	})
	if n := e.srv.CountVia(e.h.ID, emulator.ViaLocal, routeSocket); n != 1 {
		t.Errorf("%d realtime upgrades at the address; want only the first, before the impostor", n)
	}
	e.srv.SetWrongID(e.h.ID, false)
	r.next(t, "connected again", connected)
}

// TestLiveRules: what the catch-up and the events tell, and what each reports, without a
// network (the list is a function, the events are made here).
func TestLiveRules(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 3, 1, 12, 0, s, 0, time.UTC) }
	dev := func(v any, s int) map[string]Device {
		return map[string]Device{"d": {ID: "d", Name: "Lamp", CapabilitiesObj: map[string]Capability{
			"onoff": {ID: "onoff", Value: v, LastUpdated: jsonTime(at(s))}}}}
	}
	var listed map[string]Device
	list := func(context.Context) (map[string]Device, map[string]Zone, error) { return listed, nil, nil }
	l := NewLive(StaticBearer{}, list, dev(true, 1), nil, nil, StreamOptions{})
	event := func(v string, s int) Event {
		ev := Event{Kind: KindHomey, URI: DeviceURI("d"), Name: "capability", DeviceID: "d", CapabilityID: "onoff", Value: json.RawMessage(v)}
		if s > 0 {
			ev.TransactionTime = at(s)
		}
		return ev
	}
	step := func(what string, do func(u *LiveUpdate), want ...string) {
		t.Helper()
		var u LiveUpdate
		do(&u)
		var got []string
		for _, c := range u.Changes {
			got = append(got, fmt.Sprintf("%s@%d%s", c.Value, c.Time.Second(), map[bool]string{true: " caught up"}[c.CaughtUp]))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: changes %q; want %q", what, got, want)
		}
	}
	catchUp := func(u *LiveUpdate) {
		if err := l.catchUp(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(ev Event) func(u *LiveUpdate) { return func(u *LiveUpdate) { l.apply(ev, u) } }

	listed = dev(true, 1)
	step("nothing moved", catchUp)
	step("a change", apply(event("false", 2)), "false@2")
	step("the same event again", apply(event("false", 2)))
	listed = dev(false, 2)
	step("the list tells what the event told", catchUp)
	listed = dev(true, 3)
	step("a change while away", catchUp, "true@3 caught up")
	step("its event after the catch-up", apply(event("true", 3)))
	step("an older event with another value", apply(event("false", 1)), "false@1")
	listed = dev(false, 5)
	step("changed twice while away, back to the same value", catchUp, "false@5 caught up")
	step("no time: another value", apply(event("true", 0)), "true@0")
	step("no time: the same value", apply(event("true", 0)))
	if l.newZone(&Device{ID: "d", Zone: "z9"}) != true || l.newZone(&Device{ID: "d", Zone: "z9"}) != false {
		t.Error("a zone not known is looked for once")
	}
	listed = map[string]Device{}
	step("the device deleted while away", catchUp)
	if _, ok := l.devices["d"]; ok {
		t.Error("a device gone from the list is still known")
	}
}
