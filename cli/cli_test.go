package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/homeytray/homeytray/homey"
)

func TestBrowserCommand(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []string
	}{
		{"firefox", []string{"firefox", "U"}},
		{"firefox --new-window", []string{"firefox", "--new-window", "U"}},
		{"open -a Safari %s", []string{"open", "-a", "Safari", "U"}},
		{"w3m:lynx", []string{"w3m", "U"}},
		{"sh -c 'echo %s'", []string{"sh", "-c", "'echo", "U'"}},
	} {
		if got := browserCommand(c.spec, "U"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("browserCommand(%q) = %q, want %q", c.spec, got, c.want)
		}
	}
}

func TestCheckRedirectURI(t *testing.T) {
	for uri, ok := range map[string]bool{
		"http://localhost:47719/callback": true,
		"http://127.0.0.1:8080/cb":        true,
		"http://[::1]:8080/cb":            true,
		"https://localhost:47719/cb":      false,
		"http://localhost/callback":       false,
		"http://example.com:80/callback":  false,
		"http://localhost:1/cb?x=1":       false,
		"http://0.0.0.0:47719/callback":   false,
		"not a url":                       false,
	} {
		if err := checkRedirectURI(uri); (err == nil) != ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok=%v", uri, err, ok)
		}
	}
}

func TestValidProfile(t *testing.T) {
	for p, ok := range map[string]bool{"demo": true, "test-1a2b": true, "": false, "-x": false, "A": false, "a/b": false, "../x": false, strings.Repeat("a", 33): false} {
		if validProfile(p) != ok {
			t.Errorf("validProfile(%q) != %v", p, ok)
		}
	}
}

func TestDeviceRows(t *testing.T) {
	zones := map[string]homey.Zone{"z1": {ID: "z1", Name: "Kitchen"}, "z2": {ID: "z2", Name: "Attic"}}
	devices := map[string]homey.Device{
		"a": {ID: "a", Name: "Lamp", Zone: "z1", Class: "light", CapabilitiesObj: map[string]homey.Capability{
			"onoff": {Value: true}, "dim": {Value: 0.4}}},
		"b": {ID: "b", Name: "Sensor\x1b[31m", Zone: "z2", Class: "sensor", CapabilitiesObj: map[string]homey.Capability{
			"measure_temperature": {Value: 21.5, Units: "°C"}, "alarm_battery": {Value: nil}}},
		"c": {ID: "c", Name: "Orphan", Zone: "gone"},
	}
	want := [][4]string{
		{"Sensor [31m", "Attic", "sensor", "alarm_battery=- measure_temperature=21.5 °C"},
		{"Lamp", "Kitchen", "light", "dim=0.4 onoff=true"},
		{"Orphan", "gone", "-", ""},
	}
	if got := deviceRows(devices, zones); !reflect.DeepEqual(got, want) {
		t.Errorf("deviceRows =\n%q\nwant\n%q", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote(`a'b`); got != `'a'\''b'` {
		t.Errorf("shellQuote = %s", got)
	}
}
