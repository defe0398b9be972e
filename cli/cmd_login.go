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
	"github.com/homeytray/homeytray/internal/fsutil"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// loginOptions are the flags of `login`.
type loginOptions struct {
	noBrowser, pat bool
}

func newCmdLogin(a *app, runF func(loginOptions) error) *cobra.Command {
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
			return loginRun(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noBrowser, "no-browser", false, "only print the sign-in address; open no browser")
	f.BoolVar(&o.pat, "pat", false, "sign in with an Athom personal access token read from stdin (no refresh)")
	return cmd
}

func loginRun(ctx context.Context, a *app, o loginOptions) error {
	// The race waits for the first command that needs a Homey: its ping then both picks the
	// route and proves the address before a bearer goes there (one ping, not one here and one
	// again in that process).
	a.lazyRoutes = true
	if o.pat {
		return a.loginPAT(ctx)
	}
	var paste io.Reader
	if a.stdinTerminal() {
		paste = a.stdin
	}
	if err := a.login(ctx, !o.noBrowser, paste); err != nil {
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
	// A token made for the apps API may be refused at the delegation step: then it cannot sign in
	// to any Homey, and keeping it would only fail later. (The JWT is not kept.)
	if _, err := probe.DelegationToken(cctx); err != nil {
		if st := homey.StatusOf(err); st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			return fmt.Errorf("%w (Athom refused it at the delegation step: %d)", errPATNoHomeys, st)
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
	fmt.Fprintf(a.stdout, "Signed in as %s", sanitize.Line(c.User.Name, 0))
	if c.User.Email != "" {
		fmt.Fprintf(a.stdout, " <%s>", sanitize.Line(c.User.Email, 0))
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

// logoutOptions are the flags of `logout`.
type logoutOptions struct {
	all bool
}

func newCmdLogout(a *app, runF func(logoutOptions) error) *cobra.Command {
	var o logoutOptions
	cmd := &cobra.Command{
		Use:   "logout [flags]",
		Short: "Delete every stored secret and cached token (--all: the config too)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return logoutRun(cmd.Context(), a, o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "also remove the config and the API keys of local Homeys")
	return cmd
}

func logoutRun(ctx context.Context, a *app, o logoutOptions) error {
	store, err := a.logout(o.all)
	if err != nil {
		return err
	}
	a.tellTray(ctx)
	if o.all {
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
		if err := fsutil.RemoveFile(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("remove %s: %w", f, err)
		}
	}
	a.cfg = nil
	return store.Name(), nil
}
