package homey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The realtime operations, as errors name them.
const (
	opSocket    = "GET /socket.io/"
	opHandshake = "handshakeClient"
	opSubscribe = "subscribe"
)

var (
	errServerDisconnect = errors.New("the Homey ended the realtime session")
	errServerClosed     = errors.New("the Homey closed the realtime connection")
	errNoAnswer         = errors.New("no answer in time")
)

// rtConn is one realtime connection: a reader goroutine takes every packet off the socket and
// a pinger goroutine keeps it alive; the stream's goroutine drives the handshake and the
// subscriptions through it.
type rtConn struct {
	ws      *websocket.Conn
	ctx     context.Context // ends when the connection is shut down
	cancel  context.CancelFunc
	timeout time.Duration // for each step and each write
	onEvent func(uri string, args []json.RawMessage)

	mu     sync.Mutex
	nsp    string // the Homey's namespace, once asked for
	nextID int64
	acks   map[int64]chan []json.RawMessage // waiting for their ack
	err    error                            // why the connection ended (the first reason)

	rootUp, nspUp       chan struct{} // closed when the root namespace, the Homey's namespace are joined
	upRoot, upNSP       func()
	acked               chan struct{} // has a value when an ack arrived
	activity, pong      chan struct{} // the reader saw a packet, a pong
	done                chan struct{} // closed when the reader has ended
	wg                  sync.WaitGroup
	interval, pingLimit time.Duration
}

// socketURL is the WebSocket address of the realtime API at base: ws or wss, path /socket.io/,
// Engine.IO 3 over WebSocket only. A path in base is not kept: the official client, too, takes
// a base URL's path for a namespace, not for a prefix.
func socketURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s: invalid base URL", opSocket)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%s: invalid base URL", opSocket)
	}
	u.User, u.Path, u.RawPath, u.Fragment = nil, "/socket.io/", "", ""
	u.RawQuery = "EIO=3&transport=websocket"
	return u.String(), nil
}

// dial opens the WebSocket at base and reads the open packet; the reader and the pinger run
// from then on.
func (s *Stream) dial(ctx context.Context, base string) (*rtConn, error) {
	u, err := socketURL(base)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, s.opt.HandshakeTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		HTTPClient: s.opt.HTTP,
		HTTPHeader: http.Header{"User-Agent": {userAgent}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			if resp.Body == nil {
				resp.Body = http.NoBody
			}
			return nil, apiError(opSocket, resp)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", opSocket, &transportError{err: transportCause(err), base: base})
	}
	ws.SetReadLimit(maxRealtimeMessage)
	typ, msg, err := ws.Read(dctx)
	if err != nil {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("%s: open packet: %w", opSocket, err)
	}
	if typ != websocket.MessageText || len(msg) == 0 || msg[0] != eioOpen {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("%s: %w: no open packet", opSocket, errPacket)
	}
	hs, err := parseOpen(msg[1:])
	if err != nil {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("%s: %w", opSocket, err)
	}
	c := &rtConn{
		ws: ws, timeout: s.opt.HandshakeTimeout, onEvent: s.deliver, acks: map[int64]chan []json.RawMessage{},
		rootUp: make(chan struct{}), nspUp: make(chan struct{}), acked: make(chan struct{}, 1),
		activity: make(chan struct{}, 1), pong: make(chan struct{}, 1), done: make(chan struct{}),
		interval: time.Duration(hs.PingInterval) * time.Millisecond, pingLimit: time.Duration(hs.PingTimeout) * time.Millisecond,
	}
	c.upRoot = sync.OnceFunc(func() { close(c.rootUp) })
	c.upNSP = sync.OnceFunc(func() { close(c.nspUp) })
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Go(c.read)
	c.wg.Go(c.pinger)
	return c, nil
}

