package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/homey"
)

func newCmdLocal(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local add|list|remove",
		Short: "Homey Pro reached with an API key (key on stdin), no Athom cloud needed",
		Long: `A Homey Pro (2023 or later) can be reached on the local network with an API key made in
its web app (Settings → API keys), with no Athom cloud at all. The key is read from stdin or a
hidden prompt, checked with the Homey, and kept in the keychain.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("local: say add, list or remove (e.g. %s local add --address http://192.168.1.20)", a.cmdPrefix())
			}
			return usageErrorf("local: unknown subcommand %q: say add, list or remove", args[0])
		},
	}
	cmd.AddCommand(newCmdLocalAdd(a, nil), newCmdLocalList(a, nil), newCmdLocalRemove(a, nil))
	return cmd
}

// localAddOptions are the flags and argument of `local add`.
type localAddOptions struct {
	address, name, discovered string
}

func newCmdLocalAdd(a *app, runF func(localAddOptions) error) *cobra.Command {
	var o localAddOptions
	cmd := &cobra.Command{
		Use:   "add [DISCOVERED-NAME] [flags]",
		Short: "Add a Homey reached on the LAN with an API key (key on stdin)",
		Example: `  homeytray local add --address http://192.168.1.20 --name Kitchen < key.txt
  homeytray local add "Homey Pro"   # a name that homeytray discover lists`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.discovered = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return a.localAdd(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.address, "address", "", "the Homey's local `URL`, e.g. http://192.168.1.20")
	f.StringVar(&o.name, "name", "", "a name for it (default: its name on the network)")
	return cmd
}

func newCmdLocalList(a *app, runF func(asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the Homeys reached with an API key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(asJSON)
			}
			return a.localList(asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newCmdLocalRemove(a *app, runF func(name string) error) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Forget a local Homey and delete its API key from the keychain",
		Args:  maxArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			if c, err := a.config(); err == nil {
				for _, l := range c.LocalHomeys {
					names = append(names, l.Name)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("local remove: name or id of a local Homey required (see: %s local list)", a.cmdPrefix())
			}
			if runF != nil {
				return runF(args[0])
			}
			return a.localRemove(cmd.Context(), args[0])
		},
	}
}

