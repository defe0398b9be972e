package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// statusReport is what `status --json` prints. It names tokens and their lifetimes, never their values.
type statusReport struct {
	SignedIn bool         `json:"signed_in"`
	SignIn   string       `json:"sign_in"` // "oauth", "personal access token" or "none"
	User     *config.User `json:"user,omitempty"`
	ClientID string       `json:"client_id,omitempty"`
	// Client is where the Athom Web API client in use comes from: "setup" (your own),
	// "built-in" (built into this binary), "environment" (HOMEYTRAY_CLIENT_ID) or "none".
	Client            string     `json:"client"`
	CloudURL          string     `json:"cloud_url"`
	SecretStore       string     `json:"secret_store"`
	InsecureFileStore bool       `json:"insecure_file_store"`
	SecretStoreError  string     `json:"secret_store_error,omitempty"`
	AccessTokenExpiry *time.Time `json:"access_token_expires_at,omitempty"`
	SelectedHomey     *homeyRef  `json:"selected_homey,omitempty"`
	// SelectedAccess is how the selected Homey is reached: "api_key" (no cloud, no expiry) or "athom".
	SelectedAccess   string         `json:"selected_access,omitempty"`
	LocalHomeys      []localStatus  `json:"local_homeys"`
	Bearers          []bearerStatus `json:"homey_bearers"`
	LastRefreshError string         `json:"last_refresh_error,omitempty"`
	LastRefreshErrAt *time.Time     `json:"last_refresh_error_at,omitempty"`
}

type homeyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// localStatus is an API-key Homey: where it is and whether its key is in the keychain (never the key).
type localStatus struct {
	homeyRef
	Address   string `json:"address"`
	KeyStored bool   `json:"key_stored"`
}

type bearerStatus struct {
	homeyRef
	BaseURL      string    `json:"base_url"`
	Route        string    `json:"route"` // "local" or "cloud": the remembered route, else the one it was confirmed on
	IssuedAt     time.Time `json:"issued_at"`
	ConfirmedAt  time.Time `json:"confirmed_at"`
	TrustedUntil time.Time `json:"trusted_until"`
}