// session is one connection: set up, then serve until it ends. ready reports whether it got
// as far as KindConnected.
func (s *Stream) session(ctx context.Context) (ready bool, err error) {
	cred, err := s.src.Bearer(ctx, "")
	if err != nil {
		return false, sourceError(err)
	}
	if _, err := socketURL(cred.BaseURL); err != nil {
		return false, &finalError{err} // the source's mistake: no retry mends it
	}
	c, err := s.dial(ctx, cred.BaseURL)
	if err != nil {
		if rf, ok := s.src.(RouteFailer); ok && IsNetworkError(err) && ctx.Err() == nil {
			rf.Unreachable(cred.BaseURL)
		}
		return false, err
	}
	defer func() { c.close(ctx.Err() != nil) }()
	if err := c.wait(ctx, c.rootUp, "connect"); err != nil {
		return false, err
	}
	nsp, err := c.handshake(ctx, cred)
	if IsUnauthorized(err) {
		fresh, serr := s.src.Bearer(ctx, cred.Token)
		if serr != nil {
			joined := fmt.Errorf("%w; a new bearer: %w", err, serr)
			if retryable(serr) {
				return false, joined
			}
			return false, &finalError{joined}
		}
		nsp, err = c.handshake(ctx, fresh)
		if IsUnauthorized(err) {
			return false, err // a new session refused at once: try again later
		}
	}
	if err != nil {
		return false, handshakeError(err)
	}
	c.setNamespace(nsp)
	if nsp != "/" {
		if err := c.write(encodeMessage(sioPacket{Type: sioConnect, NSP: nsp, ID: noAck})); err != nil {
			return false, err
		}
		if err := c.wait(ctx, c.nspUp, "namespace "+nsp); err != nil {
			return false, err
		}
	}
	return s.serve(ctx, c)
}

// handshakeError classifies a refused handshake: a 4xx other than 401, 408 and 429 will not
// pass by itself (403: the bearer lacks a scope; 400: a wrong Homey id).
func handshakeError(err error) error {
	st := StatusOf(err)
	if st >= 400 && st < 500 && st != http.StatusUnauthorized && st != http.StatusRequestTimeout && st != http.StatusTooManyRequests {
		return &finalError{err}
	}
	return err
}

// pendingSub is a subscribe waiting for its ack.
type pendingSub struct {
	uri      string
	ack      chan []json.RawMessage
	deadline time.Time
}

// serve subscribes to the set and keeps the Homey's subscriptions in line with it until the
// connection ends.
func (s *Stream) serve(ctx context.Context, c *rtConn) (ready bool, err error) {
	server := map[string]int64{} // URI -> the ack id of its subscribe (acked or not)
	pending := map[int64]pendingSub{}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	reconcile := func() error {
		s.mu.Lock()
		want := make([]string, 0, len(s.subs))
		for u := range s.subs {
			want = append(want, u)
		}
		s.mu.Unlock()
		for _, u := range want {
			if _, ok := server[u]; ok {
				continue
			}
			id, ack := c.newAck()
			msg, err := eventMessage(c.namespace(), id, opSubscribe, u)
			if err != nil {
				return err
			}
			if err := c.write(msg); err != nil {
				return err
			}
			server[u] = id
			pending[id] = pendingSub{uri: u, ack: ack, deadline: time.Now().Add(c.timeout)}
		}
		for u, id := range server {
			if s.wanted(u) {
				continue
			}
			msg, err := eventMessage(c.namespace(), noAck, "unsubscribe", u)
			if err != nil {
				return err
			}
			if err := c.write(msg); err != nil {
				return err
			}
			delete(server, u)
			c.dropAck(id)
			delete(pending, id)
		}
		return nil
	}
	if err := reconcile(); err != nil {
		return false, err
	}
	for {
		if !ready && len(pending) == 0 {
			ready = true
			s.q.push(Event{Kind: KindConnected}, "state connected")
		}
		select {
		case <-ctx.Done():
			return ready, ctx.Err()
		case <-c.done:
			return ready, c.failure()
		case <-s.changed:
			if err := reconcile(); err != nil {
				return ready, err
			}
		case <-c.acked:
			for id, p := range pending {
				select {
				case args := <-p.ack:
					delete(pending, id)
					if err := ackError(opSubscribe, args); err != nil && server[p.uri] == id {
						delete(server, p.uri)
						s.refuse(p.uri, err)
					}
				default:
				}
			}
		case <-timer.C:
			for _, p := range pending {
				if time.Now().After(p.deadline) {
					return ready, fmt.Errorf("%s %s: %w", opSubscribe, p.uri, errNoAnswer)
				}
			}
			timer.Reset(c.timeout)
		}
	}
}

