package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/homeytray/homeytray/agent"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// This file holds every sentence the tray shows (menu labels, the status line, notifications,
// errors) and the small pure decisions behind them. Nothing here touches systray, the clipboard
// or the network, and nothing here ever formats a token.

// Menu labels, exactly as docs/decisions.md#tray-menu names them (tests find items by these).
const (
	labelCopy      = "Copy bearer token"
	labelHomeys    = "Homeys"
	labelDevices   = "Devices"
	labelLogin     = "Log in…"
	labelLogout    = "Log out"
	labelAutostart = "Start at login"
	labelQuit      = "Quit"

	labelNotSignedIn = "Not signed in"
	labelNoDevices   = "No devices"
	labelLoading     = "Loading…"
	labelNoZone      = "Other devices"
)

// No tray host (Linux, the BSDs): no StatusNotifierWatcher on the session bus, so the icon
// shows nowhere. Said on stderr and, because a tray started from the menu or at login has no
// terminal, in a notification: once after the start, and once more each time a panel came and
// went.
const noTrayHostText = "no system tray host (StatusNotifierWatcher) is running: the icon appears once a panel " +
	"with a system tray starts (on GNOME: the \"AppIndicator and KStatusNotifierItem Support\" extension); " +
	"the menu, the notifications and the script socket work meanwhile"

func noTrayHostNote() note {
	return note{"No tray icons on this desktop",
		"This desktop shows no tray icons, so homeytray's icon is hidden. On GNOME, install and turn on " +
			"the \"AppIndicator and KStatusNotifierItem Support\" extension; elsewhere, add a system tray " +
			"to your panel. The icon then appears by itself. Scripts get their tokens meanwhile " +
			"(homeytray token)."}
}

// The other lines about the tray host, on stderr before the reason.
const (
	trayHostRefusedText = "the panel's tray host did not take the icon"
	trayHostLostText    = "cannot keep the icon on the panel"
)

// phase is what the status line and the icon show.
type phase int

const (
	phaseLoading   phase = iota // before the first answer of the Core
	phaseSignedOut              // not signed in
	phaseSignedIn               // signed in and the last refresh worked (or failed only on the network)
	phaseAttention              // the sign-in needs the user: gone (invalid_grant), missing, keychain unusable
)

// statusLine is the disabled first menu item.
func statusLine(p phase, acc agent.Account, reason *failure.Failure, title string) string {
	switch p {
	case phaseSignedIn:
		return "Signed in as " + accountName(acc)
	case phaseSignedOut:
		return labelNotSignedIn
	case phaseAttention:
		return "Sign-in needs attention: " + attentionReason(reason)
	}
	return title // loading: a few milliseconds at start
}

// tooltip is the icon's tooltip (the SNI ToolTip on Linux).
func tooltip(p phase, acc agent.Account, reason *failure.Failure, title string) string {
	if p == phaseLoading {
		return title
	}
	return title + " — " + statusLine(p, acc, reason, title)
}

// accountName is the full name, else the e-mail address.
func accountName(acc agent.Account) string {
	if n := sanitize.Line(acc.Name, 80); n != "" {
		return n
	}
	if e := sanitize.Line(acc.Email, 80); e != "" {
		return e
	}
	return "your Athom account"
}

// loginLabel: the one item that signs in or out. Signed out, or a sign-in that is gone or
// missing, offers "Log in…"; anything else (signed in, keychain trouble) offers "Log out".
func loginLabel(p phase, reason *failure.Failure) string {
	if wantsLogin(p, reason) {
		return labelLogin
	}
	return labelLogout
}

func wantsLogin(p phase, reason *failure.Failure) bool {
	switch p {
	case phaseSignedOut, phaseLoading:
		return true
	case phaseAttention:
		return reason != nil && reason.WantsLogin()
	}
	return false
}

// attentionReason is the short reason after "Sign-in needs attention: ".
func attentionReason(f *failure.Failure) string {
	if f == nil {
		return "unknown problem"
	}
	return f.Reason()
}

// errorText is one line for the user, without a secret, for any error of the core, the
// clipboard or autostart (internal/failure words it).
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return failure.Of(err).Text()
}

// menuLabel escapes text for a menu label: dbusmenu (Linux, BSD) reads "_" as a mnemonic
// marker and Windows reads "&"; doubling them shows them literally. goos is runtime.GOOS.
func menuLabel(s, goos string) string {
	s = sanitize.Line(s, 120)
	switch goos {
	case "windows":
		return strings.ReplaceAll(s, "&", "&&")
	case "darwin":
		return s
	}
	return strings.ReplaceAll(s, "_", "__")
}

// hhmm is a wall-clock time in the local zone, e.g. "14:05".
func hhmm(t time.Time) string { return t.Local().Format("15:04") }

// note is one desktop notification.
type note struct{ title, body string }

// copiedNote confirms a copied bearer. Homey session lifetimes are unknown, so it says when
// the Homey last accepted the bearer, never when it expires.
func copiedNote(b *homey.Bearer, homeyName string, clearAfter time.Duration) note {
	var parts []string
	switch name := sanitize.Line(homeyName, 60); {
	case !b.ConfirmedAt.IsZero() && name != "":
		parts = append(parts, fmt.Sprintf("Confirmed valid at %s by %s.", hhmm(b.ConfirmedAt), name))
	case !b.ConfirmedAt.IsZero():
		parts = append(parts, fmt.Sprintf("Confirmed valid at %s.", hhmm(b.ConfirmedAt)))
	case name != "":
		parts = append(parts, "For "+name+".")
	}
	if clearAfter > 0 {
		parts = append(parts, "The clipboard is cleared in "+failure.ShortDuration(clearAfter)+".")
	}
	return note{"Bearer token copied", strings.Join(parts, " ")}
}

// deviceCopiedNote confirms a copied device id (not a secret, so it is not cleared).
func deviceCopiedNote(name string) note {
	return note{"Device ID copied", sanitize.Line(name, 80)}
}

// failNote reports a failed action the user asked for.
func failNote(what string, err error) note {
	return note{what, failure.Sentence(errorText(err))}
}

// Titles of failNote.
const (
	titleCopyFailed      = "Could not copy the bearer token"
	titleDeviceFailed    = "Could not copy the device ID"
	titleLoginFailed     = "Sign-in failed"
	titleLogoutFailed    = "Sign-out failed"
	titleSelectFailed    = "Could not select the Homey"
	titleAutostartFailed = "Start at login"
)

// incidentNote is the one notification of an incident: one that needs the user, or an outage
// that outlasted the access token.
func incidentNote(i agent.Incident) note {
	if i.NeedsUser {
		title, body := i.Failure.Attention()
		return note{title, body}
	}
	title, body := i.Failure.Outage(i.Expiry)
	return note{title, body}
}
