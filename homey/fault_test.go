package homey

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey/emulator"
)

// faultCall is one API call of the package, run against the emulator.
type faultCall struct {
	route string // the emulator's fault key
	base  string // where it goes (for the network-error check)
	call  func(ctx context.Context) error
}

// TestFaultsEveryCall runs every Cloud and Client call against the emulator under every fault
// kind and checks the class of the error: 5xx and 429 are *APIError (429 with the server's
// Retry-After), an HTML page is an *APIError that is also ErrBadResponse, truncated and
// wrong-typed JSON are ErrBadResponse, a reset and a hang are network errors at the call's
// address (the hang ended by the client's timeout), a slow answer succeeds. Each call works
// again as soon as the fault is gone, and no error holds a secret. At the end, with the
// emulator closed and the idle connections dropped, no goroutine is left: every body was
// closed (an unclosed one leaves a persistConn loop behind).
func TestFaultsEveryCall(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv, err := emulator.New(emulator.Options{RelayLatency: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// No Client.Timeout and a context that outlives the leak check: a timeout or a cancelled
	// context would tear down a connection whose body was left open and hide the leak. Only
	// the hang gets a short deadline of its own.
	tr := &http.Transport{}
	const timeout = 400 * time.Millisecond
	hc := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	code, err := srv.AuthorizeCode("")
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), Endpoint: Endpoint(srv.URL()), RedirectURL: srv.RedirectURI()}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), code)
	if err != nil {
		t.Fatal(err)
	}
	cloud := &Cloud{BaseURL: srv.URL(), Tokens: oauth2.StaticTokenSource(tok), HTTP: hc}
	hi := srv.Homeys()[0]
	homeyc := &Client{BaseURL: hi.BaseURL, HomeyID: hi.ID, HTTP: hc}
	jwt, err := cloud.DelegationToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bearer, err := homeyc.Login(ctx, jwt)
	if err != nil {
		t.Fatal(err)
	}

	calls := []faultCall{
		{"GET /user/me", srv.URL(), func(ctx context.Context) error { _, err := cloud.Me(ctx); return err }},
		{"POST /delegation/token", srv.URL(), func(ctx context.Context) error { _, err := cloud.DelegationToken(ctx); return err }},
		{"GET /api/manager/system/ping", hi.BaseURL, homeyc.Ping},
		{"POST /api/manager/users/login", hi.BaseURL, func(ctx context.Context) error {
			_, err := homeyc.Login(ctx, jwt) // the delegation token stays valid for 60 s: enough for every kind
			return err
		}},
		{"GET /api/manager/sessions/session/me", hi.BaseURL, func(ctx context.Context) error { _, err := homeyc.SessionMe(ctx, bearer); return err }},
		{"GET /api/manager/devices/device", hi.BaseURL, func(ctx context.Context) error { _, err := homeyc.Devices(ctx, bearer); return err }},
		{"GET /api/manager/zones/zone", hi.BaseURL, func(ctx context.Context) error { _, err := homeyc.Zones(ctx, bearer); return err }},
	}
	kinds := []emulator.FaultKind{emulator.Fault5xx, emulator.FaultHTML, emulator.FaultTruncated, emulator.FaultWrongType,
		emulator.FaultReset, emulator.FaultHang, emulator.FaultRateLimit, emulator.FaultSlow}
	for _, c := range calls {
		for _, kind := range kinds {
			t.Run(c.route+"/"+kind.String(), func(t *testing.T) {
				srv.SetFault(c.route, emulator.Fault{Kind: kind, Delay: timeout / 4})
				cctx := ctx
				if kind == emulator.FaultHang {
					var cancel context.CancelFunc
					cctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				err := c.call(cctx)
				srv.ClearFaults()
				checkFaultError(t, c, kind, err)
				for _, s := range srv.IssuedSecrets() {
					if err != nil && strings.Contains(err.Error(), s) {
						t.Errorf("the error holds a secret")
					}
				}
				if err := c.call(ctx); err != nil {
					t.Errorf("after healing: %v", err)
				}
			})
		}
	}

	t.Run("ratelimit with an HTTP-date", func(t *testing.T) {
		// 90 s after the answer's own Date, whatever our clock says.
		at := srv.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
		srv.SetFault("GET /user/me", emulator.Fault{Kind: emulator.FaultRateLimit, RetryAfter: at, Times: 1})
		_, err := cloud.Me(ctx)
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) || ra.RetryAfter() < 85*time.Second || ra.RetryAfter() > 90*time.Second {
			t.Errorf("Retry-After %s: %v, want about 90 s", at, err)
		}
	})

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func checkFaultError(t *testing.T, c faultCall, kind emulator.FaultKind, err error) {
	t.Helper()
	var ae *APIError
	isAPI := errors.As(err, &ae)
	bad := errors.Is(err, ErrBadResponse)
	network := isNetworkErrorAt(err, c.base)
	ping := c.route == "GET /api/manager/system/ping"
	switch kind {
	case emulator.Fault5xx:
		if !isAPI || ae.StatusCode != 500 || bad {
			t.Errorf("5xx: %v, want an *APIError 500", err)
		}
	case emulator.FaultHTML:
		if !isAPI || ae.StatusCode != 502 || !bad || strings.Contains(err.Error(), "<") {
			t.Errorf("html: %v, want an *APIError 502 that is ErrBadResponse, quoting nothing", err)
		}
	case emulator.FaultTruncated:
		// A ping is judged by its X-Homey-ID first: the broken proxy sent none.
		if ping && !errors.Is(err, ErrWrongHomey) || !ping && (!bad || isAPI) {
			t.Errorf("truncated: %v, want ErrBadResponse (a ping: ErrWrongHomey)", err)
		}
	case emulator.FaultWrongType:
		// The ping's success body is ignored, as the official client does (docs/protocol.md#ping).
		if ping && err != nil || !ping && (!bad || isAPI || !strings.Contains(err.Error(), "wrong JSON type")) {
			t.Errorf("wrongtype: %v, want ErrBadResponse for a wrong JSON type (a ping: no error)", err)
		}
	case emulator.FaultReset:
		if !network || isAPI {
			t.Errorf("reset: %v, want a network error at %s", err, c.route)
		}
	case emulator.FaultHang:
		if !network || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hang: %v, want the deadline as a network error", err)
		}
	case emulator.FaultRateLimit:
		if !isAPI || ae.StatusCode != http.StatusTooManyRequests || ae.RetryAfter() != 2*time.Second {
			t.Errorf("ratelimit: %v, want an *APIError 429 with RetryAfter 2 s", err)
		}
	case emulator.FaultSlow:
		if err != nil {
			t.Errorf("slow: %v, want success", err)
		}
	}
}

