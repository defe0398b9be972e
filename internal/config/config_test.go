package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/homeytray/homeytray/homey"
)

func newStore(t *testing.T) *Store {
	dir := t.TempDir()
	return &Store{SettingsPath: filepath.Join(dir, "config", "config.json"), CachePath: filepath.Join(dir, "cache", "cache.json")}
}

// another is a second process's view of the same files.
func another(s *Store) *Store { return &Store{SettingsPath: s.SettingsPath, CachePath: s.CachePath} }

func mustLoad(t *testing.T, s *Store) *Snapshot {
	t.Helper()
	c, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadNothing(t *testing.T) {
	c := mustLoad(t, newStore(t))
	if c.ClientID != "" || c.User != nil || len(c.Homeys) != 0 || len(c.LocalHomeys) != 0 {
		t.Fatalf("not empty: %+v", c)
	}
}

func TestUpdateSeenByOthers(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	b := another(a)
	mustLoad(t, b) // b has read the files once
	if err := a.UpdateSettings(ctx, func(s *Settings) error { s.SelectedHomey = "h1"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, b).SelectedHomey; got != "h1" {
		t.Fatalf("b sees selected %q, want h1", got)
	}
	if err := b.UpdateCache(ctx, func(c *Cache) error { c.User = &User{ID: "u", Name: "Ada"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, a); got.User == nil || got.User.Name != "Ada" || got.SelectedHomey != "h1" {
		t.Fatalf("a sees %+v", got)
	}
}

func TestUpdateAborts(t *testing.T) {
	s := newStore(t)
	boom := errors.New("boom")
	err := s.UpdateSettings(context.Background(), func(st *Settings) error { st.ClientID = "x"; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(s.SettingsPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an aborted change wrote the file (%v)", err)
	}
}

// Two writers changing different things at the same moment, over and over: every change lands.
// Each writer has its own Store, as two processes would.
func TestConcurrentChangesAllLand(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const rounds = 100
	var wg sync.WaitGroup
	wg.Go(func() { // `use`, again and again
		w := another(s)
		for i := range rounds {
			if err := w.UpdateSettings(ctx, func(st *Settings) error { st.SelectedHomey = fmt.Sprint("h", i); return nil }); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() { // `local add`
		w := another(s)
		for i := range rounds {
			if err := w.UpdateSettings(ctx, func(st *Settings) error {
				st.LocalHomeys = append(st.LocalHomeys, LocalHomey{ID: fmt.Sprint("l", i), Name: fmt.Sprint("L", i)})
				return nil
			}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() { // a route found, a refresh error noted
		w := another(s)
		for i := range rounds {
			if err := w.UpdateCache(ctx, func(c *Cache) error {
				if c.Routes == nil {
					c.Routes = map[string]homey.Route{}
				}
				c.Routes[fmt.Sprint("h", i)] = homey.Route{Strategy: homey.StrategyLocal, BaseURL: "http://10.0.0.1"}
				c.LastRefreshError = fmt.Sprint("error ", i)
				return nil
			}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	got := mustLoad(t, s)
	if got.SelectedHomey != fmt.Sprint("h", rounds-1) {
		t.Errorf("selected %q, want the last one", got.SelectedHomey)
	}
	if len(got.LocalHomeys) != rounds || len(got.Routes) != rounds {
		t.Errorf("%d local Homeys and %d routes, want %d of each", len(got.LocalHomeys), len(got.Routes), rounds)
	}
}

// The same across processes: children add one API-key Homey each, all at once.
func TestProcessesAllLand(t *testing.T) {
	if os.Getenv("CONFIG_TEST_CHILD") != "" {
		return
	}
	s := newStore(t)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChild$")
			cmd.Env = append(os.Environ(), "CONFIG_TEST_CHILD="+strconv.Itoa(i),
				"CONFIG_TEST_SETTINGS="+s.SettingsPath, "CONFIG_TEST_CACHE="+s.CachePath)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	got := mustLoad(t, s)
	if len(got.LocalHomeys) != n*10 || len(got.Routes) != n*10 {
		t.Fatalf("%d local Homeys and %d routes, want %d of each", len(got.LocalHomeys), len(got.Routes), n*10)
	}
}

// TestChild is the child process of TestProcessesAllLand (it does nothing on its own).
func TestChild(t *testing.T) {
	i := os.Getenv("CONFIG_TEST_CHILD")
	if i == "" {
		return
	}
	s := &Store{SettingsPath: os.Getenv("CONFIG_TEST_SETTINGS"), CachePath: os.Getenv("CONFIG_TEST_CACHE")}
	ctx := context.Background()
	for j := range 10 {
		id := i + "-" + strconv.Itoa(j)
		if err := s.UpdateSettings(ctx, func(st *Settings) error {
			st.LocalHomeys = append(st.LocalHomeys, LocalHomey{ID: id})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateCache(ctx, func(c *Cache) error {
			if c.Routes == nil {
				c.Routes = map[string]homey.Route{}
			}
			c.Routes[id] = homey.Route{Strategy: homey.StrategyCloud, BaseURL: "https://x"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCorruptSettings(t *testing.T) {
	s := newStore(t)
	if err := os.MkdirAll(filepath.Dir(s.SettingsPath), 0o700); err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"client_id": "x"`)
	if err := os.WriteFile(s.SettingsPath, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *Error
	if _, err := s.Load(); !errors.As(err, &ce) || ce.Path != s.SettingsPath {
		t.Fatalf("Load: %v, want an *Error naming the file", err)
	}
	if err := s.UpdateSettings(context.Background(), func(st *Settings) error { st.SelectedHomey = "h"; return nil }); !errors.As(err, &ce) {
		t.Fatalf("UpdateSettings: %v, want an *Error", err)
	}
	if b, _ := os.ReadFile(s.SettingsPath); string(b) != string(bad) {
		t.Fatalf("the damaged file was changed: %q", b)
	}
}

func TestCorruptCacheIsEmpty(t *testing.T) {
	s := newStore(t)
	if err := os.MkdirAll(filepath.Dir(s.CachePath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.CachePath, []byte("}{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c := mustLoad(t, s); c.User != nil {
		t.Fatalf("cache %+v", c.Cache)
	}
	if err := s.UpdateCache(context.Background(), func(c *Cache) error { c.User = &User{Name: "Ada"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if c := mustLoad(t, s); c.User == nil || c.User.Name != "Ada" {
		t.Fatalf("cache %+v", c.Cache)
	}
}

// A config.json of before the cache file: its cache fields are the cache until one is written,
// and a change of the settings moves them to cache.json first.
func TestLegacyConfig(t *testing.T) {
	s := newStore(t)
	if err := os.MkdirAll(filepath.Dir(s.SettingsPath), 0o700); err != nil {
		t.Fatal(err)
	}
	old := `{"client_id":"c1","selected_homey":"h1","user":{"id":"u1","name":"Ada"},"homeys":[{"id":"h1","name":"Home"}],` +
		`"routes":{"h1":{"strategy":"local","base_url":"http://10.0.0.2"}},"last_refresh_error":"boom"}`
	if err := os.WriteFile(s.SettingsPath, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		c := mustLoad(t, another(s))
		if c.ClientID != "c1" || c.SelectedHomey != "h1" || c.User == nil || c.User.Name != "Ada" ||
			len(c.Homeys) != 1 || c.Routes["h1"].BaseURL != "http://10.0.0.2" || c.LastRefreshError != "boom" {
			t.Fatalf("%s: %+v", when, c)
		}
	}
	check("as written")
	if err := s.UpdateSettings(context.Background(), func(st *Settings) error { st.RedirectURI = "http://localhost:1/cb"; return nil }); err != nil {
		t.Fatal(err)
	}
	check("after a change of the settings")
	b, _ := os.ReadFile(s.SettingsPath)
	if strings.Contains(string(b), "Ada") || strings.Contains(string(b), "routes") {
		t.Errorf("config.json still holds the cache:\n%s", b)
	}
}

func TestAllHomeys(t *testing.T) {
	c := &Snapshot{
		Settings: Settings{LocalHomeys: []LocalHomey{{ID: "h2", Name: "Lab key", Address: "http://10.0.0.3"}, {ID: "h3", Name: "Shed", Address: "https://10-0-0-4.homey.homeylocal.com"}}},
		Cache:    Cache{Homeys: []homey.Homey{{ID: "h1", Name: "Home"}, {ID: "h2", Name: "Lab"}}},
	}
	var names []string
	for _, h := range c.AllHomeys() {
		names = append(names, h.ID+"="+h.Name)
	}
	if want := []string{"h1=Home", "h2=Lab key", "h3=Shed"}; !slices.Equal(names, want) {
		t.Fatalf("AllHomeys = %v, want %v", names, want)
	}
	if h, err := c.Homey("shed"); err != nil || h.ID != "h3" || h.LocalURLSecure == "" {
		t.Fatalf("Homey(shed) = %+v, %v", h, err)
	}
	if _, err := c.Homey("nope"); !errors.Is(err, ErrNoSuchHomey) {
		t.Fatalf("Homey(nope): %v", err)
	}
}
