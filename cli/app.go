package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// Keys of the secrets this app keeps in its Store (one keychain service per profile).
const (
	keyClientSecret = "client-secret"
	keyBearerPrefix = "bearer:"
)

// defaultRedirectURI is what the README tells users to register with their Athom Web API client.
const defaultRedirectURI = "http://localhost:47719/callback"

// httpTimeout bounds every HTTP request to the Athom cloud and the Homeys.
const httpTimeout = 15 * time.Second

// app is the composition root shared by every command: it reads the config and builds the
// keychain store, the Athom session and the Homey client lazily, so a warm `token` touches only
// what it needs (the config file and one keychain item).
type app struct {
	version        Version
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	insecure       bool   // --insecure-file-store for this run
	profile        string // "" for the real sign-in; $HOMEYTRAY_PROFILE; "demo" for `homeytray demo`
	demo           bool   // running against the in-process emulator
	opener         func(url string) error
	stdinTerminal  func() bool

	cfg        *Config
	store      auth.Store
	session    *auth.Session
	tokens     *lazyTokens
	httpc      *http.Client
	memBearers *memBearerCache // the tray keeps bearers in memory in front of the keychain
	router     *homey.Routes
	pinged     homey.Pinged  // the LAN addresses that proved to be their API-key Homey (local.go)
	margin     time.Duration // refresh the access token this long before it expires (0 = auth's default)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	a.profile = getenv("HOMEYTRAY_PROFILE")
	a.opener = a.openBrowser
	a.stdinTerminal = func() bool { return isTerminal(stdin) }
	timeout := httpTimeout
	if d, err := time.ParseDuration(getenv("HOMEYTRAY_HTTP_TIMEOUT")); err == nil && d > 0 {
		timeout = d
	}
	a.httpc = &http.Client{Timeout: timeout}
	a.tokens = &lazyTokens{a: a}
	return a
}

// cmdPrefix is how the user runs this program, for hints ("homeytray login").
func (a *app) cmdPrefix() string {
	if a.demo {
		return "homeytray demo"
	}
	return "homeytray"
}

// validProfile keeps profile names usable as folder and keychain service names:
// 1–32 lowercase letters, digits and dashes, not starting with a dash.
func validProfile(p string) bool {
	if p == "" || len(p) > 32 || p[0] == '-' {
		return false
	}
	for _, r := range p {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

func (a *app) appName() string {
	if a.profile == "" {
		return "homeytray"
	}
	return "homeytray-" + a.profile
}

func (a *app) configDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config folder: %w", err)
	}
	return filepath.Join(dir, a.appName()), nil
}

// config loads config.json once per process.
func (a *app) config() (*Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	c, err := loadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	a.cfg = c
	return c, nil
}

func (a *app) cloudURL() string {
	if v := strings.TrimRight(a.getenv("ATHOM_CLOUD_API_BASEURL"), "/"); v != "" {
		return v
	}
	return homey.DefaultCloudURL
}

func (a *app) clientID(c *Config) string {
	if v := a.getenv("HOMEYTRAY_CLIENT_ID"); v != "" {
		return v
	}
	return c.ClientID
}

func (a *app) redirectURI(c *Config) string {
	if v := a.getenv("HOMEYTRAY_REDIRECT_URI"); v != "" {
		return v
	}
	if c.RedirectURI != "" {
		return c.RedirectURI
	}
	return defaultRedirectURI
}

// secrets is the Store: the OS keychain, or the 0600 file the user opted into.
func (a *app) secrets() (auth.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if a.insecure || c.InsecureFileStore {
		dir, err := a.configDir()
		if err != nil {
			return nil, err
		}
		a.store = &auth.FileStore{Path: filepath.Join(dir, "secrets.json")}
	} else {
		a.store = &auth.Keyring{Service: a.appName()}
	}
	return a.store, nil
}

var errNotSetUp = errors.New("no Athom Web API client is set up")

