package emulator

import (
	"net/http"
	"slices"
	"testing"
)

// TestPAT: the owner's session makes, lists and deletes keys; a made key is limited to its
// scopes and may not manage keys; a non-owner and a Homey without keys are refused.
func TestPAT(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	h := s.Homeys()[0]
	sess := homeySession(t, s, h)
	pat := h.LocalURL + "/api/manager/users/pat"
	do(t, http.MethodPost, pat, bearer(sess), `{"name":"k"}`).wantError(t, http.StatusBadRequest, "Missing Parameter: scopes")
	do(t, http.MethodPost, pat, bearer(sess), `{"name":"k","scopes":["homey.Bogus"]}`).wantError(t, http.StatusBadRequest, "Invalid Scope")
	var made struct{ ID, Name, Token string }
	r := do(t, http.MethodPost, pat, bearer(sess), `{"name":"k","scopes":["homey.device.readonly"]}`)
	r.decode(t, &made)
	if r.status != http.StatusOK || made.ID == "" || made.Token == "" || !slices.Contains(s.IssuedSecrets(), made.Token) {
		t.Fatalf("POST users/pat: %d %+v", r.status, made.ID)
	}
	var list []struct{ ID, Name, Token string }
	do(t, http.MethodGet, pat, bearer(sess), "").decode(t, &list)
	if len(list) != 1 || list[0].ID != made.ID || list[0].Token != "" {
		t.Errorf("GET users/pat: %+v", list)
	}
	if r := do(t, http.MethodGet, h.BaseURL+"/api/manager/devices/device", bearer(made.Token), ""); r.status != http.StatusOK {
		t.Errorf("the made key lists devices: %d", r.status)
	}
	do(t, http.MethodPut, h.LocalURL+"/api/manager/devices/device/6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/capability/onoff", bearer(made.Token), `{"value":true}`).
		wantError(t, http.StatusForbidden, "Missing Scopes")
	do(t, http.MethodGet, pat, bearer(made.Token), "").wantError(t, http.StatusForbidden, "Invalid Session Type")
	s.SetOwner(h.ID, false)
	do(t, http.MethodGet, pat, bearer(sess), "").wantError(t, http.StatusForbidden, "Must Be Owner")
	s.SetOwner(h.ID, true)
	if r := do(t, http.MethodDelete, pat+"/"+made.ID, bearer(sess), ""); r.status != http.StatusOK {
		t.Errorf("DELETE: %d", r.status)
	}
	do(t, http.MethodDelete, pat+"/"+made.ID, bearer(sess), "").wantError(t, http.StatusNotFound, "Not Found")
	if r := do(t, http.MethodGet, h.LocalURL+"/api/manager/devices/device", bearer(made.Token), ""); r.status != http.StatusUnauthorized {
		t.Errorf("a deleted key still works: %d", r.status)
	}
	if err := s.SetVariant(h.ID, Variant{APIVersion: 2}); err != nil {
		t.Fatal(err)
	}
	do(t, http.MethodGet, pat, bearer(sess), "").wantError(t, http.StatusNotFound, "not_found")
}
