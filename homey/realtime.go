package homey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// A Homey's realtime API: the Homey pushes events about what it manages to a client that
// subscribed to them, over Socket.IO 2 on Engine.IO 3 (the wire format is in eio.go), at the same
// base URL as its HTTP API. The client opens a WebSocket at /socket.io/?EIO=3&transport=websocket,
// emits "handshakeClient" {token, homeyId} on the root namespace and gets back (err, {namespace}),
// joins that namespace (e.g. /api) and emits "subscribe" with a URI for each thing it wants to
// hear about ("homey:manager:devices", "homey:device:<id>", …), each with an ack (err). The
// Homey then emits events named by the URI, with the arguments (event, data): on
// homey:device:<id> "capability" {capabilityId, value, transactionId, transactionTime}; on
// homey:manager:devices "device.create", "device.update" and "device.delete" with the device.

// Subscription URIs.
const (
	DevicesURI = "homey:manager:devices" // device.create, device.update, device.delete
	ZonesURI   = "homey:manager:zones"   // zone.create, zone.update, zone.delete
)

// DeviceURI is the subscription URI of one device: its "capability" events.
func DeviceURI(id string) string { return "homey:device:" + id }

// Defaults of [StreamOptions].
const (
	DefaultQueueSize  = 1024
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	// DefaultHandshakeTimeout bounds each step of setting up a connection (the upgrade, the
	// open packet, the handshake, the namespace, the subscriptions), as the official client
	// bounds its handshake and subscriptions.
	DefaultHandshakeTimeout = 10 * time.Second
)

const (
	queueBytes         = 8 << 20 // the events a slow reader has not taken yet, at most
	maxRealtimeMessage = 4 << 20 // one WebSocket message (a whole device is a few KiB)
	maxURILen          = 512
)

// StreamOptions configure a [Stream]. The zero value is usable.
type StreamOptions struct {
	// HTTP makes the WebSocket upgrade (its Transport: TLS, proxy); nil = a client of the
	// default transport. Its Timeout, if any, bounds the upgrade only.
	HTTP *http.Client
	// QueueSize is how many events are kept for a reader that is slower than the Homey;
	// 0 = DefaultQueueSize. See [Stream.Events] for what happens beyond.
	QueueSize int
	// MinBackoff and MaxBackoff bound the pause before a new connection: it doubles from
	// MinBackoff with each failure in a row, up to MaxBackoff, and a random part of it is
	// taken off (jitter); a server's Retry-After is honoured. 0 = DefaultMinBackoff,
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// HandshakeTimeout bounds each step of setting up a connection; 0 =
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// Stream is a realtime connection to one Homey that lasts: it connects with the bearer its
// [BearerSource] gives, subscribes to every URI of its set, delivers the Homey's events, and
// after any loss reconnects (with a pause that grows, see [StreamOptions]) and subscribes
// again. Its set may change at any time. Create it with [NewStream], run it with [Stream.Run].
// Its methods are safe for concurrent use.
type Stream struct {
	src    BearerSource
	opt    StreamOptions
	q      *eventQueue
	events chan Event

	mu      sync.Mutex
	subs    map[string]bool // the set: URI -> wanted
	changed chan struct{}   // has a value when subs changed
	started bool
}

// NewStream makes a Stream that takes its credentials from src. It does nothing until
// [Stream.Run].
func NewStream(src BearerSource, o StreamOptions) *Stream {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	return &Stream{
		src: src, opt: o, q: newEventQueue(o.QueueSize, queueBytes), events: make(chan Event),
		subs: map[string]bool{}, changed: make(chan struct{}, 1),
	}
}

// Subscribe adds uri to the stream's set (see [DevicesURI], [DeviceURI]): the stream
// subscribes to it now if it is connected, and after every reconnect. Adding a URI that is in
// the set does nothing. A URI that is not of the form "homey:<kind>:<id>" is an error.
func (s *Stream) Subscribe(uri string) error {
	if err := checkURI(uri); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.subs[uri] {
		s.subs[uri] = true
		s.notifyLocked()
	}
	return nil
}

// Unsubscribe takes uri out of the stream's set; events of uri that were on their way are
// dropped.
func (s *Stream) Unsubscribe(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs[uri] {
		delete(s.subs, uri)
		s.notifyLocked()
	}
}

// Subscriptions lists the stream's set, sorted.
func (s *Stream) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.subs))
	for u := range s.subs {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// Events delivers the stream's events, in order. The socket is never held up by a slow
// reader: the stream keeps up to QueueSize events (and 8 MiB) for it; beyond that a newer
// capability value replaces the queued one of the same device and capability, a newer device
// the queued one of the same device, and otherwise the oldest events are dropped; the next
// event delivered counts the loss in Missed. The channel is closed when Run returns; events
// not taken by then are dropped.
func (s *Stream) Events() <-chan Event { return s.events }

// Run connects and keeps the stream connected until ctx ends, then closes the connection and
// returns nil. It returns earlier, with the error, when a connection cannot be made for a
// reason that will not pass by itself: the bearer source's error (the Athom sign-in gone,
// [ErrKeyRefused], a keychain error, …; matched with errors.Is as the source made it), or a
// handshake refused with a status other than 401 (403: the bearer lacks a scope). Network
// errors, a Homey that answers 5xx or garbage, a lost connection, a missed pong and a 401
// after a new bearer are retried. Every goroutine of the stream has ended when Run returns.
// Run may be called once.
func (s *Stream) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("realtime stream: Run called twice")
	}
	s.started = true
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.pump(ctx) })
	err := s.loop(ctx)
	cancel()
	wg.Wait()
	close(s.events)
	return err
}

