// Package emulator emulates the Athom cloud (api.athom.com) and the Homeys
// reached through it, for tests and for the demo.
//
// The emulator is strict like the real service: clients must authenticate at
// the token endpoint, redirect URIs match exactly, authorization codes are
// single-use and expire after 30 s, access tokens and Homey sessions expire,
// refresh tokens rotate, delegation tokens are RS512 JWTs that each Homey
// verifies. Switches change that behaviour at run time and faults can be
// injected per route. The cloud listens on its own 127.0.0.1 port and every
// Homey on two: its "relay" listener (remoteUrl in /user/me, slowed by
// Options.RelayLatency like a round trip through Athom's connect service) and
// its "local" listener (localUrl, plain http like a Homey on the LAN). There
// is no localUrlSecure: the emulator serves no TLS. Every Homey listener also
// serves the realtime API at /socket.io/ (realtime.go): the events of its
// devices over Socket.IO 2, with switches to drop sockets, expire sessions
// mid-stream and stop answering pings.
package emulator

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Default values of the switches and options.
const (
	DefaultRedirectURI    = "http://localhost:47719/callback"
	DefaultAccessTokenTTL = 3660 * time.Second
	DefaultSessionTTL     = 24 * time.Hour
	codeTTL               = 30 * time.Second
	delegationTTL         = 60 * time.Second
	DefaultRelayLatency   = 40 * time.Millisecond
)

// Options configure a Server. The zero value is usable.
type Options struct {
	Addr         string // cloud listen address; "" = "127.0.0.1:0"
	ClientID     string // "" = random 24 hex (or the one in StateFile)
	ClientSecret string // "" = random 40 hex (or the one in StateFile)
	RedirectURI  string // the one registered redirect URI; "" = DefaultRedirectURI; exact string match
	// StateFile, if set, persists ports, the signing key, the client and the
	// live codes, tokens and sessions as JSON (mode 0600), so that a later
	// process using the same file re-listens on the same ports and accepts
	// the earlier process's tokens. Two processes must not run at once.
	StateFile string

	AccessTokenTTL time.Duration // 0 = DefaultAccessTokenTTL; see SetAccessTokenTTL
	SessionTTL     time.Duration // 0 = DefaultSessionTTL; see SetSessionTTL
	// RelayLatency delays every answer of a Homey's relay listener (its remoteUrl), like the
	// round trip through Athom's cloud relay. 0 = DefaultRelayLatency; < 0 = none. See
	// SetRelayLatency.
	RelayLatency time.Duration
	// RefreshGrace keeps a rotated refresh token usable for this long after it was replaced
	// (like Auth0's reuse interval or Okta's grace period): a client whose refresh answer was
	// lost (a killed process, a dropped connection) can still refresh with the token it kept.
	// 0 = strict, the replaced token is revoked at once. See SetRefreshGrace. The window is
	// not kept in StateFile: a restarted emulator is strict about tokens rotated before.
	RefreshGrace time.Duration
	// ClockOffset puts the emulated services' clock this far from the host's: token and
	// session expiries, JWT iat/exp, capability times and the Date header all use host time
	// + ClockOffset, so a client sees a server whose clock is off. See SetClockOffset.
	ClockOffset time.Duration

	// The tolerance variants (tolerance.go), all off by default: see SetNoHomeyID,
	// SetTokenBody, SetRefreshError, SetClientRefused and SetVariant.
	NoHomeyID          string             // listeners that answer without X-Homey-ID: ViaRelay, ViaLocal, ViaForwarded, ViaAll
	TokenBody          TokenBody          // how delegation and users/login send their token
	RefreshErrorStatus int                // with RefreshErrorCode, the answer to a dead refresh token (0 = 400 invalid_grant)
	RefreshErrorCode   string             // the OAuth error code of that answer
	ClientRefused      bool               // the token endpoint answers 401 invalid_client to every grant
	Variants           map[string]Variant // by Homey name or id
}

