package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

const fuzzState = "f1u2z3z4-state_AbCdEfGhIjKlMnOpQrStUvWxYz0123456"

// FuzzCallback drives the loopback redirect handler with any method, path and
// query: a code is delivered only when the query parses, is not oversize and
// its state matches exactly; every refused request gets a 4xx.
func FuzzCallback(f *testing.F) {
	for _, s := range []struct{ method, path, query string }{
		{"GET", "/callback", "code=abc&state=" + fuzzState},
		{"GET", "/callback", "state=" + fuzzState + "&code=abc"},
		{"GET", "/callback", "code=abc&state=" + fuzzState + "x"},
		{"GET", "/callback", "code=abc&state=" + fuzzState[:10]},
		{"GET", "/callback", "code=abc"},
		{"GET", "/callback", "code=abc&state="},
		{"GET", "/callback", "error=access_denied&state=" + fuzzState},
		{"GET", "/callback", "error=access_denied"},
		{"GET", "/callback", "error=server_error&error_description=line1%0Aline2&state=" + fuzzState},
		{"GET", "/callback", "state=" + fuzzState},
		{"GET", "/callback", "state=" + fuzzState + "&state=other&code=1"},
		{"GET", "/callback", "state=other&state=" + fuzzState + "&code=1"},
		{"GET", "/callback", "code=a;b&state=" + fuzzState},
		{"GET", "/callback", "code=%zz&state=" + fuzzState},
		{"GET", "/callback", "code=\x00\xff&state=" + fuzzState},
		{"POST", "/callback", "code=abc&state=" + fuzzState},
		{"OPTIONS", "/callback", "code=abc&state=" + fuzzState},
		{"GET", "/", "code=abc&state=" + fuzzState},
		{"GET", "/callback/", "code=abc&state=" + fuzzState},
		{"GET", "/callback", strings.Repeat("a", maxCallbackQuery+1) + "&code=abc&state=" + fuzzState},
	} {
		f.Add(s.method, s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		d := &delivery{ch: make(chan loginResult, 1)}
		h := &callback{path: "/callback", state: fuzzState, d: d}
		r := &http.Request{
			Method:     method,
			URL:        &url.URL{Path: path, RawQuery: rawQuery},
			Header:     http.Header{},
			Host:       "127.0.0.1",
			Proto:      "HTTP/1.1",
			ProtoMajor: 1, ProtoMinor: 1,
			Body: http.NoBody,
		}
		r = r.WithContext(context.Background())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		q, qerr := url.ParseQuery(rawQuery)
		valid := path == "/callback" && method == http.MethodGet &&
			len(rawQuery) <= maxCallbackQuery && qerr == nil && q.Get("state") == fuzzState
		var got *loginResult
		select {
		case res := <-d.ch:
			got = &res
		default:
		}
		if got != nil && !valid {
			t.Fatalf("delivered %+v for %s %q ?%q (state not exactly ours or request refused)", *got, method, path, rawQuery)
		}
		if got == nil && w.Code < 400 {
			t.Fatalf("status %d without a delivery for %s %q ?%q", w.Code, method, path, rawQuery)
		}
		if got != nil {
			if w.Code != http.StatusOK {
				t.Fatalf("delivered but status %d", w.Code)
			}
			switch {
			case q.Get("error") != "":
				if got.err == nil || got.code != "" {
					t.Fatalf("error redirect delivered %+v", *got)
				}
			default:
				if got.code != q.Get("code") || got.code == "" {
					t.Fatalf("delivered code %q, query code %q", got.code, q.Get("code"))
				}
			}
			if got.err != nil {
				checkOneLine(t, got.err.Error())
			}
			// A second, identical callback never delivers again.
			w2 := httptest.NewRecorder()
			h.ServeHTTP(w2, r)
			if w2.Code != http.StatusConflict {
				t.Fatalf("repeated callback: status %d, want 409", w2.Code)
			}
			select {
			case res := <-d.ch:
				t.Fatalf("repeated callback delivered %+v", res)
			default:
			}
		}
	})
}

