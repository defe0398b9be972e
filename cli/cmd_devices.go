package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/ipc"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// devicesOptions are the flags of `devices`.
type devicesOptions struct {
	homey  string
	asJSON bool
}

func newCmdDevices(f *Factory, runF func(devicesOptions) error) *cobra.Command {
	var o devicesOptions
	cmd := &cobra.Command{
		Use:   "devices [flags]",
		Short: "List the devices of a Homey",
		Long: `Lists the devices of the selected Homey (or --homey): name, zone, class and capability
values. --json prints the Homey's own device objects.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return devicesRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.homey, "homey", "", "the `NAME|ID` of another Homey than the selected one")
	fl.BoolVar(&o.asJSON, "json", false, "print the Homey's device objects as JSON")
	_ = cmd.RegisterFlagCompletionFunc("homey", f.completeHomeys)
	return cmd
}

func devicesRun(ctx context.Context, f *Factory, o devicesOptions) error {
	if ans, ok, err := f.askTray(ctx, ipc.Request{Op: ipc.OpDevices, Homey: o.homey}); ok {
		if err != nil {
			return err
		}
		devices, zones, err := trayDevices(ans)
		if err != nil {
			return err
		}
		return showDevices(f, devices, zones, o.asJSON)
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	devices, zones, err := f.devices(cctx, o.homey, !o.asJSON)
	if err != nil {
		return err
	}
	return showDevices(f, devices, zones, o.asJSON)
}

// showDevices prints the table, or with asJSON the Homey's own objects keyed by id.
func showDevices(f *Factory, devices map[string]homey.Device, zones map[string]homey.Zone, asJSON bool) error {
	if asJSON {
		raw := make(map[string]json.RawMessage, len(devices))
		for id, d := range devices {
			raw[id] = d.Raw
		}
		return writeJSON(f, raw)
	}
	return printDevices(f, devices, zones)
}

func printDevices(f *Factory, devices map[string]homey.Device, zones map[string]homey.Zone) error {
	rows := deviceRows(devices, zones)
	if len(rows) == 0 {
		fmt.Fprintln(f.IO.Out, "This Homey has no devices.")
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tZONE\tCLASS\tVALUES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	return tw.Flush()
}

// deviceRows sorts devices by zone, then name, and renders capability values ("dim=0.4").
func deviceRows(devices map[string]homey.Device, zones map[string]homey.Zone) [][4]string {
	rows := make([][4]string, 0, len(devices))
	for _, d := range devices {
		zone := d.Zone
		if z, ok := zones[d.Zone]; ok && z.Name != "" {
			zone = z.Name
		}
		rows = append(rows, [4]string{sanitize.Line(d.Name, 0), sanitize.Line(dash(zone), 0), dash(d.Class), capabilityValues(d)})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i][1] != rows[j][1] {
			return rows[i][1] < rows[j][1]
		}
		return rows[i][0] < rows[j][0]
	})
	return rows
}

func capabilityValues(d homey.Device) string {
	ids := make([]string, 0, len(d.CapabilitiesObj))
	for id := range d.CapabilitiesObj {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		c := d.CapabilitiesObj[id]
		v := formatValue(c.Value)
		if c.Units != "" && v != "-" {
			v += " " + c.Units
		}
		parts = append(parts, id+"="+v)
	}
	return sanitize.Line(strings.Join(parts, " "), 0)
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return strconv.Quote(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
