package tray

import (
	"testing"

	"github.com/homeytray/homeytray/homey"
)

// TestDeviceStateLabels: each device shows its main state beside its name; a new fetch with
// other values gives other labels; the copy notification gets the bare name.
func TestDeviceStateLabels(t *testing.T) {
	zones := map[string]homey.Zone{"z": {ID: "z", Name: "Kitchen"}}
	devices := func(on bool) map[string]homey.Device {
		return map[string]homey.Device{
			"d1": {ID: "d1", Name: "Lamp", Zone: "z", CapabilitiesObj: map[string]homey.Capability{"onoff": {Value: on}}},
			"d2": {ID: "d2", Name: "Sensor", Zone: "z", CapabilitiesObj: map[string]homey.Capability{"measure_temperature": {Value: 4.5, Units: "°C"}}},
			"d3": {ID: "d3", Name: "Button", Zone: "z"},
		}
	}
	want := []entry{{label: "Kitchen"}, {label: "Button", value: "d3"}, {label: "Lamp · on", value: "d1", name: "Lamp"},
		{label: "Sensor · 4.5 °C", value: "d2", name: "Sensor"}}
	got := deviceEntries(groupDevices(devices(true), zones), nil, false)
	if len(got) != len(want) {
		t.Fatalf("entries = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := deviceEntries(groupDevices(devices(false), zones), nil, false); got[2].label != "Lamp · off" {
		t.Errorf("after a fetch with the lamp off: %q", got[2].label)
	}
}
