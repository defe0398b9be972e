package failure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/config"
)

func TestExplain(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		want string
	}{
		{Usagef("token: bad"), 2, "token: bad"},
		{fmt.Errorf("x: %w", auth.ErrSignInGone), 4, "no longer valid"},
		{fmt.Errorf("x: %w", auth.ErrNotSignedIn), 4, "not signed in"},
		{&config.Error{Path: "/p/config.json", Err: errors.New("syntax error at byte 3")}, 1, "/p/config.json"},
		{fmt.Errorf("get: %w", &homey.APIError{Op: "GET /user/me", StatusCode: 502}), 1, "GET /user/me"},
		{errors.New("two\nlines"), 1, "two"},
		{fmt.Errorf("fetch the account: GET /user/me: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}),
			1, "fetch the account: GET /user/me: the connection was reset"},
		{fmt.Errorf("x: refresh: %w", &url.Error{Op: "Post", URL: "http://h/oauth2/token", Err: context.DeadlineExceeded}),
			1, "x: refresh: no answer in time"},
	} {
		f := Of(c.err)
		msg, _ := f.Words("homeytray")
		code := f.ExitCode()
		if code != c.code || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("Of(%v) = %q, %d; want %d and %q", c.err, msg, code, c.code, c.want)
		}
	}
}

// tokenLimit is a 429 of the token endpoint as auth reports it (status and headers by method).
type tokenLimit struct{ retryAfter string }

func (e tokenLimit) Error() string   { return "token endpoint: 429 too_many_requests" }
func (e tokenLimit) StatusCode() int { return 429 }
func (e tokenLimit) RetryHeader() http.Header {
	return http.Header{"Retry-After": {e.retryAfter}}
}

// TestExplainHints: the second line says what to do next, with the server's Retry-After, and
// promises to keep a sign-in only when there is one.
func TestExplainHints(t *testing.T) {
	for _, c := range []struct {
		err       error
		msg, hint string
	}{
		{fmt.Errorf("list the devices of Home: %w", &homey.APIError{Op: "GET /api/manager/devices/device", StatusCode: 429}),
			"the Homey is rate-limiting requests (GET /api/manager/devices/device: 429)", "Try again in a minute; the sign-in is kept."},
		{fmt.Errorf("fetch the account: %w", &homey.APIError{Op: "GET /user/me", StatusCode: 429}),
			"the Athom cloud is rate-limiting requests (GET /user/me: 429)", "Try again in a minute; the sign-in is kept."},
		{fmt.Errorf("refresh: %w", tokenLimit{"30"}), "the Athom cloud is rate-limiting requests (POST /oauth2/token: 429)",
			"Try again in 30 s; the sign-in is kept."},
		{fmt.Errorf("refresh: %w", tokenLimit{"300"}), "", "Try again in 5 min; the sign-in is kept."},
		{fmt.Errorf("%w: %w", ErrSigningIn, tokenLimit{"30"}), "", "Try again in 30 s."},
		{fmt.Errorf("%w: %w", ErrSigningIn, auth.ErrBadAnswer), "sign in: token endpoint", "The server had a problem; try again in a moment."},
		{fmt.Errorf("refresh: %w", auth.ErrBadAnswer), "", "The server had a problem; try again in a moment. The sign-in is kept."},
	} {
		f := Of(c.err)
		msg, hint := f.Words("homeytray")
		code := f.ExitCode()
		if code != 1 || !strings.Contains(msg, c.msg) || hint != c.hint {
			t.Errorf("Of(%v) = %q, %q, %d; want %q, %q, 1", c.err, msg, hint, code, c.msg, c.hint)
		}
	}
}

// TestExplainTolerance: the errors of the tolerated variants (issue 10) say what happened in one
// line, give the fix the command line knows and the right exit code.
func TestExplainTolerance(t *testing.T) {
	for _, c := range []struct {
		err       error
		code      int
		msg, hint string
	}{
		{fmt.Errorf("x: %w: %w", auth.ErrSignInGone, auth.ErrClientRefused), 4, "invalid_client", "homeytray setup"},
		{fmt.Errorf("%w: exchange: %w", ErrSigningIn, auth.ErrClientRefused), 4, "invalid_client", "homeytray setup"},
		{fmt.Errorf("%w (Athom refused it at the delegation step: 403)", ErrPATNoHomeys), 4, "cannot sign in to Homeys", "homeytray login"},
		{fmt.Errorf("x: %w", &homey.UnsupportedError{HomeyName: "Old", APIVersion: 1}), 1, "API version 1", ""},
		{fmt.Errorf("x: %w", homey.ErrInvalidSerial), 1, "invalid serial number", "Athom support"},
		{fmt.Errorf("x: %w", homey.ErrSubscriptionInactive), 1, "subscription is inactive", "Renew"},
	} {
		f := Of(c.err)
		msg, hint := f.Words("homeytray")
		code := f.ExitCode()
		if code != c.code || !strings.Contains(msg, c.msg) || !strings.Contains(hint, c.hint) || strings.Contains(msg, "\n") {
			t.Errorf("Of(%v) = %q, %q, %d; want %d, %q, %q", c.err, msg, hint, code, c.code, c.msg, c.hint)
		}
	}
}
