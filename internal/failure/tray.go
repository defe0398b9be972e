package failure

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// The tray's words: one line for a notification or a log line (Text), the short reason after
// "Sign-in needs attention: " (Reason), and the one notification of an incident that needs the
// user (Attention). None of them ever holds a token: Clean blanks anything that looks like one.

// Text is one line for the user, without a secret: a notification's body, a line of `serve`.
func (f *Failure) Text() string {
	switch f.Kind {
	case ClientRefused:
		return "Athom refuses the client id or secret: set the client up again (homeytray setup)"
	case SignInGone:
		return "the sign-in is no longer valid: log in again"
	case NotSignedIn:
		return "not signed in"
	case KeychainLocked, KeychainMissing, KeychainNotAnswering, KeychainRefusing, KeychainFailed:
		return Clean(f.Detail)
	case AccessDenied:
		return "access was denied in the browser"
	case LoginTimeout:
		return "the sign-in timed out"
	case NoClipboard:
		return f.Message("homeytray")
	case Interrupted:
		return "cancelled"
	case Network:
		return "cannot reach the server: " + f.Cause
	case Subscription:
		return "the Homey's subscription is inactive"
	case InvalidSerial:
		return "the Homey reports an invalid serial number"
	case HomeyRefused:
		return "the server refused the token (HTTP 401)"
	case RateLimited:
		if f.RetryAfter > 0 {
			return "the server is limiting requests (HTTP 429); try again in " + ShortDuration(time.Duration(f.RetryAfter)*time.Second)
		}
		return "the server is limiting requests (HTTP 429); try again in a minute"
	case ServerProblem:
		if f.Status >= 500 {
			return fmt.Sprintf("the server had a problem (HTTP %d); try again in a moment", f.Status)
		}
		return "the server sent an answer that makes no sense (" + Clean(f.Detail) + ")"
	}
	return Clean(f.Message("homeytray"))
}

// Reason is the short reason after "Sign-in needs attention: " in the tray's status line.
func (f *Failure) Reason() string {
	switch f.Kind {
	case ClientRefused:
		return "Athom refuses the client id or secret, set the client up again"
	case SignInGone:
		return "Athom no longer accepts it, log in again"
	case NotSignedIn:
		return "the saved sign-in is missing, log in again"
	case KeychainLocked:
		return "the keychain is locked"
	case KeychainMissing:
		return "no keychain is available"
	case KeychainNotAnswering:
		return "the keychain does not answer"
	case KeychainRefusing:
		return "the keychain refuses access"
	case KeychainFailed:
		return "the keychain failed"
	}
	return f.Text()
}

// NeedsUser reports whether the failure needs the user (sign in again, unlock the keychain): the
// tray shows it in its status line and notifies once; anything else is retried quietly.
func (f *Failure) NeedsUser() bool {
	switch f.Kind {
	case SignInGone, NotSignedIn, ClientRefused,
		KeychainLocked, KeychainMissing, KeychainNotAnswering, KeychainRefusing, KeychainFailed:
		return true
	}
	return false
}

// WantsLogin reports whether "Log in…" is the fix (rather than the keychain, say).
func (f *Failure) WantsLogin() bool {
	return f.Kind == SignInGone || f.Kind == NotSignedIn || f.Kind == ClientRefused
}

// Attention is the one notification of an incident that needs the user: its title and body.
func (f *Failure) Attention() (title, body string) {
	title = "Sign-in needs attention"
	switch f.Kind {
	case ClientRefused:
		return title, "Athom refuses this app's client id or secret. Set the client up again with “homeytray setup”; the saved sign-in is kept."
	case SignInGone:
		return title, "Athom no longer accepts the saved sign-in. Choose “Log in…” in the tray menu."
	case NotSignedIn:
		return title, "The saved sign-in is missing. Choose “Log in…” in the tray menu."
	}
	return title, Sentence(f.Text())
}

// Clean makes a lower layer's message one short line and blanks anything that looks like a
// token (a long run of token characters), in case a message ever quoted one.
func Clean(s string) string {
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

// Sentence capitalises the first letter and ends s with a full stop.
func Sentence(s string) string {
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

// ShortDuration: "45 s", "60 s", "5 min", "1 h".
func ShortDuration(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	return fmt.Sprintf("%d h", int(d.Round(time.Hour)/time.Hour))
}

// Outage is the one notification of a network outage that outlasted the access token (which
// expired at expiry): its title and body.
func (f *Failure) Outage(expiry time.Time) (title, body string) {
	return "Cannot renew the sign-in",
		fmt.Sprintf("The access token expired at %s and could not be renewed (%s). Retrying in the background.",
			expiry.Local().Format("15:04"), f.Text())
}
