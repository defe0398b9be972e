package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	testClientID     = "0123456789abcdef01234567"
	testClientSecret = "fake-client-secret-0123456789abcdef0123"
	// bodyMarker is in every fault body: an error that contains it leaked
	// the server's body.
	bodyMarker = "BODY-MARKER-do-not-print"
)

// fault is how the token server misbehaves.
type fault string

const (
	faultNone      fault = ""
	faultHTML502   fault = "html502"   // 502 text/html page
	faultTruncated fault = "truncated" // 200 application/json, JSON cut short
	faultShortBody fault = "shortbody" // Content-Length larger than the body sent
	faultGarbage   fault = "garbage"   // 200 application/json, not JSON
	faultNoAccess  fault = "noaccess"  // 200 JSON without access_token
	fault500JSON   fault = "500json"   // 500 {"error":"server_error"}
	faultReset     fault = "reset"     // connection closed without an answer
	faultHang      fault = "hang"      // no answer until the client gives up
)

// tokenServer is a small OAuth token endpoint in the style of x/oauth2's
// tests: Basic client authentication only, single-use codes, rotating refresh
// tokens (unless told otherwise), JSON answers.
type tokenServer struct {
	*httptest.Server

	mu          sync.Mutex
	seq         int
	codes       map[string]bool // unused authorization codes
	refresh     map[string]bool // valid refresh tokens
	grants      map[string]int  // successful grants by type
	requests    int
	rotate      bool
	omitRefresh bool          // answer refreshes without refresh_token
	expiresIn   int           // seconds; 0 = leave expires_in out
	delay       time.Duration // before answering a grant
	fault       fault
	stop        chan struct{}
}

func newTokenServer(t testing.TB) *tokenServer {
	s := &tokenServer{codes: map[string]bool{}, refresh: map[string]bool{}, grants: map[string]int{},
		rotate: true, expiresIn: 3600, stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.stop)
		s.Close()
	})
	return s
}

func (s *tokenServer) config() oauth2.Config {
	return oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/authorise", TokenURL: s.URL + "/token",
			AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: "http://localhost:47719/callback"}
}

// issueCode returns a fresh authorization code.
func (s *tokenServer) issueCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	c := fmt.Sprintf("code-%d", s.seq)
	s.codes[c] = true
	return c
}

// addRefresh makes rt a valid refresh token.
func (s *tokenServer) addRefresh(rt string) {
	s.mu.Lock()
	s.refresh[rt] = true
	s.mu.Unlock()
}

func (s *tokenServer) set(f func(s *tokenServer)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func (s *tokenServer) grantCount(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[kind]
}

func (s *tokenServer) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	f, delay := s.fault, s.delay
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		jsonError(w, http.StatusNotFound, "not_found")
		return
	}
	if serveFault(w, r, f, s.stop) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testClientSecret || r.PostFormValue("client_secret") != "" {
		jsonError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	time.Sleep(delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch g := r.PostFormValue("grant_type"); g {
	case "authorization_code":
		c := r.PostFormValue("code")
		if !s.codes[c] {
			jsonError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(s.codes, c)
		s.answer(w, g, true)
	case "refresh_token":
		rt := r.PostFormValue("refresh_token")
		if !s.refresh[rt] {
			jsonError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if s.rotate {
			delete(s.refresh, rt)
		}
		s.answer(w, g, s.rotate && !s.omitRefresh)
	default:
		jsonError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// answer issues tokens; s.mu is held.
func (s *tokenServer) answer(w http.ResponseWriter, grant string, newRefresh bool) {
	s.seq++
	s.grants[grant]++
	body := map[string]any{"token_type": "bearer", "access_token": fmt.Sprintf("access-%d", s.seq)}
	if s.expiresIn > 0 {
		body["expires_in"] = s.expiresIn
	}
	if newRefresh {
		rt := fmt.Sprintf("refresh-%d", s.seq)
		s.refresh[rt] = true
		body["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func jsonError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":"test says %s","debug":%q}`, code, code, bodyMarker)
}

// serveFault misbehaves as f says; it reports whether it answered.
func serveFault(w http.ResponseWriter, r *http.Request, f fault, stop chan struct{}) bool {
	switch f {
	case faultNone:
		return false
	case faultHTML502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1>\n%s\n</body></html>", bodyMarker)
	case faultTruncated:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"%s","token_type":"bea`, bodyMarker)
	case faultShortBody:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "500")
		fmt.Fprintf(w, `{"access_token":"%s"`, bodyMarker)
	case faultGarbage:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "%s this is not json", bodyMarker)
	case faultNoAccess:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token_type":"bearer","note":%q}`, bodyMarker)
	case fault500JSON:
		jsonError(w, http.StatusInternalServerError, "server_error")
	case faultReset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case faultHang:
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
	return true
}

// stored decodes the token in a Store (fails the test if there is none).
func stored(t testing.TB, st Store) storedToken {
	t.Helper()
	v, err := st.Get(TokenKey)
	if err != nil {
		t.Fatalf("stored token: %v", err)
	}
	var tok storedToken
	if err := json.Unmarshal([]byte(v), &tok); err != nil {
		t.Fatalf("stored token is not JSON: %v", err)
	}
	return tok
}

// putToken stores a token directly.
func putToken(t testing.TB, st Store, tok storedToken) {
	t.Helper()
	data, _ := json.Marshal(tok)
	if err := st.Set(TokenKey, string(data)); err != nil {
		t.Fatal(err)
	}
}

// checkSafeError fails if err is not one line or leaks a body or a secret.
func checkSafeError(t testing.TB, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, s := range append(secrets, bodyMarker, testClientSecret, "<html") {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error leaks %q", s) // s is a test value, never a real secret
		}
	}
}
