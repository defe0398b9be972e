package agent

import (
	"time"
)

// incidentKind orders the kinds of failure: a worse kind replaces a milder one.
type incidentKind int

const (
	incidentNone      incidentKind = iota
	incidentNetwork                // transient: network, server errors; retried with backoff
	incidentAttention              // needs the user: sign-in gone or missing, keychain unusable
)

// incidents decides which failures are worth a notification: at most one per incident. An
// incident starts with the first failure and ends with end (a refresh worked, or the user signed
// in or out). A network incident notifies only once it outlasts the access token (now past
// deadline; a zero deadline, an unknown expiry, never does). A worse kind (network → attention)
// starts a new incident.
type incidents struct {
	kind     incidentKind
	notified bool
}

// fail records a failure of kind k at now; it reports whether to notify now.
func (s *incidents) fail(k incidentKind, now, deadline time.Time) bool {
	if k > s.kind {
		s.kind, s.notified = k, false
	}
	if s.notified {
		return false
	}
	if s.kind == incidentNetwork && (deadline.IsZero() || now.Before(deadline)) {
		return false
	}
	s.notified = true
	return true
}

// end closes the incident, if any; it reports whether one was open.
func (s *incidents) end() bool {
	open := s.kind != incidentNone
	*s = incidents{}
	return open
}

// Backoff bounds: the first retry after 2.5–5 s, doubling up to the cap.
const (
	backoffBase      = 5 * time.Second
	backoffCap       = 5 * time.Minute  // network errors
	backoffCapAttend = 30 * time.Minute // needs the user: retry rarely (an unlock prompt each time)
)

// backoff is the wait before retry number attempt (0-based): d = base·2^attempt capped at max,
// with "equal jitter" in [d/2, d]. rnd is in [0, 1).
func backoff(attempt int, rnd float64, max time.Duration) time.Duration {
	d := backoffBase
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(rnd*float64(d/2))
}
