package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRefreshRotation(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	first := signIn(t, s)
	second := grant(t, s, refreshForm(first.RefreshToken))
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("rotation on: the refresh grant did not answer new tokens")
	}
	postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
	third := grant(t, s, refreshForm(second.RefreshToken))

	s.SetRotateRefreshTokens(false)
	fourth := grant(t, s, refreshForm(third.RefreshToken))
	if fourth.RefreshToken != third.RefreshToken {
		t.Fatal("rotation off: the refresh token changed")
	}
	grant(t, s, refreshForm(third.RefreshToken))
	if got := s.Grants("refresh_token"); got != 4 {
		t.Errorf("Grants(refresh_token) = %d, want 4", got)
	}

	s.RevokeRefreshTokens()
	postToken(t, s, refreshForm(third.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
	later := signIn(t, s)
	grant(t, s, refreshForm(later.RefreshToken)) // tokens issued after the revocation work
	postToken(t, s, refreshForm("")).wantError(t, http.StatusBadRequest, "invalid_request")

	s.RestoreRefreshTokens()
	grant(t, s, refreshForm(third.RefreshToken))
	postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
}

func TestIntrospection(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	home := s.Homeys()[0]
	tok := signIn(t, s)
	jwt := delegation(t, s, tok.AccessToken, "homey")
	var session string
	login(t, home, jwt).decode(t, &session)
	issued := s.IssuedSecrets()
	for name, secret := range map[string]string{"client secret": s.ClientSecret(), "access token": tok.AccessToken,
		"refresh token": tok.RefreshToken, "delegation token": jwt, "session": session} {
		if !slices.Contains(issued, secret) {
			t.Errorf("IssuedSecrets lacks the %s", name)
		}
	}
	names := s.DeviceNames(home.ID)
	if len(names) != 6 || !slices.IsSorted(names) || !slices.Contains(names, "Desk lamp") {
		t.Errorf("DeviceNames(%s) = %q", home.Name, names)
	}
	if s.DeviceNames("nope") != nil {
		t.Error("DeviceNames of an unknown Homey is not nil")
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	me := func(tok string) resp { return do(t, http.MethodGet, s.URL()+"/user/me", bearer(tok), "") }
	tok := signIn(t, s)
	if r := me(tok.AccessToken); r.status != http.StatusOK {
		t.Fatalf("fresh token: status %d", r.status)
	}
	s.ExpireAccessTokens()
	r := me(tok.AccessToken)
	r.wantError(t, http.StatusUnauthorized, "invalid_token")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}

	s.SetAccessTokenTTL(10 * time.Second)
	short := grant(t, s, refreshForm(tok.RefreshToken))
	if short.ExpiresIn != 10 {
		t.Errorf("expires_in = %d, want 10", short.ExpiresIn)
	}
	clk.Add(9 * time.Second)
	if r := me(short.AccessToken); r.status != http.StatusOK {
		t.Fatalf("9 s old token: status %d", r.status)
	}
	clk.Add(time.Second)
	me(short.AccessToken).wantError(t, http.StatusUnauthorized, "invalid_token")

	for name, h := range map[string]http.Header{
		"no header":    nil,
		"basic":        {"Authorization": {basicAuth(s.ClientID(), s.ClientSecret())}},
		"empty bearer": {"Authorization": {"Bearer "}},
		"unknown":      bearer("0123456789abcdef0123456789abcdef01234567"),
		"refresh":      bearer(short.RefreshToken),
	} {
		t.Run(name, func(t *testing.T) {
			do(t, http.MethodGet, s.URL()+"/user/me", h, "").wantError(t, http.StatusUnauthorized, "invalid_token")
		})
	}
}

func TestUserMe(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	var u struct {
		ID       string            `json:"_id"`
		FullName string            `json:"fullname"`
		Email    string            `json:"email"`
		RoleIDs  []string          `json:"roleIds"`
		Devices  []any             `json:"devices"`
		Homeys   []map[string]any  `json:"homeys"`
		Avatar   map[string]string `json:"avatar"`
	}
	do(t, http.MethodGet, s.URL()+"/user/me", bearer(signIn(t, s).AccessToken), "").decode(t, &u)
	if u.FullName != "Ada Lovelace" || u.Email != "ada@example.com" || u.Devices == nil || u.RoleIDs == nil {
		t.Fatalf("user = %+v", u)
	}
	infos := s.Homeys()
	if len(u.Homeys) != 2 || len(infos) != 2 {
		t.Fatalf("%d homeys in /user/me, %d in Homeys(); want 2", len(u.Homeys), len(infos))
	}
	for i, h := range u.Homeys {
		want := map[string]any{
			"_id": infos[i].ID, "id": infos[i].ID, "name": infos[i].Name, "remoteUrl": infos[i].BaseURL, "localUrl": infos[i].LocalURL,
			"platform": "local", "apiVersion": 3.0, "platformVersion": 2.0, "model": "homey5q", "state": "online",
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("homeys[%d].%s = %v, want %v", i, k, h[k], v)
			}
		}
		if infos[i].LocalURL == infos[i].BaseURL || !strings.HasPrefix(infos[i].LocalURL, "http://127.0.0.1:") {
			t.Errorf("homeys[%d]: localUrl %q, remoteUrl %q; want two loopback listeners", i, infos[i].LocalURL, infos[i].BaseURL)
		}
		for _, k := range []string{"localUrlSecure", "remoteUrlForwarded"} {
			if _, ok := h[k]; ok {
				t.Errorf("homeys[%d] has a %s (the emulator serves no TLS)", i, k)
			}
		}
	}
}

func TestDelegationToken(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	access := signIn(t, s).AccessToken
	var keyPEM string
	do(t, http.MethodGet, s.URL()+"/delegation/key", nil, "").decode(t, &keyPEM)
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("/delegation/key is not a PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"", "{}", `{"meta":1}`} {
		r := do(t, http.MethodPost, s.URL()+"/delegation/token?audience=homey", bearer(access), body)
		var signed string
		r.decode(t, &signed)
		var claims jwt.RegisteredClaims
		_, err := jwt.ParseWithClaims(signed, &claims, func(*jwt.Token) (any, error) { return pub.(*rsa.PublicKey), nil },
			jwt.WithValidMethods([]string{"RS512"}), jwt.WithAudience("homey"), jwt.WithTimeFunc(func() time.Time {
				return time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)
			}))
		if err != nil {
			t.Fatalf("body %q: delegation token does not verify: %v", body, err)
		}
		if claims.Subject != fixtureUser.id || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != time.Minute {
			t.Errorf("claims sub=%s lifetime=%v, want the user and 1m", claims.Subject, claims.ExpiresAt.Sub(claims.IssuedAt.Time))
		}
	}
	for name, c := range map[string]struct{ query, body string }{
		"array body":  {"?audience=homey", "[1]"},
		"text body":   {"?audience=homey", "token please"},
		"no audience": {"", "{}"},
	} {
		t.Run(name, func(t *testing.T) {
			do(t, http.MethodPost, s.URL()+"/delegation/token"+c.query, bearer(access), c.body).
				wantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
	s.ExpireAccessTokens()
	do(t, http.MethodPost, s.URL()+"/delegation/token?audience=homey", bearer(access), "{}").
		wantError(t, http.StatusUnauthorized, "invalid_token")
}
