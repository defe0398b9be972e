package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/internal/fsutil"
)

func (s *Session) acquire(ctx context.Context) error {
	s.semOnce.Do(func() { s.sem = make(chan struct{}, 1) })
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Session) release() { <-s.sem }

// flushUnsaved retries the save of a refreshed token whose save failed, and
// returns the token in memory and the rejected access token.
func (s *Session) flushUnsaved() (*oauth2.Token, string, error) {
	s.mu.Lock()
	tok, unsaved, rejected := s.tok, s.unsaved, s.rejected
	s.mu.Unlock()
	if unsaved {
		if err := s.save(tok); err != nil {
			return nil, "", fmt.Errorf("save the refreshed token: %w", err)
		}
		s.remember(tok, false)
	}
	return tok, rejected, nil
}

// usable reports whether t can be handed out: not rejected, and not within
// Margin of its expiry (a zero expiry never expires locally).
func (s *Session) usable(t *oauth2.Token, rejected string) bool {
	if t.AccessToken == "" || t.AccessToken == rejected {
		return false
	}
	if t.Expiry.IsZero() {
		return true
	}
	margin := s.Margin
	if margin <= 0 {
		margin = defaultMargin
	}
	return t.Expiry.Add(-margin).After(s.now())
}

func (s *Session) remember(t *oauth2.Token, unsaved bool) {
	s.mu.Lock()
	s.tok, s.unsaved = t, unsaved
	s.mu.Unlock()
}

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// fixExpiry recomputes the expiry from expires_in on our clock (x/oauth2 uses
// time.Now, which a test's Now does not control).
func (s *Session) fixExpiry(t *oauth2.Token) {
	if t.ExpiresIn > 0 {
		t.Expiry = s.now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
}

func clone(t *oauth2.Token) *oauth2.Token {
	c := *t
	return &c
}

var errNoStore = errors.New("auth: Session has no Store")

// load reads the stored token; ErrNotSignedIn when there is none.
func (s *Session) load() (*oauth2.Token, error) {
	if s.Store == nil {
		return nil, errNoStore
	}
	v, err := s.Store.Get(TokenKey)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotSignedIn
	}
	if err != nil {
		return nil, fmt.Errorf("read the token: %w", err)
	}
	var st storedToken
	if json.Unmarshal([]byte(v), &st) != nil || (st.AccessToken == "" && st.RefreshToken == "") {
		return nil, fmt.Errorf("%w: the stored token is unreadable", ErrNotSignedIn)
	}
	return &oauth2.Token{AccessToken: st.AccessToken, TokenType: st.TokenType,
		RefreshToken: st.RefreshToken, Expiry: st.Expiry}, nil
}

func (s *Session) save(t *oauth2.Token) error {
	if s.Store == nil {
		return errNoStore
	}
	data, err := json.Marshal(storedToken{AccessToken: t.AccessToken, TokenType: t.TokenType,
		RefreshToken: t.RefreshToken, Expiry: t.Expiry})
	if err != nil {
		return err
	}
	return s.Store.Set(TokenKey, string(data))
}

// saveLocked saves t under the cross-process lock and keeps it in memory.
func (s *Session) saveLocked(ctx context.Context, t *oauth2.Token) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.save(t); err != nil {
		return err
	}
	s.remember(t, false)
	return nil
}

// lock takes the cross-process lock on LockPath (a no-op without one).
func (s *Session) lock(ctx context.Context) (unlock func(), err error) {
	if s.LockPath == "" {
		return func() {}, nil
	}
	unlock, err = fsutil.Lock(ctx, s.LockPath)
	if err != nil {
		return nil, fmt.Errorf("token %w", err)
	}
	return unlock, nil
}

// oauthConfig returns Config with Basic client authentication forced when the
// caller left AuthStyleAutoDetect: auto-detection answers every token error
// with a second request, and a new process always starts undetected.
func (s *Session) oauthConfig() *oauth2.Config {
	if s.Config.Endpoint.AuthStyle != oauth2.AuthStyleAutoDetect {
		return &s.Config
	}
	c := oauth2.Config{ClientID: s.Config.ClientID, ClientSecret: s.Config.ClientSecret,
		Endpoint: s.Config.Endpoint, RedirectURL: s.Config.RedirectURL, Scopes: s.Config.Scopes}
	c.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &c
}

// httpContext hands our HTTP client (with its timeout) to x/oauth2.
func (s *Session) httpContext(ctx context.Context) context.Context {
	c := s.HTTP
	if c == nil {
		c = &http.Client{Timeout: defaultHTTPTimeout}
	}
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}
