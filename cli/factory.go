package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
)

// defaultRedirectURI is what the README tells users to register with their Athom Web API client.
const defaultRedirectURI = "http://localhost:47719/callback"

// httpTimeout bounds every HTTP request to the Athom cloud and the Homeys
// ($HOMEYTRAY_HTTP_TIMEOUT overrides it).
const httpTimeout = 15 * time.Second

// Factory makes what the commands need, each part once per run and only when a command asks
// for it, in the shape of gh's cmdutil.Factory: the streams and the environment it was given,
// and constructors for the settings, the secret store, the Athom session and the way to each
// Homey. Nothing here is global: a run (and the demo's inner run) has a Factory of its own.
type Factory struct {
	IO      Streams
	Version Version
	Getenv  func(string) string
	// Browser opens the sign-in page ($BROWSER, else the platform's opener).
	Browser func(url string) error
	// StdinTerminal reports whether stdin is a terminal (the paste prompt, hidden input).
	StdinTerminal func() bool

	// Config is the profile's settings and cache files.
	Config func() (*config.Store, error)
	// Secrets is the secret store: the OS keychain, or the 0600 file the user opted into.
	Secrets func() (auth.Store, error)

	profile  profile
	insecure bool                         // --insecure-file-store for this run (read by Secrets when it first runs)
	keyring  atomic.Pointer[auth.Keyring] // the OS keychain once Secrets made it: closed at the end of the run
	http     *http.Client

	session    renewable[*auth.Session] // the Athom sign-in; renewed when the client may have changed
	bearers    func() (*homey.Bearers, error)
	routes     *homey.Routes
	pinged     homey.Pinged // the LAN addresses that proved to be their API-key Homey
	signIns    homey.Gate   // one Homey sign-in at a time per Homey in this process
	refreshErr sync.Mutex   // one note of the last refresh error at a time

	// lazyRoutes: a command-line sign-in does not race the Homeys' addresses; the first command
	// that needs a route races (and its ping is the one that lets the bearer go there).
	lazyRoutes bool
	// Set by background (the tray and serve): the one process that refreshes.
	memBearers *memBearerCache
	margin     time.Duration // refresh the access token this long before it expires (0 = auth's default)
}

// Streams are the standard input and outputs of one run.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// newFactory is the factory of one run with the given streams and environment.
func newFactory(s Streams, v Version, getenv func(string) string, p profile) *Factory {
	f := &Factory{IO: s, Version: v, Getenv: getenv, profile: p}
	timeout := httpTimeout
	if d, err := time.ParseDuration(getenv("HOMEYTRAY_HTTP_TIMEOUT")); err == nil && d > 0 {
		timeout = d
	}
	f.http = &http.Client{Timeout: timeout}
	f.Browser = f.openBrowser
	f.StdinTerminal = func() bool { return isTerminal(s.In) }
	f.Config = sync.OnceValues(f.newConfig)
	f.Secrets = sync.OnceValues(f.newSecrets)
	f.session.build = f.newSession
	f.bearers = sync.OnceValues(f.newBearers)
	return f
}

// profile names one set of files and keychain items: "" is the user's own, HOMEYTRAY_PROFILE a
// second one, "demo" the demo's.
type profile struct {
	name string
	demo bool // running against the in-process emulator
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

// appName is the folder and keychain service name: "homeytray" or "homeytray-<profile>".
func (p profile) appName() string {
	if p.name == "" {
		return "homeytray"
	}
	return "homeytray-" + p.name
}

// prog is how the user runs this program, for hints ("homeytray login").
func (p profile) prog() string {
	if p.demo {
		return "homeytray demo"
	}
	return "homeytray"
}

// prog is how the user runs this program, for hints ("homeytray login").
func (f *Factory) prog() string { return f.profile.prog() }

func (f *Factory) configDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config folder: %w", err)
	}
	return filepath.Join(dir, f.profile.appName()), nil
}