// TestParseRetryAfter: seconds or an HTTP-date (against the answer's Date when it has one),
// capped at an hour; garbage, negative and past values are "unknown" (0).
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date := func(t time.Time) string { return t.Format(http.TimeFormat) }
	tests := []struct {
		retryAfter, date string
		want             time.Duration
	}{
		{"", "", 0},
		{"30", "", 30 * time.Second},
		{" 7 ", "", 7 * time.Second},
		{"0", "", 0},
		{"-5", "", 0},
		{"1.5", "", 0},
		{"soon", "", 0},
		{"86400", "", MaxRetryAfter},
		{"99999999999999999999999", "", 0}, // overflows uint63: unreadable
		{date(now.Add(2 * time.Minute)), "", 2 * time.Minute},
		{date(now.Add(-time.Minute)), "", 0},
		{date(now.Add(48 * time.Hour)), "", MaxRetryAfter},
		// A server whose clock is a day ahead says "in 90 s" by its own Date.
		{date(now.Add(24*time.Hour + 90*time.Second)), date(now.Add(24 * time.Hour)), 90 * time.Second},
		{date(now.Add(90 * time.Second)), "not a date", 90 * time.Second},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.retryAfter != "" {
			h.Set("Retry-After", tc.retryAfter)
		}
		if tc.date != "" {
			h.Set("Date", tc.date)
		}
		if got := ParseRetryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q, Date %q: %v, want %v", tc.retryAfter, tc.date, got, tc.want)
		}
	}
}
