package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuthorise(t *testing.T) {
	s, _ := newTestServer(t, Options{RedirectURI: "http://localhost:47719/callback"})
	good := url.Values{"client_id": {s.ClientID()}, "redirect_uri": {s.RedirectURI()}, "response_type": {"code"}, "state": {"xyz 1/2"}}
	with := func(kv ...string) url.Values { // copy of good; an empty value deletes
		q := url.Values{}
		for key, vs := range good {
			q[key] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if q.Del(kv[i]); kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	tests := []struct {
		name      string
		q         url.Values
		status    int
		code      string // error code of a 400, or of the redirect
		wantState bool
	}{
		{"ok", good, http.StatusFound, "", true},
		{"no state", with("state", ""), http.StatusFound, "", false},
		{"authorization_type as in Athom's doc", with("response_type", "", "authorization_type", "code"), http.StatusFound, "", true},
		{"scope list accepted", with("scope", "homey.device.readonly,homey.zone.readonly"), http.StatusFound, "", true},
		{"unknown client", with("client_id", "0123456789abcdef01234567"), http.StatusBadRequest, "invalid_client", false},
		{"no client", with("client_id", ""), http.StatusBadRequest, "invalid_client", false},
		{"other port", with("redirect_uri", "http://localhost:47720/callback"), http.StatusBadRequest, "invalid_request", false},
		{"trailing slash", with("redirect_uri", "http://localhost:47719/callback/"), http.StatusBadRequest, "invalid_request", false},
		{"127.0.0.1 for localhost", with("redirect_uri", "http://127.0.0.1:47719/callback"), http.StatusBadRequest, "invalid_request", false},
		{"extra query", with("redirect_uri", "http://localhost:47719/callback?x=1"), http.StatusBadRequest, "invalid_request", false},
		{"no redirect_uri", with("redirect_uri", ""), http.StatusBadRequest, "invalid_request", false},
		{"token flow", with("response_type", "token"), http.StatusFound, "unsupported_response_type", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodGet, s.URL()+"/oauth2/authorise?"+tc.q.Encode(), nil, "")
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d", r.status, tc.status)
			}
			if tc.status != http.StatusFound {
				if loc := r.header.Get("Location"); loc != "" {
					t.Fatalf("an invalid request redirected to %q", loc)
				}
				r.wantError(t, tc.status, tc.code)
				return
			}
			checkRedirect(t, s, r, tc.code, tc.wantState, good.Get("state"))
		})
	}
}

func checkRedirect(t *testing.T, s *Server, r resp, errCode string, wantState bool, state string) {
	t.Helper()
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), s.RedirectURI()+"?") {
		t.Fatalf("Location = %q, want the registered redirect URI", r.header.Get("Location"))
	}
	q := loc.Query()
	if got := q.Get("state"); wantState && got != state || !wantState && q.Has("state") {
		t.Errorf("state = %q, want %q (present: %v)", got, state, wantState)
	}
	if errCode != "" {
		if q.Get("error") != errCode || q.Has("code") {
			t.Errorf("redirect query %v, want error=%s and no code", q, errCode)
		}
		return
	}
	if q.Get("code") == "" {
		t.Error("redirect has no code")
	}
}