// FuzzParsePaste: a pasted line is a bare code (taken as is), or an address
// or query whose state, when present, must match exactly. Problems are one line.
func FuzzParsePaste(f *testing.F) {
	for _, s := range []string{
		"abc123",
		"4/0AbCdEf-gh_ij.kl",
		"http://127.0.0.1:8976/callback?code=abc&state=" + fuzzState,
		"http://localhost/callback?code=abc&state=wrong",
		"http://localhost/callback?code=abc",
		"?code=abc&state=" + fuzzState,
		"code=abc&state=" + fuzzState,
		"https://x/cb?error=access_denied&state=" + fuzzState,
		"https://x/cb?error=access_denied&state=other",
		"https://x/cb?state=" + fuzzState + "#code=frag",
		"https://x/cb?code=%zz",
		"https://x/cb?state=" + fuzzState,
		"not a code",
		"<script>",
		strings.Repeat("x", 2049),
		"\x00\xff\xfe",
		"code=a;b",
		"error=x%0Ay&error_description=%0D%0Abad",
		"code=0#&state=", // a state in the fragment is no state
		"state=?code=0",  // nor one before the query
		"0?state=0#0",    // no code: an address without its scheme
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		// As readPaste hands it over: trimmed, never empty.
		if line = strings.TrimSpace(line); line == "" {
			return
		}
		res, problem := parsePaste(line, fuzzState)
		if problem != "" {
			checkOneLine(t, problem)
			if res.code != "" || res.err != nil {
				t.Fatalf("problem %q with a result %+v", problem, res)
			}
			return
		}
		if (res.code == "") == (res.err == nil) {
			t.Fatalf("%q: want exactly one of code and error, got %+v", line, res)
		}
		if res.err != nil {
			checkOneLine(t, res.err.Error())
		}
		bare := !strings.Contains(line, "://") && !strings.HasPrefix(line, "?") &&
			!strings.Contains(line, "code=") && !strings.Contains(line, "error=")
		if bare {
			if res.code != line || strings.ContainsAny(line, " \t\"'<>?#&=") || len(line) > 2048 {
				t.Fatalf("bare paste %q gave code %q", line, res.code)
			}
			return
		}
		// Not a bare code: nothing may come back when the query carries another state, and a
		// code must be the query's first code parameter. Both read with a regular expression,
		// not with the parser's url.ParseQuery (FuzzPasteRoundTrip builds addresses instead).
		// The query of an address: after its first "?" (the whole line if it has none), before
		// its "#" (RFC 3986).
		query, _, _ := strings.Cut(line, "#")
		if _, after, ok := strings.Cut(query, "?"); ok {
			query = after
		}
		name := func(m []string) string { n, _ := url.QueryUnescape(m[1]); return n }
		for _, m := range queryParam.FindAllStringSubmatch(query, -1) {
			if name(m) == "state" {
				if v, err := url.QueryUnescape(m[2]); err == nil && v != fuzzState {
					t.Fatalf("%q: accepted with a foreign state %q", line, v)
				}
			}
		}
		if res.code != "" {
			first := ""
			for _, m := range queryParam.FindAllStringSubmatch(query, -1) {
				if name(m) == "code" {
					first = m[2]
					break
				}
			}
			if v, err := url.QueryUnescape(first); err != nil || v != res.code {
				t.Fatalf("%q: code %q, the query's first code is %q", line, res.code, first)
			}
		}
	})
}

// queryParam finds the name=value parameters of a query.
var queryParam = regexp.MustCompile(`(?:^|&)([^&=]*)=([^&]*)`)

// FuzzPasteRoundTrip builds the address a browser would show after the redirect — from a code,
// a state and what follows — and checks parsePaste against what was put in: the code comes back
// exactly when the state is ours and the code is not empty; a foreign state is refused.
func FuzzPasteRoundTrip(f *testing.F) {
	f.Add("abc123", fuzzState, "localhost:47719/callback", "")
	f.Add("4/0Ab-c_d.e~f", fuzzState, "127.0.0.1:8976/callback", "frag")
	f.Add("a b&c=d#e", fuzzState, "x/cb", "")
	f.Add("abc", "other", "localhost:47719/callback", "")
	f.Add("", fuzzState, "localhost:47719/callback", "")
	f.Add("abc", "", "", "")
	f.Fuzz(func(t *testing.T, code, state, hostPath, fragment string) {
		if strings.ContainsAny(hostPath, "?#&= \t\r\n") {
			return // the address before its query
		}
		q := url.Values{}
		if code != "" {
			q.Set("code", code)
		}
		q.Set("state", state)
		line := "?" + q.Encode() // the query alone, as some browsers let you copy it
		if hostPath != "" {
			line = "http://" + hostPath + line
		}
		if fragment != "" {
			line += "#" + url.PathEscape(fragment)
		}
		res, problem := parsePaste(line, fuzzState)
		switch {
		case state != fuzzState && state != "":
			if problem == "" {
				t.Fatalf("%q: a foreign state was accepted: %+v", line, res)
			}
		case code == "":
			if problem == "" {
				t.Fatalf("%q: no code, yet %+v", line, res)
			}
		case state == "":
			// An empty state parameter is not ours: refused, or (no state to compare) the code.
			if problem == "" && res.code != code {
				t.Fatalf("%q: code %q, built with %q", line, res.code, code)
			}
		default:
			if problem != "" || res.code != code || res.err != nil {
				t.Fatalf("%q: got %+v, problem %q; built with code %q", line, res, problem, code)
			}
		}
	})
}

