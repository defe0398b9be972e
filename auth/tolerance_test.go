package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/emulator"
)

// emulatorSession is a Session signed in at the emulator, its access token expired locally so
// that the next Token refreshes.
func emulatorSession(t *testing.T, srv *emulator.Server) (*Session, *memStore) {
	t.Helper()
	st := newMemStore()
	conf := oauth2.Config{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: srv.RedirectURI(),
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL() + "/oauth2/authorise", TokenURL: srv.URL() + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	code, err := srv.AuthorizeCode("")
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Config: conf, Store: st}
	if _, err := s.Exchange(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	tok := stored(t, st)
	tok.Expiry = time.Now().Add(-time.Minute)
	putToken(t, st, tok)
	return &Session{Config: conf, Store: st}, st
}

// TestRefreshRefusedAnyWay: the official client never reads the refresh grant's error, so the
// real answer to a dead refresh token is unknown (docs/protocol.md#tolerance). Any 400 or 401 means "sign in
// again" (ErrSignInGone), and the stored token is kept; invalid_client is the client refused
// (ErrClientRefused, also ErrSignInGone); a 403 or 5xx is no verdict on the sign-in.
func TestRefreshRefusedAnyWay(t *testing.T) {
	for _, c := range []struct {
		status              int
		code                string
		gone, clientRefused bool
	}{
		{0, "", true, false}, // the default: 400 invalid_grant
		{400, "invalid_request", true, false},
		{401, "invalid_token", true, false},
		{401, "invalid_grant", true, false},
		{400, "", true, false},
		{401, "unauthorized", true, false},
		{400, "invalid_client", true, true},
		{403, "forbidden", false, false},
		{500, "server_error", false, false},
	} {
		t.Run(fmt.Sprintf("%d %s", c.status, c.code), func(t *testing.T) {
			srv := emulator.NewServer(t, emulator.Options{})
			s, st := emulatorSession(t, srv)
			before := stored(t, st)
			srv.SetRefreshError(c.status, c.code)
			srv.RevokeRefreshTokens()
			_, err := s.Token()
			if err == nil {
				t.Fatal("a dead refresh token refreshed")
			}
			checkSafeError(t, err, srv.IssuedSecrets()...)
			if got := errors.Is(err, ErrSignInGone); got != c.gone {
				t.Errorf("%v: ErrSignInGone %v, want %v", err, got, c.gone)
			}
			if got := errors.Is(err, ErrClientRefused); got != c.clientRefused {
				t.Errorf("%v: ErrClientRefused %v, want %v", err, got, c.clientRefused)
			}
			if after := stored(t, st); !sameStored(before, after) {
				t.Errorf("the stored token changed")
			}
		})
	}
}

// TestClientRefused: the client itself refused (deleted in the developer portal, secret
// changed): 401 invalid_client at every grant is ErrClientRefused, at the refresh and at the code
// exchange, and the stored token is kept.
func TestClientRefused(t *testing.T) {
	srv := emulator.NewServer(t, emulator.Options{})
	s, st := emulatorSession(t, srv)
	before := stored(t, st)
	srv.SetClientRefused(true)
	_, err := s.Token()
	if !errors.Is(err, ErrClientRefused) || !errors.Is(err, ErrSignInGone) {
		t.Errorf("refresh with the client refused: %v; want ErrClientRefused (and ErrSignInGone)", err)
	}
	if after := stored(t, st); !sameStored(before, after) {
		t.Errorf("the stored token changed")
	}
	srv.SetClientRefused(false)
	code, _ := srv.AuthorizeCode("")
	srv.SetClientRefused(true)
	if _, err := s.Exchange(context.Background(), code); !errors.Is(err, ErrClientRefused) || errors.Is(err, ErrSignInGone) {
		t.Errorf("exchange with the client refused: %v; want ErrClientRefused only", err)
	}
}

// TestAuthoriseURLBothParams: the authorise URL says response_type=code (Athom's client) and
// authorization_type=code (Athom's documentation), and the emulator accepts it.
func TestAuthoriseURLBothParams(t *testing.T) {
	srv := emulator.NewServer(t, emulator.Options{RedirectURI: "http://127.0.0.1:" + freeTCPPort(t) + "/callback"})
	conf := &oauth2.Config{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: srv.RedirectURI(),
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL() + "/oauth2/authorise", TokenURL: srv.URL() + "/oauth2/token"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opened := make(chan string, 1)
	l := &Login{Config: conf, Open: func(u string) error {
		opened <- u
		go func() { // the browser: follow the authorise URL to the callback
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}}
	code, err := l.Code(ctx)
	if err != nil || code == "" {
		t.Fatalf("sign-in: %q, %v", code, err)
	}
	u, err := url.Parse(<-opened)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("response_type") != "code" || q.Get("authorization_type") != "code" {
		t.Errorf("authorise URL query %v; want response_type=code and authorization_type=code", q)
	}
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