// localAdd: `local add --address URL [--name NAME]` or `local add DISCOVERED-NAME`; the key comes
// from stdin or a hidden prompt. The key is checked with the Homey (ping, then session/me) and
// stored only if the Homey accepts it.
func (a *app) localAdd(ctx context.Context, o localAddOptions) error {
	address, name := &o.address, &o.name
	if (*address == "") == (o.discovered == "") {
		return usageErrorf("local add: give --address URL (e.g. http://192.168.1.20) or the name of a Homey that %s discover lists", a.cmdPrefix())
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if o.discovered != "" {
		d, err := a.discovered(cctx, o.discovered)
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
		return usageErrorf("local add: --address %s: %v", oneLine(*address), err)
	}
	*name = strings.TrimSpace(oneLine(*name))
	c, err := a.config()
	if err != nil {
		return err
	}
	key, err := a.readSecret("API key: ")
	if err != nil {
		return err
	}
	if key == "" {
		return usageErrorf("local add: no API key on stdin: pipe it in or type it at the prompt (create one in the Homey web app, Settings → API Keys)")
	}
	id, err := pingHomey(cctx, a.httpc, base, "")
	if err != nil {
		return err
	}
	client := &homey.Client{BaseURL: base, HomeyID: id, HTTP: a.httpc}
	s, err := client.SessionMe(cctx, key)
	if err != nil {
		return a.refusedKey(base, err)
	}
	scopes := s.IntersectedScopes
	if len(scopes) == 0 {
		scopes = s.Scopes
	}
	if !homey.HasScope(scopes, homey.ScopeDevices) {
		return fmt.Errorf("the Homey at %s accepted the API key, but it may not view devices (%s): create a key with that permission in the Homey web app (Settings → API Keys); nothing was stored", base, homey.ScopeDevices)
	}
	if *name == "" {
		*name = defaultLocalName(c, id, base)
	}
	for _, l := range c.LocalHomeys {
		if l.ID != id && strings.EqualFold(l.Name, *name) {
			return usageErrorf("local add: a local Homey is already called %q (%s): choose another --name", l.Name, l.ID)
		}
	}
	store, err := a.secrets()
	if err != nil {
		return err
	}
	if err := store.Set(keyAPIKeyPrefix+id, key); err != nil {
		return fmt.Errorf("store the API key: %w", err)
	}
	entry := LocalHomey{ID: id, Name: *name, Address: base}
	replaced := false
	for i, l := range c.LocalHomeys {
		if l.ID == id {
			c.LocalHomeys[i], replaced = entry, true
		}
	}
	if !replaced {
		c.LocalHomeys = append(c.LocalHomeys, entry)
	}
	if c.SelectedHomey == "" {
		c.SelectedHomey = id
	}
	if err := c.save(); err != nil {
		return err
	}
	a.tellTray(ctx)
	verb := "Added"
	if replaced {
		verb = "Updated"
	}
	fmt.Fprintf(a.stdout, "%s %s (%s) at %s; its API key is in %s. It works without the Athom cloud.\n",
		verb, entry.Name, id, base, store.Name())
	if !homey.HasScope(scopes, homey.ScopeZones) {
		fmt.Fprintf(a.stdout, "Note: the key may not view zones (%s): devices shows zone ids instead of room names.\n", homey.ScopeZones)
	}
	return nil
}

// discovered finds a Homey by the name (or id) that `discover` lists.
func (a *app) discovered(ctx context.Context, nameOrID string) (homey.Discovered, error) {
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
			oneLine(nameOrID), len(found), a.cmdPrefix())
	}
	return homey.Discovered{}, fmt.Errorf("%d Homeys called %q answered on the local network: give --address URL (see %s discover)",
		len(match), oneLine(nameOrID), a.cmdPrefix())
}

// defaultLocalName: the account's name for this Homey, else the address's host.
func defaultLocalName(c *Config, id, base string) string {
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

func (a *app) localList(asJSON bool) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	if asJSON {
		list := c.LocalHomeys
		if list == nil {
			list = []LocalHomey{}
		}
		return writeJSON(a, list)
	}
	if len(c.LocalHomeys) == 0 {
		fmt.Fprintf(a.stdout, "No local Homeys. Add one: %s local add --address http://<its IP> (API key on stdin)\n", a.cmdPrefix())
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tID")
	for _, l := range c.LocalHomeys {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", oneLine(l.Name), l.Address, l.ID)
	}
	return tw.Flush()
}

func (a *app) localRemove(ctx context.Context, nameOrID string) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	i := -1
	for j, l := range c.LocalHomeys {
		if l.ID == nameOrID {
			i = j
		}
	}
	for j, l := range c.LocalHomeys {
		if i < 0 && strings.EqualFold(l.Name, nameOrID) {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("no local Homey is called %q: see %s local list", oneLine(nameOrID), a.cmdPrefix())
	}
	l := c.LocalHomeys[i]
	store, err := a.secrets()
	if err != nil {
		return err
	}
	if err := store.Delete(keyAPIKeyPrefix + l.ID); err != nil {
		return fmt.Errorf("delete the API key of %s: %w", l.Name, err)
	}
	c.LocalHomeys = append(c.LocalHomeys[:i:i], c.LocalHomeys[i+1:]...)
	if _, err := c.homey(c.SelectedHomey); err != nil {
		c.SelectedHomey = ""
		if all := c.allHomeys(); len(all) > 0 {
			c.SelectedHomey = all[0].ID
		}
	}
	if err := c.save(); err != nil {
		return err
	}
	a.tellTray(ctx)
	fmt.Fprintf(a.stdout, "Removed %s (%s); its API key is deleted from %s.\n", l.Name, l.ID, store.Name())
	return nil
}