// athom builds the Athom session (client id, secret, token store, refresh lock).
func (a *app) athom() (*auth.Session, error) {
	if a.session != nil {
		return a.session, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	store, err := a.secrets()
	if err != nil {
		return nil, err
	}
	id := a.clientID(c)
	secret := a.getenv("HOMEYTRAY_CLIENT_SECRET")
	if secret == "" && id != "" {
		secret, err = store.Get(keyClientSecret)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			return nil, fmt.Errorf("read the client secret: %w", err)
		}
	}
	lock, err := a.lockPath()
	if err != nil {
		return nil, err
	}
	a.session = &auth.Session{
		Config: oauth2.Config{
			ClientID:     id,
			ClientSecret: secret,
			Endpoint:     homey.Endpoint(a.cloudURL()),
			RedirectURL:  a.redirectURI(c),
		},
		Store:    store,
		LockPath: lock,
		HTTP:     a.httpc,
		Margin:   a.margin,
	}
	return a.session, nil
}

// lockPath is the cross-process refresh lock, in the per-user cache folder.
func (a *app) lockPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache folder: %w", err)
	}
	dir = filepath.Join(dir, a.appName())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the cache folder: %w", err)
	}
	return filepath.Join(dir, "refresh.lock"), nil
}

func (a *app) cloud() *homey.Cloud {
	return &homey.Cloud{BaseURL: a.cloudURL(), Tokens: a.tokens, HTTP: a.httpc}
}

func (a *app) bearers() (*homey.Bearers, error) {
	store, err := a.secrets()
	if err != nil {
		return nil, err
	}
	var cache homey.BearerCache = bearerCache{store}
	if a.memBearers != nil {
		cache = layeredBearerCache{a.memBearers, cache}
	}
	return &homey.Bearers{Cloud: a.cloud(), Cache: cache, HTTP: a.httpc, Router: a.routes()}, nil
}

// routes picks each Homey's address: the remembered winner of the last race (in the config), a
// new race when there is none or it stopped answering. One per process: it also remembers which
// LAN addresses this process has pinged before sending them a bearer.
func (a *app) routes() *homey.Routes {
	if a.router == nil {
		a.router = &homey.Routes{HTTP: a.httpc, Load: a.loadRoute, Save: a.saveRoute}
	}
	return a.router
}

func (a *app) loadRoute(id string) (homey.Route, bool) {
	c, err := a.config()
	if err != nil {
		return homey.Route{}, false
	}
	r, ok := c.Routes[id]
	return r, ok
}

func (a *app) saveRoute(id string, r homey.Route) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	if c.Routes[id] == r {
		return nil
	}
	if c.Routes == nil {
		c.Routes = map[string]homey.Route{}
	}
	if r.IsZero() {
		delete(c.Routes, id)
	} else {
		c.Routes[id] = r
	}
	return c.save()
}

// lazyTokens is the Athom token source handed to homey.Cloud. It builds the session on first use,
// so commands served from a cached Homey bearer never read the client secret, and it records
// refresh failures for `status`.
type lazyTokens struct {
	a  *app
	mu sync.Mutex
}

func (l *lazyTokens) Token() (*oauth2.Token, error) {
	s, err := l.a.athom()
	if err != nil {
		return nil, err
	}
	tok, err := s.Token()
	l.a.noteRefresh(err)
	return tok, err
}

// Reject implements homey.Rejecter: the cloud said 401 invalid_token for this access token.
func (l *lazyTokens) Reject(accessToken string) {
	if s, err := l.a.athom(); err == nil {
		s.Reject(accessToken)
	}
}

// noteRefresh keeps the last refresh error in the config for `status` (never a secret: auth's
// errors hold none) and clears it after a success.
func (a *app) noteRefresh(err error) {
	c, cerr := a.config()
	if cerr != nil {
		return
	}
	a.tokens.mu.Lock()
	defer a.tokens.mu.Unlock()
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

// withTimeout is the deadline for one whole command's network work (the sign-in has its own).
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*time.Minute)
}
