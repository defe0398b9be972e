package homeytest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The realtime API of every emulated Homey listener (relay, local, forwarded; API keys work on
// each): GET /socket.io/?EIO=3&transport=websocket, Socket.IO 2 over Engine.IO 3 and WebSocket
// only (a polling client is refused). The Homey's namespace is /api. Strict like the HTTP
// routes:
//   - handshakeClient {token, homeyId} is acked (err, {namespace: "/api"}); a token that is no
//     live session of this Homey nor one of its API keys gets {statusCode: 401, error,
//     error_description}, a missing or wrong homeyId 400;
//   - joining /api, subscribe and api before a handshake are refused (401);
//   - subscribe takes homey:manager:devices, homey:device:<id>, homey:manager:zones and
//     homey:zone:<id>, each with its scope as on HTTP (homey.device.readonly,
//     homey.zone.readonly; 403 without), anything else 404;
//   - a value set through PUT …/capability/<id> (or the socket's api event) is emitted as
//     "capability" {capabilityId, value, transactionId, transactionTime} on
//     homey:device:<id> and "device.update" (the whole device) on homey:manager:devices;
//   - a socket whose session ended (expired, revoked) is disconnected by the Homey (Socket.IO
//     disconnect of /api, then the WebSocket closes) when it next pings or is sent an event.
//
// The Homey closes a socket that sends nothing for pingInterval + pingTimeout, as Engine.IO
// servers do. The relay latency applies to the upgrade only, not to each packet.

const (
	realtimeNSP            = "/api"
	defaultRealtimeIvl     = 5 * time.Second // what Athom's Socket.IO page recommends
	defaultRealtimeTimeout = 8 * time.Second
	realtimeOutbox         = 1024 // packets waiting for a slow client before it is cut off
)

// realtimeHub holds the open realtime sockets of a Server; its zero value is ready. Lock
// order: Server.mu before realtimeHub.mu, never the other way.
type realtimeHub struct {
	mu       sync.Mutex
	socks    map[*rtSocket]struct{}
	interval time.Duration // 0 = defaultRealtimeIvl
	timeout  time.Duration // 0 = defaultRealtimeTimeout
	noPongs  bool
	closed   bool
	wg       sync.WaitGroup
}

// rtSocket is one client's realtime socket.
type rtSocket struct {
	h      *homey
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	out    chan []byte // nil entry: disconnect politely after what is queued

	mu     sync.Mutex // guards the fields below
	token  string     // the bearer of the handshake ("" before)
	scopes []string   // what it may do
	joined bool       // on /api
	subs   map[string]bool
	ended  bool
}

// serveRealtime answers GET /socket.io/ on a listener of h.
func (s *Server) serveRealtime(w http.ResponseWriter, r *http.Request, h *homey) {
	q := r.URL.Query()
	switch {
	case q.Get("EIO") != "3":
		jsonReply(http.StatusBadRequest, map[string]any{"code": 5, "message": "Unsupported protocol version"}).write(w)
		return
	case q.Get("transport") != "websocket":
		jsonReply(http.StatusBadRequest, map[string]any{"code": 0, "message": "Transport unknown"}).write(w)
		return
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		jsonReply(http.StatusBadRequest, map[string]any{"code": 3, "message": "Bad request"}).write(w)
		return
	}
	// Browsers send an Origin (the Homey web app is on another host); Node clients send none.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(1 << 20)
	c := &rtSocket{h: h, ws: ws, out: make(chan []byte, realtimeOutbox), subs: map[string]bool{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	hub := &s.rt
	hub.mu.Lock()
	if hub.closed {
		hub.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	if hub.socks == nil {
		hub.socks = map[*rtSocket]struct{}{}
	}
	hub.socks[c] = struct{}{}
	ivl, tmo := orDefault(hub.interval, defaultRealtimeIvl), orDefault(hub.timeout, defaultRealtimeTimeout)
	hub.wg.Add(1)
	hub.mu.Unlock()
	var writer sync.WaitGroup
	writer.Go(c.write)
	defer func() {
		_ = ws.CloseNow()
		c.cancel()
		writer.Wait()
		hub.mu.Lock()
		delete(hub.socks, c)
		hub.mu.Unlock()
		hub.wg.Done()
	}()
	open := mustJSON(map[string]any{"sid": randHex(10), "upgrades": []string{},
		"pingInterval": ivl.Milliseconds(), "pingTimeout": tmo.Milliseconds()})
	c.send(append([]byte{'0'}, open...))
	c.send([]byte("40"))
	for {
		idle := ivl + tmo // no packet for that long: the client is gone
		if hub.pongsOff() {
			idle = time.Hour // a half-dead connection: the Homey notices nothing either
		}
		rctx, cancel := context.WithTimeout(c.ctx, idle)
		typ, msg, err := ws.Read(rctx)
		cancel()
		if err != nil {
			return
		}
		if typ != websocket.MessageText || len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case '2': // ping
			if !s.pinged(c) {
				return
			}
			if !hub.pongsOff() {
				c.send(append([]byte{'3'}, msg[1:]...))
			}
		case '1': // the client leaves
			return
		case '4':
			p, err := parseIO(msg[1:])
			if err != nil {
				return // the reference server drops a client that sends garbage
			}
			if !s.realtimePacket(c, p) {
				return
			}
		}
	}
}

// write sends c's queued packets until the socket ends; a nil packet is a polite disconnect.
func (c *rtSocket) write() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case msg := <-c.out:
			if msg == nil {
				ctx, cancel := context.WithTimeout(c.ctx, time.Second)
				_ = c.ws.Write(ctx, websocket.MessageText, ioMessage(1, realtimeNSP, -1, nil))
				cancel()
				_ = c.ws.Close(websocket.StatusNormalClosure, "")
				c.cancel()
				return
			}
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			err := c.ws.Write(ctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				c.cancel()
				_ = c.ws.CloseNow()
				return
			}
		}
	}
}

