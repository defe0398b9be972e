package emulator

import (
	"net/http"
	"slices"
	"testing"
)

// TestAPIKey: a key is a bearer on its own Homey's routes (both listeners), its session is a PAT
// with the key's scopes, a missing scope is 403, another Homey refuses it, and it is an issued
// secret.
func TestAPIKey(t *testing.T) {
	s := NewServer(t, Options{})
	home, cabin := s.Homeys()[0], s.Homeys()[1]
	key := s.AddAPIKey(home.ID, []string{"homey.device"})
	if !slices.Contains(s.IssuedSecrets(), key) {
		t.Errorf("the key is not listed by IssuedSecrets")
	}
	for _, base := range []string{home.BaseURL, home.LocalURL} {
		var me sessionDoc
		do(t, http.MethodGet, base+"/api/manager/sessions/session/me", bearer(key), "").decode(t, &me)
		if me.Type != "PAT" || !slices.Equal(me.IntersectedScopes, []string{"homey.device"}) {
			t.Errorf("%s session/me = %+v", base, me)
		}
		if r := do(t, http.MethodGet, base+"/api/manager/devices/device", bearer(key), ""); r.status != http.StatusOK {
			t.Errorf("%s devices with a homey.device key: %d", base, r.status)
		}
		do(t, http.MethodGet, base+"/api/manager/zones/zone", bearer(key), "").wantError(t, http.StatusForbidden, "Missing Scopes")
	}
	do(t, http.MethodGet, cabin.LocalURL+"/api/manager/devices/device", bearer(key), "").wantError(t, http.StatusUnauthorized, "Invalid Session")
	none := s.AddAPIKey(home.ID, nil)
	do(t, http.MethodGet, home.LocalURL+"/api/manager/devices/device", bearer(none), "").wantError(t, http.StatusForbidden, "Missing Scopes")
	if r := do(t, http.MethodGet, home.LocalURL+"/api/manager/sessions/session/me", bearer(none), ""); r.status != http.StatusOK {
		t.Errorf("session/me of a key without scopes: %d", r.status)
	}
}