func newCmdStatus(f *Factory, runF func(asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Who is signed in, where secrets are kept, token lifetimes",
		Long: `Shows who is signed in, where the secrets are kept, the selected Homey and its route, the
expiry of each cached token and the last refresh error. Exits 4 when not signed in.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(asJSON)
			}
			return statusRun(f, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func statusRun(f *Factory, asJSON bool) error {
	r, err := f.status()
	if err != nil {
		return err
	}
	if asJSON {
		err = writeJSON(f, r)
	} else {
		f.printStatus(r)
	}
	switch {
	case err != nil:
		return err
	case r.SecretStoreError != "":
		return errSilent
	case !r.SignedIn && len(r.LocalHomeys) == 0:
		return errSilentAuth
	}
	return nil
}

func (f *Factory) status() (*statusReport, error) {
	c, err := f.load()
	if err != nil {
		return nil, err
	}
	store, err := f.Secrets()
	if err != nil {
		return nil, err
	}
	r := &statusReport{SignIn: "none", User: c.User, CloudURL: f.cloudURL(),
		SecretStore: store.Name(), InsecureFileStore: f.insecure || c.InsecureFileStore, Bearers: []bearerStatus{},
		LocalHomeys:      []localStatus{},
		LastRefreshError: c.LastRefreshError}
	if !c.LastRefreshErrAt.IsZero() {
		r.LastRefreshErrAt = &c.LastRefreshErrAt
	}
	r.ClientID, r.Client = f.clientID(&c.Settings)
	if h, err := c.Homey(c.SelectedHomey); err == nil {
		r.SelectedHomey = &homeyRef{h.ID, h.Name}
		r.SelectedAccess = c.Way(h.ID).Kind
	}
	for _, l := range c.LocalHomeys {
		_, err := store.Get(keyAPIKeyPrefix + l.ID)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			r.SecretStoreError = err.Error()
			return r, nil
		}
		r.LocalHomeys = append(r.LocalHomeys, localStatus{homeyRef{l.ID, l.Name}, l.Address, err == nil})
	}
	s, err := f.Session()
	if err != nil {
		return nil, err
	}
	tok, err := s.Stored()
	switch {
	case errors.Is(err, auth.ErrNotSignedIn):
	case err != nil:
		r.SecretStoreError = err.Error()
		return r, nil
	default:
		r.SignedIn = true
		r.SignIn = "oauth"
		if tok.RefreshToken == "" {
			r.SignIn = "personal access token"
		}
		if !tok.Expiry.IsZero() {
			r.AccessTokenExpiry = &tok.Expiry
		}
	}
	cache := bearerCache{store}
	for _, h := range c.Homeys {
		b, err := cache.LoadBearer(h.ID)
		if err != nil {
			r.SecretStoreError = err.Error()
			break
		}
		if b != nil {
			route, ok := c.Routes[h.ID]
			if !ok {
				route = homey.Route{Strategy: b.Strategy, BaseURL: b.BaseURL}
			}
			r.Bearers = append(r.Bearers, bearerStatus{homeyRef{h.ID, h.Name}, route.BaseURL, route.Kind(),
				b.IssuedAt, b.ConfirmedAt, b.ConfirmedAt.Add(homey.DefaultTrust)})
		}
	}
	return r, nil
}

func (f *Factory) printStatus(r *statusReport) {
	w := f.IO.Out
	switch {
	case r.SignedIn && r.User != nil:
		fmt.Fprintf(w, "Signed in as %s", sanitize.Line(r.User.Name, 0))
		if r.User.Email != "" {
			fmt.Fprintf(w, " <%s>", sanitize.Line(r.User.Email, 0))
		}
		fmt.Fprintf(w, " (%s).\n", r.SignIn)
	case r.SignedIn:
		fmt.Fprintf(w, "Signed in (%s).\n", r.SignIn)
	case r.SecretStoreError != "":
		fmt.Fprintln(w, "Sign-in unknown: the keychain could not be read.")
	case len(r.LocalHomeys) > 0:
		fmt.Fprintln(w, "Not signed in to Athom (the API-key Homeys below do not need it).")
	default:
		fmt.Fprintf(w, "Not signed in. Run: %s login\n", f.prog())
	}
	if r.InsecureFileStore {
		fmt.Fprintf(w, "WARNING: secrets are kept in a plain file (%s), not in the OS keychain.\n", r.SecretStore)
	} else {
		fmt.Fprintf(w, "Secrets:        %s\n", r.SecretStore)
	}
	if r.SecretStoreError != "" {
		fmt.Fprintf(w, "Keychain error: %s\n", r.SecretStoreError)
	}
	fmt.Fprintf(w, "Client ID:      %s%s\n", dash(r.ClientID), clientNote(r.Client))
	fmt.Fprintf(w, "Athom cloud:    %s\n", r.CloudURL)
	switch {
	case r.AccessTokenExpiry != nil:
		fmt.Fprintf(w, "Access token:   expires %s (refreshed automatically)\n", when(*r.AccessTokenExpiry))
	case r.SignIn == "personal access token":
		fmt.Fprintln(w, "Access token:   personal access token, expiry unknown, no refresh: when Athom rejects it, sign in again")
	}
	if r.SelectedHomey != nil {
		how := "through the Athom sign-in"
		if r.SelectedAccess == config.WayAPIKey {
			how = "with its API key (no cloud, no expiry)"
		}
		fmt.Fprintf(w, "Selected Homey: %s (%s), %s\n", sanitize.Line(r.SelectedHomey.Name, 0), r.SelectedHomey.ID, how)
	}
	for _, l := range r.LocalHomeys {
		key := "API key in " + r.SecretStore
		if !l.KeyStored {
			key = fmt.Sprintf("API key MISSING: run %s local add --address %s", f.prog(), l.Address)
		}
		fmt.Fprintf(w, "Local Homey:    %s (%s) at %s: %s\n", sanitize.Line(l.Name, 0), l.ID, l.Address, key)
	}
	for _, b := range r.Bearers {
		fmt.Fprintf(w, "Homey bearer:   %s via %s (%s): issued %s, confirmed %s, trusted until %s, then checked with one call\n",
			sanitize.Line(b.Name, 0), dash(b.Route), b.BaseURL, when(b.IssuedAt), when(b.ConfirmedAt), when(b.TrustedUntil))
	}
	if r.LastRefreshError != "" {
		fmt.Fprintf(w, "Last refresh error: %s\n", r.LastRefreshError)
	}
}

func when(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04:05")
}

// clientNote says where the client in use comes from, after its id.
func clientNote(from string) string {
	switch from {
	case clientFromSetup:
		return " (your own, from setup)"
	case clientFromBuiltin:
		return " (built into this homeytray)"
	case clientFromEnv:
		return " (from HOMEYTRAY_CLIENT_ID)"
	}
	return ""
}
