package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRefreshGrace: with rotation on, a replaced refresh token is revoked at once
// unless a grace window is set; within it the old token gets a new pair, and the
// window counts from the first rotation, not from each reuse.
func TestRefreshGrace(t *testing.T) {
	t.Run("strict by default", func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		first := signIn(t, s)
		next := grant(t, s, refreshForm(first.RefreshToken))
		postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
		grant(t, s, refreshForm(next.RefreshToken))
	})
	t.Run("window", func(t *testing.T) {
		s, clk := newTestServer(t, Options{RefreshGrace: 30 * time.Second})
		first := signIn(t, s)
		lost := grant(t, s, refreshForm(first.RefreshToken)) // the answer the client never saw
		clk.Add(10 * time.Second)
		again := grant(t, s, refreshForm(first.RefreshToken))
		if again.RefreshToken == first.RefreshToken || again.RefreshToken == lost.RefreshToken || again.AccessToken == lost.AccessToken {
			t.Fatal("a reuse within the window must answer a new pair")
		}
		clk.Add(15 * time.Second) // 25 s after the first rotation: still inside
		grant(t, s, refreshForm(first.RefreshToken))
		clk.Add(5 * time.Second) // 30 s: the window has closed, although the last reuse was 5 s ago
		postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
		// The tokens issued from the old one are live tokens of their own.
		grant(t, s, refreshForm(lost.RefreshToken))
		grant(t, s, refreshForm(again.RefreshToken))
		if n := s.Grants("refresh_token"); n != 5 {
			t.Errorf("refresh grants = %d, want 5", n)
		}
	})
	t.Run("switch at run time", func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		s.SetRefreshGrace(time.Minute)
		first := signIn(t, s)
		grant(t, s, refreshForm(first.RefreshToken))
		grant(t, s, refreshForm(first.RefreshToken))
		s.SetRefreshGrace(0)
		postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("revocation ends the window", func(t *testing.T) {
		s, _ := newTestServer(t, Options{RefreshGrace: time.Minute})
		first := signIn(t, s)
		grant(t, s, refreshForm(first.RefreshToken))
		s.RevokeRefreshTokens()
		postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
		s.RestoreRefreshTokens() // restores the live tokens, not the rotated ones
		postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("no rotation", func(t *testing.T) {
		s, _ := newTestServer(t, Options{RefreshGrace: time.Minute})
		s.SetRotateRefreshTokens(false)
		first := signIn(t, s)
		if next := grant(t, s, refreshForm(first.RefreshToken)); next.RefreshToken != first.RefreshToken {
			t.Error("without rotation the refresh token must stay the same")
		}
	})
}

// postTokenCtx is postToken with a deadline and no failure on a transport error.
func postTokenCtx(ctx context.Context, s *Server, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basicAuth(s.ClientID(), s.ClientSecret()))
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err == nil {
		res.Body.Close()
	}
	return res, err
}

// TestFaultLoseAnswer: the route really runs (the refresh token rotates), but the
// client gets no answer until it gives up; the fault then clears (Times 1).
func TestFaultLoseAnswer(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	first := signIn(t, s)
	s.SetFault("POST /oauth2/token", Fault{Kind: FaultLoseAnswer, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := postTokenCtx(ctx, s, refreshForm(first.RefreshToken))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v %v", status(res), err)
	}
	if n := s.Grants("refresh_token"); n != 1 {
		t.Fatalf("refresh grants = %d, want 1: the route must run", n)
	}
	// Strict rotation: the token the client still holds was replaced by the answer it lost.
	postToken(t, s, refreshForm(first.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")
	if got := s.Count("POST /oauth2/token"); got != 3 { // the code grant, the lost answer, the refusal
		t.Errorf("Count = %d, want 3", got)
	}
	if FaultLoseAnswer.String() != "lose-answer" {
		t.Errorf("String() = %q", FaultLoseAnswer.String())
	}
}

// TestCloseReleasesLostAnswers: a client that waits forever for a lost answer is
// released (without an answer) when the server closes.
func TestCloseReleasesLostAnswers(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Homeys()[0]
	s.SetFault("GET /api/manager/system/ping", Fault{Kind: FaultLoseAnswer})
	errc := make(chan error, 1)
	go func() {
		_, _, err := rawGet(context.Background(), h.BaseURL+"/api/manager/system/ping")
		errc <- err
	}()
	for s.Count("GET /api/manager/system/ping") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("a lost answer arrived")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting request was not released")
	}
}
