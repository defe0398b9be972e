package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// TokenKey is the Store key of the sign-in. Its value is the JSON object
// {access_token, token_type, refresh_token, expiry}.
const TokenKey = "token"

const (
	defaultMargin      = 60 * time.Second
	defaultHTTPTimeout = 15 * time.Second
)

// Session is a sign-in: an oauth2.TokenSource that persists every token it
// gets in Store, so that other processes (a tray and CLIs) share it.
//
// Token refreshes ahead of expiry (Margin) and after Reject. Only one refresh
// runs at a time: in this process the Session serialises callers, and across
// processes a lock file (LockPath) is held from re-reading the store until the
// new tokens are saved. A rotated refresh token is saved before anything else.
//
// Use a *Session; it must not be copied after first use.
type Session struct {
	Config   oauth2.Config // ClientID, ClientSecret, Endpoint (AuthStyleInHeader), RedirectURL
	Store    Store
	LockPath string           // cross-process refresh lock file; "" = none (one process only)
	HTTP     *http.Client     // token endpoint client; nil = one with a 15 s timeout
	Margin   time.Duration    // refresh this long before local expiry; 0 = 60 s
	Now      func() time.Time // nil = time.Now

	semOnce sync.Once
	sem     chan struct{} // one caller at a time; a channel so waiting honours ctx

	mu       sync.Mutex    // guards the fields below
	tok      *oauth2.Token // the last token seen, or nil
	unsaved  bool          // tok came from a refresh whose save failed
	rejected string        // an access token the server refused
}

// storedToken is the JSON stored under TokenKey.
type storedToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Token returns a valid token; see TokenContext.
func (s *Session) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext returns a valid access token: the one in memory, else the
// stored one, else a refreshed one (saved before it is returned). It returns
// ErrNotSignedIn when nothing is stored and an error wrapping ErrSignInGone
// when the token endpoint refuses the refresh token (the store keeps it).
func (s *Session) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	mem, rejected, err := s.flushUnsaved()
	if err != nil {
		return nil, err
	}
	if mem != nil && s.usable(mem, rejected) {
		return clone(mem), nil
	}
	stored, err := s.load()
	if err != nil {
		return nil, err
	}
	if s.usable(stored, rejected) {
		s.remember(stored, false)
		return clone(stored), nil
	}
	return s.refresh(ctx, stored, rejected)
}

// refresh gets a new token for stored, whose access token is expired or was
// rejected, under the cross-process lock.
func (s *Session) refresh(ctx context.Context, stored *oauth2.Token, rejected string) (*oauth2.Token, error) {
	if stored.RefreshToken == "" {
		return nil, noRefreshToken(stored, rejected)
	}
	failed := stored.AccessToken
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s.LockPath != "" {
		var done bool
		if stored, done, err = s.reread(failed, rejected); err != nil || done {
			return stored, err
		}
	}
	// The answer may rotate the refresh token, and the server may revoke the old one at once: a
	// new one with nowhere to go would end the sign-in. Writing the stored token back (the same
	// value) proves that the store takes writes before the server changes anything, like the
	// keychain check before a sign-in.
	if err := s.save(stored); err != nil {
		return nil, fmt.Errorf("the store refuses to save, so no refresh was tried: %w", err)
	}
	ts := s.oauthConfig().TokenSource(s.httpContext(ctx), &oauth2.Token{RefreshToken: stored.RefreshToken})
	tok, err := ts.Token()
	if err != nil {
		return nil, tokenError("refresh", err, true)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = stored.RefreshToken // the server did not rotate it
	}
	s.fixExpiry(tok)
	if err := s.save(tok); err != nil {
		// Keep it: the old refresh token may be revoked already, so the
		// next call retries the save instead of refreshing again.
		s.remember(tok, true)
		return nil, fmt.Errorf("save the refreshed token: %w", err)
	}
	s.remember(tok, false)
	return clone(tok), nil
}

// reread loads the store again under the lock: another process may have
// refreshed while we waited. done means that the stored token is a new one to
// use. It compares the access token itself, not its expiry: the server can
// refuse a token long before it expires locally.
func (s *Session) reread(failed, rejected string) (tok *oauth2.Token, done bool, err error) {
	stored, err := s.load()
	if err != nil {
		return nil, false, err
	}
	if stored.AccessToken != failed && s.usable(stored, rejected) {
		s.remember(stored, false)
		return clone(stored), true, nil
	}
	if stored.RefreshToken == "" {
		return nil, false, noRefreshToken(stored, rejected)
	}
	return stored, false, nil
}

func noRefreshToken(t *oauth2.Token, rejected string) error {
	if t.AccessToken == rejected {
		return fmt.Errorf("%w: the token was refused and there is no refresh token", ErrSignInGone)
	}
	return fmt.Errorf("%w: the token expired and there is no refresh token", ErrSignInGone)
}

// Reject tells the Session that the server refused accessToken (a 401
// invalid_token), so that the next Token refreshes even if the token has not
// expired locally. Rejecting a token the Session no longer hands out has no
// effect.
func (s *Session) Reject(accessToken string) {
	if accessToken == "" {
		return
	}
	s.mu.Lock()
	s.rejected = accessToken
	s.mu.Unlock()
}

// Exchange trades an authorization code for tokens and saves them before it
// returns them.
func (s *Session) Exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	tok, err := s.oauthConfig().Exchange(s.httpContext(ctx), code)
	if err != nil {
		return nil, tokenError("exchange the code", err, false)
	}
	s.fixExpiry(tok)
	if err := s.saveLocked(ctx, tok); err != nil {
		return nil, fmt.Errorf("save the new token: %w", err)
	}
	return clone(tok), nil
}

// SaveStatic stores a personal access token: no refresh token, no expiry.
// When the server refuses it, Token returns ErrSignInGone.
func (s *Session) SaveStatic(accessToken string) error {
	if accessToken == "" {
		return errors.New("save the token: empty access token")
	}
	ctx := context.Background()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	tok := &oauth2.Token{AccessToken: accessToken, TokenType: "bearer"}
	if err := s.saveLocked(ctx, tok); err != nil {
		return fmt.Errorf("save the token: %w", err)
	}
	return nil
}

// Stored returns the token in the store, or ErrNotSignedIn.
func (s *Session) Stored() (*oauth2.Token, error) { return s.load() }

// Forget deletes the stored token (and forgets it in memory).
func (s *Session) Forget() error {
	ctx := context.Background()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.mu.Lock()
	s.tok, s.unsaved = nil, false
	s.mu.Unlock()
	if s.Store == nil {
		return errNoStore
	}
	if err := s.Store.Delete(TokenKey); err != nil {
		return fmt.Errorf("delete the token: %w", err)
	}
	return nil
}
