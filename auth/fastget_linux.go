package auth

import (
	"strings"

	"github.com/godbus/dbus/v5"
)

// fastGet reads one secret from the Secret Service in three D-Bus calls (SearchItems,
// OpenSession, GetSecrets) where go-keyring's Get makes seven (Collections, Unlock, SearchItems,
// OpenSession, Unlock, GetSecret, Close). On the warm `homeytray token` path that difference is
// most of what the process spends beyond starting up, so it is worth a second reader.
//
// It answers only the common case: exactly one of the items go-keyring writes (attributes
// "service" and "username") found unlocked in the login collection. Anything else — no match, a
// locked item that needs an unlock prompt, a match only in another collection, no session bus —
// returns handled=false, and the caller asks go-keyring, which knows how to unlock and whose
// errors are the ones we classify.
func fastGet(service, user string) (value string, handled bool, err error) {
	conn, err := dbus.SessionBus()
	if err != nil {
		return "", false, nil
	}
	svc := conn.Object(ssName, ssPath)
	// SearchItems first, OpenSession only after its answer — never both at once, though that
	// would save a round trip. gnome-keyring (42 to 50 at least) registers a new client in an idle
	// callback that a busy daemon can run after the client's first calls; OpenSession handled
	// then builds its reply from nothing and aborts the daemon (every program on the desktop
	// loses the keychain). Two make test runs lost theirs so, with 16 `devices` starting at once:
	// SearchItems and OpenSession of one new connection both found no client. Once SearchItems
	// is answered the client is registered; a SearchItems that met the race only fails, and
	// the caller falls back to go-keyring.
	attrs := map[string]string{"service": service, "username": user}
	var unlocked, locked []dbus.ObjectPath // locked ones are go-keyring's to unlock
	if err := svc.Call(ssIface+".SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		return "", false, nil
	}
	item, ok := loginItem(unlocked)
	if !ok {
		return "", false, nil
	}
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call(ssIface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		return "", false, nil
	}
	defer conn.Object(ssName, session).Go("org.freedesktop.Secret.Session.Close", dbus.FlagNoReplyExpected, nil)
	var secrets map[dbus.ObjectPath]ssSecret
	if err := svc.Call(ssIface+".GetSecrets", 0, []dbus.ObjectPath{item}, session).Store(&secrets); err != nil {
		return "", false, nil
	}
	s, ok := secrets[item]
	if !ok {
		return "", false, nil
	}
	return string(s.Value), true, nil
}

const (
	ssName  = "org.freedesktop.secrets"
	ssPath  = dbus.ObjectPath("/org/freedesktop/secrets")
	ssIface = "org.freedesktop.Secret.Service"
	// go-keyring keeps its items in the "login" collection.
	loginCollection = "/org/freedesktop/secrets/collection/login/"
)

// ssSecret is the Secret Service's (oayays) secret struct.
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// loginItem picks the single match in the login collection, where go-keyring writes.
func loginItem(paths []dbus.ObjectPath) (dbus.ObjectPath, bool) {
	var found []dbus.ObjectPath
	for _, p := range paths {
		if strings.HasPrefix(string(p), loginCollection) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}