// HomeyInfo describes one emulated Homey.
type HomeyInfo struct {
	ID       string // cloud id (24 hex), as in /user/me
	Name     string
	BaseURL  string // the Homey's relay listener, e.g. http://127.0.0.1:40123 (its remoteUrl)
	LocalURL string // the Homey's local listener (its localUrl), e.g. http://127.0.0.1:40124
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	mu     sync.Mutex // guards everything below except the immutable fields
	now    func() time.Time
	offset time.Duration // added to now: the emulated clock (SetClockOffset)

	clientID, clientSecret, redirectURI string
	stateFile                           string
	key                                 *rsa.PrivateKey

	cloud  *listener
	homeys []*homey

	codes    map[string]*authCode
	access   map[string]time.Time // access token -> expiry
	refresh  map[string]time.Time // live refresh token -> issued
	revoked  map[string]time.Time // refresh tokens revoked by RevokeRefreshTokens
	rotated  map[string]time.Time // refresh tokens replaced by rotation -> when (RefreshGrace)
	sessions map[string]*session
	issued   []string // every code, token and session handed out (IssuedSecrets)

	rotate       bool
	refreshGrace time.Duration // 0 = strict rotation
	accessTTL    time.Duration
	sessionTTL   time.Duration
	relayLatency time.Duration // 0 = none

	noHomeyID        string // SetNoHomeyID
	tokenBody        TokenBody
	refreshErrStatus int
	refreshErrCode   string
	clientRefused    bool
	appsOnly         map[string]bool // IssueAppsOnlyToken: access tokens refused at the delegation

	rt realtimeHub // the realtime sockets (realtime.go)

	faults    map[string]*Fault
	counts    map[string]int
	viaCounts map[string]int // "<homeyID> <via> <route>" -> requests
	grants    map[string]int

	keysMu    sync.Mutex         // guards apiKeys (not mu: key checks run inside handlers that hold mu)
	apiKeys   map[string]*apiKey // API key -> what it may do (AddAPIKey, POST users/pat)
	ownersMu  sync.Mutex
	notOwners map[string]bool // Homey id -> the signed-in user is not its owner (SetOwner)

	closed  bool
	closing chan struct{} // closed by Close: releases hung requests
	hung    sync.WaitGroup
}

type listener struct {
	srv  *http.Server
	ln   net.Listener
	addr string // host:port it listens on
	url  string
}

// New starts an emulator: the cloud and one listener per Homey. Close stops it.
func New(o Options) (*Server, error) {
	st, err := loadState(o.StateFile)
	if err != nil {
		return nil, err
	}
	s := &Server{
		now: time.Now, offset: o.ClockOffset, stateFile: o.StateFile,
		codes: map[string]*authCode{}, access: map[string]time.Time{},
		refresh: map[string]time.Time{}, revoked: map[string]time.Time{}, sessions: map[string]*session{},
		rotated: map[string]time.Time{}, refreshGrace: max(o.RefreshGrace, 0),
		rotate: true, accessTTL: orDefault(o.AccessTokenTTL, DefaultAccessTokenTTL),
		sessionTTL:   orDefault(o.SessionTTL, DefaultSessionTTL),
		relayLatency: relayLatency(o.RelayLatency),
		faults:       map[string]*Fault{}, counts: map[string]int{}, viaCounts: map[string]int{}, grants: map[string]int{},
		closing: make(chan struct{}), appsOnly: map[string]bool{},
	}
	if err := s.applyState(o, st); err != nil {
		return nil, err
	}
	if err := s.listen(o, st); err != nil {
		s.closeListeners()
		return nil, err
	}
	if err := s.applyTolerance(o); err != nil {
		s.closeListeners()
		return nil, err
	}
	s.mu.Lock()
	err = s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	s.serve()
	return s, nil
}

