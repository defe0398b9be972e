package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/tray"
)

// Local Homeys: a Homey Pro (Early 2023 and later) reached with an API key created in its web
// app (Settings → API Keys; PROTOCOL §6.1). The key is the bearer itself: no Athom cloud, no
// delegation, no users/login, no expiry. It is kept in the keychain (item "apikey:<homeyID>"),
// the Homey's id, name and address in the config. When a Homey is both on the Athom account and
// here, its API key wins.

// keyAPIKeyPrefix is the Store item of a local Homey's API key.
const keyAPIKeyPrefix = "apikey:"

// scopeDevices is what a key needs for `devices` and the tray's Devices menu.
const (
	scopeDevices = "homey.device.readonly"
	scopeZones   = "homey.zone.readonly"
)

// LocalHomey is a Homey reached with an API key. No secret: the key is in the keychain.
type LocalHomey struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"` // base URL, e.g. http://192.168.1.20, no trailing slash
}

// homey is l as a homey.Homey (for lists and the tray).
func (l LocalHomey) homey() homey.Homey {
	h := homey.Homey{ID: l.ID, Name: l.Name, Platform: "local"}
	if strings.HasPrefix(l.Address, "https://") {
		h.LocalURLSecure = l.Address
	} else {
		h.LocalURL = l.Address
	}
	return h
}

func cmdLocal(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usageErrorf("local: say add, list or remove (e.g. %s local add --address http://192.168.1.20)", a.cmdPrefix())
	}
	switch args[0] {
	case "add":
		return a.localAdd(ctx, args[1:])
	case "list":
		return a.localList(args[1:])
	case "remove":
		return a.localRemove(ctx, args[1:])
	case "-h", "--help", "-help":
		fs := a.flags("local")
		return a.parse(fs, args, 0)
	}
	return usageErrorf("local: unknown subcommand %q: say add, list or remove", args[0])
}

