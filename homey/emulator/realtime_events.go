package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
)

// What a realtime socket may ask of the emulated Homey: the handshake, its namespace, the
// subscriptions and the api event (see realtime.go for the rules).

// realtimePacket handles one packet from c; false ends the socket.
func (s *Server) realtimePacket(c *rtSocket, p ioPacket) bool {
	switch p.kind {
	case 0: // connect a namespace
		c.mu.Lock()
		authed := c.token != ""
		if p.nsp == realtimeNSP && authed {
			c.joined = true
		}
		c.mu.Unlock()
		switch {
		case p.nsp == "/":
		case p.nsp != realtimeNSP:
			c.send(ioMessage(4, p.nsp, -1, mustJSON("Invalid namespace")))
		case !authed:
			c.send(ioMessage(4, p.nsp, -1, mustJSON("Unauthorized: handshakeClient first")))
		default:
			c.send(ioMessage(0, p.nsp, -1, nil))
		}
	case 1: // disconnect
		if p.nsp == "/" {
			return false
		}
		c.mu.Lock()
		c.joined = false
		clear(c.subs)
		c.mu.Unlock()
	case 2:
		var args []json.RawMessage
		var name string
		if json.Unmarshal(p.data, &args) != nil || len(args) == 0 || json.Unmarshal(args[0], &name) != nil {
			return false
		}
		res := s.realtimeEvent(c, p.nsp, name, args[1:])
		if p.id >= 0 {
			c.send(ioMessage(3, p.nsp, p.id, mustJSON(res)))
		}
	}
	return true
}

// realtimeEvent answers event name with args on namespace nsp: the ack's arguments.
func (s *Server) realtimeEvent(c *rtSocket, nsp, name string, args []json.RawMessage) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["IO "+name]++
	c.mu.Lock()
	authed, joined := c.token != "", c.joined
	c.mu.Unlock()
	switch {
	case nsp == "/" && name == "handshakeClient":
		return s.handshakeLocked(c, args)
	case !authed:
		return []any{ackError(http.StatusUnauthorized, "Not Authenticated", "emit handshakeClient first")}
	case nsp != realtimeNSP || !joined:
		return []any{ackError(http.StatusBadRequest, "Invalid Namespace", "join "+realtimeNSP+" first")}
	case !s.validLocked(c):
		return []any{ackError(http.StatusUnauthorized, "Invalid Session", "the session expired")}
	}
	var arg json.RawMessage
	if len(args) > 0 {
		arg = args[0]
	}
	switch name {
	case "subscribe", "unsubscribe":
		var uri string
		if json.Unmarshal(arg, &uri) != nil {
			return []any{ackError(http.StatusBadRequest, "Invalid Parameter", "uri must be a string")}
		}
		if name == "unsubscribe" {
			c.mu.Lock()
			delete(c.subs, uri)
			c.mu.Unlock()
			return []any{nil}
		}
		if e := s.checkURILocked(c, uri); e != nil {
			return []any{e}
		}
		c.mu.Lock()
		c.subs[uri] = true
		c.mu.Unlock()
		return []any{nil}
	case "api":
		return s.realtimeAPILocked(c, arg)
	}
	return []any{ackError(http.StatusNotFound, "Unknown Event", "no event "+clip(name))}
}

// handshakeLocked checks handshakeClient's {token, homeyId}.
func (s *Server) handshakeLocked(c *rtSocket, args []json.RawMessage) []any {
	var in struct {
		Token   string `json:"token"`
		HomeyID string `json:"homeyId"`
	}
	if len(args) == 0 || json.Unmarshal(args[0], &in) != nil || in.Token == "" {
		return []any{ackError(http.StatusBadRequest, "Invalid Parameter", "token must be a non-empty string")}
	}
	if in.HomeyID != c.h.id {
		return []any{ackError(http.StatusBadRequest, "Invalid Homey ID", "homeyId does not name this Homey")}
	}
	scopes, ok := s.bearerScopesLocked(c.h, in.Token)
	if !ok {
		s.counts["IO handshakeClient 401"]++
		return []any{ackError(http.StatusUnauthorized, "Invalid Session", "the session is invalid, expired or was revoked")}
	}
	c.mu.Lock()
	c.token, c.scopes = in.Token, scopes
	c.mu.Unlock()
	return []any{nil, map[string]string{"namespace": realtimeNSP}}
}

