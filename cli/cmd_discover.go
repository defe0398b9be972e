package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/homey"
)

// discoverOptions are the flags of `discover`.
type discoverOptions struct {
	timeout time.Duration
	asJSON  bool
}

func newCmdDiscover(f *Factory, runF func(discoverOptions) error) *cobra.Command {
	var o discoverOptions
	cmd := &cobra.Command{
		Use:   "discover [flags]",
		Short: "List the Homeys that answer on the local network (mDNS)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return discoverRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&o.timeout, "timeout", 3*time.Second, "how long to listen for answers (100ms to 1m)")
	fl.BoolVar(&o.asJSON, "json", false, "print JSON")
	return cmd
}

func discoverRun(ctx context.Context, f *Factory, o discoverOptions) error {
	timeout, asJSON := &o.timeout, o.asJSON
	if *timeout < 100*time.Millisecond || *timeout > time.Minute {
		return usageErrorf("discover: --timeout must be between 100ms and 1m, e.g. --timeout 5s")
	}
	found, err := homey.Discover(ctx, *timeout)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(f, found)
	}
	if len(found) == 0 {
		// Nothing answering is not an error: exit 0, like an empty list.
		fmt.Fprintf(f.IO.Out, "No Homey answered on the local network within %s (mDNS %s); is it on this network? Try a longer --timeout.\n", *timeout, homey.DiscoverService)
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tMODEL\tID")
	for _, d := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, d.Address, dash(d.Model), dash(d.ID)) // names and models are cleaned by homey.Discover
	}
	return tw.Flush()
}
