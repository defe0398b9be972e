// Package failure is homeytray's one vocabulary of failures. Every error that reaches a face —
// the command line, the tray's status line and notifications, the script socket — is sorted into
// a [Kind] once, by [Of], together with the facts its words need (what the layers said happened,
// the keychain, the port, the address, when to retry). Each face then asks the [Failure] for its
// words: [Failure.Message] and [Failure.Fix] and [Failure.ExitCode] for the command line,
// [Failure.Text], [Failure.Reason] and [Failure.Attention] for the tray. A Failure is plain data:
// the script socket sends it as JSON, so `homeytray token` prints the same line and exit code
// whether a running tray or the keychain answered.
//
// The layers below (auth, homey, config) only wrap errors with short context; nothing below the
// faces writes sentences for users.
package failure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// Kind is what went wrong, as the user needs to know it.
type Kind string

// The kinds. Their names are part of the script socket's protocol: keep them stable.
const (
	Other         Kind = "other"          // anything else: the layers' own first line
	Usage         Kind = "usage"          // a mistake in the command line (exit 2)
	NotSignedIn   Kind = "not_signed_in"  // nothing stored
	SignInGone    Kind = "sign_in_gone"   // Athom refused the stored sign-in (invalid_grant)
	ClientRefused Kind = "client_refused" // Athom refused the client id or secret
	PATNoHomeys   Kind = "pat_no_homeys"  // a personal access token that cannot sign in to Homeys

	KeychainLocked       Kind = "keychain_locked"
	KeychainMissing      Kind = "keychain_missing"
	KeychainNotAnswering Kind = "keychain_not_answering"
	KeychainRefusing     Kind = "keychain_refusing"
	KeychainFailed       Kind = "keychain_failed"

	PortInUse     Kind = "port_in_use"    // the redirect URI's port
	ConfigDamaged Kind = "config_damaged" // config.json
	AccessDenied  Kind = "access_denied"  // in the browser
	LoginTimeout  Kind = "login_timeout"  // nobody came back from the browser
	UnknownHomey  Kind = "unknown_homey"  // no such name, an ambiguous one, or no Homey at all
	Interrupted   Kind = "interrupted"    // Ctrl-C
	Network       Kind = "network"        // no answer: Cause says why
	RateLimited   Kind = "rate_limited"   // 429
	ServerProblem Kind = "server_problem" // 5xx, or an answer that makes no sense
	Subscription  Kind = "subscription"   // Homey Cloud subscription inactive
	InvalidSerial Kind = "invalid_serial" // the Homey says its serial number is invalid
	Unsupported   Kind = "unsupported"    // a Homey this program cannot sign in to
	Offline       Kind = "offline"        // no address of the Homey answered usably
	NoClipboard   Kind = "no_clipboard"   // the desktop has no clipboard we can reach
	NoDesktop     Kind = "no_desktop"     // no desktop session (no D-Bus session bus) for the tray
	HomeyRefused  Kind = "homey_refused"  // a Homey refused the bearer (401)

	// An API-key Homey on the LAN.
	KeyMissing   Kind = "key_missing"     // its key is not in the keychain
	KeyRefused   Kind = "key_refused"     // 401: the key was deleted on the Homey
	KeyForbidden Kind = "key_forbidden"   // 403: the key lacks a permission
	KeyAnswered  Kind = "key_answered"    // another error answer
	Unreachable  Kind = "unreachable"     // nothing answers at the address
	BadCert      Kind = "bad_certificate" // HTTPS to an address its certificate does not name
	NotAHomey    Kind = "not_a_homey"     // something answered that is no Homey
	OtherHomey   Kind = "other_homey"     // another Homey answers at the address
)

// Failure is one failure as the faces show it: its kind and the facts its words need. The
// facts come from the process where the error happened; the words from whichever face shows
// it, so that the same failure reads the same everywhere.
type Failure struct {
	Kind Kind `json:"kind"`
	// Detail is what the layers said happened, one clean line, for the kinds whose message is
	// theirs (Other, Network, ServerProblem, the keychain's, …).
	Detail string `json:"detail,omitempty"`
	// Cause is a network failure's cause in a few words ("connection refused").
	Cause string `json:"cause,omitempty"`
	// Status is the HTTP status of an answer, where one came.
	Status int `json:"status,omitempty"`
	// RetryAfter is how long the server asked to wait (429), rounded to whole seconds.
	RetryAfter int `json:"retry_after,omitempty"`
	// Homey, Address: the API-key Homey (name) and the address it was asked at.
	Homey   string `json:"homey,omitempty"`
	Address string `json:"address,omitempty"`
	// Keychain names the store of an API key that is missing ("Secret Service").
	Keychain string `json:"keychain,omitempty"`
	// WantID is the Homey that should have answered where another one did.
	WantID string `json:"want_id,omitempty"`
	// FirstSignIn: it happened in the code exchange of a sign-in, when no sign-in was stored yet.
	FirstSignIn bool `json:"first_sign_in,omitempty"`
}

