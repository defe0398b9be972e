package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// keptKey is an API key that `local add` is about to keep: pasted, or made by homeytray (keyID).
type keptKey struct {
	base, id, name, key string
	keyID, keyName      string // set when homeytray made the key (--create-key)
}

// keepKeyEntry checks k with the Homey at k.base (its session: the key must be accepted and may
// view devices), then keeps the key in the keychain and the Homey in the config. Pasted or made
// here, every key goes through the same check. It returns the entry it replaced, if any.
func (f *Factory) keepKeyEntry(ctx, cctx context.Context, k keptKey) (old *config.LocalHomey, err error) {
	client := &homey.Client{BaseURL: k.base, HomeyID: k.id, HTTP: f.http}
	s, err := client.SessionMe(cctx, k.key)
	if err != nil {
		return nil, refusedKey(k.base, err)
	}
	scopes := s.IntersectedScopes
	if len(scopes) == 0 {
		scopes = s.Scopes
	}
	if !homey.HasScope(scopes, homey.ScopeDevices) {
		return nil, fmt.Errorf("the Homey at %s accepted the API key, but it may not view devices (%s): create a key with that permission in the Homey web app (Settings → API Keys); nothing was stored", k.base, homey.ScopeDevices)
	}
	c, err := f.load()
	if err != nil {
		return nil, err
	}
	name := k.name
	if name == "" {
		name = defaultLocalName(c, k.id, k.base)
	}
	if err := nameTaken(&c.Settings, k.id, name); err != nil {
		return nil, err
	}
	store, err := f.Secrets()
	if err != nil {
		return nil, err
	}
	if err := store.Set(keyAPIKeyPrefix+k.id, k.key); err != nil {
		return nil, fmt.Errorf("store the API key: %w", err)
	}
	entry := config.LocalHomey{ID: k.id, Name: name, Address: k.base, KeyID: k.keyID, KeyName: k.keyName}
	err = f.updateSettings(ctx, func(s *config.Settings) error {
		if err := nameTaken(s, k.id, name); err != nil {
			return err
		}
		old = nil
		for i, l := range s.LocalHomeys {
			if l.ID == k.id {
				prev := l
				old, s.LocalHomeys[i] = &prev, entry
			}
		}
		if old == nil {
			s.LocalHomeys = append(s.LocalHomeys, entry)
		}
		if s.SelectedHomey == "" {
			s.SelectedHomey = k.id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.tellTray(ctx)
	verb := "Added"
	if old != nil {
		verb = "Updated"
	}
	fmt.Fprintf(f.IO.Out, "%s %s (%s) at %s; its API key is in %s. It works without the Athom cloud.\n",
		verb, sanitize.Line(entry.Name, 0), k.id, k.base, store.Name())
	if !homey.HasScope(scopes, homey.ScopeZones) {
		fmt.Fprintf(f.IO.Out, "Note: the key may not view zones (%s): devices shows zone ids instead of room names.\n", homey.ScopeZones)
	}
	return old, nil
}

// nameTaken refuses a name that another API-key Homey has.
func nameTaken(s *config.Settings, id, name string) error {
	for _, l := range s.LocalHomeys {
		if l.ID != id && strings.EqualFold(l.Name, name) {
			return usageErrorf("local add: a local Homey is already called %q (%s): choose another --name", l.Name, l.ID)
		}
	}
	return nil
}

// localListEntry is one line of `local list --json`: the config's entry and whether homeytray
// made its key.
type localListEntry struct {
	config.LocalHomey
	CreatedKey bool `json:"created_key"`
}

func (f *Factory) localList(asJSON bool) error {
	c, err := f.load()
	if err != nil {
		return err
	}
	if asJSON {
		list := []localListEntry{}
		for _, l := range c.LocalHomeys {
			list = append(list, localListEntry{l, l.KeyID != ""})
		}
		return writeJSON(f, list)
	}
	if len(c.LocalHomeys) == 0 {
		fmt.Fprintf(f.IO.Out, "No local Homeys. Add one: %s local add --address http://<its IP> (API key on stdin)\n", f.prog())
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tID\tKEY")
	for _, l := range c.LocalHomeys {
		key := "pasted"
		if l.KeyID != "" {
			key = fmt.Sprintf("made by homeytray (%q on the Homey)", sanitize.Line(l.KeyName, 0))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sanitize.Line(l.Name, 0), l.Address, l.ID, key)
	}
	return tw.Flush()
}

func (f *Factory) localRemove(ctx context.Context, nameOrID string) error {
	c, err := f.load()
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
		return fmt.Errorf("no local Homey is called %q: see %s local list", sanitize.Line(nameOrID, 0), f.prog())
	}
	l := c.LocalHomeys[i]
	var onHomey string // what became of a key homeytray made, on the Homey
	if l.KeyID != "" {
		onHomey = f.deleteMadeKey(ctx, c, l)
	}
	store, err := f.Secrets()
	if err != nil {
		return err
	}
	if err := store.Delete(keyAPIKeyPrefix + l.ID); err != nil {
		return fmt.Errorf("delete the API key of %s: %w", l.Name, err)
	}
	err = f.updateSettings(ctx, func(s *config.Settings) error {
		s.LocalHomeys = slices.DeleteFunc(s.LocalHomeys, func(x config.LocalHomey) bool { return x.ID == l.ID })
		all := config.AllHomeys(c.Homeys, s.LocalHomeys)
		if !slices.ContainsFunc(all, func(h homey.Homey) bool { return h.ID == s.SelectedHomey }) {
			s.SelectedHomey = ""
			if len(all) > 0 {
				s.SelectedHomey = all[0].ID
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	f.tellTray(ctx)
	fmt.Fprintf(f.IO.Out, "Removed %s (%s); its API key is deleted from %s.\n", sanitize.Line(l.Name, 0), l.ID, store.Name())
	if onHomey != "" {
		fmt.Fprintln(f.IO.Out, onHomey)
	}
	return nil
}
