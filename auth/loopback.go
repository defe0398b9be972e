package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// PortInUseError means that the redirect URI's port is taken by another
// program. It names no command of the application: the caller adds how to
// register another redirect URI with it.
type PortInUseError struct {
	Addr string // the address we tried, e.g. "127.0.0.1:47719"
	Port int
}

// Error names the port and what to do, e.g. "port 47719 is in use: close the
// program using it or register another redirect URI".
func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d is in use: close the program using it or register another redirect URI", e.Port)
}

// redirect is the parsed loopback redirect URI.
type redirect struct {
	host string // "localhost", "127.0.0.1" or "::1"
	port int
	path string
}

func parseRedirect(raw string) (redirect, error) {
	bad := fmt.Errorf("redirect URI %q: want http://localhost, http://127.0.0.1 or http://[::1] with a port, "+
		"e.g. http://localhost:47719/callback", sanitize.Line(raw, 200))
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return redirect{}, bad
	}
	host := u.Hostname()
	if host != "localhost" && host != "127.0.0.1" && host != "::1" {
		return redirect{}, bad
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return redirect{}, bad
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return redirect{host: host, port: port, path: path}, nil
}

// listenLoopback listens on the redirect's loopback address, never on all
// interfaces. For "localhost" it listens on 127.0.0.1 and on ::1 (browsers
// may try either); ::1 may fail on a machine without IPv6, unless the port
// is in use there.
func listenLoopback(r redirect) ([]net.Listener, error) {
	type bind struct{ network, host string }
	binds := []bind{{"tcp4", "127.0.0.1"}, {"tcp6", "::1"}}
	switch r.host {
	case "127.0.0.1":
		binds = binds[:1]
	case "::1":
		binds = binds[1:]
	}
	var lns []net.Listener
	for _, b := range binds {
		addr := net.JoinHostPort(b.host, strconv.Itoa(r.port))
		ln, err := net.Listen(b.network, addr)
		switch {
		case err == nil:
			lns = append(lns, ln)
			continue
		case addrInUse(err):
			err = &PortInUseError{Addr: addr, Port: r.port}
		case r.host == "localhost" && b.host == "::1":
			continue // no IPv6 here
		default:
			err = fmt.Errorf("listen on %s: %w", addr, err)
		}
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	return lns, nil
}

// addrInUse reports EADDRINUSE. On Windows it is WSAEADDRINUSE (10048), or
// WSAEACCES (10013) for a port Windows reserved (e.g. for Hyper-V); Go's
// syscall.EADDRINUSE there is an invented value. Both numbers are far outside
// the Unix errno range, so one test serves every OS.
func addrInUse(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno == syscall.EADDRINUSE || errno == 10048 || errno == 10013
}

// pageWrongHost answers a request that reached the listener under a name
// other than its own. 421 Misdirected Request says just that: this server
// does not answer for that authority.
var pageWrongHost = page{http.StatusMisdirectedRequest, false, "This address is not the sign-in's",
	"The sign-in only answers at the address it registered (localhost or a loopback address). " +
		"Use the page that the sign-in opened, or start the sign-in again."}

// callbackHosts lists the Host values the listener answers: the redirect
// URI's own host and the loopback addresses it listens on, with its port.
// For port 80 a browser leaves the port out of Host, so the bare names count
// too.
func callbackHosts(r redirect, addrs []net.Addr) map[string]bool {
	names := []string{r.host}
	for _, addr := range addrs {
		if a, ok := addr.(*net.TCPAddr); ok {
			names = append(names, a.IP.String())
		}
	}
	hosts := make(map[string]bool)
	for _, n := range names {
		hosts[net.JoinHostPort(n, strconv.Itoa(r.port))] = true
		if r.port == 80 {
			if strings.Contains(n, ":") {
				n = "[" + n + "]"
			}
			hosts[n] = true
		}
	}
	return hosts
}

// hostGuard refuses, before anything else, a request whose Host is not one
// of hosts. This stops DNS rebinding: a page loaded from
// http://evil.name:<port>, whose name is then made to resolve to 127.0.0.1,
// is same-origin with the listener; it could read the listener's answers and
// send it any request without a CORS preflight. But its requests still say
// Host: evil.name:<port>, which no genuine request does, because the
// authorization server only ever redirects to the registered redirect URI.
// So refusing even a request that carries the right state is safe: it can
// only come from a page that got the state some other way. The refusal ends
// nothing: the sign-in keeps waiting for the real callback.
//
// Sec-Fetch-* and Origin are not checked. They could turn away fetch(),
// <img> or <script> requests, but a page can always navigate the top level
// to the callback, which looks exactly like the real redirect; what keeps
// such a request out is the state (and this Host check), not its kind. And
// clients that send none of these headers (curl, a pasted address) must keep
// working.
type hostGuard struct {
	hosts map[string]bool // "localhost:47719", "127.0.0.1:47719", "[::1]:47719"
	next  http.Handler
}

func (g hostGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Host names are case-insensitive; IP literals have no case.
	if !g.hosts[strings.ToLower(r.Host)] {
		pageWrongHost.write(w)
		return
	}
	g.next.ServeHTTP(w, r)
}

func addrsOf(lns []net.Listener) []net.Addr {
	addrs := make([]net.Addr, len(lns))
	for i, ln := range lns {
		addrs[i] = ln.Addr()
	}
	return addrs
}

// stopServer lets a page that is being written finish (up to 500 ms), then
// closes everything.
func stopServer(srv *http.Server, lns []net.Listener) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if srv.Shutdown(ctx) != nil {
		srv.Close()
	}
	for _, ln := range lns {
		ln.Close() // in case Serve had not started yet
	}
}

// parsePaste reads a pasted line: a bare code, or an address or query string
// holding code (or error) and, if present, the right state. problem is set
// when the line is not usable.
func parsePaste(line, state string) (res loginResult, problem string) {
	if !strings.Contains(line, "://") && !strings.HasPrefix(line, "?") &&
		!strings.Contains(line, "code=") && !strings.Contains(line, "error=") {
		// A code is one token; ?, #, & and = belong to an address that lost its scheme.
		if strings.ContainsAny(line, " \t\"'<>?#&=") || len(line) > 2048 {
			return res, "That does not look like a sign-in code; paste the code or the whole address."
		}
		return loginResult{code: line}, ""
	}
	// The query, as RFC 3986 reads an address: before the fragment ("#"), after the first "?"
	// (the whole line when it is a bare query).
	raw, _, _ := strings.Cut(line, "#")
	if _, q, ok := strings.Cut(raw, "?"); ok {
		raw = q
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return res, "That address could not be read; paste it again or paste just the code."
	}
	if q.Has("state") && !sameState(q.Get("state"), state) {
		return res, "That address belongs to another sign-in (its state does not match); paste the one from this sign-in."
	}
	res, ok := resultOf(q)
	if !ok {
		return res, "That address holds no sign-in code; paste the whole address or just the code."
	}
	return res, ""
}

// guardedWriter is Out shared by Code and the paste reader; after close it
// drops writes, so a paste reader that outlives Code stays silent.
type guardedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.w == nil {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *guardedWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
