package auth

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestRejectForcesExactlyOneRefresh(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	st := newMemStore()
	putToken(t, st, storedToken{AccessToken: "access-far", RefreshToken: "rt", Expiry: time.Now().Add(time.Hour)})
	s := newSession(srv, st)
	tok, err := s.Token()
	if err != nil || tok.AccessToken != "access-far" || srv.grantCount("refresh_token") != 0 {
		t.Fatalf("first Token: err %v, grants %d", err, srv.grantCount("refresh_token"))
	}
	s.Reject("access-far")
	tok2, err := s.Token()
	if err != nil || tok2.AccessToken == "access-far" {
		t.Fatalf("Token after Reject: err %v, same token %v", err, tok2 != nil && tok2.AccessToken == "access-far")
	}
	s.Reject("access-far") // stale: no longer handed out
	for range 3 {
		if tok3, err := s.Token(); err != nil || tok3.AccessToken != tok2.AccessToken {
			t.Fatalf("later Token: err %v", err)
		}
	}
	if n := srv.grantCount("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
}

func TestFailedSaveAfterRefreshIsRetriedWithoutAnotherRefresh(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	st := newMemStore()
	putToken(t, st, expired("access-old", "rt"))
	s := newSession(srv, st)
	s.Store = &failSetStore{memStore: st}
	if _, err := s.Token(); err == nil {
		t.Fatal("a failed save was not reported")
	}
	s.Store = st // the keychain works again
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := stored(t, st); got.AccessToken != tok.AccessToken || got.RefreshToken == "rt" {
		t.Error("the refreshed token was not saved on the next call")
	}
	if n := srv.grantCount("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
}

// failSetStore reads from memStore but cannot write.
type failSetStore struct{ *memStore }

func (f *failSetStore) Set(string, string) error {
	return &KeychainError{Backend: "test", Op: "set", Kind: Locked}
}

func TestSingleFlight(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	srv.set(func(s *tokenServer) { s.delay = 20 * time.Millisecond })
	st := newMemStore()
	putToken(t, st, expired("access-old", "rt"))
	s := newSession(srv, st)
	s.LockPath = t.TempDir() + "/refresh.lock"

	const n = 50
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tok, err := s.Token()
			errs[i] = err
			if err == nil {
				got[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] || got[i] == "access-old" {
			t.Fatalf("goroutine %d: err %v, same token %v", i, errs[i], got[i] == got[0])
		}
	}
	if g := srv.grantCount("refresh_token"); g != 1 {
		t.Errorf("refresh grants = %d, want 1", g)
	}
}

func TestConcurrentRejectsRefreshOnce(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	srv.set(func(s *tokenServer) { s.delay = 10 * time.Millisecond })
	st := newMemStore()
	putToken(t, st, storedToken{AccessToken: "access-far", RefreshToken: "rt", Expiry: time.Now().Add(time.Hour)})
	s := newSession(srv, st)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			s.Reject("access-far") // every caller saw the same 401
			if _, err := s.Token(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if g := srv.grantCount("refresh_token"); g != 1 {
		t.Errorf("refresh grants = %d, want 1", g)
	}
}

func TestTokenContextHonoursCancel(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	srv.set(func(s *tokenServer) { s.fault = faultHang })
	st := newMemStore()
	putToken(t, st, expired("access-old", "rt"))
	s := newSession(srv, st)
	s.HTTP = &http.Client{} // no client timeout: only ctx ends it
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 2)
	go func() { _, err := s.TokenContext(ctx); done <- err }()
	go func() { _, err := s.TokenContext(ctx); done <- err }() // waits for the first
	for range 2 {
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want DeadlineExceeded", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("TokenContext ignored its context")
		}
	}
}
