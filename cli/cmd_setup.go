package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// setupOptions are the flags of `setup`.
type setupOptions struct {
	clientID, redirectURI string
}

func newCmdSetup(a *app, runF func(setupOptions) error) *cobra.Command {
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
			return setupRun(a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.clientID, "client-id", "", "the client ID of your Athom Web API client")
	f.StringVar(&o.redirectURI, "redirect-uri", defaultRedirectURI, "the redirect URI registered with the client (a loopback http URL with a port)")
	return cmd
}

func setupRun(a *app, o setupOptions) error {
	o.clientID = strings.TrimSpace(o.clientID)
	if o.clientID == "" || strings.ContainsAny(o.clientID, " \t/?#&") {
		return usageErrorf("setup: --client-id is required: the client ID of your Athom Web API client")
	}
	if err := checkRedirectURI(o.redirectURI); err != nil {
		return usageErrorf("setup: --redirect-uri: %v", err)
	}
	c, err := a.config()
	if err != nil {
		return err
	}
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
	c.ClientID, c.RedirectURI = o.clientID, o.redirectURI
	c.InsecureFileStore = c.InsecureFileStore || a.insecure
	if err := c.save(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Saved client %s (redirect URI %s); the secret is in %s.\nNext: %s login\n",
		o.clientID, o.redirectURI, store.Name(), a.cmdPrefix())
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
