package homey

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testServer is an inline fake for the cloud and a Homey: handlers by "METHOD /path", every
// request counted per route and its headers kept.
type testServer struct {
	*httptest.Server
	mu      sync.Mutex
	routes  map[string]http.HandlerFunc
	counts  map[string]int
	headers []http.Header
	bodies  []string
}

func newTestServer(t *testing.T, routes map[string]http.HandlerFunc) *testServer {
	t.Helper()
	s := &testServer{routes: routes, counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) serve(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.counts[route]++
	s.headers = append(s.headers, r.Header.Clone())
	s.bodies = append(s.bodies, string(body))
	h := s.routes[route]
	s.mu.Unlock()
	if h == nil {
		writeJSON(w, http.StatusNotFound, `{"error":"not_found"}`)
		return
	}
	h(w, r)
}

// count is the number of requests seen on route ("METHOD /path").
func (s *testServer) count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// total is the number of requests seen on all routes.
func (s *testServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// setRoute replaces the handler of route.
func (s *testServer) setRoute(route string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[route] = h
}

func (s *testServer) seenHeaders() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.headers...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func jsonHandler(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) }
}

// resetConn hijacks the connection and closes it with a TCP reset, before any answer.
func resetConn(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// cutConn promises a longer body than it sends, then closes the connection.
func cutConn(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"d1\":{\"id\":\"d1\",\"name\":\"SECRET-BODY")
	_ = buf.Flush()
	_ = conn.Close()
}

// hang blocks until the client gives up (or the test ends).
func hang(done <-chan struct{}) http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// checkErrText fails unless err is one line naming op and holding none of the secrets.
func checkErrText(t *testing.T, err error, op string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want one for %s", op)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.Contains(msg, op) {
		t.Errorf("error %q does not name %q", msg, op)
	}
	for _, s := range append(secrets, "SECRET") {
		if strings.Contains(msg, s) {
			t.Errorf("error %q holds %q", msg, s)
		}
	}
}
