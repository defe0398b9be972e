package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// Local Homeys: a Homey Pro (Early 2023 and later) reached with an API key created in its web
// app (Settings → API Keys; PROTOCOL §6.1). The key is the bearer itself: no Athom cloud, no
// delegation, no users/login, no expiry. It is kept in the keychain (item "apikey:<homeyID>"),
// the Homey's id, name and address in the config. When a Homey is both on the Athom account and
// here, its API key wins.

// keyAPIKeyPrefix is the Store item of a local Homey's API key.
const keyAPIKeyPrefix = "apikey:"

// LocalHomey is a Homey reached with an API key. No secret: the key is in the keychain.
type LocalHomey struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"` // base URL, e.g. http://192.168.1.20, no trailing slash
	// KeyID and KeyName are set when homeytray made the key (`local add --create-key`): its id
	// and name on the Homey, so that `local remove` can delete it there. Not secret.
	KeyID   string `json:"key_id,omitempty"`
	KeyName string `json:"key_name,omitempty"`
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

// localDevices sends the key of l only to an address that proved, by a ping in this process
// within a minute, to be that Homey (a.pinged); an error at the address forgets the proof.
func (a *app) localDevices(ctx context.Context, l LocalHomey, withZones bool) (map[string]homey.Device, map[string]homey.Zone, error) {
	key, err := a.apiKey(l)
	if err != nil {
		return nil, nil, err
	}
	if err := a.pinged.Check(ctx, a.httpc, l.Address, l.ID); err != nil {
		return nil, nil, pingError(l.Address, err)
	}
	c := &homey.Client{BaseURL: l.Address, HomeyID: l.ID, HTTP: a.httpc}
	devices, err := c.Devices(ctx, key)
	if err != nil {
		a.pinged.Forget(l.ID, l.Address)
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
		a.pinged.Forget(l.ID, l.Address)
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
	case homey.IsNetworkError(err):
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
	case homey.IsNetworkError(err):
		return reachError(base, err)
	}
	return fmt.Errorf("check the API key with the Homey at %s: %s; nothing was stored", base, firstLine(err))
}

// pingHomey is homey.Ping with its failures in words: what answered instead of the Homey,
// and what to do.
func pingHomey(ctx context.Context, hc *http.Client, base, wantID string) (string, error) {
	id, err := homey.Ping(ctx, hc, base, wantID)
	if err != nil {
		return "", pingError(base, err)
	}
	return id, nil
}

// pingError words a failed homey.Ping of base: nothing answers, something that is no Homey, or
// another Homey (nothing secret was sent).
func pingError(base string, err error) error {
	var pe *homey.PingError
	switch {
	case errors.As(err, &pe) && pe.NotHomey():
		return fmt.Errorf("%s is not a Homey (its ping answered %d without X-Homey-ID): check the address; a Homey Pro answers at http://<its IP> on its LAN", base, pe.StatusCode)
	case errors.As(err, &pe):
		return fmt.Errorf("%s is now another Homey (%s), not %s: the API key was not sent; if the Homey has a new address, run local add --address NEW-ADDRESS", base, pe.ID, pe.WantID)
	case homey.IsNetworkError(err): // every failure to get an answer, certificates included
		return reachError(base, err)
	}
	return err // an address that makes no request
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
	return fmt.Errorf("nothing answers at %s (%s): check the address and that this computer is on the Homey's network", base, homey.NetworkCause(err))
}
