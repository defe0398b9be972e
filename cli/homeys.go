package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// homeySide is how this run reaches Homeys: the bearer cache (the keychain, with the tray's
// memory in front), the routes (remembered in the config), and the LAN addresses it has pinged.
type homeySide struct {
	set        *settings
	keys       *keychain
	account    *athomSide
	memBearers *memBearerCache // the tray keeps bearers in memory in front of the keychain
	router     *homey.Routes
	pinged     homey.Pinged // the LAN addresses that proved to be their API-key Homey (local.go)
	signIns    homey.Gate   // one Homey sign-in at a time per Homey in this process
	// lazyRoutes: a command-line sign-in does not race the Homeys' addresses; the first command
	// that needs a route races (and its ping is the one that lets the bearer go there).
	lazyRoutes bool
}

func (h *homeySide) bearers() (*homey.Bearers, error) {
	store, err := h.keys.secrets()
	if err != nil {
		return nil, err
	}
	var cache homey.BearerCache = bearerCache{store}
	if h.memBearers != nil {
		cache = layeredBearerCache{h.memBearers, cache}
	}
	return &homey.Bearers{Cloud: h.account.cloud(), Cache: cache, HTTP: h.set.httpc, Router: h.routes(),
		Gate: &h.signIns, Lock: h.signInLock}, nil
}

// signInLock is the lock file of the sign-in to one Homey, next to the refresh lock: many
// processes on an expired Homey session make one delegation and one users/login between them.
func (h *homeySide) signInLock(ctx context.Context, homeyID string) (func(), error) {
	refresh, err := h.set.lockPath()
	if err != nil {
		return nil, err
	}
	return auth.LockFile(ctx, filepath.Join(filepath.Dir(refresh), "homey-"+lockName(homeyID)+".lock"))
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

// routes picks each Homey's address: the remembered winner of the last race (in the config), a
// new race when there is none or it stopped answering. One per process: it also remembers which
// LAN addresses this process has pinged before sending them a bearer.
func (h *homeySide) routes() *homey.Routes {
	if h.router == nil {
		h.router = &homey.Routes{HTTP: h.set.httpc, Load: h.loadRoute, Save: h.saveRoute}
	}
	return h.router
}

func (h *homeySide) loadRoute(id string) (homey.Route, bool) {
	c, err := h.set.config()
	if err != nil {
		return homey.Route{}, false
	}
	r, ok := c.Routes[id]
	return r, ok
}

func (h *homeySide) saveRoute(id string, r homey.Route) error {
	c, err := h.set.config()
	if err != nil {
		return err
	}
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
	return c.save()
}
