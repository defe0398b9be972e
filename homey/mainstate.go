package homey

import (
	"sort"
	"strconv"
	"strings"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// MainState is a device's main state in a word or two, for a menu beside its name: "on" or
// "off" (onoff), "locked" or "unlocked", "open" or "closed" (alarm_contact), "motion" or "no
// motion", else a measured value with its units ("19.8 °C"; temperature first), else a dim
// level ("40%"); "" when it has none of these or the value is unknown.
func MainState(d Device) string {
	caps := d.CapabilitiesObj
	flag := func(id, yes, no string) (string, bool) {
		c, ok := caps[id]
		if !ok {
			return "", false
		}
		b, ok := c.Value.(bool)
		if !ok {
			return "", false
		}
		if b {
			return yes, true
		}
		return no, true
	}
	for _, f := range [][3]string{
		{"onoff", "on", "off"}, {"locked", "locked", "unlocked"},
		{"alarm_contact", "open", "closed"}, {"alarm_motion", "motion", "no motion"},
	} {
		if s, ok := flag(f[0], f[1], f[2]); ok {
			return s
		}
	}
	measures := make([]string, 0, len(caps))
	for id := range caps {
		if strings.HasPrefix(id, "measure_") {
			measures = append(measures, id)
		}
	}
	sort.Slice(measures, func(i, j int) bool { // temperature first, then by name
		ti, tj := measures[i] == "measure_temperature", measures[j] == "measure_temperature"
		if ti != tj {
			return ti
		}
		return measures[i] < measures[j]
	})
	for _, id := range append(measures, "target_temperature") {
		if s := number(caps[id]); s != "" {
			return s
		}
	}
	if c, ok := caps["dim"]; ok {
		if v, ok := c.Value.(float64); ok {
			return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
		}
	}
	return ""
}

// number is a numeric capability's value with its units ("19.8 °C"), "" when it has none.
func number(c Capability) string {
	v, ok := c.Value.(float64)
	if !ok {
		return ""
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if u := sanitize.Line(c.Units, 10); u != "" {
		s += " " + u
	}
	return s
}