// checkURILocked returns nil when c may subscribe to uri, else the ack's error.
func (s *Server) checkURILocked(c *rtSocket, uri string) map[string]any {
	parts := strings.SplitN(uri, ":", 3)
	if len(parts) != 3 || parts[0] != "homey" {
		return ackError(http.StatusNotFound, "Not Found", "unknown URI "+clip(uri))
	}
	var need string
	switch kind, id := parts[1], parts[2]; {
	case kind == "manager" && id == "devices":
		need = "homey.device.readonly"
	case kind == "device":
		if c.h.devices[id] == nil {
			return ackError(http.StatusNotFound, "Device Not Found", "no device with this id")
		}
		need = "homey.device.readonly"
	case kind == "manager" && id == "zones":
		need = "homey.zone.readonly"
	case kind == "zone":
		if c.h.zones[id] == nil {
			return ackError(http.StatusNotFound, "Zone Not Found", "no zone with this id")
		}
		need = "homey.zone.readonly"
	default:
		return ackError(http.StatusNotFound, "Not Found", "unknown URI "+clip(uri))
	}
	c.mu.Lock()
	scopes := c.scopes
	c.mu.Unlock()
	if !hasScope(scopes, need) {
		return ackError(http.StatusForbidden, "Missing Scopes", "this session lacks the scope "+need)
	}
	return nil
}

// realtimeAPILocked answers the api event {uri, operation, args}, through which the official
// client makes its calls while its socket is up: the device and zone reads and
// setCapabilityValue.
func (s *Server) realtimeAPILocked(c *rtSocket, arg json.RawMessage) []any {
	var in struct {
		URI       string `json:"uri"`
		Operation string `json:"operation"`
		Args      struct {
			ID, DeviceID, CapabilityID string
			Value                      any
			TransactionID              any
			TransactionTime            any
		} `json:"args"`
	}
	if json.Unmarshal(arg, &in) != nil {
		return []any{ackError(http.StatusBadRequest, "Invalid Parameter", "api takes {uri, operation, args}")}
	}
	c.mu.Lock()
	scopes := c.scopes
	c.mu.Unlock()
	a := in.Args
	op := in.URI + " " + in.Operation
	need := map[string]string{
		"homey:manager:devices getDevices":         "homey.device.readonly",
		"homey:manager:devices getDevice":          "homey.device.readonly",
		"homey:manager:devices setCapabilityValue": "homey.device.control",
		"homey:manager:zones getZones":             "homey.zone.readonly",
		"homey:manager:zones getZone":              "homey.zone.readonly",
	}[op]
	switch {
	case need == "":
		return []any{ackError(http.StatusNotFound, "Not Found", "no operation "+clip(op))}
	case !hasScope(scopes, need):
		return []any{ackError(http.StatusForbidden, "Missing Scopes", "this session lacks the scope "+need)}
	}
	var rep reply
	switch in.Operation {
	case "getDevices":
		rep = devices(c.h, nil, nil, nil)
	case "getDevice":
		rep = oneDevice(c.h, nil, nil, []string{a.ID})
	case "setCapabilityValue":
		body := mustJSON(map[string]any{"value": a.Value, "transactionId": a.TransactionID, "transactionTime": a.TransactionTime})
		rep = s.setCapability(c.h, nil, body, []string{a.DeviceID, a.CapabilityID})
	case "getZones":
		rep = zones(c.h, nil, nil, nil)
	case "getZone":
		if z := c.h.zones[a.ID]; z != nil {
			rep = jsonReply(http.StatusOK, z)
		} else {
			rep = errorReply(http.StatusNotFound, "Zone Not Found", "no zone with this id")
		}
	}
	if rep.status < 200 || rep.status > 299 {
		m, _ := rep.body.(map[string]string)
		return []any{ackError(rep.status, m["error"], m["error_description"])}
	}
	return []any{nil, rep.body}
}