// handshake emits handshakeClient with cred and returns the namespace the Homey names.
func (c *rtConn) handshake(ctx context.Context, cred Credential) (string, error) {
	id, ack := c.newAck()
	msg, err := eventMessage("/", id, opHandshake, map[string]string{"token": cred.Token, "homeyId": cred.HomeyID})
	if err != nil {
		return "", err
	}
	if err := c.write(msg); err != nil {
		return "", err
	}
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	var args []json.RawMessage
	select {
	case args = <-ack:
	case <-c.done:
		return "", c.failure()
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		c.dropAck(id)
		return "", fmt.Errorf("%s: %w", opHandshake, errNoAnswer)
	}
	if err := ackError(opHandshake, args); err != nil {
		return "", err
	}
	var res struct {
		Namespace string `json:"namespace"`
	}
	if len(args) < 2 || json.Unmarshal(args[1], &res) != nil || !validNamespace(res.Namespace) {
		return "", fmt.Errorf("%s: %w: no namespace", opHandshake, errPacket)
	}
	return res.Namespace, nil
}

// validNamespace: "/" and a printable name without a comma, which ends a namespace on the wire.
func validNamespace(n string) bool {
	if !strings.HasPrefix(n, "/") || len(n) > 128 {
		return false
	}
	for _, r := range n {
		if r <= ' ' || r >= 0x7f || r == ',' {
			return false
		}
	}
	return true
}

// ackError is the error argument of an ack as an *APIError (nil when it is null, false or
// absent): {statusCode or code, error, error_description or message}, or a string.
func ackError(op string, args []json.RawMessage) error {
	if len(args) == 0 {
		return nil
	}
	switch a := string(bytes.TrimSpace(args[0])); a {
	case "null", "false", `""`, "0":
		return nil
	}
	e := &APIError{Op: op}
	var obj map[string]json.RawMessage
	if json.Unmarshal(args[0], &obj) == nil && obj != nil {
		for _, k := range []string{"statusCode", "code"} {
			var n int
			if json.Unmarshal(obj[k], &n) == nil && n >= 100 && n <= 599 {
				e.StatusCode = n
				break
			}
		}
		e.Code = sanitize(scalar(obj["error"]), maxCodeLen)
		for _, k := range []string{"error_description", "message"} {
			if d := description(obj[k]); d != "" {
				e.Description = sanitize(d, maxDescLen)
				break
			}
		}
		return e
	}
	if d := scalar(args[0]); d != "" {
		e.Description = sanitize(d, maxDescLen)
		return e
	}
	e.err = ErrBadResponse
	return e
}

// serverError is the error of an error packet from the Homey.
func serverError(data json.RawMessage) error {
	if err := ackError("realtime", []json.RawMessage{data}); err != nil {
		return err
	}
	return fmt.Errorf("realtime: %w: empty error packet", errPacket)
}

// wait waits for ch to close (what names it in the error), the connection to end or the
// step's timeout.
func (c *rtConn) wait(ctx context.Context, ch <-chan struct{}, what string) error {
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-c.done:
		return c.failure()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("realtime %s: %w", what, errNoAnswer)
	}
}

// newAck takes the next ack id and a channel its ack arrives on.
func (c *rtConn) newAck() (int64, chan []json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	ch := make(chan []json.RawMessage, 1)
	c.acks[id] = ch
	return id, ch
}

