package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// session is a Homey session created by users/login.
type session struct {
	ID      string    `json:"id"`
	HomeyID string    `json:"homey_id"`
	Expiry  time.Time `json:"expiry"`
}

// sessionDoc is GET /api/manager/sessions/session/me.
type sessionDoc struct {
	ID                string   `json:"id"`
	Type              string   `json:"type"`
	Scopes            []string `json:"scopes"`
	IntersectedScopes []string `json:"intersectedScopes"`
}

// sessionScopes are what an owner's OAuth session may do.
var sessionScopes = []string{
	"homey.device.readonly", "homey.device.control", "homey.zone.readonly",
	"homey.system.readonly", "homey.user.self",
}

// homeyHandler answers an authenticated Homey request with s.mu held.
type homeyHandler func(h *homey, sess *session, body []byte, params []string) reply

// homeyRoutes is one Homey's API, as its listener via (ViaRelay, ViaLocal, ViaForwarded) serves it.
func (s *Server) homeyRoutes(h *homey, via string) router {
	var rt router
	rt.add(http.MethodGet, "/api/manager/system/ping", s.ping(h, via))
	rt.add(http.MethodPost, "/api/manager/users/login", s.login(h))
	rt.add(http.MethodGet, "/api/manager/sessions/session/me", s.authed(h, sessionMe))
	rt.add(http.MethodGet, "/api/manager/devices/device", s.authed(h, func(h *homey, sess *session, body []byte, params []string) reply {
		if h.variant.APIVersion == 2 { // the Pro 2019's specification has only the trailing slash
			return errorReply(http.StatusNotFound, "not_found", "no route GET /api/manager/devices/device")
		}
		return devices(h, sess, body, params)
	}))
	rt.add(http.MethodGet, "/api/manager/devices/device/", s.authed(h, devices))
	rt.add(http.MethodGet, "/api/manager/devices/device/*", s.authed(h, oneDevice))
	rt.add(http.MethodPut, "/api/manager/devices/device/*/capability/*", s.authed(h, s.setCapability))
	for _, p := range []string{"/api/manager/zones/zone", "/api/manager/zones/zone/"} {
		rt.add(http.MethodGet, p, s.authed(h, zones))
	}
	s.patRoutes(&rt, h) // API keys from the owner's session (pat.go)
	return rt
}

// ping needs no session. A wrong ?id= answers the literal false, as a Homey
// does when it is not the one the client looks for. Variant.Ping403 answers 403 instead.
func (s *Server) ping(h *homey, via string) handlerFunc {
	return func(r *http.Request, _ []string) reply {
		s.mu.Lock()
		rep, forbidden := h.ping403(via)
		s.mu.Unlock()
		if forbidden {
			return rep
		}
		q := r.URL.Query()
		return jsonReply(http.StatusOK, !q.Has("id") || q.Get("id") == h.id)
	}
}