func (f *Factory) cacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache folder: %w", err)
	}
	return filepath.Join(dir, f.profile.appName()), nil
}

func (f *Factory) newConfig() (*config.Store, error) {
	conf, err := f.configDir()
	if err != nil {
		return nil, err
	}
	cache, err := f.cacheDir()
	if err != nil {
		return nil, err
	}
	return &config.Store{SettingsPath: filepath.Join(conf, "config.json"), CachePath: filepath.Join(cache, "cache.json")}, nil
}

// load reads the settings and cache as they are now.
func (f *Factory) load() (*config.Snapshot, error) {
	s, err := f.Config()
	if err != nil {
		return nil, err
	}
	return s.Load()
}

// updateSettings and updateCache change one file in one transaction (internal/config).
func (f *Factory) updateSettings(ctx context.Context, change func(*config.Settings) error) error {
	s, err := f.Config()
	if err != nil {
		return err
	}
	return s.UpdateSettings(ctx, change)
}

func (f *Factory) updateCache(ctx context.Context, change func(*config.Cache) error) error {
	s, err := f.Config()
	if err != nil {
		return err
	}
	return s.UpdateCache(ctx, change)
}

// cloudURL is the Athom cloud: $ATHOM_CLOUD_API_BASEURL (the name Athom's JS client reads), else
// api.athom.com.
func (f *Factory) cloudURL() string {
	if v := strings.TrimRight(f.Getenv("ATHOM_CLOUD_API_BASEURL"), "/"); v != "" {
		return v
	}
	return homey.DefaultCloudURL
}

// Where the Athom Web API client in use comes from, as `status` names it.
const (
	clientFromEnv     = "environment" // HOMEYTRAY_CLIENT_ID (scripts, tests, the demo)
	clientFromSetup   = "setup"       // the user's own, recorded by `setup` or the setup page
	clientFromBuiltin = "built-in"    // built into the binary by whoever shipped it
	clientNone        = "none"
)

// clientID is the id of the Athom Web API client in use and where it comes from: the
// environment, else the user's own (setup wins over a built-in one), else the built-in one.
func (f *Factory) clientID(s *config.Settings) (id, from string) {
	switch {
	case f.Getenv("HOMEYTRAY_CLIENT_ID") != "":
		return f.Getenv("HOMEYTRAY_CLIENT_ID"), clientFromEnv
	case s.ClientID != "":
		return s.ClientID, clientFromSetup
	case f.Version.Client.ID != "":
		return f.Version.Client.ID, clientFromBuiltin
	}
	return "", clientNone
}

func (f *Factory) redirectURI(s *config.Settings) string {
	if v := f.Getenv("HOMEYTRAY_REDIRECT_URI"); v != "" {
		return v
	}
	if s.RedirectURI != "" {
		return s.RedirectURI
	}
	if _, from := f.clientID(s); from == clientFromBuiltin && f.Version.Client.RedirectURI != "" {
		return f.Version.Client.RedirectURI
	}
	return defaultRedirectURI
}

// lockPath is a lock file in the per-user cache folder: the refresh lock, and the sign-in lock
// of each Homey.
func (f *Factory) lockPath(name string) (string, error) {
	dir, err := f.cacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the cache folder: %w", err)
	}
	return filepath.Join(dir, name), nil
}

// withTimeout is the deadline for one whole command's network work (the sign-in has its own).
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*time.Minute)
}

// renewable is a part built on first use and built again after renew: the tray renews the Athom
// session when the command line signed in or out or set up another client.
type renewable[T any] struct {
	build func() (T, error)

	mu  sync.Mutex
	v   T
	err error
	ok  bool
}

func (r *renewable[T]) get() (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ok {
		r.v, r.err = r.build()
		r.ok = r.err == nil
	}
	return r.v, r.err
}

// renew makes the next get build the part again.
func (r *renewable[T]) renew() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ok = false
}
