package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/fsutil"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// loginOptions are the flags of `login`.
type loginOptions struct {
	noBrowser, pat bool
}

func newCmdLogin(f *Factory, runF func(loginOptions) error) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login [flags]",
		Short: "Sign in through the browser (or with a personal access token on stdin)",
		Long: `Signs in with the Athom account through the system browser ($BROWSER when set) and a
loopback listener on the registered redirect URI. The sign-in address is printed as well; at a
terminal, pasting the code or the whole redirected address also works.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return loginRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.noBrowser, "no-browser", false, "only print the sign-in address; open no browser")
	fl.BoolVar(&o.pat, "pat", false, "sign in with an Athom personal access token read from stdin (no refresh)")
	return cmd
}

func loginRun(ctx context.Context, f *Factory, o loginOptions) error {
	// The race waits for the first command that needs a Homey: its ping then both picks the
	// route and proves the address before a bearer goes there (one ping, not one here and one
	// again in that process).
	f.lazyRoutes = true
	if o.pat {
		return f.loginPAT(ctx)
	}
	var paste io.Reader
	if f.StdinTerminal() {
		paste = f.IO.In
	}
	if err := f.login(ctx, !o.noBrowser, paste); err != nil {
		return err
	}
	f.tellTray(ctx)
	return nil
}

// prepareLogin checks what a browser sign-in needs before any browser opens: a client, a usable
// redirect URI, and a working keychain (an authorization code is single-use: tokens must never
// exist with nowhere to keep them).
func (f *Factory) prepareLogin(browser bool, paste io.Reader) (*auth.Session, *auth.Login, error) {
	s, err := f.Session()
	if err != nil {
		return nil, nil, err
	}
	if err := checkRedirectURI(s.Config.RedirectURL); err != nil {
		return nil, nil, usageErrorf("login: redirect URI %s: %v", s.Config.RedirectURL, err)
	}
	if k, ok := s.Store.(*auth.Keyring); ok {
		if err := k.Check(); err != nil {
			return nil, nil, err
		}
	}
	l := &auth.Login{Config: &s.Config, Out: f.IO.Err, Paste: paste}
	if (s.Config.ClientID == "" || s.Config.ClientSecret == "") && !browser {
		// --no-browser is for a machine whose browser is elsewhere; the setup page lives on
		// this machine's loopback address, which that browser cannot reach.
		return nil, nil, errors.New("no Athom Web API client is set up here, and its setup page needs a browser " +
			"on this machine: run " + f.prog() + " setup --client-id ID (the secret is read from stdin), then " + f.prog() + " login --no-browser")
	}
	if s.Config.ClientID == "" || s.Config.ClientSecret == "" {
		// No Web API client yet: the browser first gets the setup page, on the same loopback
		// listener, and goes on into the sign-in once the client is saved.
		l.Setup = &auth.Setup{Save: f.saveClient}
	}
	if browser {
		l.Open = f.Browser
	}
	return s, l, nil
}

// saveClient keeps the Web API client the setup page was given: the secret in the keychain, then
// the id and the redirect URI in the settings (a transaction), as `setup` does. Nothing of the
// secret goes into its error.
func (f *Factory) saveClient(ctx context.Context, clientID, secret string) error {
	store, err := f.Secrets()
	if err != nil {
		return err
	}
	if err := store.Set(keyClientSecret, secret); err != nil {
		return fmt.Errorf("store the client secret: %w", err)
	}
	c, err := f.load()
	if err != nil {
		return err
	}
	redirect := f.redirectURI(&c.Settings)
	return f.updateSettings(ctx, func(s *config.Settings) error {
		s.ClientID, s.RedirectURI = clientID, redirect
		s.InsecureFileStore = s.InsecureFileStore || f.insecure
		return nil
	})
}

// login runs the browser sign-in (shared by `login` and the tray's "Log in…").
func (f *Factory) login(ctx context.Context, browser bool, paste io.Reader) error {
	s, l, err := f.prepareLogin(browser, paste)
	if err != nil {
		return err
	}
	code, err := l.Code(ctx)
	if err != nil {
		return err
	}
	return f.finishLogin(ctx, s, code)
}

func (f *Factory) finishLogin(ctx context.Context, s *auth.Session, code string) error {
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := s.Exchange(cctx, code); err != nil {
		return fmt.Errorf("%w: %w", failure.ErrSigningIn, err)
	}
	return f.afterLogin(cctx)
}

// loginPAT signs in with an Athom personal access token: checked with /user/me before it is kept.
func (f *Factory) loginPAT(ctx context.Context) error {
	tok, err := f.readSecret("Personal access token: ")
	if err != nil {
		return err
	}
	if tok == "" {
		return usageErrorf("login --pat: no token on stdin: pipe it in or type it at the prompt")
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	probe := &homey.Cloud{BaseURL: f.cloudURL(), HTTP: f.http,
		Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"})}
	if _, err := probe.Me(cctx); err != nil {
		if homey.IsUnauthorized(err) {
			return errors.New("Athom refused this personal access token: create a new one and try again")
		}
		return fmt.Errorf("check the token: %w", err)
	}
	// A token made for the apps API may be refused at the delegation step: then it cannot sign in
	// to any Homey, and keeping it would only fail later. (The JWT is not kept.)
	if _, err := probe.DelegationToken(cctx); err != nil {
		if st := homey.StatusOf(err); st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			return fmt.Errorf("%w (Athom refused it at the delegation step: %d)", failure.ErrPATNoHomeys, st)
		}
		return fmt.Errorf("check the token: %w", err)
	}
	s, err := f.Session()
	if err != nil {
		return err
	}
	if err := s.SaveStatic(tok); err != nil {
		return fmt.Errorf("store the token: %w", err)
	}
	return f.afterLogin(cctx)
}

// afterLogin drops bearers of any earlier sign-in, fetches the account and says who is signed in.
func (f *Factory) afterLogin(ctx context.Context) error {
	c, err := f.load()
	if err != nil {
		return err
	}
	if err := f.dropBearers(c); err != nil {
		return err
	}
	if err := f.updateCache(ctx, func(c *config.Cache) error {
		c.LastRefreshError, c.LastRefreshErrAt = "", time.Time{}
		return nil
	}); err != nil {
		return err
	}
	if err := f.refreshHomeys(ctx); err != nil {
		return err
	}
	if c, err = f.load(); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Signed in as %s", sanitize.Line(c.User.Name, 0))
	if c.User.Email != "" {
		fmt.Fprintf(f.IO.Out, " <%s>", sanitize.Line(c.User.Email, 0))
	}
	fmt.Fprintln(f.IO.Out, ".")
	return f.printHomeys(c)
}

func (f *Factory) dropBearers(c *config.Snapshot) error {
	store, err := f.Secrets()
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

// logoutOptions are the flags of `logout`.
type logoutOptions struct {
	all bool
}

func newCmdLogout(f *Factory, runF func(logoutOptions) error) *cobra.Command {
	var o logoutOptions
	cmd := &cobra.Command{
		Use:   "logout [flags]",
		Short: "Delete every stored secret and cached token (--all: the config too)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return logoutRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "also remove the config and the API keys of local Homeys")
	return cmd
}

func logoutRun(ctx context.Context, f *Factory, o logoutOptions) error {
	store, err := f.logout(ctx, o.all)
	if err != nil {
		return err
	}
	f.tellTray(ctx)
	if o.all {
		fmt.Fprintf(f.IO.Out, "Signed out; deleted the secrets in %s and the config.\n", store)
		return nil
	}
	fmt.Fprintf(f.IO.Out, "Signed out; deleted the secrets in %s. The config stays (logout --all removes it).\nTo sign in again: %s setup, then %s login\n",
		store, f.prog(), f.prog())
	return nil
}

// logout deletes every secret this app stored (and with all, the config too); it returns the
// name of the secret store.
func (f *Factory) logout(ctx context.Context, all bool) (string, error) {
	c, err := f.load()
	if err != nil {
		return "", err
	}
	store, err := f.Secrets()
	if err != nil {
		return "", err
	}
	if err := f.dropBearers(c); err != nil {
		return "", err
	}
	for _, k := range []string{auth.TokenKey, keyClientSecret} {
		if err := store.Delete(k); err != nil {
			return "", fmt.Errorf("delete a secret: %w", err)
		}
	}
	f.session.renew() // its memory holds the token just deleted
	if !all {
		return store.Name(), f.updateCache(ctx, func(c *config.Cache) error {
			c.User, c.LastRefreshError, c.LastRefreshErrAt = nil, "", time.Time{}
			return nil
		})
	}
	// --all forgets the API-key Homeys too: with the config gone nothing would point at their keys.
	for _, l := range c.LocalHomeys {
		if err := store.Delete(keyAPIKeyPrefix + l.ID); err != nil {
			return "", fmt.Errorf("delete the API key of %s: %w", l.Name, err)
		}
	}
	dir, err := f.configDir()
	if err != nil {
		return "", err
	}
	if err := fsutil.RemoveFile(filepath.Join(dir, "secrets.json")); err != nil {
		return "", fmt.Errorf("remove secrets.json: %w", err)
	}
	cs, err := f.Config()
	if err != nil {
		return "", err
	}
	return store.Name(), cs.Remove()
}
