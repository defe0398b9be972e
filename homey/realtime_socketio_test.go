//go:build !windows

// The reference server runs under node, which the Windows test run (Wine, make test-wine) does
// not have: the protocol it checks is the same on every platform.

package homey

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/homeytray/homeytray/internal/officialjs"
)

// socketIOVersion is the reference Socket.IO 2 server the realtime client is tested against:
// the newest 2.x, the line whose client (socket.io-client 2.5) Athom's official library uses.
const socketIOVersion = "2.5.1"

// sioHomey is testdata/sio-homey.js running under node: a Homey played by the reference
// Socket.IO 2 server.
type sioHomey struct {
	t     *testing.T
	base  string
	stdin io.WriteCloser
	lines chan map[string]any
}

func startSIOHomey(t *testing.T, token, homeyID string) *sioHomey {
	t.Helper()
	node, dir := officialjs.Package(t, "socket.io", socketIOVersion)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "sio-homey.js"))
	cmd.Env = append(os.Environ(), "SIO_DIR="+dir, "SIO_TOKEN="+token, "SIO_HOMEY="+homeyID,
		"SIO_PING_INTERVAL=100", "SIO_PING_TIMEOUT=10000")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &sioHomey{t: t, stdin: stdin, lines: make(chan map[string]any, 100)}
	var reading sync.WaitGroup
	reading.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				h.lines <- m
			}
		}
		close(h.lines)
	})
	t.Cleanup(func() {
		_ = stdin.Close() // the script exits when its stdin closes
		done := make(chan error, 1)
		go func() { reading.Wait(); done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sio-homey.js: %v\n%s", err, stderr.String())
			}
		case <-time.After(waitLong):
			cancel()
			t.Errorf("sio-homey.js did not exit")
		}
		cancel()
	})
	port := h.wait("the server listening", func(m map[string]any) bool { return m["listening"] != nil })["listening"]
	h.base = fmt.Sprintf("http://127.0.0.1:%v", port)
	return h
}

// wait returns the next line that want accepts.
func (h *sioHomey) wait(what string, want func(map[string]any) bool) map[string]any {
	h.t.Helper()
	deadline := time.After(waitLong)
	for {
		select {
		case m, ok := <-h.lines:
			if !ok {
				h.t.Fatalf("waiting for %s: sio-homey.js ended", what)
			}
			if want(m) {
				return m
			}
		case <-deadline:
			h.t.Fatalf("waiting for %s: nothing within %v", what, waitLong)
		}
	}
}

// waitEvent waits for {"event": name[, "uri": uri]}.
func (h *sioHomey) waitEvent(name, uri string) {
	h.t.Helper()
	h.wait(name+" "+uri, func(m map[string]any) bool { return m["event"] == name && (uri == "" || m["uri"] == uri) })
}

// waitEvents waits until {"event": name, "uri": u} came for every u, in any order: a stream
// subscribes to its set in no fixed order (a loaded run waited for d1, passed d2 over, and then
// waited for d2 in vain).
func (h *sioHomey) waitEvents(name string, uris ...string) {
	h.t.Helper()
	left := map[string]bool{}
	for _, u := range uris {
		left[u] = true
	}
	h.wait(fmt.Sprintf("%s %v", name, uris), func(m map[string]any) bool {
		if u, ok := m["uri"].(string); ok && m["event"] == name {
			delete(left, u)
		}
		return len(left) == 0
	})
}

func (h *sioHomey) command(cmd map[string]any) {
	h.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := h.stdin.Write(append(b, '\n')); err != nil {
		h.t.Fatalf("command %s: %v", b, err)
	}
}

// renewingSource hands out its current token; when the Homey refuses it, the next is good.
type renewingSource struct {
	mu       sync.Mutex
	cur      string
	good     string
	homeyID  string
	base     string
	renewals int
}

func (s *renewingSource) Bearer(_ context.Context, refused string) (Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if refused != "" {
		if refused != s.cur {
			return Credential{}, errors.New("refused a token never handed out")
		}
		s.cur = s.good
		s.renewals++
	}
	return Credential{Token: s.cur, HomeyID: s.homeyID, BaseURL: s.base}, nil
}

// TestStreamAgainstSocketIO2 runs the stream against the reference Socket.IO 2 server (npm
// socket.io 2.5) playing a Homey: the refused bearer renewed once, the handshake's namespace
// joined, subscribe acks (a refused one reported), events, a server-side disconnect of the
// namespace and of the whole connection each followed by a reconnect and every subscription
// made again, run-time unsubscribe, pings answered.
func TestStreamAgainstSocketIO2(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last: after the stream and node stopped
	const good, homeyID = "good-session-token", "5f0c2a1b3c4d5e6f7a8b9c0d"
	h := startSIOHomey(t, good, homeyID)
	src := &renewingSource{cur: "expired-session-token", good: good, homeyID: homeyID, base: h.base}
	d1, d2 := DeviceURI("d1"), DeviceURI("d2")
	r := startStream(t, src, StreamOptions{}, d1, d2, "homey:zone:z1")
	ev, _ := r.next(t, "the zone refused", isKind(KindSubscribeFailed))
	if ev.URI != "homey:zone:z1" || StatusOf(ev.Err) != 404 {
		t.Errorf("subscribe-failed = %+v", ev)
	}
	r.next(t, "connected", isKind(KindConnected))
	h.waitEvent("refused", "")
	h.waitEvent("handshake", "")
	if src.renewals != 1 {
		t.Errorf("%d renewals; want 1", src.renewals)
	}
	emit := func(uri, capID string, v any) {
		h.command(map[string]any{"emit": map[string]any{"uri": uri, "event": "capability",
			"data": map[string]any{"capabilityId": capID, "value": v, "transactionId": "tx", "transactionTime": 1700000000000}}})
	}
	emit(d1, "onoff", true)
	ev, _ = r.next(t, "d1 onoff", isCapability("d1", "onoff", "true"))
	if ev.TransactionTime.UnixMilli() != 1700000000000 || ev.TransactionID != "tx" {
		t.Errorf("event = %+v", ev)
	}
	for i, how := range []string{"namespace", "all"} {
		h.command(map[string]any{"disconnect": how})
		r.next(t, "disconnected ("+how+")", isKind(KindDisconnected))
		r.next(t, "connected again ("+how+")", isKind(KindConnected))
		h.waitEvents("subscribed", d1, d2)
		emit(d2, "dim", i)
		r.next(t, "d2 dim after the reconnect", isCapability("d2", "dim", fmt.Sprint(i)))
	}
	r.Unsubscribe(d2)
	h.waitEvent("unsubscribed", d2)
	emit(d2, "dim", 0.5) // the server has nobody to send it to: the next event is d1's
	emit(d1, "onoff", false)
	_, skipped := r.next(t, "d1 onoff false", isCapability("d1", "onoff", "false"))
	if len(skipped) != 0 {
		t.Errorf("events after the unsubscribe: %s", kinds(skipped))
	}
	h.command(map[string]any{"stats": true})
	st := h.wait("stats", func(m map[string]any) bool { return m["stats"] != nil })["stats"].(map[string]any)
	if st["connections"] != 3.0 || st["handshakes"] != 4.0 {
		t.Errorf("server stats %v; want 3 connections and 4 handshakes (one refused)", st)
	}
	eventually(t, "pings answered by the server", func() bool {
		h.command(map[string]any{"stats": true})
		st := h.wait("stats", func(m map[string]any) bool { return m["stats"] != nil })["stats"].(map[string]any)
		return st["pings"].(float64) > 0
	})
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
}