// TB is the part of testing.TB that NewServer uses: *testing.T and *testing.B satisfy it, and the
// emulator, which the homeytray binary links for `demo`, need not import testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewServer is New for tests: it fails tb on error and closes the server in tb.Cleanup.
func NewServer(tb TB, o Options) *Server {
	tb.Helper()
	s, err := New(o)
	if err != nil {
		tb.Fatalf("emulator: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// listen opens the cloud listener and one per Homey, reusing the ports of the state file.
func (s *Server) listen(o Options, st *state) error {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if st != nil && st.CloudAddr != "" && zeroPort(addr) {
		addr = st.CloudAddr
	}
	var err error
	if s.cloud, err = newListener(addr, s.handler(s.cloudRoutes(), nil, "")); err != nil {
		return fmt.Errorf("listen cloud: %w", err)
	}
	for _, h := range fixtureHomeys() {
		s.homeys = append(s.homeys, h)
		addr, local := "127.0.0.1:0", "127.0.0.1:0"
		if st != nil && st.HomeyAddrs[h.id] != "" {
			addr = st.HomeyAddrs[h.id]
		}
		if st != nil && st.LocalAddrs[h.id] != "" {
			local = st.LocalAddrs[h.id]
		}
		if h.lis, err = newListener(addr, s.handler(s.homeyRoutes(h, ViaRelay), h, ViaRelay)); err != nil {
			return fmt.Errorf("listen homey %s: %w", h.name, err)
		}
		if h.local, err = newListener(local, s.handler(s.homeyRoutes(h, ViaLocal), h, ViaLocal)); err != nil {
			return fmt.Errorf("listen homey %s (local): %w", h.name, err)
		}
	}
	return nil
}

func zeroPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && (port == "0" || port == "")
}

func newListener(addr string, h http.Handler) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	a := ln.Addr().String()
	return &listener{srv: srv, ln: ln, addr: a, url: "http://" + a}, nil
}

// listeners lists the running listeners; s.mu must be held once the server serves.
func (s *Server) listeners() []*listener {
	var ls []*listener
	if s.cloud != nil {
		ls = append(ls, s.cloud)
	}
	for _, h := range s.homeys {
		if h.lis != nil {
			ls = append(ls, h.lis)
		}
		if h.local != nil && !h.localStopped {
			ls = append(ls, h.local)
		}
		if h.forwarded != nil {
			ls = append(ls, h.forwarded)
		}
	}
	return ls
}

func (s *Server) serve() {
	for _, l := range s.listeners() {
		go func() { _ = l.srv.Serve(l.ln) }()
	}
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners() {
		_ = l.ln.Close()
	}
}

// Close releases hung requests, stops every listener and waits (at most 2 s)
// for running requests. Calling it again does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	ls := s.listeners()
	s.mu.Unlock()
	s.rt.closeAll() // hijacked connections: the listeners' Shutdown neither closes nor waits for them
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var errs []error
	for _, l := range ls {
		if err := l.srv.Shutdown(ctx); err != nil {
			errs = append(errs, l.srv.Close())
		}
	}
	s.hung.Wait()
	return errors.Join(errs...)
}

// URL is the cloud's base URL, e.g. http://127.0.0.1:43123 (no trailing slash).
func (s *Server) URL() string { return s.cloud.url }

// ClientID is the registered OAuth client's id.
func (s *Server) ClientID() string { return s.clientID }

// ClientSecret is the registered OAuth client's secret.
func (s *Server) ClientSecret() string { return s.clientSecret }

// RedirectURI is the one registered redirect URI.
func (s *Server) RedirectURI() string { return s.redirectURI }

// Homeys lists the emulated Homeys in /user/me order.
func (s *Server) Homeys() []HomeyInfo {
	out := make([]HomeyInfo, 0, len(s.homeys))
	for _, h := range s.homeys {
		out = append(out, HomeyInfo{ID: h.id, Name: h.name, BaseURL: h.lis.url, LocalURL: h.local.url})
	}
	return out
}

// clock returns the current emulated time (host time + the clock offset); s.mu must be held.
func (s *Server) clock() time.Time { return s.now().Add(s.offset) }
