package homey

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// fakeTokens hands out toks in order, moving to the next one on Reject.
type fakeTokens struct {
	mu       sync.Mutex
	toks     []string
	i        int
	err      error // returned by Token once i reaches errAt (when err != nil)
	errAt    int
	calls    int
	rejected []string
}

func (f *fakeTokens) Token() (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil && f.i >= f.errAt {
		return nil, f.err
	}
	return &oauth2.Token{AccessToken: f.toks[min(f.i, len(f.toks)-1)], TokenType: "bearer"}, nil
}

func (f *fakeTokens) Reject(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected = append(f.rejected, tok)
	f.i++
}

// cloudRoutes serve /user/me and /delegation/token to "Bearer good" only.
func cloudRoutes() map[string]http.HandlerFunc {
	auth := func(ok string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer good" {
				writeJSON(w, 401, `{"error":"invalid_token","error_description":"The access token is invalid"}`)
				return
			}
			writeJSON(w, 200, ok)
		}
	}
	return map[string]http.HandlerFunc{
		"GET /user/me":           auth(userMe),
		"POST /delegation/token": auth(`"jwt-1"`),
	}
}

func TestMe(t *testing.T) {
	srv := newTestServer(t, cloudRoutes())
	c := &Cloud{BaseURL: srv.URL, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "good"})}
	u, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.Name() != "Ada Lovelace" || len(u.Homeys) != 1 || u.Homeys[0].ID != "5f0c2a1b3c4d5e6f7a8b9c0d" {
		t.Errorf("Me = %+v", u)
	}
}

func TestDelegationTokenRequest(t *testing.T) {
	srv := newTestServer(t, cloudRoutes())
	c := &Cloud{BaseURL: srv.URL, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "good"})}
	jwt, err := c.DelegationToken(context.Background())
	if err != nil || jwt != "jwt-1" {
		t.Fatalf("DelegationToken = %q, %v", jwt, err)
	}
	h := srv.seenHeaders()[0]
	if h.Get("Content-Type") != "application/json" || srv.bodies[0] != "{}" || h.Get("User-Agent") != "homeytray" {
		t.Errorf("request Content-Type %q, body %q, User-Agent %q; want application/json, {}, homeytray",
			h.Get("Content-Type"), srv.bodies[0], h.Get("User-Agent"))
	}
}

func TestDelegationTokenQuery(t *testing.T) {
	var query string
	srv := newTestServer(t, map[string]http.HandlerFunc{
		"POST /delegation/token": func(w http.ResponseWriter, r *http.Request) {
			query = r.URL.RawQuery
			writeJSON(w, 200, `"jwt-1"`)
		},
	})
	c := &Cloud{BaseURL: srv.URL, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "good"})}
	if _, err := c.DelegationToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if query != "audience=homey" {
		t.Errorf("query = %q; want audience=homey", query)
	}
}

// TestRejecterRetry: after 401 invalid_token the rejected token is reported once and the call is
// retried exactly once.
func TestRejecterRetry(t *testing.T) {
	errAuth := errors.New("auth sentinel")
	tests := []struct {
		name     string
		ts       func() oauth2.TokenSource
		calls    int      // requests to the route
		rejected []string // Reject calls, for a *fakeTokens
		wantErr  error    // errors.Is target
		invalid  bool     // IsInvalidToken
	}{
		{name: "retry succeeds", ts: fake(&fakeTokens{toks: []string{"old-SECRET", "good"}}),
			calls: 2, rejected: []string{"old-SECRET"}},
		{name: "second 401 returned", ts: fake(&fakeTokens{toks: []string{"old-SECRET", "new-SECRET", "good"}}),
			calls: 2, rejected: []string{"old-SECRET"}, invalid: true},
		{name: "no Rejecter, no retry", ts: func() oauth2.TokenSource { return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "old-SECRET"}) },
			calls: 1, invalid: true},
		{name: "token error", ts: fake(&fakeTokens{toks: []string{"good"}, err: errAuth}),
			calls: 0, wantErr: errAuth},
		{name: "token error after reject", ts: fake(&fakeTokens{toks: []string{"old-SECRET", "good"}, err: errAuth, errAt: 1}),
			calls: 1, rejected: []string{"old-SECRET"}, wantErr: errAuth},
	}
	for _, tt := range tests {
		for _, call := range cloudCalls {
			t.Run(tt.name+"/"+call.op, func(t *testing.T) {
				srv := newTestServer(t, cloudRoutes())
				ts := tt.ts()
				err := call.do(&Cloud{BaseURL: srv.URL, Tokens: ts})
				if got := srv.count(call.op); got != tt.calls {
					t.Errorf("%d requests; want %d", got, tt.calls)
				}
				if ft, ok := ts.(*fakeTokens); ok {
					checkRejected(t, ft, tt.rejected)
				}
				if tt.wantErr == nil && !tt.invalid {
					if err != nil {
						t.Fatalf("got %v", err)
					}
					return
				}
				checkErrText(t, err, call.op, "old-SECRET", "new-SECRET")
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("errors.Is(%q, %v) = false", err, tt.wantErr)
				}
				if IsInvalidToken(err) != tt.invalid {
					t.Errorf("IsInvalidToken(%q) = %v", err, !tt.invalid)
				}
			})
		}
	}
}

