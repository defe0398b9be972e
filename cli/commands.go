package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// flags makes a command's flag set; parse errors become usage errors (exit 2).
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func (a *app) parse(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			for _, c := range commands() {
				if c.name == fs.Name() {
					fmt.Fprintf(a.stdout, "Usage: homeytray %s %s\n  %s\n", c.name, c.args, c.short)
				}
			}
			return errSilentOK
		}
		return usageErrorf("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > maxArgs {
		return usageErrorf("%s: unexpected argument %q", fs.Name(), fs.Arg(maxArgs))
	}
	return nil
}

func cmdSetup(ctx context.Context, a *app, args []string) error {
	fs := a.flags("setup")
	id := fs.String("client-id", "", "")
	redirect := fs.String("redirect-uri", defaultRedirectURI, "")
	insecure := fs.Bool("insecure-file-store", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	*id = strings.TrimSpace(*id)
	if *id == "" || strings.ContainsAny(*id, " \t/?#&") {
		return usageErrorf("setup: --client-id is required: the client ID of your Athom Web API client")
	}
	if err := checkRedirectURI(*redirect); err != nil {
		return usageErrorf("setup: --redirect-uri: %v", err)
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	a.insecure = a.insecure || *insecure
	secret, err := a.readSecret("Client secret: ")
	if err != nil {
		return err
	}
	if secret == "" {
		return usageErrorf("setup: no client secret on stdin: pipe it in or type it at the prompt")
	}
	store, err := a.secrets()
	if err != nil {
		return err
	}
	if err := store.Set(keyClientSecret, secret); err != nil {
		return fmt.Errorf("store the client secret: %w", err)
	}
	c.ClientID, c.RedirectURI = *id, *redirect
	c.InsecureFileStore = c.InsecureFileStore || a.insecure
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Saved client %s (redirect URI %s); the secret is in %s.\nNext: %s login\n",
		*id, *redirect, store.Name(), a.cmdPrefix())
	return nil
}

// checkRedirectURI accepts only what the loopback sign-in can serve: http, a loopback host, a port.
func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must look like http://localhost:47719/callback")
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return nil
	}
	return errors.New("the host must be localhost, 127.0.0.1 or [::1]")
}

