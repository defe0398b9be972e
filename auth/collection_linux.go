package auth

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// go-keyring writes into the Secret Service's "login" collection, else the object
// /org/freedesktop/secrets/aliases/default. gnome-keyring has both; other providers need not:
// KeePassXC names its collection after the database file and has no collection at all until a
// group is exposed, KWallet has none until a wallet exists, and a provider may keep collections
// without a "default" alias object. go-keyring then fails with "failed to unlock correct
// collection" (which reads as "locked") or "Alias default does not exist". When go-keyring fails,
// ownCollection looks at the service itself: with no login collection it does the call in the
// collection that ReadAlias("default") names, else the first one; with none at all it gives one
// line naming the provider and its fix (docs/desktop-tests.md#providers).

// errNoCollection is the Err of a KeychainError of kind Unavailable: the Secret Service runs but
// has nowhere to keep a secret.
type errNoCollection struct {
	provider string // "KeePassXC", "KWallet", "gnome-keyring", or "" when unknown
}

func (e *errNoCollection) Error() string {
	switch e.provider {
	case "KeePassXC":
		return "KeePassXC's Secret Service has no collection: in KeePassXC enable Secret Service integration " +
			"and expose a group (Database settings → Secret Service)"
	case "KWallet":
		return "KWallet's Secret Service has no wallet: create one named kdewallet (KWalletManager → File → " +
			"New Wallet), or use --insecure-file-store"
	case "gnome-keyring":
		return "gnome-keyring has no keyring: create a default keyring (Seahorse → + → Password keyring) and try again"
	}
	return "the Secret Service keychain has no collection: create one (a keyring, a wallet or an exposed " +
		"database group) in its settings, or use --insecure-file-store"
}

const (
	ssCollectionIface = "org.freedesktop.Secret.Collection"
	ssItemIface       = "org.freedesktop.Secret.Item"
	noPrompt          = dbus.ObjectPath("/")
)

// ownCollection redoes a failed go-keyring call (op "get", "set" or "delete") itself when the
// Secret Service has no login collection. handled is false when it has one (go-keyring's error
// stands) or when the service cannot be asked.
func ownCollection(op, service, user, pass string) (value string, handled bool, err error) {
	conn, err := dbus.SessionBus()
	if err != nil {
		return "", false, nil
	}
	return ssCall(conn, op, service, user, pass)
}

// ssCall is ownCollection on conn (the tests bring a bus of their own).
func ssCall(conn *dbus.Conn, op, service, user, pass string) (string, bool, error) {
	col, err := chooseCollection(conn)
	if err != nil {
		if _, ok := noCollectionMessage(err); ok {
			return "", true, err
		}
		return "", false, nil // the service cannot be asked either: go-keyring's error stands
	}
	if col == "" {
		return "", false, nil // the login collection: go-keyring used the right one
	}
	svc := conn.Object(ssName, ssPath)
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call(ssIface+".Unlock", 0, []dbus.ObjectPath{col}).Store(&unlocked, &prompt); err != nil {
		return "", true, err
	}
	if prompt != noPrompt || len(unlocked) != 1 {
		// Answering a prompt is go-keyring's business; its error was the right one.
		return "", true, dbus.NewError("org.freedesktop.Secret.Error.IsLocked", []any{"collection " + string(col) + " is locked"})
	}
	attrs := map[string]string{"service": service, "username": user}
	c := conn.Object(ssName, col)
	var items []dbus.ObjectPath
	if op != "set" {
		if err := c.Call(ssCollectionIface+".SearchItems", 0, attrs).Store(&items); err != nil {
			return "", true, err
		}
		if len(items) == 0 {
			return "", true, keyring.ErrNotFound
		}
	}
	switch op {
	case "delete":
		for _, it := range items {
			var p dbus.ObjectPath
			// An item that another process deleted after the search is deleted: that is done.
			if err := conn.Object(ssName, it).Call(ssItemIface+".Delete", 0).Store(&p); err != nil && !itemGone(err) {
				return "", true, err
			}
		}
		return "", true, nil
	case "get", "set":
		var ignored dbus.Variant
		var session dbus.ObjectPath
		if err := svc.Call(ssIface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
			return "", true, err
		}
		defer conn.Object(ssName, session).Go("org.freedesktop.Secret.Session.Close", dbus.FlagNoReplyExpected, nil)
		if op == "get" {
			var s ssSecret
			err := conn.Object(ssName, items[0]).Call(ssItemIface+".GetSecret", 0, session).Store(&s)
			if err != nil && itemGone(err) {
				// Another process deleted or replaced the item after the search: look again.
				if err := c.Call(ssCollectionIface+".SearchItems", 0, attrs).Store(&items); err != nil {
					return "", true, err
				}
				if len(items) == 0 {
					return "", true, keyring.ErrNotFound
				}
				err = conn.Object(ssName, items[0]).Call(ssItemIface+".GetSecret", 0, session).Store(&s)
			}
			if err != nil {
				return "", true, err
			}
			return string(s.Value), true, nil
		}
		props := map[string]dbus.Variant{
			"org.freedesktop.Secret.Item.Label":      dbus.MakeVariant(fmt.Sprintf("Password for '%s' on '%s'", user, service)),
			"org.freedesktop.Secret.Item.Attributes": dbus.MakeVariant(attrs),
		}
		secret := ssSecret{Session: session, Value: []byte(pass), ContentType: "text/plain; charset=utf8"}
		var item dbus.ObjectPath
		if err := c.Call(ssCollectionIface+".CreateItem", 0, props, secret, true).Store(&item, &prompt); err != nil {
			return "", true, err
		}
		if prompt != noPrompt {
			return "", true, dbus.NewError("org.freedesktop.Secret.Error.IsLocked", []any{"saving needs a prompt"})
		}
		return "", true, nil
	}
	return "", true, fmt.Errorf("unknown keychain operation %q", op)
}

