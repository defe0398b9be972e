package cli

import (
	"context"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/agent"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/desktop"
)

// defaultClipboardClear is how long a copied bearer stays on the clipboard (config key
// clipboard_clear_seconds; 0 = never).
const defaultClipboardClear = 60 * time.Second

// agentCore is what the agent and the tray's menu ask of the command line's parts (agent.Core).
// They call it from several goroutines (clicks, the background refresh, the script socket); each
// call holds mu, so that one runs at a time — except the wait for the browser in Login, which can
// last minutes.
type agentCore struct {
	f  *Factory
	mu sync.Mutex
}

func (t *agentCore) Account(ctx context.Context) (agent.Account, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.f.Session()
	if err != nil {
		return agent.Account{}, err
	}
	if _, err := s.Stored(); err != nil {
		return agent.Account{}, err
	}
	c, err := t.f.load()
	if err != nil {
		return agent.Account{}, err
	}
	if c.User == nil {
		return agent.Account{Name: "your Athom account"}, nil
	}
	return agent.Account{Name: c.User.Name, Email: c.User.Email}, nil
}

func (t *agentCore) AccessToken(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.f.Session()
	if err != nil {
		return nil, err
	}
	tok, err := s.TokenContext(ctx)
	t.f.noteRefresh(err)
	return tok, err
}

func (t *agentCore) Bearer(ctx context.Context, homeyID string) (*homey.Bearer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.bearer(ctx, homeyID)
}

func (t *agentCore) Homeys(ctx context.Context) ([]homey.Homey, string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, err := t.f.load()
	if err != nil {
		return nil, "", err
	}
	if c.HomeysFetchedAt.IsZero() {
		// API-key Homeys need no cloud: without it the menu lists them alone.
		if err := t.f.refreshHomeys(ctx); err != nil && len(c.LocalHomeys) == 0 {
			return nil, "", err
		}
	}
	t.f.reraceRelayed()
	if c, err = t.f.load(); err != nil {
		return nil, "", err
	}
	list := c.AllHomeys()
	// The menu says how each Homey is reached: by API key, or on the route that won the last race.
	for i, h := range list {
		if c.Way(h.ID).Kind == config.WayAPIKey {
			list[i].Name = h.Name + " (API key)"
		} else if kind := c.Routes[h.ID].Kind(); kind != "" {
			list[i].Name = h.Name + " (" + kind + ")"
		}
	}
	return list, c.SelectedHomey, nil
}

// reraceRelayed forgets the route of each Homey that fell back to Athom's relay although it has a
// LAN address, so that its next call races again. The tray's refresher looks at the Homey list at
// start, after a sign-in or a change on the command line, and after the machine wakes up: a
// laptop that comes home moves back from the relay to the LAN.
func (f *Factory) reraceRelayed() {
	_ = f.updateCache(context.Background(), func(c *config.Cache) error { // best effort: at worst the relay stays
		for _, h := range c.Homeys {
			r, ok := c.Routes[h.ID]
			if !ok || r.IsLocal() {
				continue
			}
			if slices.ContainsFunc(h.Candidates(), homey.Route.IsLocal) {
				delete(c.Routes, h.ID)
			}
		}
		return nil
	})
}

func (t *agentCore) Select(homeyID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.selectHomey(context.Background(), homeyID)
}

func (t *agentCore) Devices(ctx context.Context, homeyID string) (map[string]homey.Device, map[string]homey.Zone, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.devices(ctx, homeyID, true)
}

// Realtime is the credential source of a realtime connection to a Homey (agent.Realtime), the
// way Access picks: the tray's Devices submenu stays current over it.
func (t *agentCore) Realtime(ctx context.Context, homeyID string) (homey.BearerSource, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	acc, err := t.f.Access(ctx, homeyID)
	if err != nil {
		return nil, err
	}
	return acc.Realtime(), nil
}

func (t *agentCore) Login(ctx context.Context) error {
	t.mu.Lock()
	s, l, err := t.f.prepareLogin(true, nil)
	t.mu.Unlock()
	if err != nil {
		return err
	}
	code, err := l.Code(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.finishLogin(ctx, s, code)
}

func (t *agentCore) Logout(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.f.memBearers.clear()
	_, err := t.f.logout(ctx, false)
	return err
}

// SettingsChanged reports whether another process changed the settings since the last call.
func (t *agentCore) SettingsChanged() bool {
	s, err := t.f.Config()
	return err == nil && s.SettingsChanged()
}

// Reload forgets what this process keeps in memory of the sign-in, so that a sign-in or sign-out
// made on the command line shows at once (the settings and the cache are read as they change).
func (t *agentCore) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.f.session.renew()
	t.f.memBearers.clear()
	_, err := t.f.load()
	return err
}

// autostart is start-at-login for this binary, or nil where the OS has none.
func (f *Factory) autostart() desktop.Autostart {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	args := []string{"tray"}
	if f.profile.demo {
		args = []string{"demo"}
	}
	as, err := desktop.NewAutostart(f.profile.appName(), exe, args)
	if err != nil {
		return nil
	}
	return as
}

// memBearerCache keeps Homey bearers in memory in front of the keychain, so that the tray hands
// them out (to clicks and to scripts over its socket) without a keychain read. Writes go through
// to the keychain, which the CLI reads when no tray runs.
type memBearerCache struct {
	mu sync.Mutex
	m  map[string]*homey.Bearer
}

type layeredBearerCache struct {
	mem  *memBearerCache
	next homey.BearerCache
}

func (c layeredBearerCache) LoadBearer(id string) (*homey.Bearer, error) {
	c.mem.mu.Lock()
	b, ok := c.mem.m[id]
	c.mem.mu.Unlock()
	if ok {
		cp := *b
		return &cp, nil
	}
	b, err := c.next.LoadBearer(id)
	if err == nil && b != nil {
		c.mem.put(b)
	}
	return b, err
}

// ReloadBearer reads the keychain past the memory (homey.BearerReloader): under the sign-in lock,
// a command may have signed in to the Homey since the tray last looked.
func (c layeredBearerCache) ReloadBearer(id string) (*homey.Bearer, error) {
	b, err := c.next.LoadBearer(id)
	if err != nil {
		return nil, err
	}
	c.mem.mu.Lock()
	delete(c.mem.m, id)
	c.mem.mu.Unlock()
	if b != nil {
		c.mem.put(b)
	}
	return b, nil
}

func (c layeredBearerCache) SaveBearer(b *homey.Bearer) error {
	if err := c.next.SaveBearer(b); err != nil {
		return err
	}
	c.mem.put(b)
	return nil
}

func (c layeredBearerCache) DropBearer(id string) error {
	c.mem.mu.Lock()
	delete(c.mem.m, id)
	c.mem.mu.Unlock()
	return c.next.DropBearer(id)
}

func (m *memBearerCache) put(b *homey.Bearer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]*homey.Bearer{}
	}
	cp := *b
	m.m[b.HomeyID] = &cp
}

func (m *memBearerCache) clear() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.m = nil
	m.mu.Unlock()
}
