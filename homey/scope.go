package homey

import "strings"

// Scopes of a Homey API key that this program checks. Scope names follow
// homey.<manager>[.readonly|.control|…]; "homey" alone is everything (docs/protocol.md#scopes).
const (
	ScopeDevices = "homey.device.readonly" // list devices: `devices` and the tray's Devices menu
	ScopeZones   = "homey.zone.readonly"   // list zones: room names instead of zone ids
)

// HasScope reports whether scopes grant want, itself or through a parent, as the Homey checks
// them: "homey" grants everything, "homey.device" grants "homey.device.readonly". The official
// library's instanceOfScope is a plain prefix test (docs/protocol.md#scopes); here a parent ends at a dot,
// so "homey.dev" grants nothing of "homey.device", a name no Homey issues anyway.
func HasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want || strings.HasPrefix(want, s+".") {
			return true
		}
	}
	return false
}
