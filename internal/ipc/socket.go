// Package ipc is the script socket: while the tray (or `serve`) runs, `homeytray token`,
// `devices` and `run` ask it instead of reading the keychain themselves, and `login`, `logout`,
// `use` and `setup` tell it that something changed. One JSON [Request] and one JSON [Answer] per
// connection, each ending in a newline. A Unix socket only its user can reach on Linux and macOS
// (socket_unix.go), a named pipe only its user can open on Windows (socket_windows.go); both ends
// also check that the other one runs as the same user. The socket is also the single-instance
// lock of the tray and `serve` (docs/decisions.md#one-tray).
//
// Both the server (the agent) and the client (the command line) use these types: a failure
// travels as its kind and facts (internal/failure), never as prose.
package ipc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/homeytray/homeytray/internal/failure"
)

// ErrNoTray is returned by [Ask] when no tray listens: the caller reads the keychain itself.
var ErrNoTray = errors.New("no tray is running")

// ErrAlreadyRunning is returned by [Listen] when another tray (or serve) of this user
// already serves the socket.
var ErrAlreadyRunning = errors.New("the tray is already running")

// Op is what a request asks for.
type Op string

// The requests.
const (
	OpPing    Op = "ping"    // is a tray there? (its PID)
	OpToken   Op = "token"   // a bearer of a Homey, or with Cloud the Athom access token
	OpDevices Op = "devices" // the devices and zones of a Homey
	OpChanged Op = "changed" // the command line signed in or out, set up or selected something
)

// Request is what a script asks the tray.
type Request struct {
	Op    Op     `json:"op"`
	Homey string `json:"homey,omitempty"` // name or id; "" = the selected one
	Cloud bool   `json:"cloud,omitempty"` // token: the Athom access token instead
}

// Answer is the tray's reply. When the request failed only Failure is set.
type Answer struct {
	Token     string          `json:"token,omitempty"`
	HomeyID   string          `json:"homey_id,omitempty"`
	BaseURL   string          `json:"base_url,omitempty"`
	Route     string          `json:"route,omitempty"` // "local" or "cloud"
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	Devices   json.RawMessage `json:"devices,omitempty"` // the Homey's own objects keyed by id
	Zones     json.RawMessage `json:"zones,omitempty"`
	// Failure is why the request failed: its kind and facts, never prose, so that the command
	// line words it as it words its own failures.
	Failure *failure.Failure `json:"failure,omitempty"`
	PID     int              `json:"pid,omitempty"`
}

// Handler answers one request. Its context ends with the connection's deadline.
type Handler func(ctx context.Context, r Request) Answer

const (
	dialTimeout = 200 * time.Millisecond // nothing listening must cost the CLI almost nothing
	connTimeout = 30 * time.Second       // a whole exchange, handler included
	maxRequest  = 64 << 10
)

var (
	errRequestTooLarge = errors.New("request too large")
	errBadRequest      = errors.New("bad request")
	errForeignPeer     = errors.New("the other end of the tray socket is another user")
)

// Serve accepts connections on l until ctx is done or l is closed; it then closes l and returns
// nil once the connections in progress have ended. A connection from another user is closed
// unanswered; each one gets 30 s for the whole exchange (h's context ends then too) and at most
// 64 KiB of request. An oversized or malformed request gets an Answer with Error.
func Serve(ctx context.Context, l net.Listener, h Handler) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer l.Close() // when this returns, the listener (and its lock) is released
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait a little, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if err := sleepCtx(ctx, backoff); err != nil {
				return nil
			}
			continue
		}
		backoff = 0
		wg.Go(func() { serveConn(ctx, c, h) })
	}
}

func serveConn(ctx context.Context, c net.Conn, h Handler) {
	defer c.Close()
	if err := checkClient(c); err != nil {
		return
	}
	serveRequest(ctx, c, h)
}

// serveRequest reads one request from c and writes h's answer, all within connTimeout.
func serveRequest(ctx context.Context, c net.Conn, h Handler) {
	deadline := time.Now().Add(connTimeout)
	if err := c.SetDeadline(deadline); err != nil {
		return
	}
	var a Answer
	r, err := readRequest(c)
	if err != nil {
		if !errors.Is(err, errRequestTooLarge) && !errors.Is(err, errBadRequest) {
			return // the peer went away, or sent nothing in time
		}
		a.Failure = failure.Of(err)
	} else {
		hctx, cancel := context.WithDeadline(ctx, deadline)
		a = h(hctx, r)
		cancel()
	}
	b, err := json.Marshal(a)
	if err != nil {
		b, _ = json.Marshal(Answer{Failure: failure.Of(fmt.Errorf("encode the answer: %w", err))})
	}
	c.Write(append(b, '\n'))
}

// readRequest reads one line (or everything up to EOF) of at most maxRequest bytes.
func readRequest(c io.Reader) (Request, error) {
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest+1)).ReadBytes('\n')
	line = bytes.TrimSuffix(line, []byte{'\n'})
	switch {
	case len(line) > maxRequest:
		return Request{}, errRequestTooLarge
	case err != nil && (err != io.EOF || len(line) == 0):
		return Request{}, err
	}
	var r Request
	if err := json.Unmarshal(line, &r); err != nil {
		return Request{}, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	return r, nil
}

// Ask sends r to the tray listening at path and returns its answer. It returns [ErrNoTray]
// quickly when nothing listens there. A failed request is an Answer with Error set and a nil
// error; the error is for the exchange itself (or ctx).
func Ask(ctx context.Context, path string, r Request) (Answer, error) {
	c, err := dial(ctx, path)
	if err != nil {
		return Answer{}, err
	}
	defer c.Close()
	if err := checkServer(c); err != nil {
		return Answer{}, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(connTimeout + time.Second)
	}
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	a, err := exchange(c, r)
	if ctx.Err() != nil {
		return Answer{}, ctx.Err()
	}
	if ok && errors.Is(err, os.ErrDeadlineExceeded) {
		return Answer{}, context.DeadlineExceeded // ctx's deadline; the socket's timer fired first
	}
	if err != nil {
		return Answer{}, fmt.Errorf("ask the tray: %w", err)
	}
	return a, nil
}

func exchange(c net.Conn, r Request) (Answer, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return Answer{}, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Answer{}, err
	}
	var a Answer
	if err := json.NewDecoder(c).Decode(&a); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // closed unanswered: another user, or a request it refused
		}
		return Answer{}, err
	}
	return a, nil
}

// isLive tells whether a tray answers a ping at path.
func isLive(path string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := Ask(ctx, path, Request{Op: OpPing})
	return err == nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