func (c *rtConn) dropAck(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.acks, id)
}

func (c *rtConn) setNamespace(nsp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nsp = nsp
}

func (c *rtConn) namespace() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nsp
}

// write sends one message within the step timeout; a failure ends the connection.
func (c *rtConn) write(msg []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		c.fail(fmt.Errorf("realtime write: %w", err))
		return c.failure()
	}
	return nil
}

// fail ends the connection with err, unless it ended already.
func (c *rtConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	_ = c.ws.CloseNow()
}

// failure is why the connection ended.
func (c *rtConn) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return errServerClosed
	}
	return c.err
}

// close ends the connection and waits for its goroutines; polite sends Engine.IO's close
// packet first, as a client that leaves does.
func (c *rtConn) close(polite bool) {
	if polite {
		ctx, cancel := context.WithTimeout(c.ctx, time.Second)
		_ = c.ws.Write(ctx, websocket.MessageText, []byte{eioClose})
		cancel()
	}
	c.fail(context.Canceled)
	c.cancel()
	c.wg.Wait()
}

// read takes every message off the socket until it fails.
func (c *rtConn) read() {
	defer close(c.done)
	for {
		typ, msg, err := c.ws.Read(c.ctx)
		if err != nil {
			c.fail(readError(err))
			return
		}
		signal(c.activity)
		if typ != websocket.MessageText || len(msg) == 0 {
			continue // binary attachments: no Homey event carries any
		}
		switch msg[0] {
		case eioPong:
			signal(c.pong)
		case eioPing: // an Engine.IO 4 habit; answered anyway
			_ = c.write(append([]byte{eioPong}, msg[1:]...))
		case eioClose:
			c.fail(errServerClosed)
			return
		case eioMessage:
			if err := c.packet(msg[1:]); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

// readError names a read failure: the Homey closing the socket, or the network's error.
func readError(err error) error {
	if websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) {
		return errServerClosed
	}
	return fmt.Errorf("realtime read: %w", err)
}

// packet handles one Socket.IO packet.
func (c *rtConn) packet(b []byte) error {
	p, err := decodePacket(b)
	if err != nil {
		return err
	}
	nsp := c.namespace()
	mine := p.NSP == "/" || p.NSP == nsp
	switch {
	case p.Type == sioConnect && p.NSP == "/":
		c.upRoot()
	case p.Type == sioConnect && p.NSP == nsp:
		c.upNSP()
	case p.Type == sioDisconnect && mine:
		return errServerDisconnect
	case p.Type == sioError && mine:
		return serverError(p.Data)
	case p.Type == sioEvent && p.NSP == nsp:
		name, args, err := eventArgs(p.Data)
		if err != nil {
			return err
		}
		c.onEvent(name, args)
	case p.Type == sioAck:
		var args []json.RawMessage
		_ = json.Unmarshal(p.Data, &args)
		c.mu.Lock()
		ch := c.acks[p.ID]
		delete(c.acks, p.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- args
			signal(c.acked)
		}
	}
	return nil
}

// pinger sends a ping every pingInterval after the last pong, and ends the connection when the
// Homey is silent for pingTimeout after a ping, or for pingInterval + pingTimeout after its
// last packet, as Engine.IO 3 clients do.
func (c *rtConn) pinger() {
	next := time.NewTimer(c.interval)
	defer next.Stop()
	deadline := time.NewTimer(c.interval + c.pingLimit)
	defer deadline.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-c.activity:
			deadline.Reset(c.interval + c.pingLimit)
		case <-c.pong:
			next.Reset(c.interval)
		case <-next.C:
			if c.write([]byte{eioPing}) != nil {
				return
			}
			deadline.Reset(c.pingLimit)
		case <-deadline.C:
			c.fail(fmt.Errorf("realtime: no pong within %v", c.pingLimit))
			return
		}
	}
}

// signal puts a value in ch unless it has one.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
