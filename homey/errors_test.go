package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

const devicesOp = "GET /api/manager/devices/device"

// TestErrorMapping runs Client.Devices against bad answers: each error is one line with the
// operation, never the body or the bearer, and classified as the table says.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name    string
		h       http.HandlerFunc
		status  int    // want an *APIError with this status; 0 = no APIError
		code    string // its Code
		desc    string // its Description
		bad     bool   // errors.Is(err, ErrBadResponse)
		unauth  bool   // IsUnauthorized
		invalid bool   // IsInvalidToken
		text    string // the whole Error(), when set
		substr  string // a part of Error(), when set
	}{
		{name: "401 invalid_token",
			h:      jsonHandler(401, `{"error":"invalid_token","error_description":"token expired","stack":"SECRET-BODY"}`),
			status: 401, code: "invalid_token", desc: "token expired", unauth: true, invalid: true,
			text: devicesOp + ": 401 invalid_token: token expired"},
		{name: "401 invalid session",
			h:      jsonHandler(401, `{"error":"Invalid Session","error_description":"Session expired"}`),
			status: 401, code: "Invalid Session", desc: "Session expired", unauth: true},
		{name: "400 description object",
			h:      jsonHandler(400, `{"error":"invalid_request","error_description":{"name":"is required","email":"is invalid"}}`),
			status: 400, code: "invalid_request", desc: "email: is invalid, name: is required",
			text: devicesOp + ": 400 invalid_request: email: is invalid, name: is required"},
		{name: "numeric error code",
			h:      jsonHandler(404, `{"error":404,"message":"Not Found"}`),
			status: 404, code: "404", desc: "Not Found"},
		{name: "500 JSON without fields",
			h:      jsonHandler(500, `{"SECRET":"x"}`),
			status: 500, text: devicesOp + ": 500 Internal Server Error"},
		{name: "502 HTML page",
			h: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				_, _ = w.Write([]byte("<html><body>SECRET-BODY Bad Gateway</body></html>"))
			},
			status: 502, bad: true, text: devicesOp + ": 502 Bad Gateway: unexpected response"},
		{name: "401 HTML page",
			h: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(401)
				_, _ = w.Write([]byte("<h1>SECRET-BODY</h1>"))
			},
			status: 401, bad: true, unauth: true},
		{name: "non-2xx truncated JSON",
			h:      jsonHandler(503, `{"error":"SECRET-BODY`),
			status: 503, bad: true},
		{name: "200 truncated JSON",
			h:   jsonHandler(200, `{"d1":{"id":"d1","name":"SECRET-BODY`),
			bad: true, substr: "malformed JSON"},
		{name: "200 body cut by the connection", h: cutConn, bad: true, substr: "truncated body"},
		{name: "200 trailing garbage",
			h:   jsonHandler(200, `{"d1":{"id":"d1"}} SECRET-BODY`),
			bad: true, substr: "malformed JSON"},
		{name: "devices as an array",
			h:   jsonHandler(200, `[{"id":"SECRET-BODY"}]`),
			bad: true, substr: "wrong JSON type"},
		{name: "device field of the wrong type",
			h:   jsonHandler(200, `{"d1":{"id":"d1","name":123456789}}`),
			bad: true, substr: "wrong JSON type"},
		{name: "bare string",
			h:   jsonHandler(200, `"SECRET-BODY"`),
			bad: true, substr: "wrong JSON type"},
		{name: "null", h: jsonHandler(200, `null`), bad: true, substr: "null"},
		{name: "204", h: jsonHandler(204, ``), bad: true, substr: "no content"},
		{name: "200 empty body", h: jsonHandler(200, ``), bad: true, substr: "empty body"},
		{name: "200 text/plain",
			h: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte(`{"d1":{"id":"d1"}}`))
			},
			bad: true, substr: "not JSON (text/plain)"},
		{name: "connection reset", h: resetConn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, map[string]http.HandlerFunc{devicesOp: tt.h})
			c := &Client{BaseURL: srv.URL, HomeyID: "h1"}
			devs, err := c.Devices(context.Background(), "bearer-SECRET")
			if devs != nil {
				t.Errorf("got devices %v with the error", devs)
			}
			checkErrText(t, err, devicesOp, "bearer-SECRET")
			checkClass(t, err, tt.bad, tt.unauth, tt.invalid)
			checkAPIError(t, err, tt.status, tt.code, tt.desc)
			if tt.text != "" && err.Error() != tt.text {
				t.Errorf("Error() = %q; want %q", err, tt.text)
			}
			if tt.substr != "" && !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("Error() = %q; want it to contain %q", err, tt.substr)
			}
		})
	}
}

func checkClass(t *testing.T, err error, bad, unauth, invalid bool) {
	t.Helper()
	if got := errors.Is(err, ErrBadResponse); got != bad {
		t.Errorf("errors.Is(%q, ErrBadResponse) = %v; want %v", err, got, bad)
	}
	if got := IsUnauthorized(err); got != unauth {
		t.Errorf("IsUnauthorized(%q) = %v; want %v", err, got, unauth)
	}
	if got := IsInvalidToken(err); got != invalid {
		t.Errorf("IsInvalidToken(%q) = %v; want %v", err, got, invalid)
	}
}

