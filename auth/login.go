package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/internal/sanitize"
)

const (
	defaultLoginTimeout = 5 * time.Minute
	maxCallbackQuery    = 8 << 10
	shutdownGrace       = 500 * time.Millisecond
)

// Login is the loopback sign-in of RFC 8252: it listens on the loopback
// redirect URI, sends the user to the authorization page and waits for the
// browser to come back with a code (or for the user to paste it).
type Login struct {
	// Config builds the authorization URL (AuthCodeURL). Its RedirectURL
	// must be http://localhost, http://127.0.0.1 or http://[::1] with an
	// explicit port and a path, exactly as registered.
	Config *oauth2.Config
	// Open opens the URL in a browser; nil means don't (print it only). An
	// error is reported on Out and is not fatal.
	Open func(url string) error
	// Out receives the URL and hints; nil = discard. The URL holds the
	// client ID, the redirect URI and the state: no secret. (With Setup it is
	// the setup page's address with its one-time token, which, like the
	// state, is good for this run only and only on this computer.)
	Out io.Writer
	// Paste, when non-nil (stdin is a terminal), is read for a line holding
	// the code or the whole address the browser ended on. Its end is not a
	// cancellation: the browser can still call back. Code does not wait for
	// the reader: one blocked in Read (a terminal) outlives Code, silently.
	Paste io.Reader
	// Timeout bounds the wait; 0 = 5 minutes.
	Timeout time.Duration
	// State is the state parameter; "" = 256 random bits, base64url.
	State string
	// Setup, when set, makes Code first serve a setup page for a new client
	// (see Setup) and open the browser on it; once the client is saved the
	// browser goes on to the authorization page and Code waits as usual.
	// Paste is not read then: a browser that cannot reach this computer
	// cannot reach the setup page either.
	Setup *Setup

	// listening, when set (by tests), is told the listener addresses.
	listening func([]net.Addr)
	// wrap, when set (by tests), wraps the listener's handler, to watch
	// what reaches it and what it answers.
	wrap func(http.Handler) http.Handler
}

// Code runs the sign-in and returns the authorization code. It returns
// ErrAccessDenied when the user refused, ErrLoginTimeout after Timeout, a
// *PortInUseError when the redirect port is taken, or ctx's error.
//
// With Setup, once Save has kept a client, Code sets Config.ClientID and
// Config.ClientSecret to it before it returns, even when it then fails: the
// code is for that client, and the client stays set up.
func (l *Login) Code(ctx context.Context) (string, error) {
	if l.Config == nil {
		return "", errors.New("sign-in: no OAuth configuration")
	}
	if l.Setup != nil && l.Setup.Save == nil {
		return "", errors.New("sign-in: setup without Save")
	}
	cb, err := parseRedirect(l.Config.RedirectURL)
	if err != nil {
		return "", err
	}
	state := l.State
	if state == "" {
		state = newState()
	}
	lns, err := listenLoopback(cb)
	if err != nil {
		return "", err
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = defaultLoginTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w (%s)", ErrLoginTimeout, timeout))
	defer cancel()

	d := &delivery{ch: make(chan loginResult, 1)}
	hosts := callbackHosts(cb, addrsOf(lns))
	var h http.Handler = &callback{path: cb.path, state: state, d: d}
	var setup *setupHandler
	if l.Setup != nil {
		setup = l.newSetup(ctx, cb, hosts, state)
		defer l.adopt(setup)
		h = setupRouter{setup: setup, next: h}
	}
	h = hostGuard{hosts: hosts, next: h}
	if l.wrap != nil {
		h = l.wrap(h)
	}
	srv := serve(lns, h)
	defer stopServer(srv, lns)
	if l.listening != nil {
		l.listening(addrsOf(lns))
	}
	out := &guardedWriter{w: l.Out}
	defer out.close()
	if setup != nil {
		l.announce(out, setupURL(cb, setup), "Opening the setup page in your browser.")
		return wait(ctx, d)
	}
	l.announce(out, l.authURL(l.Config.ClientID, state), "Opening the sign-in page in your browser.")
	if l.Paste != nil {
		go readPaste(ctx, l.Paste, state, d, out)
	}
	return wait(ctx, d)
}

// authURL is the authorization page for clientID.
func (l *Login) authURL(clientID, state string) string {
	c := &oauth2.Config{ClientID: clientID, Endpoint: l.Config.Endpoint, RedirectURL: l.Config.RedirectURL, Scopes: l.Config.Scopes}
	// Athom's client sends response_type=code, its documentation authorization_type=code: both.
	return c.AuthCodeURL(state, oauth2.SetAuthURLParam("authorization_type", "code"))
}

func (l *Login) newSetup(ctx context.Context, cb redirect, hosts map[string]bool, state string) *setupHandler {
	s := &setupHandler{path: setupPath, token: newState(), redirect: l.Config.RedirectURL,
		projects: l.Setup.ProjectsURL, origins: setupOrigins(hosts),
		authURL: func(id string) string { return l.authURL(id, state) },
		save:    l.Setup.Save, ctx: ctx}
	if cb.path == setupPath {
		s.path = setupPathAlt
	}
	if s.projects == "" {
		s.projects = DefaultProjectsURL
	}
	return s
}

// adopt makes the client that the setup saved, if any, the Config's.
func (l *Login) adopt(s *setupHandler) {
	if c := s.finish(); c != nil {
		l.Config.ClientID, l.Config.ClientSecret = c.id, c.secret
	}
}

// setupURL is the address the browser is opened on: the setup page under the
// redirect URI's own host, with this run's token.
func setupURL(cb redirect, s *setupHandler) string {
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(cb.host, strconv.Itoa(cb.port)), Path: s.path,
		RawQuery: url.Values{"token": {s.token}}.Encode()}
	return u.String()
}