// localAdd: `local add --address URL [--name NAME]` or `local add DISCOVERED-NAME`; the key comes
// from stdin or a hidden prompt. The key is checked with the Homey (ping, then session/me) and
// stored only if the Homey accepts it.
func (a *app) localAdd(ctx context.Context, args []string) error {
	fs := a.flags("local")
	address := fs.String("address", "", "")
	name := fs.String("name", "", "")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	if (*address == "") == (fs.NArg() == 0) {
		return usageErrorf("local add: give --address URL (e.g. http://192.168.1.20) or the name of a Homey that %s discover lists", a.cmdPrefix())
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if fs.NArg() == 1 {
		d, err := a.discovered(cctx, fs.Arg(0))
		if err != nil {
			return err
		}
		*address = d.Address
		if *name == "" {
			*name = d.Name
		}
	}
	base, err := normalizeAddress(*address)
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
	if !hasScope(scopes, scopeDevices) {
		return fmt.Errorf("the Homey at %s accepted the API key, but it may not view devices (%s): create a key with that permission in the Homey web app (Settings → API Keys); nothing was stored", base, scopeDevices)
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
	if !hasScope(scopes, scopeZones) {
		fmt.Fprintf(a.stdout, "Note: the key may not view zones (%s): devices shows zone ids instead of room names.\n", scopeZones)
	}
	return nil
}

// discovered finds a Homey by the name (or id) that `discover` lists.
func (a *app) discovered(ctx context.Context, nameOrID string) (discovered, error) {
	found, err := discoverHomeys(ctx, 3*time.Second)
	if err != nil {
		return discovered{}, err
	}
	var match []discovered
	for _, d := range found {
		if d.ID == nameOrID || strings.EqualFold(d.Name, nameOrID) {
			match = append(match, d)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return discovered{}, fmt.Errorf("no Homey called %q answered on the local network (%d did): run %s discover, or give --address URL",
			oneLine(nameOrID), len(found), a.cmdPrefix())
	}
	return discovered{}, fmt.Errorf("%d Homeys called %q answered on the local network: give --address URL (see %s discover)",
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

func (a *app) localList(args []string) error {
	fs := a.flags("local")
	asJSON := fs.Bool("json", false, "")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	if *asJSON {
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

func (a *app) localRemove(ctx context.Context, args []string) error {
	fs := a.flags("local")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("local remove: name or id of a local Homey required (see: %s local list)", a.cmdPrefix())
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	i := -1
	for j, l := range c.LocalHomeys {
		if l.ID == fs.Arg(0) {
			i = j
		}
	}
	for j, l := range c.LocalHomeys {
		if i < 0 && strings.EqualFold(l.Name, fs.Arg(0)) {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("no local Homey is called %q: see %s local list", oneLine(fs.Arg(0)), a.cmdPrefix())
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

// The one place where `token`, `devices` and the tray pick the way to a Homey.

// homeyBearer is the bearer for a Homey (name, id, or "" for the selected one): for an API-key
// Homey the key itself, read from the keychain with no network call (the Athom cloud and
// token are not touched); else a Homey session bearer through the Athom sign-in.
func (a *app) homeyBearer(ctx context.Context, nameOrID string) (*homey.Bearer, error) {
	h, err := a.findHomey(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	if l, ok := a.cfg.localHomey(h.ID); ok {
		key, err := a.apiKey(l)
		if err != nil {
			return nil, err
		}
		return &homey.Bearer{Token: key, HomeyID: l.ID, BaseURL: l.Address}, nil
	}
	bs, err := a.bearers()
	if err != nil {
		return nil, err
	}
	b, err := bs.Get(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("get a bearer for %s: %w", h.Name, err)
	}
	return b, nil
}

// homeyDevices lists a Homey's devices (and zones when withZones): for an API-key Homey
// straight from its address with the key, else through the Athom sign-in (fetchDevices).
func (a *app) homeyDevices(ctx context.Context, nameOrID string, withZones bool) (map[string]homey.Device, map[string]homey.Zone, error) {
	h, err := a.findHomey(ctx, nameOrID)
	if err != nil {
		return nil, nil, err
	}
	if l, ok := a.cfg.localHomey(h.ID); ok {
		return a.localDevices(ctx, l, withZones)
	}
	bs, err := a.bearers()
	if err != nil {
		return nil, nil, err
	}
	return fetchDevices(ctx, h, bs, withZones)
}

// apiKey reads the key of l from the keychain.
func (a *app) apiKey(l LocalHomey) (string, error) {
	store, err := a.secrets()
	if err != nil {
		return "", err
	}
	key, err := store.Get(keyAPIKeyPrefix + l.ID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || (err == nil && key == ""):
		return "", fmt.Errorf("the API key of %s (%s) is not in %s: run %s local add --address %s again",
			l.Name, l.ID, store.Name(), a.cmdPrefix(), l.Address)
	case err != nil:
		return "", fmt.Errorf("read the API key of %s: %w", l.Name, err)
	}
	return key, nil
}

// pinged remembers the local Homeys whose address answered a ping with their id in this
// process: the key is sent to an address only after it proved to be that Homey (another device
// may own the IP on another network). A proof counts for pingValid (the tray runs for days and
// the machine may wake up on another network); an error at the address forgets it.
var pinged sync.Map // id + " " + address → time.Time of the ping

const pingValid = time.Minute

func (a *app) localDevices(ctx context.Context, l LocalHomey, withZones bool) (map[string]homey.Device, map[string]homey.Zone, error) {
	key, err := a.apiKey(l)
	if err != nil {
		return nil, nil, err
	}
	mark := l.ID + " " + l.Address
	if at, ok := pinged.Load(mark); !ok || time.Since(at.(time.Time)) > pingValid {
		if _, err := pingHomey(ctx, a.httpc, l.Address, l.ID); err != nil {
			pinged.Delete(mark)
			return nil, nil, err
		}
		pinged.Store(mark, time.Now())
	}
	c := &homey.Client{BaseURL: l.Address, HomeyID: l.ID, HTTP: a.httpc}
	devices, err := c.Devices(ctx, key)
	if err != nil {
		pinged.Delete(mark)
		return nil, nil, a.localError(l, err)
	}
	if !withZones {
		return devices, nil, nil
	}
	zones, err := c.Zones(ctx, key)
	var apiE *homey.APIError
	if errors.As(err, &apiE) && apiE.StatusCode == http.StatusForbidden {
		return devices, nil, nil // a key without homey.zone.readonly: zone ids instead of names
	}
	if err != nil {
		pinged.Delete(mark)
		return nil, nil, a.localError(l, err)
	}
	return devices, zones, nil
}

// localError turns a failed call to a local Homey into one line that names the address and
// what to do.
func (a *app) localError(l LocalHomey, err error) error {
	var apiE *homey.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case homey.IsUnauthorized(err):
		return fmt.Errorf("the Homey %s at %s refused its API key (deleted in the Homey web app?): create a new key and run %s local add --address %s",
			l.Name, l.Address, a.cmdPrefix(), l.Address)
	case errors.As(err, &apiE) && apiE.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the API key of %s at %s lacks a permission (%s): create a key that may view devices and zones and run %s local add --address %s",
			l.Name, l.Address, firstLine(apiE), a.cmdPrefix(), l.Address)
	case errors.As(err, &apiE):
		return fmt.Errorf("the Homey %s at %s answered %s: try again in a moment", l.Name, l.Address, firstLine(apiE))
	case tray.IsNetworkError(err):
		return reachError(l.Address, err)
	}
	return fmt.Errorf("the Homey %s at %s: %s", l.Name, l.Address, firstLine(err))
}

// refusedKey explains why `local add` did not keep a key.
func (a *app) refusedKey(base string, err error) error {
	var apiE *homey.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case homey.IsUnauthorized(err):
		return fmt.Errorf("the Homey at %s refused this API key: check that you copied all of it, or create a new one in the Homey web app (Settings → API Keys); nothing was stored", base)
	case errors.As(err, &apiE) && apiE.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the Homey at %s does not let this API key read its own session (%s): create a key with more permissions; nothing was stored", base, firstLine(apiE))
	case tray.IsNetworkError(err):
		return reachError(base, err)
	}
	return fmt.Errorf("check the API key with the Homey at %s: %s; nothing was stored", base, firstLine(err))
}

// normalizeAddress makes a base URL of what the user typed: "192.168.1.20" → http://192.168.1.20.
func normalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("not a URL; say e.g. http://192.168.1.20")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("use http:// (plain, on the LAN) or https://")
	case u.Hostname() == "":
		return "", errors.New("no host; say e.g. http://192.168.1.20")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		return "", errors.New("give only scheme, host and port, e.g. http://192.168.1.20")
	}
	return u.Scheme + "://" + u.Host, nil
}

// pingHomey asks base whether a Homey answers there (GET /api/manager/system/ping, no
// authentication) and returns its id from the X-Homey-ID header. With wantID, the ping carries
// ?id= and X-Homey-ID, and another Homey answering is an error: nothing secret is sent.
func pingHomey(ctx context.Context, hc *http.Client, base, wantID string) (string, error) {
	u := base + "/api/manager/system/ping"
	if wantID != "" {
		u += "?id=" + url.QueryEscape(wantID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("ping %s: invalid address", base)
	}
	req.Header.Set("User-Agent", "homeytray")
	req.Header.Set("Accept", "application/json")
	if wantID != "" {
		req.Header.Set("X-Homey-ID", wantID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", reachError(base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	id := resp.Header.Get("X-Homey-ID")
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299 || id == "":
		return "", fmt.Errorf("%s is not a Homey (its ping answered %d without X-Homey-ID): check the address; a Homey Pro answers at http://<its IP> on its LAN", base, resp.StatusCode)
	case wantID != "" && (id != wantID || string(bytes.TrimSpace(body)) == "false"):
		return "", fmt.Errorf("%s is now another Homey (%s), not %s: the API key was not sent; if the Homey has a new address, run local add --address NEW-ADDRESS", base, id, wantID)
	}
	return id, nil
}

// reachError: nothing usable answers at base. A certificate error gets its own advice: HTTPS to
// a bare IP fails the checks, a Homey's certificate names its homeylocal.com address.
func reachError(base string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var (
		he  x509.HostnameError
		ue  x509.UnknownAuthorityError
		ie  x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	if errors.As(err, &he) || errors.As(err, &ue) || errors.As(err, &ie) || errors.As(err, &cve) {
		host := base
		if u, perr := url.Parse(base); perr == nil {
			host = u.Hostname()
		}
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
			dashed := strings.ReplaceAll(ip.String(), ".", "-")
			return fmt.Errorf("the certificate of %s is not valid for that address (HTTPS to a bare IP fails the checks): use --address https://%s.homey.homeylocal.com, or http://%s on the Homey's LAN", base, dashed, ip)
		}
		return fmt.Errorf("the certificate of %s is not valid for that address: use the Homey's https://<a-b-c-d>.homey.homeylocal.com address, or http://<its IP> on its LAN", base)
	}
	return fmt.Errorf("nothing answers at %s (%s): check the address and that this computer is on the Homey's network", base, tray.NetworkCause(err))
}

// hasScope: scopes grant want itself or through a parent ("homey" grants everything,
// "homey.device" grants "homey.device.readonly"), as the Homey checks them.
func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want || strings.HasPrefix(want, s+".") {
			return true
		}
	}
	return false
}