func checkAPIError(t *testing.T, err error, status int, code, desc string) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		if status != 0 {
			t.Errorf("%q is no *APIError; want status %d", err, status)
		}
		return
	}
	if status == 0 {
		t.Errorf("%q is an *APIError; want none", err)
		return
	}
	if ae.StatusCode != status || ae.Code != code || ae.Description != desc || ae.Op != devicesOp {
		t.Errorf("APIError = %+v; want %s %d %q %q", *ae, devicesOp, status, code, desc)
	}
}

func TestTimeouts(t *testing.T) {
	done := make(chan struct{})
	srv := newTestServer(t, map[string]http.HandlerFunc{devicesOp: hang(done)})
	t.Cleanup(func() { close(done) }) // runs before the server's Close

	tests := []struct {
		name string
		hc   *http.Client
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"client timeout", &http.Client{Timeout: 100 * time.Millisecond},
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"ctx deadline", nil,
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			c := &Client{BaseURL: srv.URL, HomeyID: "h1", HTTP: tt.hc}
			start := time.Now()
			_, err := c.Devices(ctx, "bearer-SECRET")
			if d := time.Since(start); d > 30*time.Second { // a hang, not slowness: the machine may be loaded
				t.Errorf("gave up after %v", d)
			}
			checkErrText(t, err, devicesOp, "bearer-SECRET", srv.URL)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%q, context.DeadlineExceeded) = false", err)
			}
			checkClass(t, err, false, false, false)
		})
	}
}

func TestBodyLimit(t *testing.T) {
	big := `"` + strings.Repeat("a", maxBody) + `"`
	srv := newTestServer(t, map[string]http.HandlerFunc{
		"POST /api/manager/users/login": jsonHandler(200, big),
	})
	c := &Client{BaseURL: srv.URL, HomeyID: "h1"}
	_, err := c.Login(context.Background(), "jwt-SECRET")
	checkErrText(t, err, "POST /api/manager/users/login", "jwt-SECRET", "aaaa")
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %q; want ErrBadResponse about the size", err)
	}
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct{ in, want string }{
		{"token expired", "token expired"},
		{"line one\nline two\r\n\tthree", "line one line two three"},
		{"bell\a and \u202eflip", "bell and flip"},
		{"  spaces   inside  ", "spaces inside"},
		{long, strings.Repeat("x", maxDescLen-1) + "…"},
	}
	for _, tt := range tests {
		got := sanitize.Line(tt.in, maxDescLen)
		if got != tt.want {
			t.Errorf("sanitize.Line(%.20q) = %.40q; want %.40q", tt.in, got, tt.want)
		}
		if n := len([]rune(got)); n > maxDescLen {
			t.Errorf("sanitize.Line(%.20q) has %d runes", tt.in, n)
		}
	}
}

func TestAPIErrorLongDescription(t *testing.T) {
	body := `{"error":"invalid_request","error_description":"` + strings.Repeat("y", 500) + `\nSECRET"}`
	srv := newTestServer(t, map[string]http.HandlerFunc{devicesOp: jsonHandler(400, body)})
	_, err := (&Client{BaseURL: srv.URL, HomeyID: "h1"}).Devices(context.Background(), "b")
	checkErrText(t, err, devicesOp)
	var ae *APIError
	if !errors.As(err, &ae) || len([]rune(ae.Description)) != maxDescLen {
		t.Errorf("err = %#v; want an APIError with a %d-rune description", err, maxDescLen)
	}
}

// tokenEndpointError is how auth reports a 429 of the token endpoint: a status and the two
// headers, through methods (auth and homey do not import each other).
type tokenEndpointError struct {
	status int
	h      http.Header
}

func (e tokenEndpointError) Error() string            { return "token endpoint: " + strconv.Itoa(e.status) }
func (e tokenEndpointError) StatusCode() int          { return e.status }
func (e tokenEndpointError) RetryHeader() http.Header { return e.h }

func TestRetryAfterOfAndStatusOf(t *testing.T) {
	api := &APIError{Op: "GET /user/me", StatusCode: 429, retryAfter: 30 * time.Second}
	tok := tokenEndpointError{429, http.Header{"Retry-After": {"45"}}}
	for _, tc := range []struct {
		err    error
		wait   time.Duration
		status int
	}{
		{fmt.Errorf("fetch the account: %w", api), 30 * time.Second, 429},
		{fmt.Errorf("refresh: %w", tok), 45 * time.Second, 429},
		{fmt.Errorf("refresh: %w", tokenEndpointError{503, nil}), 0, 503},
		{&APIError{Op: "GET /api/manager/devices/device", StatusCode: 500}, 0, 500},
		{errors.New("connection refused"), 0, 0},
		{nil, 0, 0},
	} {
		if got := RetryAfterOf(tc.err); got != tc.wait {
			t.Errorf("RetryAfterOf(%v) = %v, want %v", tc.err, got, tc.wait)
		}
		if got := StatusOf(tc.err); got != tc.status {
			t.Errorf("StatusOf(%v) = %d, want %d", tc.err, got, tc.status)
		}
	}
}
