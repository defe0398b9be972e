package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// endpointError is an error answer of the token endpoint, described from its
// status and OAuth error fields only. It deliberately does not wrap the
// *oauth2.RetrieveError: that one's Error() prints the raw response body.
type endpointError struct {
	status int
	code   string      // RFC 6749 "error", sanitised
	desc   string      // RFC 6749 "error_description", sanitised, ≤ 200 runes
	wait   http.Header // Retry-After and Date of a 429 or 503 answer, nothing else; nil otherwise
}

// StatusCode is the HTTP status of the answer (0 if unknown). The faces ask for it through an
// interface (homey.StatusOf), as auth does not export this type.
func (e *endpointError) StatusCode() int { return e.status }

// RetryHeader holds the Retry-After and Date headers of a 429 or 503 answer (nil for others):
// homey.RetryAfterOf reads them, so that one parser serves the token endpoint and the API calls.
func (e *endpointError) RetryHeader() http.Header { return e.wait }

func (e *endpointError) Error() string {
	s := fmt.Sprintf("token endpoint: %d", e.status)
	switch {
	case e.code != "":
		s += " " + e.code
	case e.status != 0:
		s += " " + http.StatusText(e.status) + " (not an OAuth error answer)"
	}
	if e.desc != "" {
		s += ": " + e.desc
	}
	return s
}

// ErrBadAnswer: the token endpoint answered 2xx with something that is not a token (not JSON,
// cut off, JSON of the wrong types, or without access_token). The sign-in is not affected.
var ErrBadAnswer = errors.New("token endpoint: the answer is not a token (not JSON, cut off, wrong types, or without access_token)")

// tokenError turns an error of an x/oauth2 token request into a one-line
// error without the server's body. op says what we were doing. invalid_client
// (any status) is ErrClientRefused; with refresh, any other 400 or 401 answer is
// ErrSignInGone, and invalid_client is both.
func tokenError(op string, err error, refresh bool) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ee := &endpointError{code: sanitize.Line(re.ErrorCode, 64), desc: sanitize.Line(re.ErrorDescription, 200)}
		if re.Response != nil {
			ee.status = re.Response.StatusCode
			if ee.status == http.StatusTooManyRequests || ee.status == http.StatusServiceUnavailable {
				ee.wait = http.Header{}
				for _, k := range []string{"Retry-After", "Date"} {
					if v := re.Response.Header.Get(k); v != "" {
						ee.wait.Set(k, v)
					}
				}
			}
		}
		switch {
		case re.ErrorCode == "invalid_client" && refresh:
			return fmt.Errorf("%w: %w: %w", ErrSignInGone, ErrClientRefused, ee)
		case re.ErrorCode == "invalid_client":
			return fmt.Errorf("%s: %w: %w", op, ErrClientRefused, ee)
		case refresh && (ee.status == http.StatusBadRequest || ee.status == http.StatusUnauthorized):
			return fmt.Errorf("%w: %w", ErrSignInGone, ee)
		}
		return fmt.Errorf("%s: %w", op, ee)
	}
	// x/oauth2 formats these with %v, so the text is all there is to go on.
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "oauth2: cannot parse"),
		strings.HasPrefix(msg, "oauth2: server response missing access_token"):
		// The parse error is left out: it may quote part of the body.
		return fmt.Errorf("%s: %w", op, ErrBadAnswer)
	case strings.HasPrefix(msg, "oauth2: cannot fetch token: "):
		// Reading the body failed (reset, timeout, short body).
		return fmt.Errorf("%s: token endpoint: reading the answer failed: %s", op,
			sanitize.Line(strings.TrimPrefix(msg, "oauth2: cannot fetch token: "), 200))
	}
	// Transport errors (*url.Error: refused, reset, timeout, cancelled) name
	// only the method and the token URL.
	return fmt.Errorf("%s: %w", op, err)
}