// pump hands queued events to the reader.
func (s *Stream) pump(ctx context.Context) {
	for {
		ev, ok := s.q.pop()
		if !ok {
			select {
			case <-s.q.ready:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// loop makes connections until ctx ends or one fails for good.
func (s *Stream) loop(ctx context.Context) error {
	failures := 0
	for {
		ready, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fe *finalError
		if errors.As(err, &fe) {
			return fe.err
		}
		if ready {
			failures = 0
		}
		s.q.push(Event{Kind: KindDisconnected, Err: err}, "state disconnected")
		failures++
		t := time.NewTimer(s.backoff(failures, RetryAfterOf(err)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// backoff is the pause before connecting after n failures in a row: MinBackoff·2^(n-1) capped
// at MaxBackoff, less a random part of up to a half, and at least what the server asked for.
func (s *Stream) backoff(n int, retryAfter time.Duration) time.Duration {
	d := s.opt.MinBackoff
	for i := 1; i < n && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	d -= time.Duration(rand.Int64N(int64(d)/2 + 1))
	return max(d, min(retryAfter, MaxRetryAfter))
}

// finalError marks an error that ends Run.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// retryable reports whether a bearer source's error may pass by itself: the network, a Homey
// or cloud that is offline, overloaded or answering garbage.
func retryable(err error) bool {
	st := StatusOf(err)
	return IsNetworkError(err) || errors.Is(err, ErrOffline) || errors.Is(err, ErrBadResponse) ||
		st >= 500 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout
}

// sourceError classifies an error of the bearer source.
func sourceError(err error) error {
	if retryable(err) {
		return err
	}
	return &finalError{err}
}

// notifyLocked tells the connection that the set changed; s.mu held.
func (s *Stream) notifyLocked() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// wanted reports whether uri is in the set.
func (s *Stream) wanted(uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs[uri]
}

// refuse takes uri out of the set after the Homey refused it.
func (s *Stream) refuse(uri string, err error) {
	s.mu.Lock()
	delete(s.subs, uri)
	s.mu.Unlock()
	s.q.push(Event{Kind: KindSubscribeFailed, URI: uri, Err: err}, "")
}

// deliver queues an event the Homey sent on uri, if uri is in the set.
func (s *Stream) deliver(uri string, args []json.RawMessage) {
	if !s.wanted(uri) {
		return
	}
	ev, key := parseEvent(uri, args)
	s.q.push(ev, key)
}

// checkURI accepts "homey:<kind>:<id>" URIs of printable ASCII.
func checkURI(uri string) error {
	parts := strings.SplitN(uri, ":", 3)
	ok := len(uri) <= maxURILen && utf8.ValidString(uri) && len(parts) == 3 && parts[0] == "homey" &&
		parts[1] != "" && parts[2] != ""
	for _, c := range uri {
		ok = ok && c > ' ' && c < 0x7f
	}
	if !ok {
		return fmt.Errorf("realtime: not a subscription URI: %q", sanitize.Line(uri, 80))
	}
	return nil
}
