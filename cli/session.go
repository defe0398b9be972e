package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
)

// Keys of the secrets this app keeps in its Store (one keychain service per profile).
const (
	keyClientSecret = "client-secret"
	keyBearerPrefix = "bearer:"
	keyAPIKeyPrefix = "apikey:" // the API key of an API-key Homey
)

func (f *Factory) newSecrets() (auth.Store, error) {
	c, err := f.load()
	if err != nil {
		return nil, err
	}
	if f.insecure || c.InsecureFileStore {
		dir, err := f.configDir()
		if err != nil {
			return nil, err
		}
		return &auth.FileStore{Path: filepath.Join(dir, "secrets.json")}, nil
	}
	k := &auth.Keyring{Service: f.profile.appName()}
	f.keyring.Store(k)
	return k, nil
}

// Session is the Athom sign-in: the client (id, secret), the token store and the refresh lock.
func (f *Factory) Session() (*auth.Session, error) { return f.session.get() }

func (f *Factory) newSession() (*auth.Session, error) {
	c, err := f.load()
	if err != nil {
		return nil, err
	}
	store, err := f.Secrets()
	if err != nil {
		return nil, err
	}
	id, from := f.clientID(&c.Settings)
	secret := f.Getenv("HOMEYTRAY_CLIENT_SECRET")
	switch {
	case secret != "":
	case from == clientFromBuiltin:
		secret = f.Version.Client.Secret
	case id != "":
		secret, err = store.Get(keyClientSecret)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			return nil, fmt.Errorf("read the client secret: %w", err)
		}
	}
	lock, err := f.lockPath("refresh.lock")
	if err != nil {
		return nil, err
	}
	return &auth.Session{
		Config: oauth2.Config{
			ClientID:     id,
			ClientSecret: secret,
			Endpoint:     homey.Endpoint(f.cloudURL()),
			RedirectURL:  f.redirectURI(&c.Settings),
		},
		Store:    store,
		LockPath: lock,
		HTTP:     f.http,
		Margin:   f.margin,
	}, nil
}

// cloud is the Athom cloud API on the session's tokens.
func (f *Factory) cloud() *homey.Cloud {
	return &homey.Cloud{BaseURL: f.cloudURL(), Tokens: sessionTokens{f}, HTTP: f.http}
}

// sessionTokens is the Athom token source handed to homey.Cloud. It asks for the session on
// first use, so commands served from a cached Homey bearer never read the client secret, and it
// keeps the last refresh failure in the cache for `status`.
type sessionTokens struct{ f *Factory }

func (t sessionTokens) Token() (*oauth2.Token, error) {
	s, err := t.f.Session()
	if err != nil {
		return nil, err
	}
	tok, err := s.Token()
	t.f.noteRefresh(err)
	return tok, err
}

// Reject implements homey.Rejecter: the cloud said 401 invalid_token for this access token.
func (t sessionTokens) Reject(accessToken string) {
	if s, err := t.f.Session(); err == nil {
		s.Reject(accessToken)
	}
}

// noteRefresh keeps the last refresh error in the cache for `status` (never a secret: auth's
// errors hold none) and clears it after a success. A keychain that could not be read is not kept:
// nothing was refreshed, and `status` reads the keychain itself and reports it as it is then (kept,
// it showed twice while the keychain was missing and stayed, stale, after it came back).
func (f *Factory) noteRefresh(err error) {
	var ke *auth.KeychainError
	if errors.Is(err, auth.ErrNotSignedIn) || errors.As(err, &ke) && ke.Op == "get" {
		return
	}
	f.refreshErr.Lock()
	defer f.refreshErr.Unlock()
	if c, lerr := f.load(); lerr != nil || err == nil && c.LastRefreshError == "" {
		return // nothing to clear (the common case: no file write at all)
	}
	// Best effort: the command's own error matters more.
	_ = f.updateCache(context.Background(), func(c *config.Cache) error {
		if err == nil {
			c.LastRefreshError, c.LastRefreshErrAt = "", time.Time{}
		} else {
			c.LastRefreshError, c.LastRefreshErrAt = err.Error(), time.Now().UTC()
		}
		return nil
	})
}

// bearerCache keeps Homey bearers in the secret store, one item per Homey.
type bearerCache struct{ store auth.Store }

func (c bearerCache) LoadBearer(homeyID string) (*homey.Bearer, error) {
	v, err := c.store.Get(keyBearerPrefix + homeyID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var b homey.Bearer
	if err := json.Unmarshal([]byte(v), &b); err != nil || b.Token == "" {
		// A damaged cache entry is only a cache: the caller signs in to the Homey again.
		return nil, nil
	}
	return &b, nil
}

func (c bearerCache) SaveBearer(b *homey.Bearer) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return c.store.Set(keyBearerPrefix+b.HomeyID, string(v))
}

func (c bearerCache) DropBearer(homeyID string) error {
	return c.store.Delete(keyBearerPrefix + homeyID)
}
