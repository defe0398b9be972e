package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
	"github.com/zalando/go-keyring"
)

// fakeSS is a second Secret Service of our own making, on a private bus: collections with
// names and items, an optional "default" alias, optionally locked. Only what ssCall and
// chooseCollection use is there (Collections, ReadAlias, Unlock, OpenSession; per collection
// SearchItems and CreateItem; per item GetSecret and Delete).
type fakeSS struct {
	mu      sync.Mutex
	conn    *dbus.Conn
	cols    []dbus.ObjectPath
	alias   dbus.ObjectPath // "/" = none
	locked  bool
	items   map[dbus.ObjectPath]*fakeItem
	seq     int
	unlocks int
}

type fakeItem struct {
	col    dbus.ObjectPath
	attrs  map[string]string
	secret []byte
}

func startFakeSS(t *testing.T, cols []string, alias string, locked bool) (client *dbus.Conn, f *fakeSS) {
	t.Helper()
	bus := startBus(t, t.TempDir())
	server, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	f = &fakeSS{conn: server, alias: "/", locked: locked, items: map[dbus.ObjectPath]*fakeItem{}}
	for _, c := range cols {
		f.cols = append(f.cols, dbus.ObjectPath("/org/freedesktop/secrets/collection/"+c))
	}
	if alias != "" {
		f.alias = dbus.ObjectPath("/org/freedesktop/secrets/collection/" + alias)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(server.Export(fakeService{f}, ssPath, ssIface))
	_, err = prop.Export(server, ssPath, prop.Map{ssIface: {"Collections": {Value: f.cols}}})
	must(err)
	for _, c := range f.cols {
		must(server.Export(&fakeCollection{f, c}, c, ssCollectionIface))
		_, err = prop.Export(server, c, prop.Map{ssCollectionIface: {"Locked": {Value: locked}}})
		must(err)
	}
	reply, err := server.RequestName(ssName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}
	client, err = dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client, f
}

type fakeService struct{ f *fakeSS }

func (s fakeService) OpenSession(alg string, _ dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	if alg != "plain" {
		return dbus.MakeVariant(""), "/", dbus.MakeFailedError(errors.New("only plain"))
	}
	return dbus.MakeVariant(""), "/org/freedesktop/secrets/session/1", nil
}

func (s fakeService) ReadAlias(name string) (dbus.ObjectPath, *dbus.Error) {
	if name != "default" {
		return "/", nil
	}
	return s.f.alias, nil
}

func (s fakeService) Unlock(objs []dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.unlocks++
	if s.f.locked {
		return nil, "/org/freedesktop/secrets/prompt/1", nil
	}
	return objs, "/", nil
}

type fakeCollection struct {
	f    *fakeSS
	path dbus.ObjectPath
}

func (c *fakeCollection) SearchItems(attrs map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var found []dbus.ObjectPath
	for p, it := range c.f.items {
		if it.col == c.path && it.attrs["service"] == attrs["service"] && it.attrs["username"] == attrs["username"] {
			found = append(found, p)
		}
	}
	return found, nil
}

func (c *fakeCollection) CreateItem(props map[string]dbus.Variant, s ssSecret, replace bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	attrs, ok := props["org.freedesktop.Secret.Item.Attributes"].Value().(map[string]string)
	if !ok {
		return "/", "/", dbus.MakeFailedError(errors.New("no attributes"))
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if replace {
		for p, it := range c.f.items {
			if it.col == c.path && fmt.Sprint(it.attrs) == fmt.Sprint(attrs) {
				it.secret = s.Value
				return p, "/", nil
			}
		}
	}
	c.f.seq++
	p := dbus.ObjectPath(fmt.Sprintf("%s/%d", c.path, c.f.seq))
	c.f.items[p] = &fakeItem{col: c.path, attrs: attrs, secret: s.Value}
	if err := c.f.conn.Export(&fakeItemObj{c.f, p}, p, ssItemIface); err != nil {
		return "/", "/", dbus.MakeFailedError(err)
	}
	return p, "/", nil
}

type fakeItemObj struct {
	f    *fakeSS
	path dbus.ObjectPath
}

func (o *fakeItemObj) GetSecret(session dbus.ObjectPath) (ssSecret, *dbus.Error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	it, ok := o.f.items[o.path]
	if !ok {
		return ssSecret{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", nil)
	}
	return ssSecret{Session: session, Value: it.secret, ContentType: "text/plain"}, nil
}

func (o *fakeItemObj) Delete() (dbus.ObjectPath, *dbus.Error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	delete(o.f.items, o.path)
	o.f.conn.Export(nil, o.path, ssItemIface)
	return "/", nil
}

// in counts the items of collection name.
func (f *fakeSS) in(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, it := range f.items {
		if it.col == dbus.ObjectPath("/org/freedesktop/secrets/collection/"+name) {
			n++
		}
	}
	return n
}

// roundTrip sets, reads back, overwrites and deletes one item through ssCall.
func roundTrip(t *testing.T, conn *dbus.Conn, f *fakeSS, where string) {
	t.Helper()
	if _, handled, err := ssCall(conn, "get", "svc", "token", ""); !handled || !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("get before set: handled %v, %v; want not found", handled, err)
	}
	for _, v := range []string{"first", "second ✓"} {
		if _, handled, err := ssCall(conn, "set", "svc", "token", v); !handled || err != nil {
			t.Fatalf("set: handled %v, %v", handled, err)
		}
		if got, handled, err := ssCall(conn, "get", "svc", "token", ""); !handled || err != nil || got != v {
			t.Fatalf("get: %d bytes, handled %v, %v; want the %d stored", len(got), handled, err, len(v))
		}
	}
	if n := f.in(where); n != 1 {
		t.Errorf("%d items in collection %s, want 1 (replaced, not added)", n, where)
	}
	if _, handled, err := ssCall(conn, "delete", "svc", "token", ""); !handled || err != nil {
		t.Fatalf("delete: handled %v, %v", handled, err)
	}
	if n := f.in(where); n != 0 {
		t.Errorf("%d items left in %s after delete", n, where)
	}
	if _, _, err := ssCall(conn, "get", "svc", "token", ""); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("get after delete: %v; want not found", err)
	}
}

// KeePassXC's shape: one collection named after the database file, the default alias on it.
func TestOwnCollectionUsesTheDefaultAlias(t *testing.T) {
	conn, f := startFakeSS(t, []string{"other", "db"}, "db", false)
	if c, err := chooseCollection(conn); err != nil || c != "/org/freedesktop/secrets/collection/db" {
		t.Fatalf("chooseCollection = %q, %v; want the default alias's collection/db", c, err)
	}
	roundTrip(t, conn, f, "db")
	if f.in("other") != 0 {
		t.Error("an item went into the collection the alias does not name")
	}
}

// No alias: the first collection.
func TestOwnCollectionFallsBackToTheFirst(t *testing.T) {
	conn, f := startFakeSS(t, []string{"first", "second"}, "", false)
	if c, err := chooseCollection(conn); err != nil || c != "/org/freedesktop/secrets/collection/first" {
		t.Fatalf("chooseCollection = %q, %v; want collection/first", c, err)
	}
	roundTrip(t, conn, f, "first")
}

// gnome-keyring's shape: a login collection is go-keyring's to use; ssCall leaves it alone.
func TestOwnCollectionLeavesLoginToGoKeyring(t *testing.T) {
	conn, f := startFakeSS(t, []string{"session", "login"}, "login", false)
	if _, handled, err := ssCall(conn, "set", "svc", "token", "v"); handled || err != nil {
		t.Fatalf("set with a login collection: handled %v, %v; want not handled", handled, err)
	}
	if f.in("login")+f.in("session") != 0 {
		t.Error("ssCall wrote although go-keyring's collection exists")
	}
}

// No collection at all (KeePassXC with no exposed group, KWallet with no wallet): one line that
// names the fix, of kind Unavailable, and not "locked".
func TestNoCollectionIsOneLineNamingTheFix(t *testing.T) {
	conn, _ := startFakeSS(t, nil, "", false)
	_, handled, err := ssCall(conn, "set", "svc", "token", "v")
	if !handled || err == nil {
		t.Fatalf("set with no collection: handled %v, %v; want an error", handled, err)
	}
	ke := &KeychainError{Backend: backendName, Op: "set", Kind: classify(err), Err: err}
	msg := ke.Error()
	if ke.Kind != Unavailable || strings.Contains(msg, "locked") || strings.ContainsAny(msg, "\n\r") ||
		!strings.Contains(msg, "has no collection") {
		t.Errorf("kind %v, message %q; want unavailable, one line saying there is no collection", ke.Kind, msg)
	}
	for comm, want := range map[string]string{
		"keepassxc":       "expose a group (Database settings → Secret Service)",
		"kwalletd5":       "KWallet's Secret Service has no wallet",
		"kwalletd6":       "KWallet's Secret Service has no wallet",
		"gnome-keyring-d": "gnome-keyring has no keyring",
		"something-else":  "the Secret Service keychain has no collection",
	} {
		err := &errNoCollection{provider: providerName(comm)}
		msg := (&KeychainError{Kind: classify(err), Err: err}).Error()
		if !strings.Contains(msg, want) || strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, "locked") {
			t.Errorf("%s: %q, want one line with %q", comm, msg, want)
		}
	}
}