// Usagef makes a usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Sentinels of the faces' own making.
var (
	// ErrPATNoHomeys: Athom accepted a personal access token for the account but refused it at
	// the delegation step, so it cannot sign in to Homeys (such tokens may be limited to
	// Athom's apps API: docs/protocol.md#cloud-pat).
	ErrPATNoHomeys = errors.New("this personal access token cannot sign in to Homeys")
	// ErrSigningIn marks a failure of a first sign-in's code exchange: there is no stored
	// sign-in yet, so the hints promise nothing about keeping one.
	ErrSigningIn = errors.New("sign in")
	// ErrNoHomeys: the account has no Homey.
	ErrNoHomeys = errors.New("this Athom account has no Homey")
	// ErrNoClipboard: there is no display whose clipboard homeytray could own (neither
	// WAYLAND_DISPLAY nor DISPLAY is set, or a compositor without data control and neither
	// wl-copy nor XWayland).
	ErrNoClipboard = errors.New("no clipboard")
	// ErrNoDesktop: the tray cannot run here: no desktop session.
	ErrNoDesktop = errors.New("no desktop session")
)

// KeyMissingError: the API key of a Homey is not in the keychain.
type KeyMissingError struct {
	Homey, ID, Address, Keychain string
}

func (e *KeyMissingError) Error() string {
	return fmt.Sprintf("the API key of %s (%s) is not in %s", e.Homey, e.ID, e.Keychain)
}

// Of sorts err into its Failure. nil gives nil.
func Of(err error) *Failure {
	if err == nil {
		return nil
	}
	f := of(err)
	f.Detail = sanitize.Line(f.Detail, 0)
	f.FirstSignIn = errors.Is(err, ErrSigningIn)
	return &f
}

func of(err error) Failure {
	var (
		ue   *usageError
		ke   *auth.KeychainError
		pe   *auth.PortInUseError
		ce   *config.Error
		apiE *homey.APIError
		kme  *KeyMissingError
		kerr *homey.KeyError
	)
	first := firstLine(err)
	switch {
	case errors.As(err, &ue):
		return Failure{Kind: Usage, Detail: ue.msg}
	case errors.Is(err, auth.ErrClientRefused):
		return Failure{Kind: ClientRefused}
	case errors.Is(err, ErrPATNoHomeys):
		return Failure{Kind: PATNoHomeys, Detail: first}
	case errors.Is(err, auth.ErrSignInGone):
		return Failure{Kind: SignInGone}
	case errors.Is(err, auth.ErrNotSignedIn):
		return Failure{Kind: NotSignedIn}
	case errors.As(err, &ke):
		return Failure{Kind: keychainKind(ke.Kind), Detail: firstLine(ke)}
	case errors.As(err, &pe):
		return Failure{Kind: PortInUse, Detail: firstLine(pe)}
	case errors.As(err, &ce):
		return Failure{Kind: ConfigDamaged, Detail: firstLine(ce)}
	case errors.Is(err, auth.ErrAccessDenied):
		return Failure{Kind: AccessDenied}
	case errors.Is(err, auth.ErrLoginTimeout):
		return Failure{Kind: LoginTimeout}
	case errors.As(err, &kme):
		return Failure{Kind: KeyMissing, Homey: kme.Homey, Address: kme.Address, Keychain: kme.Keychain, Detail: kme.ID}
	case errors.As(err, &kerr):
		return keyFailure(kerr)
	case errors.Is(err, config.ErrNoSuchHomey), errors.Is(err, config.ErrAmbiguousHomey), errors.Is(err, ErrNoHomeys):
		return Failure{Kind: UnknownHomey, Detail: first}
	case errors.Is(err, ErrNoClipboard):
		return Failure{Kind: NoClipboard}
	case errors.Is(err, ErrNoDesktop):
		return Failure{Kind: NoDesktop}
	case errors.Is(err, context.Canceled):
		return Failure{Kind: Interrupted}
	case homey.IsNetworkError(err):
		return Failure{Kind: Network, Detail: netMessage(err), Cause: homey.NetworkCause(err)}
	}
	if s := rateLimited(err); s != "" {
		return Failure{Kind: RateLimited, Detail: s, RetryAfter: retrySeconds(homey.RetryAfterOf(err)), Status: http.StatusTooManyRequests}
	}
	switch {
	case errors.As(err, &apiE) && apiE.StatusCode >= 500, homey.StatusOf(err) >= 500:
		return Failure{Kind: ServerProblem, Detail: first, Status: homey.StatusOf(err)}
	case errors.Is(err, homey.ErrBadResponse), errors.Is(err, auth.ErrBadAnswer):
		return Failure{Kind: ServerProblem, Detail: first}
	case errors.Is(err, homey.ErrSubscriptionInactive):
		return Failure{Kind: Subscription, Detail: first}
	case errors.Is(err, homey.ErrInvalidSerial):
		return Failure{Kind: InvalidSerial, Detail: first}
	case errors.Is(err, homey.ErrUnsupportedHomey):
		return Failure{Kind: Unsupported, Detail: first}
	case errors.Is(err, homey.ErrOffline):
		return Failure{Kind: Offline, Detail: first}
	case homey.IsUnauthorized(err):
		return Failure{Kind: HomeyRefused, Detail: first, Status: http.StatusUnauthorized}
	}
	return Failure{Kind: Other, Detail: first}
}

