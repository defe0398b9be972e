package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/sanitize"
)

func newCmdUse(f *Factory, runF func(name string) error) *cobra.Command {
	return &cobra.Command{
		Use:               "use NAME|ID",
		Short:             "Select the default Homey",
		Args:              maxArgs(1),
		ValidArgsFunction: f.completeHomeys,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("use: name or id of a Homey required (see: %s homeys)", f.prog())
			}
			if runF != nil {
				return runF(args[0])
			}
			return useRun(cmd.Context(), f, args[0])
		},
	}
}

func useRun(ctx context.Context, f *Factory, name string) error {
	h, err := f.findHomey(ctx, name)
	if err != nil {
		return err
	}
	if err := f.selectHomey(ctx, h.ID); err != nil {
		return err
	}
	f.tellTray(ctx)
	c, err := f.load()
	if err != nil {
		return err
	}
	if w := c.Way(h.ID); w.Kind == config.WayAPIKey {
		fmt.Fprintf(f.IO.Out, "Selected %s (%s), reached with its API key at %s.\n", sanitize.Line(h.Name, 0), h.ID, w.Address)
		return nil
	}
	fmt.Fprintf(f.IO.Out, "Selected %s (%s).\n", sanitize.Line(h.Name, 0), h.ID)
	return nil
}

func newCmdHomeys(f *Factory, runF func(asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "homeys [flags]",
		Short: "List the account's Homeys",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(asJSON)
			}
			return homeysRun(cmd.Context(), f, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func homeysRun(ctx context.Context, f *Factory, asJSON bool) error {
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := f.refreshHomeys(cctx); err != nil {
		c, lerr := f.load()
		if lerr != nil || len(c.LocalHomeys) == 0 {
			return err
		}
		// The API-key Homeys need no cloud: list them (and the account's last known list).
		fmt.Fprintf(f.IO.Err, "homeytray: the account's Homeys were not refreshed (%s); the API-key Homeys need no cloud\n",
			failure.Of(err).Message(f.prog()))
	}
	c, err := f.load()
	if err != nil {
		return err
	}
	if asJSON {
		type row struct {
			homey.Homey
			Selected bool   `json:"selected"`
			Access   string `json:"access"` // "api_key" or "athom"
			Address  string `json:"address,omitempty"`
		}
		all := c.AllHomeys()
		rows := make([]row, 0, len(all))
		for _, h := range all {
			w := c.Way(h.ID)
			rows = append(rows, row{Homey: h, Selected: h.ID == c.SelectedHomey, Access: w.Kind, Address: w.Address})
		}
		return writeJSON(f, rows)
	}
	return f.printHomeys(c)
}

func (f *Factory) printHomeys(c *config.Snapshot) error {
	all := c.AllHomeys()
	if len(all) == 0 {
		fmt.Fprintln(f.IO.Out, "This account has no Homey.")
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tNAME\tID\tMODEL\tSTATE\tACCESS")
	for _, h := range all {
		mark := ""
		if h.ID == c.SelectedHomey {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, sanitize.Line(h.Name, 0), h.ID, dash(h.Model), dash(h.State), c.Way(h.ID))
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
func (f *Factory) completeHomeys(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var names []cobra.Completion
	if c, err := f.load(); err == nil {
		for _, h := range c.Homeys {
			names = append(names, cobra.CompletionWithDesc(h.Name, h.ID))
		}
		for _, l := range c.LocalHomeys {
			names = append(names, cobra.CompletionWithDesc(l.Name, l.ID))
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
