package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/internal/config"
)

// setupOptions are the flags of `setup`.
type setupOptions struct {
	clientID, redirectURI string
}

func newCmdSetup(f *Factory, runF func(setupOptions) error) *cobra.Command {
	var o setupOptions
	cmd := &cobra.Command{
		Use:   "setup [flags]",
		Short: "Record your Athom Web API client (the secret is read from stdin)",
		Long: `Records the Athom Web API client you registered (the README shows how): its client ID and
redirect URI go to the config, the client secret, read from stdin or a hidden prompt (never a
flag), goes to the keychain.`,
		Example: "  homeytray setup --client-id 0123456789abcdef01234567 < secret.txt",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return setupRun(f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.clientID, "client-id", "", "the client ID of your Athom Web API client")
	fl.StringVar(&o.redirectURI, "redirect-uri", defaultRedirectURI, "the redirect URI registered with the client (a loopback http URL with a port)")
	return cmd
}

func setupRun(f *Factory, o setupOptions) error {
	o.clientID = strings.TrimSpace(o.clientID)
	if o.clientID == "" || strings.ContainsAny(o.clientID, " \t/?#&") {
		return usageErrorf("setup: --client-id is required: the client ID of your Athom Web API client")
	}
	if err := checkRedirectURI(o.redirectURI); err != nil {
		return usageErrorf("setup: --redirect-uri: %v", err)
	}
	secret, err := f.readSecret("Client secret: ")
	if err != nil {
		return err
	}
	if secret == "" {
		return usageErrorf("setup: no client secret on stdin: pipe it in or type it at the prompt")
	}
	store, err := f.Secrets()
	if err != nil {
		return err
	}
	if err := store.Set(keyClientSecret, secret); err != nil {
		return fmt.Errorf("store the client secret: %w", err)
	}
	err = f.updateSettings(context.Background(), func(s *config.Settings) error {
		s.ClientID, s.RedirectURI = o.clientID, o.redirectURI
		s.InsecureFileStore = s.InsecureFileStore || f.insecure
		return nil
	})
	if err != nil {
		return err
	}
	f.session.renew() // the next sign-in uses this client
	fmt.Fprintf(f.IO.Out, "Saved client %s (redirect URI %s); the secret is in %s.\nNext: %s login\n",
		o.clientID, o.redirectURI, store.Name(), f.prog())
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
