package homey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// One connection's life, driven by the stream's goroutine: the handshake with the bearer (a
// refused one renewed once), the Homey's namespace, then the subscriptions kept in line with
// the stream's set until the connection ends.

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
		e.Code = sanitize.Line(scalar(obj["error"]), maxCodeLen)
		for _, k := range []string{"error_description", "message"} {
			if d := description(obj[k]); d != "" {
				e.Description = sanitize.Line(d, maxDescLen)
				break
			}
		}
		return e
	}
	if d := scalar(args[0]); d != "" {
		e.Description = sanitize.Line(d, maxDescLen)
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
