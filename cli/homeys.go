package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/fsutil"
)

// Access is the one way to reach a Homey (name, id, or "" for the selected one), picked here
// from the settings and nowhere else: its API key on the LAN when `local add` gave it one
// (docs/decisions.md#api-key-wins), else the Athom sign-in.
func (f *Factory) Access(ctx context.Context, nameOrID string) (homey.Access, error) {
	h, err := f.findHomey(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	c, err := f.load()
	if err != nil {
		return nil, err
	}
	if l, ok := c.LocalHomey(h.ID); ok {
		key, err := f.apiKey(l)
		if err != nil {
			return nil, err
		}
		return &homey.KeyAccess{H: h, Address: l.Address, Key: key, HTTP: f.http, Pinged: &f.pinged}, nil
	}
	bs, err := f.bearers()
	if err != nil {
		return nil, err
	}
	return homey.SignedIn{Bearers: bs, H: h}, nil
}

// apiKey reads the API key of l from the secret store.
func (f *Factory) apiKey(l config.LocalHomey) (string, error) {
	store, err := f.Secrets()
	if err != nil {
		return "", err
	}
	key, err := store.Get(keyAPIKeyPrefix + l.ID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || (err == nil && key == ""):
		return "", &failure.KeyMissingError{Homey: l.Name, ID: l.ID, Address: l.Address, Keychain: store.Name()}
	case err != nil:
		return "", fmt.Errorf("read the API key of %s: %w", l.Name, err)
	}
	return key, nil
}

// newBearers is how this run gets Homey session bearers through the Athom sign-in: the cache
// (the keychain, with the background process's memory in front), the routes (remembered in the
// cache file), and one sign-in at a time per Homey, in this process and across processes.
func (f *Factory) newBearers() (*homey.Bearers, error) {
	store, err := f.Secrets()
	if err != nil {
		return nil, err
	}
	var cache homey.BearerCache = bearerCache{store}
	if f.memBearers != nil {
		cache = layeredBearerCache{f.memBearers, cache}
	}
	f.routes = &homey.Routes{HTTP: f.http, Load: f.loadRoute, Save: f.saveRoute}
	return &homey.Bearers{Cloud: f.cloud(), Cache: cache, HTTP: f.http, Router: f.routes,
		Gate: &f.signIns, Lock: f.signInLock}, nil
}

// signInLock is the lock file of the sign-in to one Homey, next to the refresh lock: many
// processes on an expired Homey session make one delegation and one users/login between them.
func (f *Factory) signInLock(ctx context.Context, homeyID string) (func(), error) {
	path, err := f.lockPath("homey-" + lockName(homeyID) + ".lock")
	if err != nil {
		return nil, err
	}
	return fsutil.Lock(ctx, path)
}

// lockName is a Homey id fit for a file name: the id itself when it is plain (cloud ids are 24
// hex digits), else a hash of it.
func lockName(id string) string {
	plain := id != "" && len(id) <= 64
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			plain = false
		}
	}
	if plain {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

func (f *Factory) loadRoute(id string) (homey.Route, bool) {
	c, err := f.load()
	if err != nil {
		return homey.Route{}, false
	}
	r, ok := c.Routes[id]
	return r, ok
}

func (f *Factory) saveRoute(id string, r homey.Route) error {
	return f.updateCache(context.Background(), func(c *config.Cache) error {
		if c.Routes[id] == r {
			return nil
		}
		if c.Routes == nil {
			c.Routes = map[string]homey.Route{}
		}
		if r.IsZero() {
			delete(c.Routes, id)
		} else {
			c.Routes[id] = r
		}
		return nil
	})
}

// refreshHomeys asks /user/me for the account and its Homeys and keeps the answer in the cache;
// a selection that no longer exists falls back to the first Homey.
func (f *Factory) refreshHomeys(ctx context.Context) error {
	u, err := f.cloud().Me(ctx)
	if err != nil {
		return fmt.Errorf("fetch the account: %w", err)
	}
	routes := map[string]homey.Route(nil) // the first command that needs a route races (homey.Routes)
	if !f.lazyRoutes {
		routes = f.raceRoutes(ctx, u.Homeys)
	}
	err = f.updateCache(ctx, func(c *config.Cache) error {
		c.User = &config.User{ID: u.ID, Name: u.Name(), Email: u.Email}
		c.Homeys, c.HomeysFetchedAt, c.Routes = u.Homeys, time.Now().UTC(), routes
		return nil
	})
	if err != nil {
		return err
	}
	return f.updateSettings(ctx, func(s *config.Settings) error {
		all := config.AllHomeys(u.Homeys, s.LocalHomeys)
		if s.SelectedHomey != "" && !slices.ContainsFunc(all, func(h homey.Homey) bool { return h.ID == s.SelectedHomey }) {
			s.SelectedHomey = ""
		}
		if s.SelectedHomey == "" && len(u.Homeys) > 0 {
			s.SelectedHomey = u.Homeys[0].ID
		}
		return nil
	})
}

// raceRoutes races every Homey's addresses at once (when the list is fetched, so that the first
// `token` after it needs no race: docs/protocol.md#our-race) and returns the winners. A Homey
// that answers on no address is left out: the next call to it races again, and says so then.
func (f *Factory) raceRoutes(ctx context.Context, hs []homey.Homey) map[string]homey.Route {
	var mu sync.Mutex
	routes := map[string]homey.Route{}
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() {
			if r, err := homey.Race(ctx, h, f.http); err == nil {
				mu.Lock()
				routes[h.ID] = r
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return routes
}

// findHomey resolves a name or id from the cached list, fetching the list when it is unknown or
// does not have the Homey. "" means the selected Homey (or the only one).
func (f *Factory) findHomey(ctx context.Context, nameOrID string) (homey.Homey, error) {
	c, err := f.load()
	if err != nil {
		return homey.Homey{}, err
	}
	want := nameOrID
	if want == "" {
		want = c.SelectedHomey
	}
	if want != "" {
		if h, err := c.Homey(want); err == nil || errors.Is(err, config.ErrAmbiguousHomey) {
			return h, err
		}
	}
	if c.HomeysFetchedAt.IsZero() || want != "" {
		cctx, cancel := withTimeout(ctx)
		defer cancel()
		if err := f.refreshHomeys(cctx); err != nil {
			notSignedIn := errors.Is(err, auth.ErrNotSignedIn)
			if len(c.LocalHomeys) > 0 && notSignedIn && want != "" {
				return c.Homey(want) // only API-key Homeys: the name is not among them
			}
			return homey.Homey{}, err
		}
		if c, err = f.load(); err != nil {
			return homey.Homey{}, err
		}
	}
	switch {
	case nameOrID != "":
		return c.Homey(nameOrID)
	case c.SelectedHomey != "":
		return c.Homey(c.SelectedHomey)
	}
	return homey.Homey{}, failure.ErrNoHomeys
}

// selectHomey makes id the default Homey (`use`, and the tray's Homeys menu).
func (f *Factory) selectHomey(ctx context.Context, id string) error {
	return f.updateSettings(ctx, func(s *config.Settings) error {
		s.SelectedHomey = id
		return nil
	})
}

// bearer is a bearer for a Homey (name, id, or "" for the selected one), the way Access picks.
func (f *Factory) bearer(ctx context.Context, nameOrID string) (*homey.Bearer, error) {
	acc, err := f.Access(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	return acc.Bearer(ctx)
}

// devices lists a Homey's devices (and zones, withZones), the way Access picks.
func (f *Factory) devices(ctx context.Context, nameOrID string, withZones bool) (map[string]homey.Device, map[string]homey.Zone, error) {
	acc, err := f.Access(ctx, nameOrID)
	if err != nil {
		return nil, nil, err
	}
	return homey.ListDevices(ctx, acc, withZones)
}
