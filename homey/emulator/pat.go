package emulator

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// API keys made from a signed-in session (docs/protocol.md#create-key): GET and POST /api/manager/users/pat,
// DELETE /api/manager/users/pat/<id>. Only the owner's OAuth session (users/login) may manage
// them: a key's own session answers 403 "Invalid Session Type", a Homey whose user is no longer
// its owner (SetOwner) 403 "Must Be Owner". A key made here works like one from AddAPIKey,
// limited to its scopes on every route, and is listed by IssuedSecrets.

// SetOwner makes the signed-in user the owner of Homey homeyID (on, the default) or a mere user
// of it (off): then key management answers 403 Must Be Owner.
func (s *Server) SetOwner(homeyID string, on bool) {
	s.ownersMu.Lock()
	defer s.ownersMu.Unlock()
	if s.notOwners == nil {
		s.notOwners = map[string]bool{}
	}
	s.notOwners[homeyID] = !on
}

// APIKeyNames lists the names of the keys of Homey homeyID made with POST users/pat, sorted.
func (s *Server) APIKeyNames(homeyID string) []string {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	var names []string
	for _, k := range s.apiKeys {
		if k.homeyID == homeyID && k.name != "" {
			names = append(names, k.name)
		}
	}
	sort.Strings(names)
	return names
}

// patDoc is one key as the pat routes show it (the token only in POST's answer).
type patDoc struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Token     string   `json:"token,omitempty"`
	CreatedAt string   `json:"createdAt"`
}

// patRoutes adds the key routes of Homey h to rt.
func (s *Server) patRoutes(rt *router, h *homey) {
	rt.add(http.MethodGet, "/api/manager/users/pat", s.authed(h, s.patGuard(s.listPAT)))
	rt.add(http.MethodPost, "/api/manager/users/pat", s.authed(h, s.patGuard(s.createPAT)))
	rt.add(http.MethodDelete, "/api/manager/users/pat/*", s.authed(h, s.patGuard(s.deletePAT)))
}

// patGuard lets only the owner's OAuth session through, on a Homey that has API keys.
func (s *Server) patGuard(next homeyHandler) homeyHandler {
	return func(h *homey, sess *session, body []byte, params []string) reply {
		if h.variant.Platform == "cloud" || h.variant.APIVersion == 1 || h.variant.APIVersion == 2 {
			// Homey Cloud and Homey Pro 2019 have no API keys: no such route (docs/protocol.md#create-key).
			return errorReply(http.StatusNotFound, "not_found", "no route /api/manager/users/pat")
		}
		if s.keyByIDLocked(sess.ID) != nil {
			return errorReply(http.StatusForbidden, "Invalid Session Type", "an API key cannot manage API keys")
		}
		s.ownersMu.Lock()
		notOwner := s.notOwners[h.id]
		s.ownersMu.Unlock()
		if notOwner {
			return errorReply(http.StatusForbidden, "Must Be Owner", "only the owner of this Homey can manage API keys")
		}
		return next(h, sess, body, params)
	}
}

// keyByIDLocked is the key whose session id is id, or nil.
func (s *Server) keyByIDLocked(id string) *apiKey {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	for _, k := range s.apiKeys {
		if k.id == id {
			return k
		}
	}
	return nil
}

func (s *Server) listPAT(h *homey, _ *session, _ []byte, _ []string) reply {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	list := []patDoc{}
	for _, k := range s.apiKeys {
		if k.homeyID == h.id {
			list = append(list, patDoc{ID: k.id, Name: k.name, Scopes: append([]string{}, k.scopes...), CreatedAt: k.created})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return jsonReply(http.StatusOK, list)
}

// createPAT is POST users/pat {"name": "...", "scopes": [...]}: both required, every scope a
// name the Homey knows.
func (s *Server) createPAT(h *homey, _ *session, body []byte, _ []string) reply {
	var in struct {
		Name   *string   `json:"name"`
		Scopes *[]string `json:"scopes"`
	}
	if json.Unmarshal(body, &in) != nil {
		return errorReply(http.StatusBadRequest, "Invalid Body", "the body must be a JSON object")
	}
	switch {
	case in.Name == nil || strings.TrimSpace(*in.Name) == "":
		return errorReply(http.StatusBadRequest, "Missing Parameter: name", "name is required")
	case in.Scopes == nil:
		return errorReply(http.StatusBadRequest, "Missing Parameter: scopes", "scopes is required")
	}
	for _, sc := range *in.Scopes {
		if !validScope(sc) {
			return errorReply(http.StatusBadRequest, "Invalid Scope", clip("unknown scope "+sc))
		}
	}
	tok := uuid4() + ":" + uuid4() + ":" + randHex(20)
	k := &apiKey{homeyID: h.id, id: uuid4(), scopes: append([]string{}, *in.Scopes...), name: *in.Name,
		created: s.clock().UTC().Format("2006-01-02T15:04:05.000Z")}
	s.issued = append(s.issued, tok)
	s.keysMu.Lock()
	if s.apiKeys == nil {
		s.apiKeys = map[string]*apiKey{}
	}
	s.apiKeys[tok] = k
	s.keysMu.Unlock()
	return jsonReply(http.StatusOK, patDoc{ID: k.id, Name: k.name, Scopes: k.scopes, Token: tok, CreatedAt: k.created})
}

func (s *Server) deletePAT(h *homey, _ *session, _ []byte, params []string) reply {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	for tok, k := range s.apiKeys {
		if k.homeyID == h.id && k.id == params[0] {
			delete(s.apiKeys, tok)
			return jsonReply(http.StatusOK, map[string]any{})
		}
	}
	return errorReply(http.StatusNotFound, "Not Found", "no API key with this id")
}

// validScope: "homey", homey.<manager>[.<access>] with lowercase letters only — the emulator's
// own, looser reading (homeytray checks names against its list before it asks).
func validScope(sc string) bool {
	parts := strings.Split(sc, ".")
	if parts[0] != "homey" || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") != "" {
			return false
		}
	}
	return true
}
