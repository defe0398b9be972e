package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey"
)

func TestNewCmdWatch(t *testing.T) {
	for _, c := range []struct {
		argv string
		want watchOptions
		code int
	}{
		{"", watchOptions{}, exitOK},
		{"--json --homey Cabin", watchOptions{asJSON: true, homey: "Cabin"}, exitOK},
		{"Lamp Door --capability onoff --capability dim", watchOptions{devices: []string{"Lamp", "Door"}, capabilities: []string{"onoff", "dim"}}, exitOK},
		{"--capability", watchOptions{}, exitUsage},
		{"--bogus", watchOptions{}, exitUsage},
	} {
		got, code := parseWith(t, newCmdWatch, c.argv)
		if code != c.code || code == exitOK && (got.homey != c.want.homey || got.asJSON != c.want.asJSON ||
			!slices.Equal(got.devices, c.want.devices) || !slices.Equal(got.capabilities, c.want.capabilities)) {
			t.Errorf("watch %s: %+v, exit %d; want %+v, exit %d", c.argv, got, code, c.want, c.code)
		}
	}
}

func TestPickDevices(t *testing.T) {
	devices := map[string]homey.Device{
		"a": {ID: "a", Name: "Desk lamp", CapabilitiesObj: map[string]homey.Capability{"onoff": {}}},
		"b": {ID: "b", Name: "Twin"},
		"c": {ID: "c", Name: "twin"},
		"d": {ID: "d", Name: "Odd\u202ename"},
	}
	for _, c := range []struct {
		args []string
		want []string
		err  string
	}{
		{nil, nil, ""},
		{[]string{"desk LAMP", "b"}, []string{"a", "b"}, ""},
		{[]string{"Oddname"}, []string{"d"}, ""}, // as devices shows it: sanitized
		{[]string{"Twin"}, nil, "2 devices are named"},
		{[]string{"Nothing"}, nil, "no device"},
	} {
		got, err := pickDevices(devices, c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || quietFactory(strings.NewReader("")).exit(err) != exitUsage {
				t.Errorf("pickDevices(%q) = %v; want a usage error %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("pickDevices(%q) = %v, %v; want %v", c.args, got, err, c.want)
		}
	}
	if err := checkCapabilities(devices, []string{"b"}, []string{"onoff"}); err == nil {
		t.Error("a capability only an unwatched device has was taken")
	}
	if err := checkCapabilities(devices, nil, []string{"onoff"}); err != nil {
		t.Error(err)
	}
}

// TestWatchPrinter: the plain line (tabs, sanitized names, units), the JSON line (the Homey's
// names and value, the time in UTC, null without one), --capability, and the notes on stderr.
func TestWatchPrinter(t *testing.T) {
	var out, errb bytes.Buffer
	_, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &watchPrinter{out: &out, errOut: &errb, homey: homey.Homey{ID: "h1", Name: "Home"}, prog: "homeytray",
		caps: map[string]bool{"measure_temperature": true}, stop: cancel}
	at := time.Date(2026, 3, 1, 13, 2, 11, 123e6, time.UTC)
	u := homey.LiveUpdate{
		Devices: map[string]homey.Device{"d": {ID: "d", Name: "Bath\nroom sensor", Zone: "z",
			CapabilitiesObj: map[string]homey.Capability{"measure_temperature": {Units: "°C"}}}},
		Zones: map[string]homey.Zone{"z": {ID: "z", Name: "Bath"}},
		Changes: []homey.LiveChange{
			{DeviceID: "d", CapabilityID: "measure_temperature", Value: json.RawMessage("21.5"), Time: at},
			{DeviceID: "d", CapabilityID: "alarm_motion", Value: json.RawMessage("true"), Time: at},
		},
		Connected: true,
	}
	p.report(u)
	want := at.Local().Format("2006-01-02 15:04:05") + "\tBath room sensor\tBath\tmeasure_temperature\t21.5 °C\n"
	if out.String() != want {
		t.Errorf("line %q; want %q", out.String(), want)
	}
	out.Reset()
	p.asJSON, p.caps = true, nil
	u.Changes = []homey.LiveChange{{DeviceID: "d", CapabilityID: "measure_temperature", Value: json.RawMessage("21.5"), CaughtUp: true}}
	u.Connected = false
	p.report(u)
	var j map[string]any
	if err := json.Unmarshal(out.Bytes(), &j); err != nil || j["time"] != nil || j["device"] != "Bath\nroom sensor" ||
		j["zone"] != "Bath" || j["value"] != 21.5 || j["caught_up"] != true || j["units"] != "°C" || j["homey_id"] != "h1" {
		t.Errorf("JSON line %s (%v)", out.String(), err)
	}
	p.report(homey.LiveUpdate{Lost: errors.New("realtime: read: EOF")})
	p.report(homey.LiveUpdate{Lost: errors.New("realtime: dial: refused")})
	p.report(homey.LiveUpdate{Connected: true})
	if got := errb.String(); strings.Count(got, "lost the connection to Home") != 1 || !strings.Contains(got, "connected to Home again") {
		t.Errorf("stderr:\n%s", got)
	}
}