// chooseCollection is "" when the service has a login collection (go-keyring's own choice),
// else the collection ReadAlias("default") names, else the first one. With no collection at all
// it is an error of kind Unavailable naming the provider.
func chooseCollection(conn *dbus.Conn) (dbus.ObjectPath, error) {
	svc := conn.Object(ssName, ssPath)
	cols, err := collections(conn)
	if err != nil {
		return "", err
	}
	for _, c := range cols {
		if c+"/" == loginCollection {
			return "", nil
		}
	}
	var alias dbus.ObjectPath
	if svc.Call(ssIface+".ReadAlias", 0, "default").Store(&alias) == nil && alias != noPrompt && alias != "" {
		for _, c := range cols {
			if c == alias {
				return alias, nil
			}
		}
	}
	if len(cols) > 0 {
		return cols[0], nil
	}
	return "", &errNoCollection{provider: ssProvider(conn)}
}

// noCollectionMessage is the message of an errNoCollection in err (classifyOS makes it kind
// Unavailable, unavailableMessage says it).
func noCollectionMessage(err error) (string, bool) {
	var nc *errNoCollection
	if errors.As(err, &nc) {
		return nc.Error(), true
	}
	return "", false
}

// ssProvider names the program that owns org.freedesktop.secrets, from its process name.
func ssProvider(conn *dbus.Conn) string {
	var pid uint32
	if conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, ssName).Store(&pid) != nil {
		return ""
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return providerName(strings.TrimSpace(string(comm)))
}

// providerName maps a process name (/proc/PID/comm, at most 15 bytes) to a provider.
func providerName(comm string) string {
	switch {
	case strings.HasPrefix(comm, "keepassxc"):
		return "KeePassXC"
	case strings.HasPrefix(comm, "kwalletd"), strings.HasPrefix(comm, "ksecretd"):
		return "KWallet"
	case strings.HasPrefix(comm, "gnome-keyring"):
		return "gnome-keyring"
	}
	return ""
}

// withOwnCollection runs a go-keyring call and, when it failed with anything but "not found",
// redoes it in the collection the service has (see ownCollection).
func withOwnCollection(op, service, user, pass string, f func() (string, error)) (string, error) {
	v, err := f()
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return v, err
	}
	if v2, handled, err2 := ownCollection(op, service, user, pass); handled {
		return v2, err2
	}
	return v, err
}

// allUnlocked reports whether the Secret Service answers and has at least one collection, none of
// them locked: then no unlock prompt can be what a slow call of ours waits for.
func allUnlocked() bool {
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	return collectionsUnlocked(conn)
}

// collectionsUnlocked is allUnlocked on conn (the tests bring a bus of their own).
func collectionsUnlocked(conn *dbus.Conn) bool {
	cols, err := collections(conn)
	if err != nil || len(cols) == 0 {
		return false
	}
	for _, c := range cols {
		v, err := conn.Object(ssName, c).GetProperty(ssCollectionIface + ".Locked")
		if err != nil {
			return false
		}
		if locked, ok := v.Value().(bool); !ok || locked {
			return false
		}
	}
	return true
}

// collections lists the Secret Service's collections.
func collections(conn *dbus.Conn) ([]dbus.ObjectPath, error) {
	v, err := conn.Object(ssName, ssPath).GetProperty(ssIface + ".Collections")
	if err != nil {
		return nil, err
	}
	cols, _ := v.Value().([]dbus.ObjectPath)
	return cols, nil
}
