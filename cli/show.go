package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/tray"
)

var tokenFormats = []string{"raw", "header", "json", "env", "curl"}

func cmdToken(ctx context.Context, a *app, args []string) error {
	fs := a.flags("token")
	name := fs.String("homey", "", "")
	format := fs.String("format", "raw", "")
	cloud := fs.Bool("cloud", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if !contains(tokenFormats, *format) {
		return usageErrorf("token: --format must be one of %s", strings.Join(tokenFormats, ", "))
	}
	if *cloud && *name != "" {
		return usageErrorf("token: --cloud and --homey exclude each other")
	}
	if ans, ok, err := a.askTray(ctx, tray.Request{Op: "token", Homey: *name, Cloud: *cloud}); ok {
		if err != nil {
			return err
		}
		var expiry time.Time
		if ans.ExpiresAt != nil {
			expiry = *ans.ExpiresAt
		}
		prefix := "HOMEY"
		if *cloud {
			prefix = "ATHOM"
		}
		return printToken(a, *format, tokenOut{ans.Token, ans.HomeyID, ans.BaseURL, ans.Route, expiry}, prefix)
	}
	if *cloud {
		t, err := a.tokens.Token()
		if err != nil {
			return err
		}
		return printToken(a, *format, tokenOut{Token: t.AccessToken, Expiry: t.Expiry}, "ATHOM")
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	b, err := a.homeyBearer(cctx, *name)
	if err != nil {
		return err
	}
	return printToken(a, *format, bearerOut(b), "HOMEY")
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
func printToken(a *app, format string, t tokenOut, envPrefix string) error {
	token, homeyID, baseURL, expiry := t.Token, t.HomeyID, t.BaseURL, t.Expiry
	w := a.stdout
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func cmdHomeys(ctx context.Context, a *app, args []string) error {
	fs := a.flags("homeys")
	asJSON := fs.Bool("json", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
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
	if *asJSON {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, oneLine(h.Name), h.ID, dash(h.Model), dash(h.State), access)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdDevices(ctx context.Context, a *app, args []string) error {
	fs := a.flags("devices")
	name := fs.String("homey", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if ans, ok, err := a.askTray(ctx, tray.Request{Op: "devices", Homey: *name}); ok {
		if err != nil {
			return err
		}
		devices, zones, err := trayDevices(ans)
		if err != nil {
			return err
		}
		return showDevices(a, devices, zones, *asJSON)
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	devices, zones, err := a.homeyDevices(cctx, *name, !*asJSON)
	if err != nil {
		return err
	}
	return showDevices(a, devices, zones, *asJSON)
}

// showDevices prints the table, or with asJSON the Homey's own objects keyed by id.
func showDevices(a *app, devices map[string]homey.Device, zones map[string]homey.Zone, asJSON bool) error {
	if asJSON {
		raw := make(map[string]json.RawMessage, len(devices))
		for id, d := range devices {
			raw[id] = d.Raw
		}
		return writeJSON(a, raw)
	}
	return printDevices(a, devices, zones)
}

// fetchDevices lists a Homey's devices (and zones, for the table), signing in to the Homey again
// once if it says 401.
func fetchDevices(ctx context.Context, h homey.Homey, bs *homey.Bearers, withZones bool) (map[string]homey.Device, map[string]homey.Zone, error) {
	var devices map[string]homey.Device
	var zones map[string]homey.Zone
	err := bs.Do(ctx, h, func(ctx context.Context, c *homey.Client, bearer string) error {
		// Both at once: through Athom's relay each call is a round trip of its own (~40 ms and more).
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) {
			devices, err = c.Devices(ctx, bearer)
			return err
		})
		if withZones {
			g.Go(func() (err error) {
				zones, err = c.Zones(ctx, bearer)
				return err
			})
		}
		return g.Wait()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list the devices of %s: %w", h.Name, err)
	}
	return devices, zones, nil
}

func printDevices(a *app, devices map[string]homey.Device, zones map[string]homey.Zone) error {
	rows := deviceRows(devices, zones)
	if len(rows) == 0 {
		fmt.Fprintln(a.stdout, "This Homey has no devices.")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
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
		rows = append(rows, [4]string{oneLine(d.Name), oneLine(dash(zone)), dash(d.Class), capabilityValues(d)})
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
	return oneLine(strings.Join(parts, " "))
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

// oneLine keeps names from a Homey (user-chosen text) from breaking the table or the terminal.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
