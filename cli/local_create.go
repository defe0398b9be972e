package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// `local add NAME --create-key`: an API key made on a Homey of the account from the owner's
// sign-in (docs/protocol.md#create-key), so that the Homey works on its LAN with no Athom cloud afterwards.

// webAppKeys is where a Homey's owner sees and deletes its API keys.
const webAppKeys = "the Homey web app (my.homey.app → Settings → API keys)"

// keyName is the name of the keys homeytray makes: "homeytray on <this computer>".
func keyName() string {
	host, err := os.Hostname()
	host = strings.TrimSpace(sanitize.Line(host, 0))
	if err != nil || host == "" {
		host = "this computer"
	}
	return "homeytray on " + host
}

func (f *Factory) localCreateKey(ctx context.Context, o localAddOptions) error {
	if o.discovered == "" {
		return usageErrorf("local add --create-key: name the Homey of your account to make the key on, e.g. %s local add Home --create-key", f.prog())
	}
	scopes, err := homey.ParseScopes(o.scopes)
	if err != nil {
		return usageErrorf("local add: --scopes: %v: give readonly, control, full, or names like %s,%s", err, homey.ScopeDevices, homey.ScopeZones)
	}
	if !homey.HasScope(scopes, homey.ScopeDevices) {
		return usageErrorf("local add: --scopes must let the key view devices (%s, or homey.device, or homey)", homey.ScopeDevices)
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	h, err := f.findHomey(cctx, o.discovered)
	if err != nil {
		return err
	}
	c, err := f.load()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(c.Homeys, func(x homey.Homey) bool { return x.ID == h.ID }) {
		return fmt.Errorf("%s is not a Homey of the signed-in account, so no key can be made on it: add it with a key from %s (%s local add --address URL)",
			sanitize.Line(h.Name, 0), webAppKeys, f.prog())
	}
	if err := noKeys(h); err != nil {
		return err
	}
	base, err := f.lanAddress(cctx, h, o.address)
	if err != nil {
		return err
	}
	bs, err := f.bearers()
	if err != nil {
		return err
	}
	name := keyName()
	var made *homey.APIKey
	err = bs.DoOnce(cctx, h, func(ctx context.Context, c *homey.Client, bearer string) (err error) {
		made, err = c.CreateAPIKey(ctx, bearer, name, scopes)
		return err
	})
	if err != nil {
		return keyRefused(h, "make an API key on", err)
	}
	old, err := f.keepKeyEntry(ctx, cctx, keptKey{base: base, id: h.ID, name: o.name, key: made.Token, keyID: made.ID, keyName: name})
	if err != nil {
		if derr := deleteKey(cctx, bs, h, made.ID); derr != nil {
			return fmt.Errorf("%w; the new key %q stays on the Homey: delete it in %s", err, name, webAppKeys)
		}
		return fmt.Errorf("%w (the new key is deleted from the Homey again)", err)
	}
	fmt.Fprintf(f.IO.Out, "The key is %q on %s, with %s.\n", name, sanitize.Line(h.Name, 0), strings.Join(scopes, ", "))
	if old != nil && old.KeyID != "" && old.KeyID != made.ID {
		if err := deleteKey(cctx, bs, h, old.KeyID); err != nil {
			fmt.Fprintf(f.IO.Out, "The previous key %q stays on the Homey (%s): delete it in %s.\n", sanitize.Line(old.KeyName, 0), firstLine(err), webAppKeys)
		}
	}
	return nil
}

// noKeys refuses a Homey that has no API keys.
func noKeys(h homey.Homey) error {
	switch {
	case h.Platform == "cloud":
		return fmt.Errorf("%s is a Homey Cloud, which has no API keys: it is reached through the Athom cloud only (homeytray token)", sanitize.Line(h.Name, 0))
	case !homey.HasAPIKeys(h):
		return fmt.Errorf("%s is a Homey Pro 2019 or older (API version %d), which has no API keys: it is reached with the Athom sign-in (homeytray token)", sanitize.Line(h.Name, 0), h.APIVersion)
	}
	return nil
}

// lanAddress is where the key will be used: address when given, else the first of the Homey's
// LAN addresses (localUrlSecure, localUrl) whose ping proves it is this Homey. It is found
// before the key is made: a key that cannot be used here is not made.
func (f *Factory) lanAddress(ctx context.Context, h homey.Homey, address string) (string, error) {
	if address != "" {
		base, err := homey.NormalizeAddress(address)
		if err != nil {
			return "", usageErrorf("local add: --address %s: %v", sanitize.Line(address, 0), err)
		}
		if _, err := pingHomey(ctx, f.http, base, h.ID); err != nil {
			return "", err
		}
		return base, nil
	}
	var tried []string
	var last error
	for _, r := range h.Candidates() {
		if !r.IsLocal() {
			continue
		}
		tried = append(tried, r.BaseURL)
		if _, last = pingHomey(ctx, f.http, r.BaseURL, h.ID); last == nil {
			return r.BaseURL, nil
		}
	}
	if last == nil {
		return "", fmt.Errorf("the Athom account knows no LAN address of %s: give it with --address http://<its IP>; no key was made", sanitize.Line(h.Name, 0))
	}
	return "", fmt.Errorf("%s answers on none of its LAN addresses from here (%s: %s): run this on the Homey's network, or give --address; no key was made",
		sanitize.Line(h.Name, 0), strings.Join(tried, ", "), firstLine(last))
}

// deleteKey deletes the key id from Homey h with the owner's sign-in.
func deleteKey(ctx context.Context, bs *homey.Bearers, h homey.Homey, id string) error {
	return bs.Do(ctx, h, func(ctx context.Context, c *homey.Client, bearer string) error {
		return c.DeleteAPIKey(ctx, bearer, id)
	})
}

// keyRefused words a Homey's refusal to manage its keys (what is "make an API key on").
func keyRefused(h homey.Homey, what string, err error) error {
	name := sanitize.Line(h.Name, 0)
	switch {
	case homey.HasCode(err, http.StatusForbidden, homey.CodeMustBeOwner):
		return fmt.Errorf("only the owner of %s can make or delete its API keys, and this Athom account is not: ask the owner, or make a key in %s with their account", name, webAppKeys)
	case homey.HasCode(err, http.StatusForbidden, homey.CodeInvalidSessionType):
		return fmt.Errorf("%s refused: an API key's session cannot manage API keys (403 Invalid Session Type): sign in with %s login and try again", name, "homeytray")
	case homey.HasCode(err, http.StatusForbidden, homey.CodeMissingScopes):
		return fmt.Errorf("%s refused: this sign-in may not manage API keys (403 Missing Scopes): make the key in %s", name, webAppKeys)
	case homey.StatusOf(err) == http.StatusNotFound:
		return fmt.Errorf("%s has no API keys to manage (404): it may be a Homey Pro 2019 or a Homey Cloud; make a key in %s if it offers one", name, webAppKeys)
	}
	return fmt.Errorf("%s %s: %w", what, name, err)
}

// deleteMadeKey deletes the key homeytray made for l from the Homey, with the Athom sign-in, and
// says what happened when that could not be done ("" when it was).
func (f *Factory) deleteMadeKey(ctx context.Context, c *config.Snapshot, l config.LocalHomey) string {
	stays := fmt.Sprintf("The key %q stays on the Homey", sanitize.Line(l.KeyName, 0))
	i := slices.IndexFunc(c.Homeys, func(h homey.Homey) bool { return h.ID == l.ID })
	if i < 0 {
		return stays + ": delete it in " + webAppKeys + "."
	}
	h := c.Homeys[i]
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	bs, err := f.bearers()
	if err == nil {
		err = deleteKey(cctx, bs, h, l.KeyID)
	}
	switch {
	case err == nil:
		return fmt.Sprintf("The key %q is deleted from %s.", sanitize.Line(l.KeyName, 0), sanitize.Line(h.Name, 0))
	case errors.Is(err, context.Canceled):
		return stays + " (interrupted): delete it in " + webAppKeys + "."
	}
	msg := failure.Of(keyRefused(h, "delete the API key on", err)).Message(f.prog())
	return fmt.Sprintf("%s (%s): delete it in %s.", stays, msg, webAppKeys)
}