// send queues msg for c without waiting: a client too slow to take realtimeOutbox packets is
// cut off.
func (c *rtSocket) send(msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	select {
	case c.out <- msg:
	default:
		c.ended = true
		_ = c.ws.CloseNow()
	}
}

// disconnect ends c politely: the Homey's Socket.IO disconnect of /api, then the close.
func (c *rtSocket) disconnect() {
	c.send(nil)
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
}

// pinged counts a ping of c ("IO ping") and checks that c's session is live; if not, c is
// disconnected.
func (s *Server) pinged(c *rtSocket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["IO ping"]++
	return s.validLocked(c)
}

// validLocked: c has not handshaken yet, or its bearer is still a live session or an API key
// of its Homey; otherwise c is disconnected. s.mu held.
func (s *Server) validLocked(c *rtSocket) bool {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok == "" {
		return true
	}
	if _, ok := s.bearerScopesLocked(c.h, tok); ok {
		return true
	}
	c.disconnect()
	return false
}

// bearerScopesLocked returns what tok may do on h: a live session's scopes or an API key's.
func (s *Server) bearerScopesLocked(h *homey, tok string) ([]string, bool) {
	if k := s.apiKeyLocked(tok); k != nil {
		return k.scopes, k.homeyID == h.id
	}
	sess := s.sessions[tok]
	if sess == nil || sess.HomeyID != h.id || !s.clock().Before(sess.Expiry) {
		return nil, false
	}
	return sessionScopes, true
}

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

// publishLocked sends the event (name, data) on uri to every socket of h that subscribed to
// it. s.mu held: a socket whose session ended meanwhile is disconnected instead.
func (s *Server) publishLocked(h *homey, uri, name string, data any) {
	msg := ioMessage(2, realtimeNSP, -1, mustJSON([]any{uri, name, data}))
	s.rt.mu.Lock()
	var to []*rtSocket
	for c := range s.rt.socks {
		if c.h != h {
			continue
		}
		c.mu.Lock()
		if c.joined && c.subs[uri] {
			to = append(to, c)
		}
		c.mu.Unlock()
	}
	s.rt.mu.Unlock()
	for _, c := range to {
		if s.validLocked(c) {
			c.send(msg)
		}
	}
}

// endInvalidLocked disconnects every socket whose session is no longer live; s.mu held.
func (s *Server) endInvalidLocked() {
	for _, c := range s.rt.list("") {
		s.validLocked(c)
	}
}

// list returns the sockets of Homey homeyID ("" = all).
func (hub *realtimeHub) list(homeyID string) []*rtSocket {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	var out []*rtSocket
	for c := range hub.socks {
		if homeyID == "" || c.h.id == homeyID {
			out = append(out, c)
		}
	}
	return out
}

func (hub *realtimeHub) pongsOff() bool {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	return hub.noPongs
}

// closeAll cuts every socket, refuses new ones and waits for their handlers.
func (hub *realtimeHub) closeAll() {
	hub.mu.Lock()
	hub.closed = true
	hub.mu.Unlock()
	for _, c := range hub.list("") {
		_ = c.ws.CloseNow()
	}
	hub.wg.Wait()
}

// DropRealtime cuts every realtime socket of Homey homeyID ("" = every Homey) at once, with no
// close handshake, as a network that drops or a Homey that restarts does.
func (s *Server) DropRealtime(homeyID string) {
	for _, c := range s.rt.list(homeyID) {
		_ = c.ws.CloseNow()
	}
}

// ExpireSessions ends every Homey session now, as if its lifetime had run out: HTTP requests
// with one answer 401, and a realtime socket that handshook with one is disconnected by the
// Homey (Socket.IO disconnect of /api, then the close); its next handshake with the session is
// refused with 401 until the client signs in to the Homey again. API keys are not affected.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	for _, sess := range s.sessions {
		if sess.Expiry.After(now) {
			sess.Expiry = now
		}
	}
	s.saveLogged()
	s.endInvalidLocked()
}

// SetRealtimePing sets the pingInterval and pingTimeout that new realtime sockets are told in
// their open packet (defaults 5 s and 8 s); the Homey also closes a socket that sends nothing
// for their sum. 0 restores a default.
func (s *Server) SetRealtimePing(interval, timeout time.Duration) {
	s.rt.mu.Lock()
	defer s.rt.mu.Unlock()
	s.rt.interval, s.rt.timeout = interval, timeout
}

// SetRealtimePongs switches the answers to realtime pings (default on). Off, the Homey goes on
// taking packets and sending events but never answers a ping, nor closes a silent socket: a
// half-dead connection that only a client's ping timeout notices.
func (s *Server) SetRealtimePongs(on bool) {
	s.rt.mu.Lock()
	defer s.rt.mu.Unlock()
	s.rt.noPongs = !on
}

// RealtimeClients counts the open realtime sockets of Homey homeyID ("" = every Homey) that
// have handshaken and joined the Homey's namespace.
func (s *Server) RealtimeClients(homeyID string) int {
	n := 0
	for _, c := range s.rt.list(homeyID) {
		c.mu.Lock()
		if c.joined && !c.ended {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// RealtimeSubscribers counts the open realtime sockets of Homey homeyID subscribed to uri.
func (s *Server) RealtimeSubscribers(homeyID, uri string) int {
	n := 0
	for _, c := range s.rt.list(homeyID) {
		c.mu.Lock()
		if c.joined && !c.ended && c.subs[uri] {
			n++
		}
		c.mu.Unlock()
	}
	return n
}
