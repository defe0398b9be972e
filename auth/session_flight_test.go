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
	// The write before the refresh works (the store took writes then), the save after it fails.
	s.Store = &failSetStore{memStore: st, okSets: 1}
	if _, err := s.Token(); err == nil {
		t.Fatal("a failed save was not reported")
	}
	if n := srv.grantCount("refresh_token"); n != 1 {
		t.Fatalf("refresh grants = %d, want 1", n)
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

// TestNoRefreshWhenTheStoreRefusesWrites: a store that cannot write gets no refresh at all: a
// rotated refresh token would have nowhere to go and the server may revoke the old one.
func TestNoRefreshWhenTheStoreRefusesWrites(t *testing.T) {
	srv := newTokenServer(t)
	srv.addRefresh("rt")
	st := newMemStore()
	putToken(t, st, expired("access-old", "rt"))
	s := newSession(srv, &failSetStore{memStore: st})
	_, err := s.Token()
	var ke *KeychainError
	if !errors.As(err, &ke) || errors.Is(err, ErrSignInGone) {
		t.Errorf("Token with a store that refuses writes: %v; want the store's error", err)
	}
	if n := srv.grantCount("refresh_token"); n != 0 {
		t.Errorf("refresh grants = %d, want none", n)
	}
	if got := stored(t, st); got.RefreshToken != "rt" {
		t.Errorf("the stored sign-in changed")
	}
}

// failSetStore reads from memStore; it takes okSets writes, then refuses every write.
type failSetStore struct {
	*memStore
	okSets int
}

func (f *failSetStore) Set(k, v string) error {
	if f.okSets > 0 {
		f.okSets--
		return f.memStore.Set(k, v)
	}
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
