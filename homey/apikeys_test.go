package homey

import (
	"slices"
	"testing"
)

func TestParseScopes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", []string{ScopeDevices, ScopeZones}, false},
		{"readonly", []string{ScopeDevices, ScopeZones}, false},
		{"control", []string{ScopeDevices, ScopeZones, "homey.device.control", "homey.flow.readonly", "homey.flow.start"}, false},
		{"full", []string{"homey"}, false},
		{" homey.device , homey.flow.start,homey.device ", []string{"homey.device", "homey.flow.start"}, false},
		{"homey.device.readonly,homey.bogus", nil, true},
		{"homey.device.delete", nil, true},
		{",", nil, true},
		{"Full", nil, true},
	} {
		got, err := ParseScopes(c.in)
		if (err != nil) != c.bad || !slices.Equal(got, c.want) {
			t.Errorf("ParseScopes(%q) = %q, %v", c.in, got, err)
		}
	}
}

func TestHasAPIKeys(t *testing.T) {
	for _, c := range []struct {
		h    Homey
		want bool
	}{
		{Homey{Platform: "local", APIVersion: 3}, true},
		{Homey{}, true},
		{Homey{Platform: "local", APIVersion: 2}, false},
		{Homey{Platform: "cloud", APIVersion: 3}, false},
	} {
		if got := HasAPIKeys(c.h); got != c.want {
			t.Errorf("HasAPIKeys(%+v) = %v", c.h, got)
		}
	}
}

func TestMainState(t *testing.T) {
	num := func(v float64, units string) Capability { return Capability{Value: v, Units: units} }
	for _, c := range []struct {
		caps map[string]Capability
		want string
	}{
		{map[string]Capability{"onoff": {Value: true}, "dim": num(0.4, "")}, "on"},
		{map[string]Capability{"onoff": {Value: false}, "measure_power": num(0, "W")}, "off"},
		{map[string]Capability{"locked": {Value: true}, "measure_battery": num(64, "%")}, "locked"},
		{map[string]Capability{"alarm_contact": {Value: false}, "measure_temperature": num(4.2, "°C")}, "closed"},
		{map[string]Capability{"target_temperature": num(20.5, "°C"), "measure_temperature": num(19.8, "°C")}, "19.8 °C"},
		{map[string]Capability{"measure_battery": num(87, "%"), "measure_humidity": num(40, "%")}, "87 %"},
		{map[string]Capability{"target_temperature": num(16, "°C")}, "16 °C"},
		{map[string]Capability{"dim": num(0.25, "")}, "25%"},
		{map[string]Capability{"onoff": {Value: nil}}, ""},
		{nil, ""},
	} {
		if got := MainState(Device{CapabilitiesObj: c.caps}); got != c.want {
			t.Errorf("MainState(%v) = %q, want %q", c.caps, got, c.want)
		}
	}
}

func TestIdempotent(t *testing.T) {
	for m, want := range map[string]bool{"GET": true, "put": true, "DELETE": true, "POST": false, "PATCH": false} {
		if Idempotent(m) != want {
			t.Errorf("Idempotent(%s) = %v", m, !want)
		}
	}
}
