package tray

import (
	"sort"
	"strings"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// deviceGroup is one zone of the Devices submenu.
type deviceGroup struct {
	zone    string
	zoneID  string // "" for the group of devices without a known zone
	devices []deviceRef
}

// deviceRef is one device of the Devices submenu: its id, name and main state ("on", "19.8 °C",
// "" for none; homey.MainState), shown beside the name.
type deviceRef struct{ id, name, state string }

// groupDevices groups devices by zone, zones sorted by name, devices by name (case-insensitive,
// ties by id). A device whose zone is unknown goes to "Other devices".
func groupDevices(devices map[string]homey.Device, zones map[string]homey.Zone) []deviceGroup {
	byZone := map[string]*deviceGroup{}
	for id, d := range devices {
		if d.ID != "" {
			id = d.ID
		}
		name := sanitize.Line(d.Name, 80)
		if name == "" {
			name = id
		}
		zoneID, zone := "", labelNoZone // unknown zones share the last group
		if z, ok := zones[d.Zone]; ok && sanitize.Line(z.Name, 80) != "" {
			zoneID, zone = d.Zone, sanitize.Line(z.Name, 80)
		}
		g := byZone[zoneID]
		if g == nil {
			g = &deviceGroup{zone: zone, zoneID: zoneID}
			byZone[zoneID] = g
		}
		g.devices = append(g.devices, deviceRef{id: id, name: name, state: sanitize.Line(homey.MainState(d), 30)})
	}
	out := make([]deviceGroup, 0, len(byZone))
	for _, g := range byZone {
		sort.Slice(g.devices, func(i, j int) bool {
			a, b := g.devices[i], g.devices[j]
			return less(a.name, b.name, a.id, b.id)
		})
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.zoneID == "") != (b.zoneID == "") {
			return b.zoneID == ""
		}
		return less(a.zone, b.zone, a.zoneID, b.zoneID)
	})
	return out
}

// less orders names case-insensitively, then exactly, then by id.
func less(a, b, idA, idB string) bool {
	if la, lb := strings.ToLower(a), strings.ToLower(b); la != lb {
		return la < lb
	}
	if a != b {
		return a < b
	}
	return idA < idB
}

// entry is one item of a submenu: a Homey, a zone header or a device.
type entry struct {
	label   string // as shown, before menuLabel escaping
	value   string // the Homey or device id; "" = a disabled line (zone header, placeholder)
	checked bool
	name    string // a device's name without its state, for the copy notification; "" = label
}

// homeyEntries: one checkbox per Homey, the selected one checked. Equal names get a short id.
func homeyEntries(list []homey.Homey, selected string) []entry {
	count := map[string]int{}
	for _, h := range list {
		count[homeyName(h)]++
	}
	out := make([]entry, 0, len(list))
	for _, h := range list {
		name := homeyName(h)
		if count[name] > 1 {
			name += " (" + h.ID[:min(len(h.ID), 6)] + ")"
		}
		out = append(out, entry{label: name, value: h.ID, checked: h.ID == selected})
	}
	return out
}

func homeyName(h homey.Homey) string {
	if n := sanitize.Line(h.Name, 60); n != "" {
		return n
	}
	return h.ID
}

// deviceEntries: per zone a disabled header, then its devices; or one disabled line that says
// why there is nothing to show.
func deviceEntries(groups []deviceGroup, err error, loading bool) []entry {
	switch {
	case loading:
		return []entry{{label: labelLoading}}
	case len(groups) == 0 && err != nil:
		return []entry{{label: "Could not load the devices: " + errorText(err)}}
	case len(groups) == 0:
		return []entry{{label: labelNoDevices}}
	}
	var out []entry
	for _, g := range groups {
		out = append(out, entry{label: g.zone})
		for _, d := range g.devices {
			e := entry{label: deviceLabel(d), value: d.id}
			if d.state != "" {
				e.name = d.name // the label has the state beside it
			}
			out = append(out, e)
		}
	}
	return out
}

// stateSep puts a device's state beside its name in the Devices submenu: "Desk lamp · on".
const stateSep = " · "

// deviceLabel is a device's name with its main state, when it has one.
func deviceLabel(d deviceRef) string {
	if d.state == "" {
		return d.name
	}
	return d.name + stateSep + d.state
}
