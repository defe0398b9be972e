package auth

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/internal/testport"
)

// browser is a real HTTP client playing the browser; it follows redirects.
var browser = &http.Client{Timeout: 5 * time.Second}

// freePort returns a loopback port that is free now, outside the ephemeral range (testport).
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// newAuthServer plays the authorization page: GET /authorise redirects to
// the redirect URI with the query that answer builds (state is echoed).
func newAuthServer(t *testing.T, answer func(state string) url.Values) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/authorise" || q.Get("response_type") != "code" || q.Get("client_id") != testClientID {
			http.Error(w, "bad authorise request", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+answer(q.Get("state")).Encode(), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func grant(code string) func(string) url.Values {
	return func(state string) url.Values { return url.Values{"code": {code}, "state": {state}} }
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loginRun is a Login.Code running in the background.
type loginRun struct {
	l        *Login
	port     int
	redirect string
	out      *syncBuffer
	opened   chan string
	addrs    chan []net.Addr
	done     chan loginResult
	took     time.Duration
}

// startLogin runs Code with a redirect URI on host and a free port; adjust
// may change the Login before it starts.
func startLogin(t *testing.T, host string, answer func(string) url.Values, adjust func(*Login)) *loginRun {
	t.Helper()
	return startLoginCtx(t, context.Background(), host, answer, adjust)
}

func startLoginCtx(t *testing.T, ctx context.Context, host string, answer func(string) url.Values, adjust func(*Login)) *loginRun {
	t.Helper()
	as := newAuthServer(t, answer)
	r := &loginRun{port: freePort(t), out: &syncBuffer{}, opened: make(chan string, 1),
		addrs: make(chan []net.Addr, 1), done: make(chan loginResult, 1)}
	r.redirect = "http://" + net.JoinHostPort(host, strconv.Itoa(r.port)) + "/callback"
	r.l = &Login{
		Config: &oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: r.redirect,
			Endpoint: oauth2.Endpoint{AuthURL: as.URL + "/authorise", TokenURL: as.URL + "/token"}},
		Open:      func(u string) error { r.opened <- u; return nil },
		Out:       r.out,
		Timeout:   5 * time.Second,
		listening: func(a []net.Addr) { r.addrs <- a },
	}
	if adjust != nil {
		adjust(r.l)
	}
	go func() {
		start := time.Now()
		code, err := r.l.Code(ctx)
		r.took = time.Since(start)
		r.done <- loginResult{code, err}
	}()
	return r
}

// authURL waits for Open.
func (r *loginRun) authURL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-r.opened:
		return u
	case res := <-r.done:
		t.Fatalf("Code returned before opening the browser: %v", res.err)
	case <-time.After(5 * time.Second):
		t.Fatal("the browser was never opened")
	}
	return ""
}

// state waits for Open and returns the state in the URL.
func (r *loginRun) state(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(r.authURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

// result waits for Code.
func (r *loginRun) result(t *testing.T) (string, error) {
	t.Helper()
	select {
	case res := <-r.done:
		return res.code, res.err
	case <-time.After(10 * time.Second):
		t.Fatal("Code did not return")
	}
	return "", nil
}

// call sends one request to the callback listener.
func (r *loginRun) call(t *testing.T, method, pathQuery string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", r.port, pathQuery), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("%s %.40s: %v", method, pathQuery, err)
	}
	resp.Body.Close()
	return resp
}