// serve serves h on every listener; the small header limit keeps a hostile
// request from costing much.
func serve(lns []net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	for _, ln := range lns {
		go func() { _ = srv.Serve(ln) }()
	}
	return srv
}

// wait returns the first delivery, preferring it over a simultaneous timeout.
func wait(ctx context.Context, d *delivery) (string, error) {
	select {
	case r := <-d.ch:
		return r.code, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-d.ch:
		return r.code, r.err
	default:
		return "", context.Cause(ctx)
	}
}

func (l *Login) announce(out io.Writer, target, opening string) {
	if l.Open != nil {
		fmt.Fprintln(out, opening+" If it does not open, open this URL:")
	} else {
		fmt.Fprintln(out, "Open this URL in a browser to sign in:")
	}
	fmt.Fprintf(out, "\n    %s\n\n", target)
	if l.Open != nil {
		if err := l.Open(target); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%s): open the URL above yourself.\n", sanitize.Line(err.Error(), 200))
		}
	}
	if l.Paste != nil && l.Setup == nil {
		fmt.Fprintln(out, "If the browser cannot reach this computer, paste the code or the whole address it ended on here and press Enter:")
	}
}

func newState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginResult is a code or an error for Code to return.
type loginResult struct {
	code string
	err  error
}

// delivery hands the first result to Code; later ones are dropped.
type delivery struct {
	once sync.Once
	ch   chan loginResult // buffered: 1
}

// deliver reports whether r was the first result.
func (d *delivery) deliver(r loginResult) bool {
	first := false
	d.once.Do(func() {
		d.ch <- r
		first = true
	})
	return first
}

// callback serves the redirect path.
type callback struct {
	path  string
	state string
	d     *delivery
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != c.path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if len(r.URL.RawQuery) > maxCallbackQuery {
		pageTooLong.write(w)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	// The state comes first: without it nothing in the request is trusted,
	// so a forged error=access_denied cannot end the sign-in.
	if err != nil || !sameState(q.Get("state"), c.state) {
		pageWrongState.write(w)
		return
	}
	res, ok := resultOf(q)
	if !ok {
		pageNoCode.write(w)
		return
	}
	if !c.d.deliver(res) {
		pageFinished.write(w)
		return
	}
	switch {
	case res.err == nil:
		pageSignedIn.write(w)
	case errors.Is(res.err, ErrAccessDenied):
		pageDenied.write(w)
	default:
		pageFailed.write(w)
	}
}

func sameState(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// resultOf reads a redirect's query (its state already checked): a code, an
// error, or neither (ok false).
func resultOf(q url.Values) (loginResult, bool) {
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return loginResult{err: ErrAccessDenied}, true
		}
		msg := "the sign-in failed: " + sanitize.Line(e, 64)
		if desc := sanitize.Line(q.Get("error_description"), 200); desc != "" {
			msg += ": " + desc
		}
		return loginResult{err: errors.New(msg)}, true
	}
	if code := q.Get("code"); code != "" {
		return loginResult{code: code}, true
	}
	return loginResult{}, false
}

// readPaste reads lines until one holds a code. The end of input (or a read
// error) ends only the reading: the browser may still come back.
func readPaste(ctx context.Context, in io.Reader, state string, d *delivery, out io.Writer) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() && ctx.Err() == nil {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		res, problem := parsePaste(line, state)
		if problem != "" {
			fmt.Fprintln(out, problem)
			continue
		}
		d.deliver(res)
		return
	}
}
