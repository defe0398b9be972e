package emulator

import (
	"fmt"
	"strings"
	"time"
)

// fixtureTime is when every fixture value was last updated.
const fixtureTime = "2024-01-01T12:00:00.000Z"

// zone is a Homey zone as in GET /api/manager/zones/zone.
type zone struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Parent            *string  `json:"parent"`
	Icon              string   `json:"icon"`
	Active            bool     `json:"active"`
	ActiveOrigins     []string `json:"activeOrigins"`
	ActiveLastUpdated *string  `json:"activeLastUpdated"`
}

func newZone(id, name, parent, icon string) *zone {
	z := &zone{ID: id, Name: name, Icon: icon, ActiveOrigins: []string{}}
	if parent != "" {
		z.Parent = &parent
	}
	return z
}

// device is a Homey device as in GET /api/manager/devices/device.
type device struct {
	ID                 string                 `json:"id"`
	Name               string                 `json:"name"`
	DriverID           string                 `json:"driverId"`
	OwnerURI           string                 `json:"ownerUri"`
	Zone               string                 `json:"zone"`
	Class              string                 `json:"class"`
	VirtualClass       *string                `json:"virtualClass"`
	Capabilities       []string               `json:"capabilities"`
	CapabilitiesObj    map[string]*capability `json:"capabilitiesObj"`
	Available          bool                   `json:"available"`
	UnavailableMessage *string                `json:"unavailableMessage"`
	WarningMessage     *string                `json:"warningMessage"`
	Ready              bool                   `json:"ready"`
	Repair             bool                   `json:"repair"`
	Unpair             bool                   `json:"unpair"`
	Flags              []string               `json:"flags"`
	Settings           map[string]any         `json:"settings"`
	SettingsObj        bool                   `json:"settingsObj"`
	Energy             any                    `json:"energy"`
	EnergyObj          any                    `json:"energyObj"`
	UI                 deviceUI               `json:"ui"`
	UIIndicator        *string                `json:"uiIndicator"`
	Icon               *string                `json:"icon"`
	IconOverride       *string                `json:"iconOverride"`
	IconObj            iconObj                `json:"iconObj"`
	Color              string                 `json:"color"`
	Note               *string                `json:"note"`
	Images             []any                  `json:"images"`
	LastSeenAt         string                 `json:"lastSeenAt"`
	Data               map[string]any         `json:"data"`
}

type deviceUI struct {
	QuickAction string `json:"quickAction,omitempty"`
	Components  []any  `json:"components"`
}

type iconObj struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// capability is one entry of a device's capabilitiesObj.
type capability struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"` // boolean, number, string, enum
	Getable     bool           `json:"getable"`
	Setable     bool           `json:"setable"`
	Title       string         `json:"title"`
	Units       string         `json:"units,omitempty"`
	Decimals    *int           `json:"decimals,omitempty"`
	Min         *float64       `json:"min,omitempty"`
	Max         *float64       `json:"max,omitempty"`
	Step        *float64       `json:"step,omitempty"`
	ChartType   string         `json:"chartType,omitempty"`
	Value       any            `json:"value"`
	LastUpdated string         `json:"lastUpdated"`
	Options     map[string]any `json:"options"`
}

func newDevice(id, name, zoneID, class, driver string, caps ...*capability) *device {
	app, _, _ := strings.Cut(driver, ":")
	d := &device{
		ID: id, Name: name, Zone: zoneID, Class: class,
		DriverID: "homey:app:" + driver, OwnerURI: "homey:app:" + app,
		CapabilitiesObj: map[string]*capability{}, Available: true, Ready: true,
		Flags: []string{}, Settings: map[string]any{}, SettingsObj: true,
		UI: deviceUI{Components: []any{}}, IconObj: iconObj{ID: id[:8], URL: "/icon/" + id[:8] + "/icon.svg"},
		Color: "#3b82f6", Images: []any{}, LastSeenAt: fixtureTime, Data: map[string]any{"id": id[:8]},
	}
	for _, c := range caps {
		d.Capabilities = append(d.Capabilities, c.ID)
		d.CapabilitiesObj[c.ID] = c
		if c.ID == "onoff" || c.ID == "locked" {
			d.UI.QuickAction = c.ID
		}
	}
	return d
}

func boolCap(id, title string, setable bool, v bool) *capability {
	return &capability{ID: id, Type: "boolean", Getable: true, Setable: setable, Title: title,
		Value: v, LastUpdated: fixtureTime, Options: map[string]any{}}
}

func numCap(id, title, units string, setable bool, v, lo, hi, step float64, decimals int) *capability {
	return &capability{ID: id, Type: "number", Getable: true, Setable: setable, Title: title, Units: units,
		Decimals: &decimals, Min: &lo, Max: &hi, Step: &step, ChartType: "spline",
		Value: v, LastUpdated: fixtureTime, Options: map[string]any{}}
}

func onoff(v bool) *capability        { return boolCap("onoff", "Turned on", true, v) }
func locked(v bool) *capability       { return boolCap("locked", "Locked", true, v) }
func alarmContact(v bool) *capability { return boolCap("alarm_contact", "Contact alarm", false, v) }
func alarmMotion(v bool) *capability  { return boolCap("alarm_motion", "Motion alarm", false, v) }
func dim(v float64) *capability       { return numCap("dim", "Dim level", "", true, v, 0, 1, 0.01, 2) }
func lightTemperature(v float64) *capability {
	return numCap("light_temperature", "Color temperature", "", true, v, 0, 1, 0.01, 2)
}
func targetTemperature(v float64) *capability {
	return numCap("target_temperature", "Target temperature", "°C", true, v, 5, 35, 0.5, 1)
}
func measureTemperature(v float64) *capability {
	return numCap("measure_temperature", "Temperature", "°C", false, v, -40, 125, 0.1, 1)
}
func measurePower(v float64) *capability {
	return numCap("measure_power", "Power", "W", false, v, 0, 4000, 0.1, 1)
}
func measureBattery(v float64) *capability {
	return numCap("measure_battery", "Battery", "%", false, v, 0, 100, 1, 0)
}

// set validates v against the capability and stores it.
func (c *capability) set(v any, now time.Time) error {
	if !c.Setable {
		return fmt.Errorf("capability %s is not setable", c.ID)
	}
	switch c.Type {
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("invalid value for %s: expected boolean", c.ID)
		}
	case "number":
		n, ok := v.(float64)
		if !ok {
			return fmt.Errorf("invalid value for %s: expected number", c.ID)
		}
		if n < *c.Min || n > *c.Max {
			return fmt.Errorf("invalid value for %s: out of range", c.ID)
		}
	}
	c.Value = v
	c.LastUpdated = now.UTC().Format("2006-01-02T15:04:05.000Z")
	return nil
}
