package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// watchOptions are the flags and arguments of `watch`.
type watchOptions struct {
	homey        string
	devices      []string // names or ids; none = every device
	capabilities []string // none = every capability
	asJSON       bool
}

func newCmdWatch(f *Factory, runF func(watchOptions) error) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch [--homey NAME|ID] [DEVICE...] [--capability ID]... [--json]",
		Short: "Print each change of a device's capability as it happens",
		Long: `Follows the selected Homey (or --homey) over its realtime connection and prints one line
per capability change, as it happens, until Ctrl-C (exit 0). DEVICE names a device (its name,
as devices shows it, or its id) to follow instead of all of them; --capability ID (repeatable)
keeps only those capabilities.

Each line holds, separated by tabs: the time of the change (local time, by the Homey's clock),
the device's name, its zone, the capability and the new value, written as devices writes it
(numbers as they are, text quoted, units after the value):

    2026-03-01 14:02:11	Desk lamp	Living room	dim	0.4

--json prints one JSON object per change instead, on one line (wrapped here):

    {"time":"2026-03-01T13:02:11.123Z","homey_id":"…","device_id":"…","device":"Desk lamp",
     "zone_id":"…","zone":"Living room","capability":"dim","value":0.4,"units":""}

time is the Homey's time of the change (UTC; null when the Homey sent none), value the Homey's
own JSON value, and the names are as the Homey has them (the plain lines clean them up to one
line each).

The connection outlasts Homey restarts, moves between the LAN and Athom's relay, the relay's
reconnects and the expiry of the Homey session: it reconnects and subscribes again by itself,
and after each reconnect it reads the devices once and prints every capability that changed
while it was away, with its current value; in JSON such a line has "caught_up": true, and if
the capability changed more than once meanwhile, only the last value is there to print (the
Homey replays nothing). Each change is printed once, in order. Lost connections are noted on
stderr.

It exits 4 with the usual line when the sign-in is gone, and 2 when a DEVICE or --capability
names nothing the Homey has. A running tray does not answer watch: it keeps a connection of
its own.`,
		Example: `  homeytray watch
  homeytray watch "Front door" --capability alarm_contact
  homeytray watch --json | jq -c 'select(.capability == "onoff") | {device, value}'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.devices = args
			if runF != nil {
				return runF(o)
			}
			return watchRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.homey, "homey", "", "the `NAME|ID` of another Homey than the selected one")
	fl.StringArrayVar(&o.capabilities, "capability", nil, "print only the changes of capability `ID` (repeatable)")
	fl.BoolVar(&o.asJSON, "json", false, "print one JSON object per change")
	_ = cmd.RegisterFlagCompletionFunc("homey", f.completeHomeys)
	return cmd
}

func watchRun(ctx context.Context, f *Factory, o watchOptions) error {
	acc, err := f.Access(ctx, o.homey)
	if err != nil {
		return err
	}
	lctx, cancel := withTimeout(ctx)
	devices, zones, err := homey.ListDevices(lctx, acc, true)
	cancel()
	if err != nil {
		return err
	}
	ids, err := pickDevices(devices, o.devices)
	if err != nil {
		return err
	}
	if err := checkCapabilities(devices, ids, o.capabilities); err != nil {
		return err
	}
	p := &watchPrinter{out: f.IO.Out, errOut: f.IO.Err, asJSON: o.asJSON, homey: acc.Homey(), prog: f.prog(),
		banner: writerIsTerminal(f.IO.Err), devices: len(ids)}
	if len(o.capabilities) > 0 {
		p.caps = map[string]bool{}
		for _, c := range o.capabilities {
			p.caps[c] = true
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	p.stop = stop
	live := homey.NewLiveAccess(acc, devices, zones, ids, homey.StreamOptions{HTTP: f.http})
	err = live.Run(ctx, p.report)
	if p.err != nil {
		return fmt.Errorf("write the changes: %w", p.err)
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", acc.Homey().Name, err)
	}
	return nil // Ctrl-C
}

// pickDevices resolves the DEVICE arguments (an id, or a name in any case) to device ids; none
// given is every device (nil). A name that matches nothing or more than one device is a usage
// error.
func pickDevices(devices map[string]homey.Device, args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var ids []string
	for _, a := range args {
		if _, ok := devices[a]; ok {
			ids = append(ids, a)
			continue
		}
		var found []string
		for id, d := range devices {
			if strings.EqualFold(d.Name, a) || strings.EqualFold(sanitize.Line(d.Name, 0), a) {
				found = append(found, id)
			}
		}
		switch len(found) {
		case 0:
			return nil, usageErrorf("watch: no device %q on this Homey (see: devices)", sanitize.Line(a, 80))
		case 1:
			ids = append(ids, found[0])
		default:
			slices.Sort(found)
			return nil, usageErrorf("watch: %d devices are named %q: name one by its id (%s)", len(found), sanitize.Line(a, 80), strings.Join(found, ", "))
		}
	}
	return ids, nil
}

// checkCapabilities refuses a --capability that none of the watched devices has (a typo would
// otherwise print nothing, forever).
func checkCapabilities(devices map[string]homey.Device, ids, caps []string) error {
	if len(ids) == 0 {
		ids = slices.Collect(maps.Keys(devices))
	}
	for _, c := range caps {
		has := false
		for _, id := range ids {
			if _, ok := devices[id].CapabilitiesObj[c]; ok {
				has = true
				break
			}
		}
		if !has {
			return usageErrorf("watch: no device watched has the capability %q", sanitize.Line(c, 80))
		}
	}
	return nil
}

// watchPrinter prints what a homey.Live reports: the changes on stdout, the connection's
// losses on stderr. Live calls report from one goroutine.
type watchPrinter struct {
	out, errOut io.Writer
	asJSON      bool
	homey       homey.Homey
	prog        string
	caps        map[string]bool // nil = all
	banner      bool            // say on stderr when watching starts (stderr is a terminal)
	devices     int             // how many named on the command line (0 = all)
	stop        context.CancelFunc

	connected bool // said so; a loss is said once until connected again
	lost      bool
	err       error // the first write error; then the watch stops
}

// watchLine is one change in JSON.
type watchLine struct {
	Time       *time.Time      `json:"time"`
	HomeyID    string          `json:"homey_id"`
	DeviceID   string          `json:"device_id"`
	Device     string          `json:"device"`
	ZoneID     string          `json:"zone_id"`
	Zone       string          `json:"zone"`
	Capability string          `json:"capability"`
	Value      json.RawMessage `json:"value"`
	Units      string          `json:"units"`
	CaughtUp   bool            `json:"caught_up,omitempty"`
}

func (p *watchPrinter) report(u homey.LiveUpdate) {
	if p.err != nil {
		return
	}
	for _, c := range u.Changes {
		if p.caps != nil && !p.caps[c.CapabilityID] {
			continue
		}
		if err := p.print(u, c); err != nil {
			p.err = err
			p.stop()
			return
		}
	}
	name := sanitize.Line(p.homey.Name, 60)
	switch {
	case u.Connected && !p.connected && p.banner:
		what := "every device"
		if p.devices > 0 {
			what = fmt.Sprintf("%d device(s)", p.devices)
		}
		fmt.Fprintf(p.errOut, "homeytray: watching %s of %s; Ctrl-C stops\n", what, name)
	case u.Connected && p.lost:
		fmt.Fprintf(p.errOut, "homeytray: connected to %s again\n", name)
	case u.Lost != nil && !p.lost:
		msg, _ := failure.Of(u.Lost).Words(p.prog)
		fmt.Fprintf(p.errOut, "homeytray: lost the connection to %s (%s); reconnecting\n", name, sanitize.Line(msg, 160))
	}
	if u.Connected {
		p.connected, p.lost = true, false
	}
	if u.Lost != nil {
		p.lost = true
	}
}

// print writes one change.
func (p *watchPrinter) print(u homey.LiveUpdate, c homey.LiveChange) error {
	d := u.Devices[c.DeviceID]
	zone := u.Zones[d.Zone].Name
	units := d.CapabilitiesObj[c.CapabilityID].Units
	if p.asJSON {
		l := watchLine{HomeyID: p.homey.ID, DeviceID: c.DeviceID, Device: d.Name, ZoneID: d.Zone, Zone: zone,
			Capability: c.CapabilityID, Value: c.Value, Units: units, CaughtUp: c.CaughtUp}
		if !c.Time.IsZero() {
			t := c.Time.UTC()
			l.Time = &t
		}
		if len(l.Value) == 0 {
			l.Value = json.RawMessage("null")
		}
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		_, err = p.out.Write(append(b, '\n'))
		return err
	}
	at := c.Time
	if at.IsZero() {
		at = time.Now()
	}
	var v any
	_ = json.Unmarshal(c.Value, &v)
	value := formatValue(v)
	if units != "" && value != "-" {
		value += " " + units
	}
	name := d.Name
	if name == "" {
		name = c.DeviceID
	}
	if zone == "" {
		zone = dash(d.Zone)
	}
	_, err := fmt.Fprintf(p.out, "%s\t%s\t%s\t%s\t%s\n", at.Local().Format("2006-01-02 15:04:05"),
		sanitize.Line(name, 0), sanitize.Line(zone, 0), sanitize.Line(c.CapabilityID, 0), sanitize.Line(value, 0))
	return err
}

// writerIsTerminal reports whether w is an interactive terminal.
func writerIsTerminal(w io.Writer) bool {
	fl, ok := w.(*os.File)
	return ok && term.IsTerminal(int(fl.Fd()))
}
