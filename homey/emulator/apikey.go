package emulator

import (
	"net/http"
	"strings"
	"time"
)

// API keys: what a Homey Pro (Early 2023 and later) calls the Personal Access Tokens created in
// its web app under Settings → API Keys (docs/protocol.md#api-keys). A key is sent as "Authorization:
// Bearer <key>" straight to the Homey's routes: no cloud, no delegation, no users/login, no
// expiry. Its session (GET /api/manager/sessions/session/me) has type "PAT" and the key's
// scopes; a route that needs a scope the key lacks answers 403 (docs/protocol.md#scopes: "likely 403").
//
// Keys live in memory only (not in Options.StateFile): they are for tests.

// apiKey is one key of one Homey.
type apiKey struct {
	homeyID string
	id      string
	scopes  []string
	name    string // set for keys made with POST users/pat (pat.go)
	created string // their createdAt
}

// AddAPIKey creates an API key for Homey homeyID with these scopes (e.g.
// "homey.device.readonly"; "homey" is every scope, "homey.device" includes
// "homey.device.readonly") and returns it. The key is listed by IssuedSecrets. It panics for
// an unknown Homey id (a mistake in the test).
func (s *Server) AddAPIKey(homeyID string, scopes []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findHomeyLocked(homeyID) == nil {
		panic("emulator: AddAPIKey: no Homey " + homeyID)
	}
	tok := uuid4() + ":" + uuid4() + ":" + randHex(20)
	s.issued = append(s.issued, tok)
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if s.apiKeys == nil {
		s.apiKeys = map[string]*apiKey{}
	}
	s.apiKeys[tok] = &apiKey{homeyID: homeyID, id: uuid4(), scopes: append([]string{}, scopes...)}
	return tok
}

// apiKeyLocked returns the key tok of s, or nil.
func (s *Server) apiKeyLocked(tok string) *apiKey {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	return s.apiKeys[tok]
}

// checkAPIKeyLocked is the session check for a request that carries API key k: a key of
// another Homey is refused (401); GET sessions/session/me is answered here (type PAT, the
// key's scopes); other routes need their scope (403 without it).
func (s *Server) checkAPIKeyLocked(h *homey, k *apiKey, r *http.Request) (*session, reply) {
	if k.homeyID != h.id {
		return nil, invalidSession("the session is invalid or was revoked")
	}
	if r.Method == http.MethodGet && r.URL.Path == "/api/manager/sessions/session/me" {
		return nil, jsonReply(http.StatusOK, sessionDoc{ID: k.id, Type: "PAT",
			Scopes: append([]string{}, k.scopes...), IntersectedScopes: append([]string{}, k.scopes...)})
	}
	if need := scopeFor(r); need != "" && !hasScope(k.scopes, need) {
		return nil, errorReply(http.StatusForbidden, "Missing Scopes", "this API key lacks the scope "+need)
	}
	return &session{ID: k.id, HomeyID: h.id, Expiry: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, reply{}
}

// scopeFor is the scope a Homey route needs (HomeyAPIV3Local's per-operation scopes).
func scopeFor(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/manager/devices/") && r.Method == http.MethodGet:
		return "homey.device.readonly"
	case strings.HasPrefix(p, "/api/manager/devices/"):
		return "homey.device.control"
	case strings.HasPrefix(p, "/api/manager/zones/"):
		return "homey.zone.readonly"
	case strings.HasPrefix(p, "/api/manager/flow/") && r.Method == http.MethodGet:
		return "homey.flow.readonly"
	case strings.HasPrefix(p, "/api/manager/flow/") && strings.HasSuffix(p, "/trigger"):
		return "homey.flow.start"
	case strings.HasPrefix(p, "/api/manager/flow/"):
		return "homey.flow"
	case strings.HasPrefix(p, "/api/manager/system/") && p != "/api/manager/system/ping":
		return "homey.system.readonly"
	}
	return "" // users/pat answers a key itself: 403 Invalid Session Type (pat.go)
}

// hasScope is the emulator's own reading of scopes, deliberately not homey.HasScope: a shared
// mistake would pass both sides of the tests.
// hasScope: scopes grants need itself or through a parent ("homey" grants everything,
// "homey.device" grants "homey.device.readonly").
func hasScope(scopes []string, need string) bool {
	for _, s := range scopes {
		if s == need || strings.HasPrefix(need, s+".") {
			return true
		}
	}
	return false
}