func keychainKind(k auth.KeychainErrorKind) Kind {
	switch k {
	case auth.Locked:
		return KeychainLocked
	case auth.Unavailable:
		return KeychainMissing
	case auth.Timeout:
		return KeychainNotAnswering
	case auth.Refused:
		return KeychainRefusing
	}
	return KeychainFailed
}

// keyFailure sorts a failure of an API-key Homey.
func keyFailure(e *homey.KeyError) Failure {
	f := Failure{Homey: e.Homey, Address: e.Address}
	var (
		apiE *homey.APIError
		pe   *homey.PingError
	)
	switch {
	case errors.As(e.Err, &pe) && pe.NotHomey():
		f.Kind, f.Status = NotAHomey, pe.StatusCode
	case errors.As(e.Err, &pe):
		f.Kind, f.Detail, f.WantID = OtherHomey, pe.ID, pe.WantID
	case homey.IsUnauthorized(e.Err):
		f.Kind = KeyRefused
	case errors.As(e.Err, &apiE) && apiE.StatusCode == http.StatusForbidden:
		f.Kind, f.Detail = KeyForbidden, firstLine(apiE)
	case errors.As(e.Err, &apiE):
		f.Kind, f.Detail = KeyAnswered, firstLine(apiE)
	case badCert(e.Err):
		f.Kind = BadCert
	case errors.Is(e.Err, context.Canceled):
		f.Kind = Interrupted
	case homey.IsNetworkError(e.Err):
		f.Kind, f.Cause = Unreachable, homey.NetworkCause(e.Err)
	default:
		f.Kind, f.Detail = Other, "the Homey "+e.Homey+" at "+e.Address+": "+firstLine(e.Err)
	}
	return f
}

func badCert(err error) bool {
	var (
		he  x509.HostnameError
		ue  x509.UnknownAuthorityError
		ie  x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &he) || errors.As(err, &ue) || errors.As(err, &ie) || errors.As(err, &cve)
}

// ExitCode is the command line's exit code: 2 for a usage error, 4 when signing in (again) is
// the fix, else 1.
func (f *Failure) ExitCode() int {
	switch f.Kind {
	case Usage:
		return 2
	case NotSignedIn, SignInGone, ClientRefused, PATNoHomeys:
		return 4
	}
	return 1
}

// SignIn reports whether signing in (again) is the fix.
func (f *Failure) SignIn() bool { return f.ExitCode() == 4 }

