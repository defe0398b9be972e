package emulator

import (
	"net/http"
	"time"
)

// SetClockOffset puts the emulated clock d away from the host's from now on (d < 0: behind).
// Tokens and sessions issued before keep their expiry instants, so a jump forward can expire
// them, as it would on a real server whose clock was corrected.
func (s *Server) SetClockOffset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = d
}

// Now is the emulated services' current time: host time + the clock offset.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock()
}

// sleep waits d; false if the client gave up or the server closes first.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}
