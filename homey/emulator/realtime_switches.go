package emulator

import "time"

// The realtime switches and counters (see realtime.go).

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
