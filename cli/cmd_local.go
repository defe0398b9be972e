package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/sanitize"
)

func newCmdLocal(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local add|list|remove",
		Short: "Homey Pro reached with an API key, no Athom cloud needed",
		Long: `A Homey Pro (2023 or later) can be reached on the local network with an API key, with no
Athom cloud at all. local add NAME --create-key makes the key on a Homey of the signed-in account;
a key made in its web app (Settings → API keys) can be given on stdin instead. Either way it is
checked with the Homey and kept in the keychain.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("local: say add, list or remove (e.g. %s local add --address http://192.168.1.20)", f.prog())
			}
			return usageErrorf("local: unknown subcommand %q: say add, list or remove", args[0])
		},
	}
	cmd.AddCommand(newCmdLocalAdd(f, nil), newCmdLocalList(f, nil), newCmdLocalRemove(f, nil))
	return cmd
}

// localAddOptions are the flags and argument of `local add`.
type localAddOptions struct {
	address, name, discovered string
	createKey                 bool   // make the key on the Homey from the owner's sign-in
	scopes                    string // with createKey: a list or a preset
}

func newCmdLocalAdd(f *Factory, runF func(localAddOptions) error) *cobra.Command {
	var o localAddOptions
	cmd := &cobra.Command{
		Use:   "add [NAME] [flags]",
		Short: "Add a Homey reached on the LAN with an API key (made for you, or on stdin)",
		Long: `With --create-key, NAME is a Homey of the signed-in account: homeytray makes an API key on
it from the owner's sign-in (named "homeytray on <this computer>", scopes --scopes: a list or a
preset: readonly (the default: homey.device.readonly, homey.zone.readonly), control (also
homey.device.control, homey.flow.readonly, homey.flow.start) or full (homey)), checks it and keeps
it in the keychain. The key is never printed.

Without it, the key is one made in the Homey web app (Settings → API keys), read from stdin or a
hidden prompt; NAME is then a Homey that homeytray discover lists, or give --address.

Either way the key is checked with the Homey (a ping, then its session) before it is kept, and
from then on that Homey works on its LAN with no Athom cloud at all.`,
		Example: `  homeytray local add Home --create-key
  homeytray local add Home --create-key --scopes control
  homeytray local add --address http://192.168.1.20 --name Kitchen < key.txt
  homeytray local add "Homey Pro" < key.txt   # a name that homeytray discover lists`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.discovered = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return f.localAdd(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.address, "address", "", "the Homey's local `URL`, e.g. http://192.168.1.20")
	fl.StringVar(&o.name, "name", "", "a name for it (default: its name on the network)")
	fl.BoolVar(&o.createKey, "create-key", false, "make the API key on NAME, a Homey of the signed-in account")
	fl.StringVar(&o.scopes, "scopes", "", "with --create-key: a comma-separated `LIST` of scopes, or readonly, control or full")
	_ = cmd.RegisterFlagCompletionFunc("scopes", cobra.FixedCompletions(homey.ScopePresetNames, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newCmdLocalList(f *Factory, runF func(asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the Homeys reached with an API key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(asJSON)
			}
			return f.localList(asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newCmdLocalRemove(f *Factory, runF func(name string) error) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Forget a local Homey and delete its API key from the keychain",
		Args:  maxArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			if c, err := f.load(); err == nil {
				for _, l := range c.LocalHomeys {
					names = append(names, l.Name)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("local remove: name or id of a local Homey required (see: %s local list)", f.prog())
			}
			if runF != nil {
				return runF(args[0])
			}
			return f.localRemove(cmd.Context(), args[0])
		},
	}
}

// localAdd: `local add --address URL [--name NAME]` or `local add DISCOVERED-NAME`; the key comes
// from stdin or a hidden prompt. The key is checked with the Homey (ping, then session/me) and
// stored only if the Homey accepts it.
func (f *Factory) localAdd(ctx context.Context, o localAddOptions) error {
	if o.createKey {
		return f.localCreateKey(ctx, o)
	}
	if o.scopes != "" {
		return usageErrorf("local add: --scopes goes with --create-key (a pasted key has the scopes it was made with)")
	}
	address, name := &o.address, &o.name
	if (*address == "") == (o.discovered == "") {
		return usageErrorf("local add: give --address URL (e.g. http://192.168.1.20) or the name of a Homey that %s discover lists", f.prog())
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if o.discovered != "" {
		d, err := f.discovered(cctx, o.discovered)
		if err != nil {
			return err
		}
		*address = d.Address
		if *name == "" {
			*name = d.Name
		}
	}
	base, err := homey.NormalizeAddress(*address)
	if err != nil {
		return usageErrorf("local add: --address %s: %v", sanitize.Line(*address, 0), err)
	}
	*name = strings.TrimSpace(sanitize.Line(*name, 0))
	key, err := f.readSecret("API key: ")
	if err != nil {
		return err
	}
	if key == "" {
		return usageErrorf("local add: no API key on stdin: pipe it in or type it at the prompt (create one in the Homey web app, Settings → API Keys)")
	}
	id, err := pingHomey(cctx, f.http, base, "")
	if err != nil {
		return err
	}
	_, err = f.keepKeyEntry(ctx, cctx, keptKey{base: base, id: id, name: *name, key: key})
	return err
}

// discovered finds a Homey by the name (or id) that `discover` lists.
func (f *Factory) discovered(ctx context.Context, nameOrID string) (homey.Discovered, error) {
	found, err := homey.Discover(ctx, 3*time.Second)
	if err != nil {
		return homey.Discovered{}, err
	}
	var match []homey.Discovered
	for _, d := range found {
		if d.ID == nameOrID || strings.EqualFold(d.Name, nameOrID) {
			match = append(match, d)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return homey.Discovered{}, fmt.Errorf("no Homey called %q answered on the local network (%d did): run %s discover, or give --address URL",
			sanitize.Line(nameOrID, 0), len(found), f.prog())
	}
	return homey.Discovered{}, fmt.Errorf("%d Homeys called %q answered on the local network: give --address URL (see %s discover)",
		len(match), sanitize.Line(nameOrID, 0), f.prog())
}

// defaultLocalName: the account's name for this Homey, else the address's host.
func defaultLocalName(c *config.Snapshot, id, base string) string {
	for _, h := range c.Homeys {
		if h.ID == id && h.Name != "" {
			return h.Name
		}
	}
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return id
}

// pingHomey is homey.Ping of the Homey at base; a failure names the address, what answered
// instead and what to do (failure.NotAHomey, OtherHomey, Unreachable, BadCert): nothing secret
// was sent.
func pingHomey(ctx context.Context, hc *http.Client, base, wantID string) (string, error) {
	id, err := homey.Ping(ctx, hc, base, wantID)
	if err != nil {
		return "", &homey.KeyError{Address: base, Err: err}
	}
	return id, nil
}

// refusedKey explains why `local add` did not keep a key.
func refusedKey(base string, err error) error {
	var apiE *homey.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case homey.IsUnauthorized(err):
		return fmt.Errorf("the Homey at %s refused this API key: check that you copied all of it, or create a new one in the Homey web app (Settings → API Keys); nothing was stored", base)
	case errors.As(err, &apiE) && apiE.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the Homey at %s does not let this API key read its own session (%s): create a key with more permissions; nothing was stored", base, firstLine(apiE))
	case homey.IsNetworkError(err):
		return &homey.KeyError{Address: base, Err: err} // nothing answers, or a certificate for another name
	}
	return fmt.Errorf("check the API key with the Homey at %s: %s; nothing was stored", base, firstLine(err))
}

// firstLine is an error's first line.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}