func cmdLogin(ctx context.Context, a *app, args []string) error {
	fs := a.flags("login")
	noBrowser := fs.Bool("no-browser", false, "")
	pat := fs.Bool("pat", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if *pat {
		return a.loginPAT(ctx)
	}
	var paste io.Reader
	if a.stdinTerminal() {
		paste = a.stdin
	}
	if err := a.login(ctx, !*noBrowser, paste); err != nil {
		return err
	}
	a.tellTray(ctx)
	return nil
}

// prepareLogin checks what a browser sign-in needs before any browser opens: a client, a usable
// redirect URI, and a working keychain (an authorization code is single-use: tokens must never
// exist with nowhere to keep them).
func (a *app) prepareLogin(browser bool, paste io.Reader) (*auth.Session, *auth.Login, error) {
	s, err := a.athom()
	if err != nil {
		return nil, nil, err
	}
	if s.Config.ClientID == "" || s.Config.ClientSecret == "" {
		return nil, nil, errNotSetUp
	}
	if err := checkRedirectURI(s.Config.RedirectURL); err != nil {
		return nil, nil, usageErrorf("login: redirect URI %s: %v", s.Config.RedirectURL, err)
	}
	if k, ok := s.Store.(*auth.Keyring); ok {
		if err := k.Check(); err != nil {
			return nil, nil, err
		}
	}
	l := &auth.Login{Config: &s.Config, Out: a.stderr, Paste: paste}
	if browser {
		l.Open = a.opener
	}
	return s, l, nil
}

// login runs the browser sign-in (shared by `login` and the tray's "Log in…").
func (a *app) login(ctx context.Context, browser bool, paste io.Reader) error {
	s, l, err := a.prepareLogin(browser, paste)
	if err != nil {
		return err
	}
	code, err := l.Code(ctx)
	if err != nil {
		return err
	}
	return a.finishLogin(ctx, s, code)
}

func (a *app) finishLogin(ctx context.Context, s *auth.Session, code string) error {
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := s.Exchange(cctx, code); err != nil {
		return fmt.Errorf("%w: %w", errSigningIn, err)
	}
	return a.afterLogin(cctx)
}

// loginPAT signs in with an Athom personal access token: checked with /user/me before it is kept.
func (a *app) loginPAT(ctx context.Context) error {
	tok, err := a.readSecret("Personal access token: ")
	if err != nil {
		return err
	}
	if tok == "" {
		return usageErrorf("login --pat: no token on stdin: pipe it in or type it at the prompt")
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	probe := &homey.Cloud{BaseURL: a.cloudURL(), HTTP: a.httpc,
		Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"})}
	if _, err := probe.Me(cctx); err != nil {
		if homey.IsUnauthorized(err) {
			return errors.New("Athom refused this personal access token: create a new one and try again")
		}
		return fmt.Errorf("check the token: %w", err)
	}
	s, err := a.athom()
	if err != nil {
		return err
	}
	if err := s.SaveStatic(tok); err != nil {
		return fmt.Errorf("store the token: %w", err)
	}
	return a.afterLogin(cctx)
}

// afterLogin drops bearers of any earlier sign-in, fetches the account and says who is signed in.
func (a *app) afterLogin(ctx context.Context) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	if err := a.dropBearers(c); err != nil {
		return err
	}
	c.LastRefreshError, c.LastRefreshErrAt = "", time.Time{}
	if err := a.refreshHomeys(ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Signed in as %s", c.User.Name)
	if c.User.Email != "" {
		fmt.Fprintf(a.stdout, " <%s>", c.User.Email)
	}
	fmt.Fprintln(a.stdout, ".")
	return a.printHomeys(c)
}

func (a *app) dropBearers(c *Config) error {
	store, err := a.secrets()
	if err != nil {
		return err
	}
	for _, h := range c.Homeys {
		if err := (bearerCache{store}).DropBearer(h.ID); err != nil {
			return fmt.Errorf("forget the cached bearer of %s: %w", h.Name, err)
		}
	}
	return nil
}

// refreshHomeys asks /user/me for the account and its Homeys and keeps the answer in the config.
func (a *app) refreshHomeys(ctx context.Context) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	u, err := a.cloud().Me(ctx)
	if err != nil {
		return fmt.Errorf("fetch the account: %w", err)
	}
	c.User = &CachedUser{ID: u.ID, Name: u.Name(), Email: u.Email}
	c.Homeys, c.HomeysFetchedAt = u.Homeys, time.Now().UTC()
	if _, err := c.homey(c.SelectedHomey); c.SelectedHomey != "" && err != nil {
		c.SelectedHomey = ""
	}
	if c.SelectedHomey == "" && len(c.Homeys) > 0 {
		c.SelectedHomey = c.Homeys[0].ID
	}
	c.Routes = a.raceRoutes(ctx, c.Homeys)
	return c.save()
}

// raceRoutes races every Homey's addresses at once (SPEC §7: when the list is fetched, so that the
// first `token` after `login` needs no race) and returns the winners. A Homey that answers on no
// address is left out: the next call to it races again, and says so then.
func (a *app) raceRoutes(ctx context.Context, hs []homey.Homey) map[string]homey.Route {
	var mu sync.Mutex
	routes := map[string]homey.Route{}
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() {
			if r, err := homey.Race(ctx, h, a.httpc); err == nil {
				mu.Lock()
				routes[h.ID] = r
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return routes
}

func cmdLogout(ctx context.Context, a *app, args []string) error {
	fs := a.flags("logout")
	all := fs.Bool("all", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	store, err := a.logout(*all)
	if err != nil {
		return err
	}
	a.tellTray(ctx)
	if *all {
		fmt.Fprintf(a.stdout, "Signed out; deleted the secrets in %s and the config.\n", store)
		return nil
	}
	fmt.Fprintf(a.stdout, "Signed out; deleted the secrets in %s. The config stays (logout --all removes it).\nTo sign in again: %s setup, then %s login\n",
		store, a.cmdPrefix(), a.cmdPrefix())
	return nil
}

// logout deletes every secret this app stored (and with all, the config too); it returns the
// name of the secret store.
func (a *app) logout(all bool) (string, error) {
	c, err := a.config()
	if err != nil {
		return "", err
	}
	store, err := a.secrets()
	if err != nil {
		return "", err
	}
	if err := a.dropBearers(c); err != nil {
		return "", err
	}
	for _, k := range []string{auth.TokenKey, keyClientSecret} {
		if err := store.Delete(k); err != nil {
			return "", fmt.Errorf("delete a secret: %w", err)
		}
	}
	a.session = nil // its memory holds the token just deleted
	if !all {
		c.User, c.LastRefreshError, c.LastRefreshErrAt = nil, "", time.Time{}
		return store.Name(), c.save()
	}
	// --all forgets the API-key Homeys too: with the config gone nothing would point at their keys.
	for _, l := range c.LocalHomeys {
		if err := store.Delete(keyAPIKeyPrefix + l.ID); err != nil {
			return "", fmt.Errorf("delete the API key of %s: %w", l.Name, err)
		}
	}
	dir, err := a.configDir()
	if err != nil {
		return "", err
	}
	for _, f := range []string{"config.json", "secrets.json"} {
		if err := auth.RemoveFile(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("remove %s: %w", f, err)
		}
	}
	a.cfg = nil
	return store.Name(), nil
}

func cmdUse(ctx context.Context, a *app, args []string) error {
	fs := a.flags("use")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("use: name or id of a Homey required (see: %s homeys)", a.cmdPrefix())
	}
	h, err := a.findHomey(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := a.selectHomey(h.ID); err != nil {
		return err
	}
	a.tellTray(ctx)
	if l, ok := a.cfg.localHomey(h.ID); ok {
		fmt.Fprintf(a.stdout, "Selected %s (%s), reached with its API key at %s.\n", h.Name, h.ID, l.Address)
		return nil
	}
	fmt.Fprintf(a.stdout, "Selected %s (%s).\n", h.Name, h.ID)
	return nil
}

// findHomey resolves a name or id from the cached list, fetching the list when it is unknown or
// does not have the Homey. "" means the selected Homey (or the only one).
func (a *app) findHomey(ctx context.Context, nameOrID string) (homey.Homey, error) {
	c, err := a.config()
	if err != nil {
		return homey.Homey{}, err
	}
	want := nameOrID
	if want == "" {
		want = c.SelectedHomey
	}
	if want != "" {
		if h, err := c.homey(want); err == nil || errors.Is(err, errAmbiguousHomey) {
			return h, err
		}
	}
	if c.HomeysFetchedAt.IsZero() || want != "" {
		cctx, cancel := withTimeout(ctx)
		defer cancel()
		if err := a.refreshHomeys(cctx); err != nil {
			notSignedIn := errors.Is(err, auth.ErrNotSignedIn) || errors.Is(err, errNotSetUp)
			if len(c.LocalHomeys) > 0 && notSignedIn && want != "" {
				return c.homey(want) // only API-key Homeys: the name is not among them
			}
			return homey.Homey{}, err
		}
	}
	switch {
	case nameOrID != "":
		return c.homey(nameOrID)
	case c.SelectedHomey != "":
		return c.homey(c.SelectedHomey)
	}
	return homey.Homey{}, errNoHomeys
}

var errNoHomeys = errors.New("this Athom account has no Homey")

// selectHomey makes id the default Homey (`use`, and the tray's Homeys menu).
func (a *app) selectHomey(id string) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	c.SelectedHomey = id
	return c.save()
}