// Message is the command line's line of what happened. prog is how the user runs this program
// ("homeytray", or "homeytray demo" in the demo), for the commands it names.
func (f *Failure) Message(prog string) string {
	switch f.Kind {
	case ClientRefused:
		return "Athom refused the client id or secret (invalid_client); your stored settings are kept"
	case SignInGone:
		return "the sign-in is no longer valid (Athom refused it); your stored settings are kept"
	case NotSignedIn:
		return "not signed in"
	case PortInUse:
		return f.Detail + " (" + RedirectFix(prog) + ")"
	case AccessDenied:
		return "access was denied in the browser"
	case LoginTimeout:
		return "the sign-in timed out"
	case Interrupted:
		return "interrupted"
	case NoClipboard:
		return "no display to own a clipboard on: start the tray inside your desktop session (GNOME on Wayland without XWayland also needs wl-clipboard)"
	case NoDesktop:
		return "no desktop session here (no D-Bus session bus): the tray needs one"
	case KeyMissing:
		return fmt.Sprintf("the API key of %s (%s) is not in %s: run %s local add --address %s again",
			f.Homey, f.Detail, f.Keychain, prog, f.Address)
	case KeyRefused:
		return fmt.Sprintf("the Homey %s at %s refused its API key (deleted in the Homey web app?): create a new key and run %s local add --address %s",
			f.Homey, f.Address, prog, f.Address)
	case KeyForbidden:
		return fmt.Sprintf("the API key of %s at %s lacks a permission (%s): create a key that may view devices and zones and run %s local add --address %s",
			f.Homey, f.Address, f.Detail, prog, f.Address)
	case KeyAnswered:
		return fmt.Sprintf("the Homey %s at %s answered %s: try again in a moment", f.Homey, f.Address, f.Detail)
	case NotAHomey:
		return fmt.Sprintf("%s is not a Homey (its ping answered %d without X-Homey-ID): check the address; a Homey Pro answers at http://<its IP> on its LAN", f.Address, f.Status)
	case OtherHomey:
		return fmt.Sprintf("%s is now another Homey (%s), not %s: the API key was not sent; if the Homey has a new address, run local add --address NEW-ADDRESS",
			f.Address, f.Detail, f.WantID)
	case BadCert:
		return CertMessage(f.Address)
	case Unreachable:
		return fmt.Sprintf("nothing answers at %s (%s): check the address and that this computer is on the Homey's network", f.Address, f.Cause)
	}
	return f.Detail
}

// Fix is the command line's second line, with the command or click that fixes it ("" when the
// message says it all).
func (f *Failure) Fix(prog string) string {
	switch f.Kind {
	case Usage:
		return "Run '" + prog + " help' for usage."
	case ClientRefused:
		return "Run: " + prog + " setup --client-id ID (with the id and secret of your client in the Athom developer portal)"
	case PATNoHomeys:
		return "Run: " + prog + " login (the browser sign-in can sign in to Homeys)"
	case SignInGone, NotSignedIn:
		return "Run: " + prog + " login"
	case AccessDenied:
		return "Run '" + prog + " login' again and allow access."
	case LoginTimeout:
		return "Run '" + prog + " login' again (or '" + prog + " login --no-browser' and paste the code)."
	case UnknownHomey:
		return "See: " + prog + " homeys"
	case NoDesktop:
		return "Run: " + prog + " serve (it keeps the sign-in fresh and answers scripts without a desktop)"
	case Network:
		return "Check the network and try again; the sign-in is kept."
	case RateLimited:
		return retryHint(time.Duration(f.RetryAfter) * time.Second)
	case ServerProblem:
		return "The server had a problem; try again in a moment. The sign-in is kept."
	case Subscription:
		return "Renew the Homey's subscription (my.homey.app); the sign-in is kept."
	case InvalidSerial:
		return "The Homey says its serial number is invalid: contact Athom support; the sign-in is kept."
	case Offline:
		return "Check that the Homey is on and online, then try again; the sign-in is kept."
	}
	return ""
}

// Words is the command line's message and fix. A failure of a first sign-in has no sign-in to
// keep: its fix promises none.
func (f *Failure) Words(prog string) (msg, fix string) {
	msg, fix = f.Message(prog), f.Fix(prog)
	if f.FirstSignIn {
		fix = strings.Replace(fix, "; the sign-in is kept.", ".", 1)
		fix = strings.Replace(fix, " The sign-in is kept.", "", 1)
	}
	return msg, fix
}

// RedirectFix is the command that registers another redirect URI: the fix for a redirect port
// that another program holds.
func RedirectFix(prog string) string { return prog + " setup --redirect-uri" }

// CertMessage is the advice for HTTPS to an address its certificate does not name: a bare IP
// fails the checks, a Homey's certificate names its homeylocal.com address.
func CertMessage(base string) string {
	host := base
	if u, err := url.Parse(base); err == nil {
		host = u.Hostname()
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		dashed := strings.ReplaceAll(ip.String(), ".", "-")
		return fmt.Sprintf("the certificate of %s is not valid for that address (HTTPS to a bare IP fails the checks): use --address https://%s.homey.homeylocal.com, or http://%s on the Homey's LAN", base, dashed, ip)
	}
	return fmt.Sprintf("the certificate of %s is not valid for that address: use the Homey's https://<a-b-c-d>.homey.homeylocal.com address, or http://<its IP> on its LAN", base)
}

// rateLimited is the sentence for a 429, e.g. "the Athom cloud is rate-limiting requests (GET
// /user/me: 429)", or "" when err is no 429.
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

func retrySeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// retryHint says when to try again: the server's Retry-After if it sent one, else a minute.
func retryHint(d time.Duration) string {
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

// Error makes a Failure an error: a running tray's answer is handed on as it came, and the face
// words it with Words like any other.
func (f *Failure) Error() string { return f.Message("homeytray") }
