package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// Errors that carry only an exit code: the command already said what there was to say.
var (
	errSilent     = errors.New("silent failure")        // exit 1
	errSilentAuth = errors.New("silent: not signed in") // exit 4
	errSilentOK   = errors.New("silent: done")          // exit 0 (e.g. -h)
)

// exitCodeError ends the run with code and says nothing: `run` passes on its command's code.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// explain turns an error into one line of what happened, an optional line with the fix, and the
// exit code. This is the only place where the command line turns errors into sentences.
func explain(err error, prog string) (msg, hint string, code int) {
	msg, hint, code = explainAny(err, prog)
	if errors.Is(err, errSigningIn) {
		// A first sign-in has nothing to keep: the hints below promise only to the signed in.
		hint = strings.Replace(hint, "; the sign-in is kept.", ".", 1)
		hint = strings.Replace(hint, " The sign-in is kept.", "", 1)
	}
	return msg, hint, code
}

// errSigningIn marks a failure of the sign-in itself (the code exchange).
var errSigningIn = errors.New("sign in")

// errPATNoHomeys: Athom accepted a personal access token for the account but refused it at the
// delegation step, so it cannot sign in to Homeys (PROTOCOL §12: such tokens may be limited to
// the apps API).
var errPATNoHomeys = errors.New("this personal access token cannot sign in to Homeys")

func explainAny(err error, prog string) (msg, hint string, code int) {
	var (
		ue   *usageError
		ke   *auth.KeychainError
		pe   *auth.PortInUseError
		ce   *ConfigError
		apiE *homey.APIError
		te   *trayError
	)
	var (
		xe *exitCodeError
		re *runStartError
	)
	switch {
	case errors.As(err, &xe):
		return "", "", xe.code // `run`: the command's own exit code, nothing said
	case errors.As(err, &re):
		return firstLine(re), "", re.code
	case errors.Is(err, errSilentOK):
		return "", "", exitOK
	case errors.Is(err, errSilent):
		return "", "", exitError
	case errors.Is(err, errSilentAuth):
		return "", "", exitAuth
	case errors.As(err, &te) && te.signIn:
		return te.msg, "Run: " + prog + " login (or use Log in… in the tray)", exitAuth
	case errors.As(err, &te):
		return te.msg, "", exitError
	case errors.As(err, &ue):
		return ue.msg, "Run '" + prog + " help' for usage.", exitUsage
	case errors.Is(err, errNotSetUp):
		return "no Athom Web API client is set up", "Run: " + prog + " setup --client-id ID (the README shows how to register one)", exitAuth
	case errors.Is(err, auth.ErrClientRefused):
		return "Athom refused the client id or secret (invalid_client); your stored settings are kept",
			"Run: " + prog + " setup --client-id ID (with the id and secret of your client in the Athom developer portal)", exitAuth
	case errors.Is(err, errPATNoHomeys):
		return firstLine(err), "Run: " + prog + " login (the browser sign-in can sign in to Homeys)", exitAuth
	case errors.Is(err, auth.ErrSignInGone):
		return "the sign-in is no longer valid (Athom refused it); your stored settings are kept", "Run: " + prog + " login", exitAuth
	case errors.Is(err, auth.ErrNotSignedIn):
		return "not signed in", "Run: " + prog + " login", exitAuth
	case errors.As(err, &ke):
		return firstLine(ke), "", exitError // names the keychain and the fix; the path to it adds nothing
	case errors.As(err, &pe):
		return firstLine(pe) + " (" + redirectFix(prog) + ")", "", exitError
	case errors.As(err, &ce):
		return firstLine(ce), "", exitError
	case errors.Is(err, auth.ErrAccessDenied):
		return "access was denied in the browser", "Run '" + prog + " login' again and allow access.", exitError
	case errors.Is(err, auth.ErrLoginTimeout):
		return "the sign-in timed out", "Run '" + prog + " login' again (or '" + prog + " login --no-browser' and paste the code).", exitError
	case errors.Is(err, errNoSuchHomey), errors.Is(err, errAmbiguousHomey), errors.Is(err, errNoHomeys):
		return firstLine(err), "See: " + prog + " homeys", exitError
	case errors.Is(err, context.Canceled):
		return "interrupted", "", exitError
	case homey.IsNetworkError(err):
		return netMessage(err), "Check the network and try again; the sign-in is kept.", exitError
	case rateLimited(err) != "":
		return rateLimited(err), retryHint(err), exitError
	case errors.As(err, &apiE) && apiE.StatusCode >= 500, errors.Is(err, homey.ErrBadResponse),
		errors.Is(err, auth.ErrBadAnswer), homey.StatusOf(err) >= 500:
		return firstLine(err), "The server had a problem; try again in a moment. The sign-in is kept.", exitError
	case errors.Is(err, homey.ErrSubscriptionInactive):
		return firstLine(err), "Renew the Homey's subscription (my.homey.app); the sign-in is kept.", exitError
	case errors.Is(err, homey.ErrInvalidSerial):
		return firstLine(err), "The Homey says its serial number is invalid: contact Athom support; the sign-in is kept.", exitError
	case errors.Is(err, homey.ErrUnsupportedHomey):
		return firstLine(err), "", exitError
	case errors.Is(err, homey.ErrOffline):
		// No address of the Homey gave a usable ping answer (each one's reason is in the line).
		return firstLine(err), "Check that the Homey is on and online, then try again; the sign-in is kept.", exitError
	}
	return firstLine(err), "", exitError
}

