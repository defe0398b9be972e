package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// expired is a stored token whose access token has expired.
func expired(access, refresh string) storedToken {
	return storedToken{AccessToken: access, TokenType: "bearer", RefreshToken: refresh,
		Expiry: time.Now().Add(-time.Minute)}
}

func sameStored(a, b storedToken) bool {
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken &&
		a.TokenType == b.TokenType && a.Expiry.Equal(b.Expiry)
}

func newSession(srv *tokenServer, st Store) *Session {
	return &Session{Config: srv.config(), Store: st, HTTP: &http.Client{Timeout: 2 * time.Second}}
}

func TestExchangeSavesBeforeReturning(t *testing.T) {
	srv := newTokenServer(t)
	st := newMemStore()
	s := newSession(srv, st)
	tok, err := s.Exchange(context.Background(), srv.issueCode())
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, st)
	if got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken || got.RefreshToken == "" {
		t.Error("the store does not hold the tokens Exchange returned")
	}
	if d := time.Until(got.Expiry); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("stored expiry in %s, want about 1h", d)
	}

	// If the save fails, no token comes back: it would have nowhere to live.
	st.setFail(&KeychainError{Backend: "test", Op: "set", Kind: Locked})
	tok, err = s.Exchange(context.Background(), srv.issueCode())
	var ke *KeychainError
	if !errors.As(err, &ke) || tok != nil {
		t.Fatalf("Exchange with a failing store = %v, %v; want a KeychainError and no token", tok != nil, err)
	}
}

func TestExchangeBadCode(t *testing.T) {
	srv := newTokenServer(t)
	s := newSession(srv, newMemStore())
	_, err := s.Exchange(context.Background(), "no-such-code")
	if err == nil || errors.Is(err, ErrSignInGone) {
		t.Fatalf("err = %v, want a plain invalid_grant error", err)
	}
	if !strings.Contains(err.Error(), "400 invalid_grant") {
		t.Errorf("err = %q, want the status and the error code", err)
	}
	checkSafeError(t, err, "no-such-code")
}

func TestRefreshOnExpirySavesRotatedToken(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("refresh-old")
	st := newMemStore()
	putToken(t, st, expired("access-old", "refresh-old"))
	s := newSession(srv, st)

	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, st)
	if tok.AccessToken == "access-old" || got.AccessToken != tok.AccessToken {
		t.Error("the refreshed access token was not returned and stored")
	}
	if got.RefreshToken == "refresh-old" || got.RefreshToken == "" {
		t.Error("the rotated refresh token was not stored")
	}
	for range 3 {
		if _, err := s.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.grantCount("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	// A new process (a new Session) uses the stored token without a call.
	if _, err := newSession(srv, st).Token(); err != nil || srv.grantCount("refresh_token") != 1 {
		t.Errorf("second session: err %v, grants %d; want the stored token", err, srv.grantCount("refresh_token"))
	}
}

func TestRefreshWithinMargin(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	st := newMemStore()
	putToken(t, st, storedToken{AccessToken: "soon", RefreshToken: "rt", Expiry: time.Now().Add(30 * time.Second)})
	s := newSession(srv, st) // Margin 0 = 60 s
	tok, err := s.Token()
	if err != nil || tok.AccessToken == "soon" {
		t.Fatalf("a token 30 s from expiry was not refreshed (err %v)", err)
	}
	s2 := newSession(srv, st)
	s2.Margin = time.Second
	s2.Now = func() time.Time { return time.Now().Add(58 * time.Minute) } // 2 min left
	if _, err := s2.Token(); err != nil || srv.grantCount("refresh_token") != 1 {
		t.Errorf("a token 2 min from expiry with a 1 s margin was refreshed (err %v)", err)
	}
}

func TestRefreshAnswerWithoutRefreshTokenKeepsTheOld(t *testing.T) {
	srv := newTokenServer(t)
	srv.set(func(s *tokenServer) { s.rotate = false })
	srv.addRefresh("refresh-keep")
	st := newMemStore()
	putToken(t, st, expired("access-old", "refresh-keep"))
	if _, err := newSession(srv, st).Token(); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, st); got.RefreshToken != "refresh-keep" || got.AccessToken == "access-old" {
		t.Error("the old refresh token was not kept alongside the new access token")
	}
}

