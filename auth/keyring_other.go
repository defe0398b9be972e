//go:build !darwin && !windows

package auth

import (
	"errors"
	"net"
	"os/exec"
	"strings"

	"github.com/godbus/dbus/v5"
)

// On Linux and the BSDs go-keyring talks to the freedesktop Secret Service
// (gnome-keyring, KeePassXC, KWallet) over the D-Bus session bus.
const (
	backendName = "Secret Service"
	backendNoun = "the Secret Service keychain"
	lockedFix   = " is locked: unlock it (e.g. log in to your desktop session) and try again"
)

// classifyOS sorts the errors seen from go-keyring and godbus (docs/desktop-tests.md#keychain-errors
// has the real texts); 0 means "no rule matched".
func classifyOS(err error) KeychainErrorKind {
	if _, ok := noCollectionMessage(err); ok {
		return Unavailable // a provider with no collection (collection_linux.go)
	}
	if noSessionBus(err) {
		return Unavailable
	}
	if name := dbusErrorName(err); name != "" {
		switch name {
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			// Nobody owns org.freedesktop.secrets and the bus cannot
			// activate it: no keychain daemon is running.
			return Unavailable
		case "org.freedesktop.Secret.Error.IsLocked":
			return Locked
		case "org.freedesktop.DBus.Error.NoReply":
			return Timeout
		case "org.freedesktop.DBus.Error.AccessDenied":
			// The bus's policy (a sandbox's filter) or the service said no.
			return Refused
		}
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "was not provided by any .service files"):
		return Unavailable
	case strings.Contains(msg, "failed to unlock"), strings.Contains(msg, "locked"),
		strings.Contains(msg, "password was invalid"):
		// go-keyring's "failed to unlock correct collection '…'" is a
		// plain errors.New: it comes back at once when no prompter is
		// reachable, and when the user dismissed the prompt.
		return Locked
	}
	return 0
}

// itemGone reports an error of a call on an item path that no longer exists: another process
// deleted or replaced the item after this one found it. gnome-keyring answers
// org.freedesktop.DBus.Error.UnknownMethod `No such interface "org.freedesktop.Secret.Item" on
// object at path …` (a delete or read) or `Object does not exist at path …` (an unlock of the
// item); other services say UnknownObject, UnknownInterface or the Secret Service's
// NoSuchObject.
func itemGone(err error) bool {
	switch dbusErrorName(err) {
	case "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownInterface",
		"org.freedesktop.Secret.Error.NoSuchObject":
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "No such interface") && strings.Contains(msg, "org.freedesktop.Secret.Item") ||
		strings.Contains(msg, "Object does not exist at path") || strings.Contains(msg, "No such object")
}

// dbusErrorName is the D-Bus error name in err, "" if none. godbus hands a method call's error
// back as a dbus.Error value (Call.Err) but builds *dbus.Error elsewhere (NewError): both count.
func dbusErrorName(err error) string {
	var (
		dp *dbus.Error
		dv dbus.Error
	)
	switch {
	case errors.As(err, &dp):
		return dp.Name
	case errors.As(err, &dv):
		return dv.Name
	}
	return ""
}

// noSessionBus reports errors that mean there is no session bus at all.
func noSessionBus(err error) bool {
	// Without DBUS_SESSION_BUS_ADDRESS (and no /run/user/<uid>/bus) godbus
	// runs dbus-launch: missing, it fails with exec.ErrNotFound; present
	// but without an X display, it exits non-zero.
	var exitErr *exec.ExitError
	if errors.Is(err, exec.ErrNotFound) || errors.As(err, &exitErr) {
		return true
	}
	// A stale DBUS_SESSION_BUS_ADDRESS: the socket is gone or refuses.
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "dbus: couldn't determine address") ||
		strings.HasPrefix(msg, "dbus: invalid bus address")
}

func unavailableMessage(err error) string {
	if msg, ok := noCollectionMessage(err); ok {
		return msg
	}
	if err != nil && noSessionBus(err) {
		return "no D-Bus session bus for the Secret Service keychain: run inside a desktop session " +
			"(DBUS_SESSION_BUS_ADDRESS must be set), or use --insecure-file-store"
	}
	return "no Secret Service keychain on the session bus: install and start gnome-keyring or KeePassXC, " +
		"or use --insecure-file-store"
}
