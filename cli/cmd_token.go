package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/ipc"
)

var tokenFormats = []string{"raw", "header", "json", "env", "curl"}

// tokenOptions are the flags of `token`.
type tokenOptions struct {
	homey, format string
	cloud         bool
}

func newCmdToken(f *Factory, runF func(tokenOptions) error) *cobra.Command {
	var o tokenOptions
	cmd := &cobra.Command{
		Use:   "token [flags]",
		Short: "Print a fresh Homey bearer token",
		Long: `Prints a fresh bearer token for the selected Homey (or --homey), and nothing else on
stdout. A running tray answers from memory; otherwise the keychain is read and the token renewed
when needed. Formats: raw (the token), header (an Authorization header), json (token, homey_id,
base_url, expires_at where known), env (export lines) and curl (a curl config for curl -K).`,
		Example: `  curl -K <(homeytray token --format curl) "$(homeytray token --format json | jq -r .base_url)/api/manager/devices/device"
  eval "$(homeytray token --format env)"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return tokenRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.homey, "homey", "", "the `NAME|ID` of another Homey than the selected one")
	fl.StringVar(&o.format, "format", "raw", "output format: "+strings.Join(tokenFormats, ", "))
	fl.BoolVar(&o.cloud, "cloud", false, "print the Athom cloud access token instead")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(tokenFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("homey", f.completeHomeys)
	return cmd
}

func tokenRun(ctx context.Context, f *Factory, o tokenOptions) error {
	if !contains(tokenFormats, o.format) {
		return usageErrorf("token: --format must be one of %s", strings.Join(tokenFormats, ", "))
	}
	if o.cloud && o.homey != "" {
		return usageErrorf("token: --cloud and --homey exclude each other")
	}
	if ans, ok, err := f.askTray(ctx, ipc.Request{Op: ipc.OpToken, Homey: o.homey, Cloud: o.cloud}); ok {
		if err != nil {
			return err
		}
		var expiry time.Time
		if ans.ExpiresAt != nil {
			expiry = *ans.ExpiresAt
		}
		prefix := "HOMEY"
		if o.cloud {
			prefix = "ATHOM"
		}
		return printToken(f, o.format, tokenOut{ans.Token, ans.HomeyID, ans.BaseURL, ans.Route, expiry}, prefix)
	}
	if o.cloud {
		t, err := sessionTokens{f}.Token()
		if err != nil {
			return err
		}
		return printToken(f, o.format, tokenOut{Token: t.AccessToken, Expiry: t.Expiry}, "ATHOM")
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	b, err := f.bearer(cctx, o.homey)
	if err != nil {
		return err
	}
	return printToken(f, o.format, bearerOut(b), "HOMEY")
}

// tokenOut is what `token` prints about a token (the value only where the format asks).
type tokenOut struct {
	Token, HomeyID, BaseURL string
	Route                   string // "local", "cloud", or "" (the Athom token)
	Expiry                  time.Time
}

// bearerOut describes a Homey bearer, with the kind of route it is reached on.
func bearerOut(b *homey.Bearer) tokenOut {
	return tokenOut{Token: b.Token, HomeyID: b.HomeyID, BaseURL: b.BaseURL, Route: homey.Route{Strategy: b.Strategy}.Kind()}
}

// printToken writes the token, and nothing else, to stdout in the chosen format.
func printToken(f *Factory, format string, t tokenOut, envPrefix string) error {
	token, homeyID, baseURL, expiry := t.Token, t.HomeyID, t.BaseURL, t.Expiry
	w := f.IO.Out
	switch format {
	case "raw":
		fmt.Fprintln(w, token)
	case "header":
		fmt.Fprintf(w, "Authorization: Bearer %s\n", token)
	case "env":
		fmt.Fprintf(w, "export %s_TOKEN=%s\n", envPrefix, shellQuote(token))
		if baseURL != "" {
			fmt.Fprintf(w, "export HOMEY_ID=%s\nexport HOMEY_BASE_URL=%s\n", shellQuote(homeyID), shellQuote(baseURL))
		}
	case "curl":
		// A curl config (`curl -K <(homeytray token --format curl) URL`) keeps the token out of
		// the process list, where a -H argument would show it to every user of the machine.
		fmt.Fprintf(w, "header = \"Authorization: Bearer %s\"\n", token)
	case "json":
		out := struct {
			Token     string     `json:"token"`
			HomeyID   string     `json:"homey_id,omitempty"`
			BaseURL   string     `json:"base_url,omitempty"`
			Route     string     `json:"route,omitempty"`
			ExpiresAt *time.Time `json:"expires_at,omitempty"`
		}{Token: token, HomeyID: homeyID, BaseURL: baseURL, Route: t.Route}
		if !expiry.IsZero() {
			out.ExpiresAt = &expiry
		}
		return json.NewEncoder(w).Encode(out)
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
