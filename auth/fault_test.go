package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/emulator"
)

// TestRefreshUnderFaults refreshes against the emulator's token endpoint under every fault
// kind. A failed refresh is never ErrSignInGone (only invalid_grant is), leaves the stored
// token exactly as it was and says what failed without quoting the answer; a 429 tells its
// status and Retry-After; wrong-typed JSON (expires_in "soon", access_token 123) is
// ErrBadAnswer, not x/oauth2's parse message that quotes the body; a slow answer is a
// refresh. The next refresh after healing works with the kept refresh token. At the end no
// goroutine is left behind.
func TestRefreshUnderFaults(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// No Client.Timeout and a long-lived context: a timeout would tear down a connection
	// whose body was left open and hide the leak. The hang gets a deadline of its own.
	tr := &http.Transport{}
	hc := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const timeout = 400 * time.Millisecond
	st := newMemStore()
	conf := oauth2.Config{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: srv.RedirectURI(),
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL() + "/oauth2/authorise", TokenURL: srv.URL() + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	code, err := srv.AuthorizeCode("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Session{Config: conf, Store: st, HTTP: hc}).Exchange(ctx, code); err != nil {
		t.Fatal(err)
	}

	kinds := []emulator.FaultKind{emulator.Fault5xx, emulator.FaultHTML, emulator.FaultTruncated, emulator.FaultWrongType,
		emulator.FaultReset, emulator.FaultHang, emulator.FaultRateLimit, emulator.FaultSlow}
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			// The access token has expired locally: the next Token refreshes.
			before := stored(t, st)
			before.Expiry = time.Now().Add(-time.Minute)
			putToken(t, st, before)
			s := &Session{Config: conf, Store: st, HTTP: hc}
			cctx := ctx
			if kind == emulator.FaultHang {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			srv.SetFault("POST /oauth2/token", emulator.Fault{Kind: kind, Delay: timeout / 4})
			_, err := s.TokenContext(cctx)
			srv.ClearFaults()
			checkRefreshFault(t, kind, err)
			if kind == emulator.FaultSlow {
				if after := stored(t, st); after.RefreshToken == before.RefreshToken {
					t.Errorf("slow: the rotated refresh token was not stored")
				}
				return
			}
			checkSafeError(t, err, srv.IssuedSecrets()...)
			if errors.Is(err, ErrSignInGone) {
				t.Errorf("%s: %v is ErrSignInGone; only invalid_grant is", kind, err)
			}
			if after := stored(t, st); !sameStored(before, after) {
				t.Errorf("%s: the stored token changed", kind)
			}
			if _, err := s.TokenContext(ctx); err != nil {
				t.Errorf("after healing: %v", err)
			}
		})
	}

	// For contrast: the one answer that ends the sign-in.
	t.Run("invalid_grant", func(t *testing.T) {
		tok := stored(t, st)
		tok.Expiry = time.Now().Add(-time.Minute)
		putToken(t, st, tok)
		srv.RevokeRefreshTokens()
		defer srv.RestoreRefreshTokens()
		if _, err := (&Session{Config: conf, Store: st, HTTP: hc}).TokenContext(ctx); !errors.Is(err, ErrSignInGone) {
			t.Errorf("revoked refresh token: %v, want ErrSignInGone", err)
		}
	})

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func checkRefreshFault(t *testing.T, kind emulator.FaultKind, err error) {
	t.Helper()
	var (
		sc interface{ StatusCode() int }
		rh interface{ RetryHeader() http.Header }
		ue *url.Error
	)
	t.Logf("%s: %v", kind, err) // errors hold no secret: checkSafeError
	status := 0
	if errors.As(err, &sc) {
		status = sc.StatusCode()
	}
	switch kind {
	case emulator.Fault5xx:
		if status != 500 {
			t.Errorf("5xx: %v, want status 500", err)
		}
	case emulator.FaultHTML:
		if status != 502 || !strings.Contains(err.Error(), "not an OAuth error answer") {
			t.Errorf("html: %v, want status 502, not an OAuth answer", err)
		}
	case emulator.FaultTruncated:
		if !errors.Is(err, ErrBadAnswer) {
			t.Errorf("truncated: %v, want ErrBadAnswer", err)
		}
	case emulator.FaultWrongType:
		if !errors.Is(err, ErrBadAnswer) || strings.Contains(err.Error(), "soon") || strings.Contains(err.Error(), "json") {
			t.Errorf("wrongtype: %v, want ErrBadAnswer without x/oauth2's parse message", err)
		}
	case emulator.FaultReset:
		// A transport error (*url.Error), the class the faces call a network error.
		if !errors.As(err, &ue) {
			t.Errorf("reset: %v, want a transport error", err)
		}
	case emulator.FaultHang:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hang: %v, want the deadline", err)
		}
	case emulator.FaultRateLimit:
		// homey.RetryAfterOf parses it, as for every API call.
		if status != http.StatusTooManyRequests || !errors.As(err, &rh) || rh.RetryHeader().Get("Retry-After") != "2" {
			t.Errorf("ratelimit: %v, want status 429 with its Retry-After", err)
		}
	case emulator.FaultSlow:
		if err != nil {
			t.Errorf("slow: %v, want a refresh", err)
		}
	}
}