// redirectFix is the command that registers another redirect URI, the fix for a redirect port
// that another program holds (auth's *PortInUseError names the port, never a command).
func redirectFix(prog string) string { return prog + " setup --redirect-uri" }

// withFix adds to err the fix that only the command line knows, for the tray, which shows an
// error's text as it is: today the command for a taken redirect port.
func (a *app) withFix(err error) error {
	var pe *auth.PortInUseError
	if errors.As(err, &pe) {
		return &fixedError{err: err, fix: redirectFix(a.cmdPrefix())}
	}
	return err
}

// fixedError is err with a fix in parentheses after its text.
type fixedError struct {
	err error
	fix string
}

func (e *fixedError) Error() string { return e.err.Error() + " (" + e.fix + ")" }
func (e *fixedError) Unwrap() error { return e.err }

// rateLimited is the sentence for a 429, e.g. "the Athom cloud is rate-limiting requests (GET
// /user/me: 429)", or "" when err is no 429. The answer comes from a Homey or cloud API call
// (*homey.APIError) or from the token endpoint (auth's error says its status through a method).
func rateLimited(err error) string {
	var apiE *homey.APIError
	switch {
	case errors.As(err, &apiE) && apiE.StatusCode == http.StatusTooManyRequests:
		who := "the Athom cloud"
		if strings.HasPrefix(apiE.Op, "GET /api/") || strings.HasPrefix(apiE.Op, "POST /api/") ||
			strings.HasPrefix(apiE.Op, "PUT /api/") {
			who = "the Homey"
		}
		return who + " is rate-limiting requests (" + apiE.Op + ": 429)"
	case homey.StatusOf(err) == http.StatusTooManyRequests:
		return "the Athom cloud is rate-limiting requests (POST /oauth2/token: 429)"
	}
	return ""
}

// retryHint says when to try again: the server's Retry-After if it sent one, else a minute.
// The CLI does not retry by itself: a script that calls it decides.
func retryHint(err error) string {
	d := homey.RetryAfterOf(err)
	switch {
	case d <= 0:
		return "Try again in a minute; the sign-in is kept."
	case d <= 90*time.Second:
		return fmt.Sprintf("Try again in %d s; the sign-in is kept.", int((d+time.Second-1)/time.Second))
	}
	return fmt.Sprintf("Try again in %d min; the sign-in is kept.", int((d+time.Minute-1)/time.Minute))
}

// netMessage keeps what the layers said about where it failed ("fetch the account: GET
// /user/me") and replaces the transport's own wording (addresses, ports, Go's timeout text) with
// a short cause.
func netMessage(err error) string {
	msg := firstLine(err)
	for _, marker := range []string{`Get "`, `Post "`, "read tcp", "write tcp", "dial tcp", "context deadline exceeded", "lookup "} {
		if i := strings.Index(msg, marker); i >= 0 {
			msg = msg[:i]
		}
	}
	return strings.TrimRight(msg, ": ") + ": " + homey.NetworkCause(err)
}

// firstLine keeps every message to one line, whatever a lower layer wrote.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}