// login is POST /api/manager/users/login {"token": <delegation JWT>}: the
// answer is a bare JSON string, the session token.
func (s *Server) login(h *homey) handlerFunc {
	return func(r *http.Request, _ []string) reply {
		body, err := readBody(r)
		var in struct {
			Token any `json:"token"`
		}
		if err != nil || json.Unmarshal(body, &in) != nil {
			return errorReply(http.StatusBadRequest, "Invalid Body", "the body must be a JSON object")
		}
		jwtStr, ok := in.Token.(string)
		if !ok || jwtStr == "" {
			return errorReply(http.StatusBadRequest, "Missing Parameter: token", "token must be a non-empty string")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if h.variant.APIVersion == 1 { // firmware 1.x signs in with /user/me's homey.token instead
			return errorReply(http.StatusNotFound, "not_found", "no route POST /api/manager/users/login")
		}
		sub, err := s.verifyDelegationLocked(jwtStr)
		if err != nil {
			return errorReply(http.StatusUnauthorized, "Invalid Token", clip("the delegation token was rejected: "+err.Error()))
		}
		if !ownsHomey(sub, h) {
			return errorReply(http.StatusForbidden, "Forbidden", "the user has no access to this Homey")
		}
		tok := uuid4() + ":" + uuid4() + ":" + randHex(20)
		s.sessions[tok] = &session{ID: uuid4(), HomeyID: h.id, Expiry: s.clock().Add(s.sessionTTL)}
		s.issued = append(s.issued, tok)
		if err := s.saveLocked(); err != nil {
			return errorReply(http.StatusInternalServerError, "server_error", err.Error())
		}
		return s.tokenReplyLocked(tok)
	}
}

// authed checks the session bearer of this Homey, then runs next with s.mu held.
func (s *Server) authed(h *homey, next homeyHandler) handlerFunc {
	return func(r *http.Request, params []string) reply {
		body, err := readBody(r)
		if err != nil {
			return errorReply(http.StatusBadRequest, "Invalid Body", "the body could not be read")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		sess, rep := s.checkSessionLocked(h, r)
		if sess == nil {
			return rep
		}
		return next(h, sess, body, params)
	}
}

// checkSessionLocked returns r's live session on h, or nil and a 401 answer.
func (s *Server) checkSessionLocked(h *homey, r *http.Request) (*session, reply) {
	tok, ok := bearerToken(r)
	if !ok {
		return nil, invalidSession("missing bearer token")
	}
	if k := s.apiKeyLocked(tok); k != nil {
		return s.checkAPIKeyLocked(h, k, r) // an API key (apikey.go)
	}
	sess := s.sessions[tok]
	switch {
	case sess == nil || sess.HomeyID != h.id:
		return nil, invalidSession("the session is invalid or was revoked")
	case !s.clock().Before(sess.Expiry):
		return nil, invalidSession("the session expired")
	}
	return sess, reply{}
}

func invalidSession(desc string) reply {
	return errorReply(http.StatusUnauthorized, "Invalid Session", desc)
}

func sessionMe(_ *homey, sess *session, _ []byte, _ []string) reply {
	return jsonReply(http.StatusOK, sessionDoc{ID: sess.ID, Type: "OAUTH",
		Scopes: []string{"homey"}, IntersectedScopes: sessionScopes})
}

// The device and zone answers are encoded here, under s.mu: a reply is written after the lock
// is released, when a PUT may be changing the same devices.

func devices(h *homey, _ *session, _ []byte, _ []string) reply {
	return jsonReply(http.StatusOK, json.RawMessage(mustJSON(h.devices)))
}

func zones(h *homey, _ *session, _ []byte, _ []string) reply {
	return jsonReply(http.StatusOK, json.RawMessage(mustJSON(h.zones)))
}

func oneDevice(h *homey, _ *session, _ []byte, params []string) reply {
	d := h.devices[params[0]]
	if d == nil {
		return errorReply(http.StatusNotFound, "Device Not Found", "no device with this id")
	}
	return jsonReply(http.StatusOK, json.RawMessage(mustJSON(d)))
}

// setCapability is PUT .../device/<id>/capability/<capabilityId> {"value": v}.
func (s *Server) setCapability(h *homey, _ *session, body []byte, params []string) reply {
	d := h.devices[params[0]]
	if d == nil {
		return errorReply(http.StatusNotFound, "Device Not Found", "no device with this id")
	}
	c := d.CapabilitiesObj[params[1]]
	if c == nil {
		return errorReply(http.StatusNotFound, "Capability Not Found", "the device has no such capability")
	}
	var in map[string]any
	if json.Unmarshal(body, &in) != nil {
		return errorReply(http.StatusBadRequest, "Invalid Body", "the body must be a JSON object")
	}
	v, ok := in["value"]
	if !ok {
		return errorReply(http.StatusBadRequest, "Missing Parameter: value", "value is required")
	}
	at := s.clock().Truncate(time.Millisecond) // the precision of lastUpdated and of transactionTime
	if last, err := time.Parse(time.RFC3339Nano, c.LastUpdated); err == nil && !at.After(last) {
		at = last.Add(time.Millisecond) // strictly later: the official client drops a change at the same instant
	}
	if err := c.set(v, at); err != nil {
		return errorReply(http.StatusBadRequest, "Invalid Value", err.Error())
	}
	// The realtime events (realtime.go): a transaction id and time the client sent come back
	// (the official client recognises its own changes by them), else the Homey's own.
	txID, txTime := in["transactionId"], in["transactionTime"]
	if id, ok := txID.(string); !ok || id == "" {
		txID = "emulator-" + uuid4()
	}
	if txTime == nil {
		txTime = at.UnixMilli()
	}
	s.publishLocked(h, "homey:device:"+d.ID, "capability", map[string]any{
		"capabilityId": c.ID, "value": c.Value, "transactionId": txID, "transactionTime": txTime})
	s.publishLocked(h, "homey:manager:devices", "device.update", d)
	return jsonReply(http.StatusOK, map[string]any{})
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
}

// clip keeps an error description short (≤ 200 bytes).
func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
