package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/sanitize"
)

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
	if a.lazyRoutes {
		c.Routes = nil // the first command that needs a route races (homey.Routes)
	} else {
		c.Routes = a.raceRoutes(ctx, c.Homeys)
	}
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

func newCmdUse(a *app, runF func(name string) error) *cobra.Command {
	return &cobra.Command{
		Use:               "use NAME|ID",
		Short:             "Select the default Homey",
		Args:              maxArgs(1),
		ValidArgsFunction: a.completeHomeys,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("use: name or id of a Homey required (see: %s homeys)", a.cmdPrefix())
			}
			if runF != nil {
				return runF(args[0])
			}
			return useRun(cmd.Context(), a, args[0])
		},
	}
}

func useRun(ctx context.Context, a *app, name string) error {
	h, err := a.findHomey(ctx, name)
	if err != nil {
		return err
	}
	if err := a.selectHomey(h.ID); err != nil {
		return err
	}
	a.tellTray(ctx)
	if l, ok := a.cfg.localHomey(h.ID); ok {
		fmt.Fprintf(a.stdout, "Selected %s (%s), reached with its API key at %s.\n", sanitize.Line(h.Name, 0), h.ID, l.Address)
		return nil
	}
	fmt.Fprintf(a.stdout, "Selected %s (%s).\n", sanitize.Line(h.Name, 0), h.ID)
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

func newCmdHomeys(a *app, runF func(asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "homeys [flags]",
		Short: "List the account's Homeys",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(asJSON)
			}
			return homeysRun(cmd.Context(), a, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func homeysRun(ctx context.Context, a *app, asJSON bool) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := a.refreshHomeys(cctx); err != nil {
		if len(c.LocalHomeys) == 0 {
			return err
		}
		// The API-key Homeys need no cloud: list them (and the account's last known list).
		msg, _, _ := explain(err, a.cmdPrefix())
		fmt.Fprintf(a.stderr, "homeytray: the account's Homeys were not refreshed (%s); the API-key Homeys need no cloud\n", msg)
	}
	if asJSON {
		type row struct {
			homey.Homey
			Selected bool   `json:"selected"`
			Access   string `json:"access"` // "api_key" or "athom"
			Address  string `json:"address,omitempty"`
		}
		all := c.allHomeys()
		rows := make([]row, 0, len(all))
		for _, h := range all {
			r := row{Homey: h, Selected: h.ID == c.SelectedHomey, Access: "athom"}
			if l, ok := c.localHomey(h.ID); ok {
				r.Access, r.Address = "api_key", l.Address
			}
			rows = append(rows, r)
		}
		return writeJSON(a, rows)
	}
	return a.printHomeys(c)
}

func (a *app) printHomeys(c *Config) error {
	all := c.allHomeys()
	if len(all) == 0 {
		fmt.Fprintln(a.stdout, "This account has no Homey.")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tNAME\tID\tMODEL\tSTATE\tACCESS")
	for _, h := range all {
		mark := ""
		if h.ID == c.SelectedHomey {
			mark = "*"
		}
		access := "Athom sign-in"
		if l, ok := c.localHomey(h.ID); ok {
			access = "API key, " + l.Address
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, sanitize.Line(h.Name, 0), h.ID, dash(h.Model), dash(h.State), access)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// completeHomeys offers the names of the Homeys in the config (the account's and the API-key
// ones) for shell completion; it asks no server.
func (a *app) completeHomeys(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var names []cobra.Completion
	if c, err := a.config(); err == nil {
		for _, h := range c.Homeys {
			names = append(names, cobra.CompletionWithDesc(h.Name, h.ID))
		}
		for _, l := range c.LocalHomeys {
			names = append(names, cobra.CompletionWithDesc(l.Name, l.ID))
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
