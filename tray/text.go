package tray

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// This file holds every sentence the tray shows (menu labels, the status line, notifications,
// errors) and the small pure decisions behind them. Nothing here touches systray, the clipboard
// or the network, and nothing here ever formats a token.

// Menu labels, exactly as SPEC §5 names them (tests find items by these).
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

// noTrayHostText is said on stderr when no panel hosts tray icons.
const noTrayHostText = "no system tray host (StatusNotifierWatcher) is running: the icon appears once a panel " +
	"with a system tray starts; the menu, the notifications and the script socket work meanwhile"

// phase is what the status line and the icon show.
type phase int

const (
	phaseLoading   phase = iota // before the first answer of the Core
	phaseSignedOut              // not signed in
	phaseSignedIn               // signed in and the last refresh worked (or failed only on the network)
	phaseAttention              // the sign-in needs the user: gone (invalid_grant), missing, keychain unusable
)

// statusLine is the disabled first menu item.
func statusLine(p phase, acc Account, reason error, title string) string {
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
func tooltip(p phase, acc Account, reason error, title string) string {
	if p == phaseLoading {
		return title
	}
	return title + " — " + statusLine(p, acc, reason, title)
}

// accountName is the full name, else the e-mail address.
func accountName(acc Account) string {
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
func loginLabel(p phase, reason error) string {
	if wantsLogin(p, reason) {
		return labelLogin
	}
	return labelLogout
}

func wantsLogin(p phase, reason error) bool {
	switch p {
	case phaseSignedOut, phaseLoading:
		return true
	case phaseAttention:
		return errors.Is(reason, auth.ErrSignInGone) || errors.Is(reason, auth.ErrNotSignedIn)
	}
	return false
}

// attentionReason is the short reason after "Sign-in needs attention: ".
func attentionReason(err error) string {
	var ke *auth.KeychainError
	switch {
	case err == nil:
		return "unknown problem"
	case errors.Is(err, auth.ErrClientRefused):
		return "Athom refuses the client id or secret, set the client up again"
	case errors.Is(err, auth.ErrSignInGone):
		return "Athom no longer accepts it, log in again"
	case errors.Is(err, auth.ErrNotSignedIn):
		return "the saved sign-in is missing, log in again"
	case errors.As(err, &ke):
		switch ke.Kind {
		case auth.Locked:
			return "the keychain is locked"
		case auth.Unavailable:
			return "no keychain is available"
		case auth.Timeout:
			return "the keychain does not answer"
		case auth.Refused:
			return "the keychain refuses access"
		}
		return "the keychain failed"
	}
	return errorText(err)
}

// errNoClipboard: there is no tool to reach the clipboard (Linux: xclip, xsel or wl-clipboard).
var errNoClipboard = errors.New("no clipboard tool")

// errorText is one line for the user, without a secret, for any error of the Core, the
// clipboard or autostart. The script socket uses it for Answer.Error as well.
func errorText(err error) string {
	var (
		ke *auth.KeychainError
		ae *homey.APIError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, auth.ErrClientRefused):
		return "Athom refuses the client id or secret: set the client up again (homeytray setup)"
	case errors.Is(err, auth.ErrSignInGone):
		return "the sign-in is no longer valid: log in again"
	case errors.Is(err, auth.ErrNotSignedIn):
		return "not signed in"
	case errors.As(err, &ke):
		return clean(ke.Error())
	case errors.Is(err, auth.ErrAccessDenied):
		return "access was denied in the browser"
	case errors.Is(err, auth.ErrLoginTimeout):
		return "the sign-in timed out"
	case errors.Is(err, errNoClipboard):
		return "no clipboard tool found: install xclip, xsel or wl-clipboard, then restart the tray"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case homey.IsNetworkError(err):
		return "cannot reach the server: " + homey.NetworkCause(err)
	case errors.Is(err, homey.ErrSubscriptionInactive):
		return "the Homey's subscription is inactive"
	case errors.Is(err, homey.ErrInvalidSerial):
		return "the Homey reports an invalid serial number"
	case homey.IsUnauthorized(err):
		return "the server refused the token (HTTP 401)"
	case homey.StatusOf(err) == http.StatusTooManyRequests:
		if d := homey.RetryAfterOf(err); d > 0 {
			return "the server is limiting requests (HTTP 429); try again in " + shortDuration(d)
		}
		return "the server is limiting requests (HTTP 429); try again in a minute"
	case errors.As(err, &ae) && ae.StatusCode >= 500:
		return fmt.Sprintf("the server had a problem (HTTP %d); try again in a moment", ae.StatusCode)
	case errors.Is(err, homey.ErrBadResponse):
		return "the server sent an answer that makes no sense (" + clean(err.Error()) + ")"
	}
	return clean(err.Error())
}

// clean makes a lower layer's message one short line and blanks anything that looks like a
// token (a long run of token characters), in case a message ever quoted one.
func clean(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return sanitize.Line(redact(s), 160)
}

// redact replaces every run of 40 or more token characters (base64url, JWT dots) with "…".
// Homey ids (24 hex digits) and UUIDs (36) stay readable.
func redact(s string) string {
	isTok := func(r rune) bool {
		return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.~+/=", r))
	}
	var b strings.Builder
	run := 0
	for i, r := range s {
		if isTok(r) {
			run++
			continue
		}
		b.WriteString(redactRun(s[i-run : i]))
		b.WriteRune(r)
		run = 0
	}
	b.WriteString(redactRun(s[len(s)-run:]))
	return b.String()
}

func redactRun(s string) string {
	if len(s) >= 40 {
		return "…"
	}
	return s
}

// sentence capitalises the first letter and ends s with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "…") {
		s += "."
	}
	return s
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

// shortDuration: "45 s", "60 s", "5 min", "1 h".
func shortDuration(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	return fmt.Sprintf("%d h", int(d.Round(time.Hour)/time.Hour))
}

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
		parts = append(parts, "The clipboard is cleared in "+shortDuration(clearAfter)+".")
	}
	return note{"Bearer token copied", strings.Join(parts, " ")}
}

// deviceCopiedNote confirms a copied device id (not a secret, so it is not cleared).
func deviceCopiedNote(name string) note {
	return note{"Device ID copied", sanitize.Line(name, 80)}
}

// failNote reports a failed action the user asked for.
func failNote(what string, err error) note {
	return note{what, sentence(errorText(err))}
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

// attentionNote is the one notification of an incident that needs the user.
func attentionNote(err error) note {
	const title = "Sign-in needs attention"
	switch {
	case errors.Is(err, auth.ErrClientRefused):
		return note{title, "Athom refuses this app's client id or secret. Set the client up again with “homeytray setup”; the saved sign-in is kept."}
	case errors.Is(err, auth.ErrSignInGone):
		return note{title, "Athom no longer accepts the saved sign-in. Choose “Log in…” in the tray menu."}
	case errors.Is(err, auth.ErrNotSignedIn):
		return note{title, "The saved sign-in is missing. Choose “Log in…” in the tray menu."}
	}
	return note{title, sentence(errorText(err))}
}

// offlineNote is the one notification of a network outage that outlasted the access token.
func offlineNote(err error, expiry time.Time) note {
	return note{"Cannot renew the sign-in",
		fmt.Sprintf("The access token expired at %s and could not be renewed (%s). Retrying in the background.",
			hhmm(expiry), errorText(err))}
}
