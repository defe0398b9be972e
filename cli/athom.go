package cli

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// athomSide is the Athom sign-in: the session (client, token store, refresh lock) and the token
// source handed to the Homey client.
type athomSide struct {
	set     *settings
	keys    *keychain
	session *auth.Session
	tokens  *lazyTokens
	margin  time.Duration // refresh the access token this long before it expires (0 = auth's default)
}

var errNotSetUp = errors.New("no Athom Web API client is set up")

// athom builds the Athom session (client id, secret, token store, refresh lock).
func (s *athomSide) athom() (*auth.Session, error) {
	if s.session != nil {
		return s.session, nil
	}
	c, err := s.set.config()
	if err != nil {
		return nil, err
	}
	store, err := s.keys.secrets()
	if err != nil {
		return nil, err
	}
	id := s.set.clientID(c)
	secret := s.set.getenv("HOMEYTRAY_CLIENT_SECRET")
	if secret == "" && id != "" {
		secret, err = store.Get(keyClientSecret)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			return nil, fmt.Errorf("read the client secret: %w", err)
		}
	}
	lock, err := s.set.lockPath()
	if err != nil {
		return nil, err
	}
	s.session = &auth.Session{
		Config: oauth2.Config{
			ClientID:     id,
			ClientSecret: secret,
			Endpoint:     homey.Endpoint(s.set.cloudURL()),
			RedirectURL:  s.set.redirectURI(c),
		},
		Store:    store,
		LockPath: lock,
		HTTP:     s.set.httpc,
		Margin:   s.margin,
	}
	return s.session, nil
}

func (s *athomSide) cloud() *homey.Cloud {
	return &homey.Cloud{BaseURL: s.set.cloudURL(), Tokens: s.tokens, HTTP: s.set.httpc}
}

// lazyTokens is the Athom token source handed to homey.Cloud. It builds the session on first use,
// so commands served from a cached Homey bearer never read the client secret, and it records
// refresh failures for `status`.
type lazyTokens struct {
	s  *athomSide
	mu sync.Mutex
}

func (l *lazyTokens) Token() (*oauth2.Token, error) {
	s, err := l.s.athom()
	if err != nil {
		return nil, err
	}
	tok, err := s.Token()
	l.s.noteRefresh(err)
	return tok, err
}

// Reject implements homey.Rejecter: the cloud said 401 invalid_token for this access token.
func (l *lazyTokens) Reject(accessToken string) {
	if s, err := l.s.athom(); err == nil {
		s.Reject(accessToken)
	}
}

// noteRefresh keeps the last refresh error in the config for `status` (never a secret: auth's
// errors hold none) and clears it after a success.
func (s *athomSide) noteRefresh(err error) {
	c, cerr := s.set.config()
	if cerr != nil {
		return
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	switch {
	case err == nil && c.LastRefreshError == "":
		return
	case err == nil:
		c.LastRefreshError, c.LastRefreshErrAt = "", time.Time{}
	case errors.Is(err, auth.ErrNotSignedIn) || errors.Is(err, errNotSetUp):
		return
	default:
		c.LastRefreshError, c.LastRefreshErrAt = err.Error(), time.Now().UTC()
	}
	_ = c.save() // best effort: the command's own error matters more
}
