package emulator

import (
	"context"
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