// cloudCalls are the Cloud methods, each by its route.
var cloudCalls = []struct {
	op string
	do func(c *Cloud) error
}{
	{"GET /user/me", func(c *Cloud) error { _, err := c.Me(context.Background()); return err }},
	{"POST /delegation/token", func(c *Cloud) error { _, err := c.DelegationToken(context.Background()); return err }},
}

// fake returns a constructor of copies of f, so that each subtest starts afresh.
func fake(f *fakeTokens) func() oauth2.TokenSource {
	return func() oauth2.TokenSource {
		return &fakeTokens{toks: f.toks, err: f.err, errAt: f.errAt}
	}
}

func checkRejected(t *testing.T, ft *fakeTokens, want []string) {
	t.Helper()
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if !reflect.DeepEqual(ft.rejected, want) {
		t.Errorf("%d Reject calls (or not with the failed token); want %d", len(ft.rejected), len(want))
	}
}

// TestNoRetryOnOther401: only invalid_token makes the cloud retry.
func TestNoRetryOnOther401(t *testing.T) {
	srv := newTestServer(t, map[string]http.HandlerFunc{"GET /user/me": jsonHandler(401, `{"error":"unauthorized"}`)})
	ft := &fakeTokens{toks: []string{"a", "b"}}
	_, err := (&Cloud{BaseURL: srv.URL, Tokens: ft}).Me(context.Background())
	if !IsUnauthorized(err) || IsInvalidToken(err) {
		t.Errorf("err = %v; want a 401 that is not invalid_token", err)
	}
	if srv.count("GET /user/me") != 1 || len(ft.rejected) != 0 {
		t.Errorf("%d requests, %d rejects; want 1, 0", srv.count("GET /user/me"), len(ft.rejected))
	}
}

// ctxTokens records the context it was asked with.
type ctxTokens struct{ got context.Context }

func (c *ctxTokens) Token() (*oauth2.Token, error) { return nil, errors.New("Token called") }
func (c *ctxTokens) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.got = ctx
	return &oauth2.Token{AccessToken: "good"}, nil
}

func TestTokenContextUsed(t *testing.T) {
	srv := newTestServer(t, cloudRoutes())
	ts := &ctxTokens{}
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	if _, err := (&Cloud{BaseURL: srv.URL, Tokens: ts}).Me(ctx); err != nil {
		t.Fatal(err)
	}
	if ts.got == nil || ts.got.Value(key{}) != "v" {
		t.Error("TokenContext was not given the caller's context")
	}
}

func TestCloudNoTokens(t *testing.T) {
	_, err := (&Cloud{BaseURL: "http://127.0.0.1:1"}).Me(context.Background())
	if !errors.Is(err, errNoTokenSource) {
		t.Errorf("err = %v; want errNoTokenSource", err)
	}
	empty := oauth2.StaticTokenSource(&oauth2.Token{})
	if _, err := (&Cloud{BaseURL: "http://127.0.0.1:1", Tokens: empty}).Me(context.Background()); !errors.Is(err, errNoAccessToken) {
		t.Errorf("err = %v; want errNoAccessToken", err)
	}
}