func TestTokenClientAuth(t *testing.T) {
	s, _ := newTestServer(t, Options{ClientSecret: "s3cr+t/=x"})
	form := func(extra ...string) string {
		code, err := s.AuthorizeCode("")
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return q.Encode()
	}
	id, secret := s.ClientID(), s.ClientSecret()
	tests := []struct {
		name   string
		auth   string
		extra  []string
		status int
	}{
		{"basic raw (homey-api)", basicAuth(id, secret), nil, http.StatusOK},
		{"basic form-encoded (x/oauth2)", basicAuth(url.QueryEscape(id), url.QueryEscape(secret)), nil, http.StatusOK},
		{"form fields", "", []string{"client_id", id, "client_secret", secret}, http.StatusOK},
		{"wrong basic, right form", basicAuth(id, "nope"), []string{"client_id", id, "client_secret", secret}, http.StatusOK},
		{"wrong basic secret", basicAuth(id, "nope"), nil, http.StatusUnauthorized},
		{"wrong basic id", basicAuth("0123456789abcdef01234567", secret), nil, http.StatusUnauthorized},
		{"wrong form secret", "", []string{"client_id", id, "client_secret", "nope"}, http.StatusUnauthorized},
		{"form id only", "", []string{"client_id", id}, http.StatusUnauthorized},
		{"no client auth", "", nil, http.StatusUnauthorized},
		{"both wrong", basicAuth(id, "x"), []string{"client_id", id, "client_secret", "y"}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			if tc.auth != "" {
				h.Set("Authorization", tc.auth)
			}
			r := do(t, http.MethodPost, s.URL()+"/oauth2/token", h, form(tc.extra...))
			if tc.status == http.StatusOK {
				var tok tokenJSON
				r.decode(t, &tok)
				if r.status != http.StatusOK || tok.AccessToken == "" {
					t.Fatalf("status = %d, want 200 with a token", r.status)
				}
				return
			}
			r.wantError(t, tc.status, "invalid_client")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q, want Basic", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestCodeGrant(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	used, _ := s.AuthorizeCode("")
	grant(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {used}})
	tests := []struct {
		name   string
		form   func() url.Values
		status int
		code   string
	}{
		{"fresh", codeForm(t, s, 0, clk, nil), http.StatusOK, ""},
		{"29 s old", codeForm(t, s, 29*time.Second, clk, nil), http.StatusOK, ""},
		{"30 s old", codeForm(t, s, 30*time.Second, clk, nil), http.StatusBadRequest, "invalid_grant"},
		{"same redirect_uri", codeForm(t, s, 0, clk, url.Values{"redirect_uri": {s.RedirectURI()}}), http.StatusOK, ""},
		{"other redirect_uri", codeForm(t, s, 0, clk, url.Values{"redirect_uri": {"http://localhost:1/cb"}}), http.StatusBadRequest, "invalid_grant"},
		{"reused", func() url.Values {
			form := codeForm(t, s, 0, clk, nil)()
			grant(t, s, form)
			return form
		}, http.StatusBadRequest, "invalid_grant"},
		{"unknown", func() url.Values { return url.Values{"grant_type": {"authorization_code"}, "code": {"0f0f"}} }, http.StatusBadRequest, "invalid_grant"},
		{"no code", func() url.Values { return url.Values{"grant_type": {"authorization_code"}} }, http.StatusBadRequest, "invalid_request"},
		{"no grant_type", func() url.Values { return url.Values{"code": {used}} }, http.StatusBadRequest, "invalid_request"},
		{"password grant", func() url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"x"}}
		}, http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form()
			before := s.Grants("authorization_code")
			r := postToken(t, s, form)
			if tc.status == http.StatusOK {
				var tok tokenJSON
				r.decode(t, &tok)
				if r.status != http.StatusOK || tok.ExpiresIn != 3660 || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("status %d, expires_in %d, Cache-Control %q; want 200, 3660, no-store",
						r.status, tok.ExpiresIn, r.header.Get("Cache-Control"))
				}
				if s.Grants("authorization_code") != before+1 {
					t.Error("grant not counted")
				}
				return
			}
			r.wantError(t, tc.status, tc.code)
			if s.Grants("authorization_code") != before {
				t.Error("failed grant counted")
			}
		})
	}
}

// codeForm issues a code, ages it by age, and returns its grant form.
func codeForm(t *testing.T, s *Server, age time.Duration, clk *fakeClock, extra url.Values) func() url.Values {
	return func() url.Values {
		code, err := s.AuthorizeCode("")
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(age)
		q := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
}
