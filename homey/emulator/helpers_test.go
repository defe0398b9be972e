package emulator

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injectable clock of the strictness tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestServer starts a server whose clock the test moves by hand.
func newTestServer(t *testing.T, o Options) (*Server, *fakeClock) {
	t.Helper()
	s := NewServer(t, o)
	clk := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.setNow(clk.Now)
	return s, clk
}

// setNow replaces the server's clock.
func (s *Server) setNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// client never follows redirects: the tests look at them.
var client = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, u string, header http.Header, body string) resp {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, req.URL.Path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode answer (status %d): %v", r.status, err)
	}
}

// apiErr is the JSON error shape {"error","error_description"}.
type apiErr struct {
	Code string `json:"error"`
	Desc string `json:"error_description"`
}

// wantError checks status and error code of an error answer.
func (r resp) wantError(t *testing.T, status int, code string) apiErr {
	t.Helper()
	var e apiErr
	r.decode(t, &e)
	if r.status != status || e.Code != code {
		t.Fatalf("answer = %d %q (%s), want %d %q", r.status, e.Code, e.Desc, status, code)
	}
	if e.Desc == "" {
		t.Errorf("error %q has no error_description", code)
	}
	return e
}

// postToken posts form to the token endpoint with Basic client auth.
func postToken(t *testing.T, s *Server, form url.Values) resp {
	t.Helper()
	h := http.Header{
		"Content-Type":  {"application/x-www-form-urlencoded"},
		"Authorization": {basicAuth(s.ClientID(), s.ClientSecret())},
	}
	return do(t, http.MethodPost, s.URL()+"/oauth2/token", h, form.Encode())
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// signIn gets tokens through a code grant.
func signIn(t *testing.T, s *Server) tokenJSON {
	t.Helper()
	code, err := s.AuthorizeCode("st")
	if err != nil {
		t.Fatal(err)
	}
	return grant(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
}

// grant posts form and expects tokens.
func grant(t *testing.T, s *Server, form url.Values) tokenJSON {
	t.Helper()
	r := postToken(t, s, form)
	var tok tokenJSON
	r.decode(t, &tok)
	if r.status != http.StatusOK || tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" {
		t.Fatalf("grant %s: status %d, want 200 with tokens", form.Get("grant_type"), r.status)
	}
	return tok
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// delegation asks the cloud for a delegation JWT.
func delegation(t *testing.T, s *Server, access, audience string) string {
	t.Helper()
	r := do(t, http.MethodPost, s.URL()+"/delegation/token?audience="+audience, bearer(access), "{}")
	var jwt string
	r.decode(t, &jwt)
	if r.status != http.StatusOK {
		t.Fatalf("delegation: status %d", r.status)
	}
	return jwt
}

// login posts a delegation JWT to a Homey's users/login.
func login(t *testing.T, h HomeyInfo, jwt string) resp {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": jwt})
	return do(t, http.MethodPost, h.BaseURL+"/api/manager/users/login",
		http.Header{"Content-Type": {"application/json"}, "X-Homey-ID": {h.ID}}, string(body))
}

// homeySession signs in and returns a session token for h.
func homeySession(t *testing.T, s *Server, h HomeyInfo) string {
	t.Helper()
	r := login(t, h, delegation(t, s, signIn(t, s).AccessToken, "homey"))
	var tok string
	r.decode(t, &tok)
	if r.status != http.StatusOK {
		t.Fatalf("login: status %d", r.status)
	}
	return tok
}
