package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The two listeners of every emulated Homey, as CountVia names them.
const (
	ViaLocal = "local" // the Homey on the LAN: plain http, its localUrl
	ViaRelay = "relay" // Athom's cloud relay in front of it: its remoteUrl, slowed by the relay latency
)

// impostorID is the X-Homey-ID of the device that answers at a Homey's localUrl after
// SetWrongID(id, true): some other Homey that has that address on another network.
const impostorID = "0123456789abcdef01234567"

func relayLatency(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return DefaultRelayLatency
	}
	return d
}

// SetRelayLatency sets the delay of every answer of the relay listeners from now on. d == 0
// restores DefaultRelayLatency; d < 0 means none.
func (s *Server) SetRelayLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relayLatency = relayLatency(d)
}

// relayWait waits the relay latency; false if the client gave up or the server closes first.
func (s *Server) relayWait(r *http.Request) bool {
	s.mu.Lock()
	d := s.relayLatency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	return s.sleep(r, d)
}

// impostorReply is how another Homey at the address answers: its ping succeeds with its own
// X-Homey-ID (false when asked for another ?id=, as a Homey answers), everything else refuses
// our session. With hideID (SetNoHomeyID) it sends no X-Homey-ID: then only the ?id= answer
// tells it apart.
func impostorReply(r *http.Request, hideID bool) reply {
	var rep reply
	if r.URL.Path == "/api/manager/system/ping" {
		q := r.URL.Query()
		rep = jsonReply(http.StatusOK, !q.Has("id") || q.Get("id") == impostorID)
	} else {
		rep = invalidSession("the session is invalid or was revoked")
	}
	if hideID {
		return rep
	}
	return rep.with("X-Homey-ID", impostorID).with("X-Homey-Version", "12.4.0")
}

// findHomeyLocked returns the Homey with id, or nil; s.mu must be held.
func (s *Server) findHomeyLocked(id string) *homey {
	for _, h := range s.homeys {
		if h.id == id {
			return h
		}
	}
	return nil
}

// StopLocal closes the local listener of Homey homeyID (and its open connections): its
// localUrl then refuses connections, as when the client is not on the Homey's LAN. Unknown ids
// and a stopped listener are left alone.
func (s *Server) StopLocal(homeyID string) {
	s.mu.Lock()
	h := s.findHomeyLocked(homeyID)
	if h == nil || h.localStopped || s.closed {
		s.mu.Unlock()
		return
	}
	h.localStopped = true
	l := h.local
	s.mu.Unlock()
	_ = l.srv.Close()
	_ = l.ln.Close() // in case Serve has not taken it yet

}

// StartLocal listens again at the localUrl of Homey homeyID after StopLocal (same address).
func (s *Server) StartLocal(homeyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.findHomeyLocked(homeyID)
	switch {
	case h == nil:
		return fmt.Errorf("emulator: no Homey %q", homeyID)
	case s.closed:
		return fmt.Errorf("emulator: server closed")
	case !h.localStopped:
		return nil
	}
	l, err := newListener(h.local.addr, s.handler(s.homeyRoutes(h, ViaLocal), h, ViaLocal))
	if err != nil {
		return fmt.Errorf("emulator: listen homey %s (local): %w", h.name, err)
	}
	h.local, h.localStopped = l, false
	go func() { _ = l.srv.Serve(l.ln) }()
	return nil
}

// SetWrongID puts another device at the localUrl of Homey homeyID (on) or the Homey back (off):
// the impostor answers a ping 200 with its own X-Homey-ID and every other request 401, as a
// different Homey that has the same LAN address on another network would. The relay is not
// affected.
func (s *Server) SetWrongID(homeyID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.findHomeyLocked(homeyID); h != nil {
		h.wrongID = on
	}
}

func viaKey(homeyID, via, route string) string { return homeyID + " " + via + " " + route }

// CountVia reports how many requests for route ("METHOD /path", or "*" for all) reached the
// listener via (ViaLocal or ViaRelay) of Homey homeyID, faulted ones included.
func (s *Server) CountVia(homeyID, via, route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if route != "*" {
		return s.viaCounts[viaKey(homeyID, via, route)]
	}
	n, prefix := 0, viaKey(homeyID, via, "")
	for k, c := range s.viaCounts {
		if strings.HasPrefix(k, prefix) {
			n += c
		}
	}
	return n
}