// A locked collection that needs a prompt is "locked" (go-keyring answers prompts, not ssCall).
func TestOwnCollectionLocked(t *testing.T) {
	conn, f := startFakeSS(t, []string{"db"}, "db", true)
	_, handled, err := ssCall(conn, "get", "svc", "token", "")
	if !handled || classify(err) != Locked {
		t.Fatalf("get from a locked collection: handled %v, %v (kind %v); want locked", handled, err, classify(err))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unlocks != 1 {
		t.Errorf("%d Unlock calls, want 1", f.unlocks)
	}
}

// Only a Secret Service whose every collection is unlocked counts as unable to be waiting on an
// unlock prompt.
func TestCollectionsUnlocked(t *testing.T) {
	for _, c := range []struct {
		name   string
		cols   []string
		locked bool
		want   bool
	}{
		{"two unlocked", []string{"login", "session"}, false, true},
		{"locked", []string{"login"}, true, false},
		{"no collection", nil, false, false},
	} {
		conn, _ := startFakeSS(t, c.cols, "", c.locked)
		if got := collectionsUnlocked(conn); got != c.want {
			t.Errorf("%s: collectionsUnlocked = %v, want %v", c.name, got, c.want)
		}
	}
	bus := startBus(t, t.TempDir())
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if collectionsUnlocked(conn) {
		t.Errorf("a bus with no Secret Service counts as unlocked")
	}
}
