package emulator

import (
	"maps"
	"slices"
	"time"
)

// SetRotateRefreshTokens switches refresh-token rotation (default on): each
// refresh grant then answers a new refresh token and revokes the one it used.
// Off, the refresh grant answers the same refresh token again.
func (s *Server) SetRotateRefreshTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate = on
}

// SetRefreshGrace sets how long a refresh token replaced by rotation stays usable
// (default 0: revoked at once). Within the window, the replaced token is honoured
// like the current one: a new pair is issued and the window does not restart.
// The tokens already issued from it stay valid. d < 0 counts as 0.
func (s *Server) SetRefreshGrace(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshGrace = max(d, 0)
}

// SetAccessTokenTTL sets the lifetime of access tokens issued from now on
// (default 3660 s); expires_in reflects it. An expired token answers 401
// {"error":"invalid_token",...}. d <= 0 restores the default.
func (s *Server) SetAccessTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL = orDefault(d, DefaultAccessTokenTTL)
}

// ExpireAccessTokens makes every access token issued so far answer 401 invalid_token.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.access {
		s.access[tok] = time.Time{}
	}
	s.saveLogged()
}

// RevokeRefreshTokens revokes every refresh token issued so far: using one
// answers 400 {"error":"invalid_grant",...}.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.revoked, s.refresh)
	clear(s.refresh)
	clear(s.rotated) // no way back in through the grace window either
	s.saveLogged()
}

// RestoreRefreshTokens makes the refresh tokens revoked by RevokeRefreshTokens
// valid again (not those replaced by rotation).
func (s *Server) RestoreRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.refresh, s.revoked)
	clear(s.revoked)
	s.saveLogged()
}

// SetSessionTTL sets the lifetime of Homey sessions created from now on
// (default 24 h). An expired session answers 401. d <= 0 restores the default.
func (s *Server) SetSessionTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionTTL = orDefault(d, DefaultSessionTTL)
}

// RevokeSessions ends every Homey session: requests with them answer 401, and realtime
// sockets that handshook with one are disconnected (see ExpireSessions).
func (s *Server) RevokeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
	s.saveLogged()
	s.endInvalidLocked() // their realtime sockets too
}

// Count reports how many requests reached route ("METHOD /path", path
// without query, on the cloud or any Homey), faulted ones included;
// "*" counts every request.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if route != "*" {
		return s.counts[route]
	}
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Grants reports how many token grants of grantType ("authorization_code",
// "refresh_token") succeeded.
func (s *Server) Grants(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[grantType]
}

// ResetCounts sets every Count and Grants to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
	clear(s.viaCounts)
	clear(s.grants)
}

// DeviceNames lists the names of a Homey's devices, sorted (nil for an unknown id).
func (s *Server) DeviceNames(homeyID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, h := range s.homeys {
		if h.id != homeyID {
			continue
		}
		for _, d := range h.devices {
			names = append(names, d.Name)
		}
	}
	slices.Sort(names)
	return names
}

// IssuedSecrets lists every secret the server knows or handed out: the
// client secret, authorization codes, access and refresh tokens, delegation
// tokens and Homey session tokens. Tests use it to check that none leaks.
func (s *Server) IssuedSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{s.clientSecret}, s.issued...)
}