// FuzzTokenError runs a real x/oauth2 code exchange against any answer of the
// token endpoint: it gives a token or an error that is one line, short, names
// the operation and never quotes the body.
func FuzzTokenError(f *testing.F) {
	for _, s := range []struct {
		status int
		ctype  string
		body   string
	}{
		{200, "application/json", `{"access_token":"at","refresh_token":"rt","token_type":"bearer","expires_in":3600}`},
		{200, "application/json", `{"access_token":"at","expires_in":1e400}`},
		{200, "application/json", `{"access_token":"at","expires_in":"3600"}`},
		{200, "application/json", `{"token_type":"bearer"}`},
		{200, "application/json", `{"access_token":"at"`},
		{200, "application/json", `null`},
		{200, "application/json", ``},
		{200, "text/html", `<html><body>Proxy says hi SECRET-SESSION-ID</body></html>`},
		{200, "application/x-www-form-urlencoded", `access_token=at&expires_in=3600`},
		{200, "application/x-www-form-urlencoded", `access_token=%zz`},
		{400, "application/json", `{"error":"invalid_grant","error_description":"The refresh token is invalid"}`},
		{400, "application/json", `{"error":"invalid_request","error_description":"line1\nline2\r\u0000\u202e"}`},
		{401, "application/json", `{"error":"invalid_client","client_secret":"SECRET-123"}`},
		{400, "application/json", `{"error":{"nested":[[[[[[1]]]]]]}}`},
		{500, "text/html", "<html>\n<h1>500</h1>\nstack trace with password=hunter2\n</html>"},
		{502, "text/html", "<html><body>Bad Gateway</body></html>"},
		{429, "application/json", `{"error":"too_many_requests"}`},
		{400, "application/x-www-form-urlencoded", "error=invalid_grant&error_description=bad%0Aline"},
		{400, "application/json", strings.Repeat("[", 10000)},
		{400, "application/json", "{\"error\":\"\xff\xfe\x00\"}"},
		{999, "", "x"},
		{100, "", ""},
	} {
		f.Add(s.status, s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		if status < 200 || status > 999 {
			// net/http only lets a client see a final status; 1xx are interim.
			return
		}
		rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			h := http.Header{}
			if ctype != "" {
				h.Set("Content-Type", ctype)
			}
			return &http.Response{
				StatusCode: status, Status: http.StatusText(status), Header: h,
				Body: io.NopCloser(strings.NewReader(string(body))), Request: req,
				ContentLength: int64(len(body)),
			}, nil
		})
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: rt})
		cfg := &oauth2.Config{ClientID: "id", ClientSecret: "cs", Endpoint: oauth2.Endpoint{
			TokenURL: "http://127.0.0.1:1/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
		tok, err := cfg.Exchange(ctx, "the-code")
		if err == nil {
			if tok.AccessToken == "" {
				t.Fatal("a token without access_token")
			}
			return
		}
		for _, refresh := range []bool{false, true} {
			e := tokenError("exchange the code", err, refresh)
			msg := e.Error()
			checkOneLine(t, msg)
			if !strings.HasPrefix(msg, "exchange the code: ") && !errors.Is(e, ErrSignInGone) {
				t.Fatalf("error does not name the operation: %q", msg)
			}
			if len(msg) > 600 {
				t.Fatalf("error is %d bytes long: %q", len(msg), msg)
			}
			// The body may only appear by being part of the fixed wording.
			fixed := "exchange the code: token endpoint: " + http.StatusText(status) +
				" (not an OAuth error answer) reading the answer failed " + ErrBadAnswer.Error() + " " + ErrSignInGone.Error()
			if b := strings.TrimSpace(string(body)); len(b) >= 12 && strings.Contains(msg, b) && !strings.Contains(fixed, b) {
				t.Fatalf("error quotes the body %q: %q", b, msg)
			}
			// A 2xx without a token is a bad answer, or an OAuth error
			// object (x/oauth2 reads "error" from any status).
			var ee *endpointError
			if status/100 == 2 && !errors.Is(e, ErrBadAnswer) && !errors.As(e, &ee) {
				t.Fatalf("2xx non-token answer: %q", msg)
			}
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func checkOneLine(t *testing.T, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\r\n\x00\u2028\u2029\u0085") {
		t.Fatalf("not one line: %q", s)
	}
	if !utf8.ValidString(s) {
		t.Fatalf("not valid UTF-8: %q", s)
	}
}