func TestInvalidGrantKeepsTheStoredToken(t *testing.T) {
	srv := newTokenServer(t) // "refresh-revoked" is unknown to it
	st := newMemStore()
	old := expired("access-old", "refresh-revoked")
	putToken(t, st, old)
	s := newSession(srv, st)
	_, err := s.Token()
	if !errors.Is(err, ErrSignInGone) {
		t.Fatalf("err = %v, want ErrSignInGone", err)
	}
	if !strings.Contains(err.Error(), "400 invalid_grant") {
		t.Errorf("err = %q, want the status and error code", err)
	}
	checkSafeError(t, err, "refresh-revoked", "access-old")
	if got := stored(t, st); got.RefreshToken != old.RefreshToken || got.AccessToken != old.AccessToken {
		t.Error("the stored token changed after invalid_grant")
	}
	// With AuthStyleInHeader there is no second attempt with the
	// credentials in the body (x/oauth2's auto-detection would do that).
	if n := srv.requestCount(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

func TestAutoDetectBecomesBasic(t *testing.T) {
	srv := newTokenServer(t)
	st := newMemStore()
	putToken(t, st, expired("a", "unknown"))
	s := newSession(srv, st)
	s.Config.Endpoint.AuthStyle = oauth2.AuthStyleAutoDetect
	if _, err := s.Token(); !errors.Is(err, ErrSignInGone) {
		t.Fatalf("err = %v, want ErrSignInGone", err)
	}
	if n := srv.requestCount(); n != 1 {
		t.Errorf("token requests = %d, want 1 (Basic, no auto-detection retry)", n)
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	for _, tc := range []struct {
		fault fault
		want  string // in the error
	}{
		{faultHTML502, "502 Bad Gateway"},
		{fault500JSON, "500 server_error"},
		{faultTruncated, "not a token"},
		{faultGarbage, "not a token"},
		{faultNoAccess, "not a token"},
		{faultShortBody, "token endpoint: reading the answer failed"},
		{faultReset, "refresh: Post"},
		{faultHang, "Client.Timeout"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			srv := newTokenServer(t)
			srv.addRefresh("rt")
			srv.set(func(s *tokenServer) { s.fault = tc.fault })
			st := newMemStore()
			old := expired("access-old", "rt")
			putToken(t, st, old)
			s := newSession(srv, st)
			s.HTTP = &http.Client{Timeout: 300 * time.Millisecond}
			start := time.Now()
			_, err := s.Token()
			if err == nil {
				t.Fatal("no error")
			}
			if time.Since(start) > 30*time.Second { // a hang, not slowness: the machine may be loaded
				t.Errorf("took %s", time.Since(start))
			}
			if errors.Is(err, ErrSignInGone) || errors.Is(err, ErrNotSignedIn) {
				t.Errorf("err = %v: a broken server must not look like a lost sign-in", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			checkSafeError(t, err, "rt", "access-old")
			if got := stored(t, st); !sameStored(got, old) {
				t.Error("the stored token changed")
			}
		})
	}
}

func TestRejectedStaticTokenIsGone(t *testing.T) {
	srv := newTokenServer(t)
	st := newMemStore()
	s := newSession(srv, st)
	if err := s.SaveStatic("personal-token"); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token()
	if err != nil || tok.AccessToken != "personal-token" || !tok.Expiry.IsZero() {
		t.Fatalf("static token: err %v", err)
	}
	s.Reject("personal-token")
	_, err = s.Token()
	if !errors.Is(err, ErrSignInGone) {
		t.Fatalf("err = %v, want ErrSignInGone", err)
	}
	checkSafeError(t, err, "personal-token")
	if got := stored(t, st); got.AccessToken != "personal-token" || srv.requestCount() != 0 {
		t.Error("the static token was deleted or a request was made")
	}
}

func TestNotSignedInAndForget(t *testing.T) {
	srv := newTokenServer(t)
	st := newMemStore()
	s := newSession(srv, st)
	if _, err := s.Token(); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("Token on an empty store: %v, want ErrNotSignedIn", err)
	}
	if _, err := s.Stored(); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("Stored on an empty store: %v, want ErrNotSignedIn", err)
	}
	if err := st.Set(TokenKey, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("Token on a corrupt token: %v, want ErrNotSignedIn", err)
	}
	if err := s.SaveStatic("pat"); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("Token after Forget: %v, want ErrNotSignedIn", err)
	}
}

func TestStoreErrorsPassUp(t *testing.T) {
	srv := newTokenServer(t)
	st := newMemStore()
	st.setFail(&KeychainError{Backend: "Secret Service", Op: "get", Kind: Timeout, Err: &timeoutError{3 * time.Second}})
	_, err := newSession(srv, st).Token()
	var ke *KeychainError
	if !errors.As(err, &ke) || ke.Kind != Timeout {
		t.Fatalf("err = %v, want a KeychainError of kind Timeout", err)
	}
	if errors.Is(err, ErrNotSignedIn) {
		t.Error("a keychain failure must not look like 'not signed in'")
	}
}
