package homey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
