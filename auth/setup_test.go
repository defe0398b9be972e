package auth

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The setup page's secret in these tests; it must appear in no answer, header or output.
const setupSecret = "setup-secret-Zq8pX3vK-do-not-echo"

// saveLog is a Setup.Save that records its calls; fail, when set, decides each call's error.
type saveLog struct {
	mu    sync.Mutex
	calls []savedClient
	fail  func(n int) error // n counts calls from 1
	hook  func(ctx context.Context)
}

func (s *saveLog) save(ctx context.Context, id, secret string) error {
	s.mu.Lock()
	s.calls = append(s.calls, savedClient{id, secret})
	n, fail, hook := len(s.calls), s.fail, s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(ctx)
	}
	if fail != nil {
		return fail(n)
	}
	return nil
}

func (s *saveLog) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// startSetup runs Code in setup mode with no client yet; the user is to enter testClientID,
// which the authorization server (newAuthServer) insists on.
func startSetup(t *testing.T, host string, answer func(string) url.Values, adjust func(*Login, *saveLog)) (*loginRun, *saveLog) {
	t.Helper()
	sl := &saveLog{}
	r := startLogin(t, host, answer, func(l *Login) {
		l.Config.ClientID, l.Config.ClientSecret = "", ""
		l.Setup = &Setup{Save: sl.save}
		if adjust != nil {
			adjust(l, sl)
		}
	})
	return r, sl
}

// noRedirects is the browser without following redirects: to see the 303 itself.
var noRedirects = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// exchange is one request to the listener and its whole answer.
type exchange struct {
	status int
	header http.Header
	body   string
}

// setupRequest describes a request to the listener; zero fields take the genuine page's values.
type setupRequest struct {
	method, target, host, origin, contentType, body string
	noOrigin                                        bool
}

// send sends req to the listener at 127.0.0.1, as the browser on the setup page would unless
// req says otherwise.
func (r *loginRun) send(t *testing.T, req setupRequest) exchange {
	t.Helper()
	x, err := r.try(req)
	if err != nil {
		t.Fatalf("%s %.60s: %v", req.method, req.target, err)
	}
	return x
}

// try is send for other goroutines than the test's: it returns the error.
func (r *loginRun) try(req setupRequest) (exchange, error) {
	if req.method == "" {
		req.method = http.MethodPost
	}
	if req.target == "" {
		req.target = "/setup"
	}
	hr, err := http.NewRequest(req.method, "http://127.0.0.1:"+strconv.Itoa(r.port)+req.target, strings.NewReader(req.body))
	if err != nil {
		return exchange{}, err
	}
	hr.Host = req.host
	if req.host == "" {
		hr.Host = "127.0.0.1:" + strconv.Itoa(r.port)
	}
	if req.method == http.MethodPost {
		if req.origin == "" && !req.noOrigin {
			req.origin = "http://" + hr.Host
		}
		if req.origin != "" {
			hr.Header.Set("Origin", req.origin)
		}
		if req.contentType == "" {
			req.contentType = "application/x-www-form-urlencoded"
		}
		hr.Header.Set("Content-Type", req.contentType)
	}
	resp, err := noRedirects.Do(hr)
	if err != nil {
		return exchange{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return exchange{resp.StatusCode, resp.Header, string(body)}, err
}

// checkNoSecret fails if an answer holds a secret.
func checkNoSecret(t *testing.T, what string, x exchange, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, setupSecret) {
		if strings.Contains(x.body, s) {
			t.Errorf("%s: the page holds the secret %q", what, s) // test values, never a real secret
		}
		for k, vs := range x.header {
			for _, v := range vs {
				if strings.Contains(v, s) {
					t.Errorf("%s: header %s holds the secret %q", what, k, s)
				}
			}
		}
	}
}

func form(token, id, secret string) string {
	return url.Values{"token": {token}, "client_id": {id}, "client_secret": {secret}}.Encode()
}

// setupToken waits for Open and returns the setup URL and its token.
func (r *loginRun) setupToken(t *testing.T) (string, string) {
	t.Helper()
	u := r.authURL(t)
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return u, p.Query().Get("token")
}

// onward takes the browser from the 303 that answers a saved form to the page it leads to,
// which sends it on to the authorization page (a refresh, and a link for a click): it returns
// that page and where it leads.
func onward(t *testing.T, r *loginRun, x exchange) (exchange, *url.URL) {
	t.Helper()
	loc := x.header.Get("Location")
	if x.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/setup") {
		t.Fatalf("want a 303 to the setup page's address, got %d %q %.300s", x.status, loc, x.body)
	}
	page := r.send(t, setupRequest{method: http.MethodGet, target: loc})
	m := regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`).FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("the page after the 303: %d %.500s", page.status, page.body)
	}
	next := html.UnescapeString(m[1])
	if !strings.Contains(page.body, `<a href="`+m[1]+`"`) {
		t.Errorf("the page after the 303 has no link to %s", next)
	}
	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	return page, u
}

// follow takes the browser from the 303 that answers a saved form through the authorization
// server back to the callback, and returns the last answer.
func follow(t *testing.T, r *loginRun, x exchange) exchange {
	t.Helper()
	_, next := onward(t, r, x)
	resp, err := browser.Get(next.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return exchange{resp.StatusCode, resp.Header, string(body)}
}

// One browser visit takes a new user from nothing to a code: the setup page, the form, a 303
// to a page that goes straight on to the authorization page with the new client id and the
// sign-in's state, the callback, "Signed in".
func TestSetupGoodFlow(t *testing.T) {
	checkLeaks(t)
	// Paste is not read in setup mode: were it, this code would win long before the callback.
	r, sl := startSetup(t, "localhost", grant("good-code"), func(l *Login, _ *saveLog) { l.Paste = strings.NewReader("pasted-code\n") })
	setupURL, token := r.setupToken(t)
	if !strings.HasPrefix(setupURL, "http://localhost:"+strconv.Itoa(r.port)+"/setup?token=") || len(token) < 22 {
		t.Fatalf("the browser was opened on %s; want the setup page on the redirect URI's host with a ≥128-bit token", setupURL)
	}

	var answers []exchange
	resp, err := browser.Get(setupURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := exchange{resp.StatusCode, resp.Header, string(body)}
	answers = append(answers, page)
	if page.status != http.StatusOK {
		t.Fatalf("setup page: %d %s", page.status, page.body)
	}
	for _, want := range []string{DefaultProjectsURL, `value="` + r.redirect + `"`, `name="token" value="` + token + `"`,
		`<label for="client_id">`, `<label for="client_secret">`, `type="password"`, "24 hexadecimal characters"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the setup page lacks %q", want)
		}
	}

	x := r.send(t, setupRequest{host: "localhost:" + strconv.Itoa(r.port), body: form(token, " "+strings.ToUpper(testClientID)+"\n", setupSecret+" ")})
	answers = append(answers, x)
	if x.status != http.StatusSeeOther {
		t.Fatalf("POST: %d %s", x.status, x.body)
	}
	if x.header.Get("Referrer-Policy") != "no-referrer" || x.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the 303 has Referrer-Policy %q, Cache-Control %q", x.header.Get("Referrer-Policy"), x.header.Get("Cache-Control"))
	}
	on, next := onward(t, r, x)
	answers = append(answers, on)
	q := next.Query()
	if q.Get("client_id") != testClientID || q.Get("redirect_uri") != r.redirect || q.Get("response_type") != "code" || len(q.Get("state")) < 22 {
		t.Errorf("the page leads on to %s; want the authorization page with the new client id", next)
	}
	if csp := on.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") ||
		on.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the page leading on: CSP %q, Referrer-Policy %q", csp, on.header.Get("Referrer-Policy"))
	}
	// The browser goes on: the authorization server sends it back with the code.
	resp, err = browser.Get(next.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	answers = append(answers, exchange{resp.StatusCode, resp.Header, string(body)})
	if !strings.Contains(string(body), "Signed in") {
		t.Errorf("after the authorization page: %d %s", resp.StatusCode, body)
	}
	code, err := r.result(t)
	if err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v", code, err)
	}
	if sl.count() != 1 || sl.calls[0] != (savedClient{testClientID, setupSecret}) {
		t.Errorf("Save got %d calls; want one with the new client, trimmed and lowercased", sl.count())
	}
	if r.l.Config.ClientID != testClientID || r.l.Config.ClientSecret != setupSecret {
		t.Errorf("Config's client is %q; want the one saved", r.l.Config.ClientID)
	}
	for i, a := range answers {
		checkNoSecret(t, "answer "+strconv.Itoa(i), a)
	}
	out := r.out.String()
	if strings.Contains(out, setupSecret) || !strings.Contains(out, "setup page") || !strings.Contains(out, setupURL) || strings.Contains(out, "paste") {
		t.Errorf("Out should name the setup page and its URL and never the secret:\n%s", out)
	}
}

// The setup page's headers: nothing from elsewhere, inline style and script by nonce only, no
// framing, forms only to itself, nothing cached, no sniffing.
func TestSetupPageHeaders(t *testing.T) {
	checkLeaks(t)
	r, _ := startSetup(t, "127.0.0.1", grant("c"), nil)
	setupURL, token := r.setupToken(t)
	x := r.send(t, setupRequest{method: http.MethodGet, target: strings.TrimPrefix(setupURL, "http://127.0.0.1:"+strconv.Itoa(r.port))})
	if x.status != http.StatusOK {
		t.Fatalf("GET: %d", x.status)
	}
	csp := x.header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{22,})'`).FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("CSP %q: want a script nonce", csp)
	}
	nonce := m[1]
	for _, want := range []string{"default-src 'none'", "style-src 'nonce-" + nonce + "'", "frame-ancestors 'none'",
		"form-action 'self';", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("CSP %q allows too much", csp)
	}
	for h, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
		if got := x.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	// Every <style> and <script> carries the nonce; nothing is loaded from anywhere.
	if n := strings.Count(x.body, "<style"); n != strings.Count(x.body, `<style nonce="`+nonce+`">`) || n != 1 {
		t.Errorf("%d <style> elements, not all with the nonce", n)
	}
	if n := strings.Count(x.body, "<script"); n != strings.Count(x.body, `<script nonce="`+nonce+`">`) || n != 1 {
		t.Errorf("%d <script> elements, not all with the nonce", n)
	}
	for _, bad := range []string{" src=", "<link", "@import", "url(", "<img", "<iframe", " style="} {
		if strings.Contains(x.body, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	// Every visible field has a label.
	for _, in := range regexp.MustCompile(`<input [^>]*>`).FindAllString(x.body, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(in)
		if id == nil || !strings.Contains(x.body, `<label for="`+id[1]+`">`) && !strings.Contains(in, "aria-label=") {
			t.Errorf("field without a label: %s", in)
		}
	}
	// The error pages carry the strict policy too.
	e := r.send(t, setupRequest{method: http.MethodGet, target: "/setup?token=wrong"})
	if csp := e.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") ||
		e.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("error page: CSP %q, Referrer-Policy %q", csp, e.header.Get("Referrer-Policy"))
	}
	follow(t, r, r.send(t, setupRequest{body: form(token, testClientID, setupSecret)}))
	if _, err := r.result(t); err != nil {
		t.Fatal(err)
	}
}

// Every request that is not the genuine page's is refused with an error page, stores nothing
// and ends nothing; a form with a bad id or secret shows the reason and never the secret.
func TestSetupRefusals(t *testing.T) {
	checkLeaks(t)
	r, sl := startSetup(t, "localhost", grant("good-code"), func(l *Login, _ *saveLog) { l.Timeout = 2 * time.Minute })
	_, token := r.setupToken(t)
	p := strconv.Itoa(r.port)
	self := "http://localhost:" + p
	good := form(token, testClientID, setupSecret)
	sec := url.QueryEscape(setupSecret)
	for _, tc := range []struct {
		name string
		req  setupRequest
		want int
		says string // on the page
	}{
		{"GET, no token", setupRequest{method: "GET", target: "/setup"}, 403, "not valid"},
		{"GET, wrong token", setupRequest{method: "GET", target: "/setup?token=wrong"}, 403, "not valid"},
		{"GET, token cut short", setupRequest{method: "GET", target: "/setup?token=" + token[:len(token)-1]}, 403, "not valid"},
		{"GET, token too long", setupRequest{method: "GET", target: "/setup?token=" + token + "x"}, 403, "not valid"},
		{"GET, bad encoding", setupRequest{method: "GET", target: "/setup?token=%zz"}, 403, "not valid"},
		{"GET, Host evil.example", setupRequest{method: "GET", target: "/setup?token=" + token, host: "evil.example"}, 421, "is not the sign-in"},
		{"GET, Host evil.example with port", setupRequest{method: "GET", target: "/setup?token=" + token, host: "evil.example:" + p}, 421, "is not the sign-in"},
		{"GET with the secret in the address", setupRequest{method: "GET", target: "/setup?" + good}, 400, "does not belong in an address"},
		{"GET with the secret and no token", setupRequest{method: "GET", target: "/setup?client_secret=" + sec}, 400, "does not belong in an address"},
		{"POST, Host evil.example", setupRequest{host: "evil.example", origin: self, body: good}, 421, "is not the sign-in"},
		{"POST from another origin", setupRequest{origin: "http://evil.example", body: good}, 403, "not sent by the setup page"},
		{"POST from another loopback port", setupRequest{origin: "http://localhost:" + strconv.Itoa(r.port+1), body: good}, 403, "not sent by the setup page"},
		{"POST from https", setupRequest{origin: "https://localhost:" + p, body: good}, 403, "not sent by the setup page"},
		{"POST, Origin null", setupRequest{origin: "null", body: good}, 403, "not sent by the setup page"},
		{"POST, no Origin", setupRequest{noOrigin: true, body: good}, 403, "not sent by the setup page"},
		{"POST, no token", setupRequest{body: url.Values{"client_id": {testClientID}, "client_secret": {setupSecret}}.Encode()}, 403, "not valid"},
		{"POST, wrong token", setupRequest{body: form("wrong", testClientID, setupSecret)}, 403, "not valid"},
		{"POST, empty token", setupRequest{body: form("", testClientID, setupSecret)}, 403, "not valid"},
		{"POST, token in the address only", setupRequest{target: "/setup?token=" + token,
			body: url.Values{"client_id": {testClientID}, "client_secret": {setupSecret}}.Encode()}, 403, "not valid"},
		{"POST, secret in the address", setupRequest{target: "/setup?client_secret=" + sec, body: good}, 400, "does not belong in an address"},
		{"POST, token twice", setupRequest{body: good + "&token=" + token}, 400, "could not be read"},
		{"POST, client id twice", setupRequest{body: good + "&client_id=" + testClientID}, 400, "could not be read"},
		{"POST, secret twice", setupRequest{body: good + "&client_secret=" + sec}, 400, "could not be read"},
		{"POST, bad encoding", setupRequest{body: good + "&x=%zz"}, 400, "could not be read"},
		{"POST, multipart", setupRequest{contentType: "multipart/form-data; boundary=x", body: good}, 415, "could not be read"},
		{"POST, text/plain", setupRequest{contentType: "text/plain", body: good}, 415, "could not be read"},
		{"POST, JSON", setupRequest{contentType: "application/json", body: `{"token":"` + token + `"}`}, 415, "could not be read"},
		{"POST, too large", setupRequest{body: good + "&pad=" + strings.Repeat("a", maxSetupBody)}, 413, "too large"},
		{"POST, empty client id", setupRequest{body: form(token, "", setupSecret)}, 400, "Enter the client"},
		{"POST, client id of 23", setupRequest{body: form(token, testClientID[1:], setupSecret)}, 400, "24 hexadecimal characters"},
		{"POST, client id of 25", setupRequest{body: form(token, testClientID+"0", setupSecret)}, 400, "24 hexadecimal characters"},
		{"POST, client id not hex", setupRequest{body: form(token, "0123456789abcdef0123456g", setupSecret)}, 400, "24 hexadecimal characters"},
		{"POST, client id with a space", setupRequest{body: form(token, "0123456789ab cdef01234567", setupSecret)}, 400, "24 hexadecimal characters"},
		{"POST, client id of HTML", setupRequest{body: form(token, `<script>alert(1)</script>`, setupSecret)}, 400, "24 hexadecimal characters"},
		{"POST, empty secret", setupRequest{body: form(token, testClientID, "")}, 400, "Enter the client"},
		{"POST, blank secret", setupRequest{body: form(token, testClientID, " \t ")}, 400, "Enter the client"},
		{"POST, secret with a space", setupRequest{body: form(token, testClientID, "setup secret-Zq8pX3vK")}, 400, "holds a space"},
		{"POST, secret with a line break", setupRequest{body: form(token, testClientID, "setup-secret\nZq8pX3vK")}, 400, "holds a space"},
		{"POST, secret with a control character", setupRequest{body: form(token, testClientID, "setup-secret\x01Zq8pX3vK")}, 400, "holds a space"},
		{"POST, secret with NUL", setupRequest{body: form(token, testClientID, "setup-secret\x00Zq8pX3vK")}, 400, "holds a space"},
		{"POST, secret not ASCII", setupRequest{body: form(token, testClientID, "setup-sécret-Zq8pX3vK")}, 400, "holds a space"},
		{"POST, secret over 512 bytes", setupRequest{body: form(token, testClientID, strings.Repeat("s", 513))}, 400, "too long"},
		{"PUT", setupRequest{method: "PUT", body: good}, 405, ""},
		{"DELETE", setupRequest{method: "DELETE", target: "/setup?token=" + token}, 405, ""},
		{"other path", setupRequest{method: "GET", target: "/setupx?token=" + token}, 404, ""},
		{"setup subpath", setupRequest{method: "GET", target: "/setup/?token=" + token}, 404, ""},
	} {
		x := r.send(t, tc.req)
		if x.status != tc.want || !strings.Contains(x.body, tc.says) {
			t.Errorf("%s: %d %.300q; want %d and %q", tc.name, x.status, x.body, tc.want, tc.says)
		}
		checkNoSecret(t, tc.name, x, "setup secret-Zq8pX3vK", "setup-secret\nZq8pX3vK", "setup-sécret-Zq8pX3vK",
			"setup-secret&#10;Zq8pX3vK", strings.Repeat("s", 513))
		if strings.Contains(x.body, "<script>alert") {
			t.Errorf("%s: the page holds the typed HTML unescaped", tc.name)
		}
		// A bad id or secret brings the form back, with the reason; anything else an error page.
		invalid := false
		for _, v := range []string{"Enter the client", "24 hexadecimal characters", "holds a space", "too long"} {
			invalid = invalid || tc.says == v
		}
		if shows := strings.Contains(x.body, `<form method="post"`) && strings.Contains(x.body, `role="alert"`); shows != invalid {
			t.Errorf("%s: the form shown with a reason: %v, want %v", tc.name, shows, invalid)
		}
		if n := sl.count(); n != 0 {
			t.Fatalf("%s: Save was called", tc.name)
		}
		select {
		case res := <-r.done:
			t.Fatalf("%s ended the sign-in: %q %v", tc.name, res.code, res.err)
		default:
		}
	}

	// The genuine form still works, once.
	x := r.send(t, setupRequest{host: "localhost:" + p, body: good})
	if x.status != http.StatusSeeOther {
		t.Fatalf("the good form: %d %s", x.status, x.body)
	}
	for _, again := range []setupRequest{{body: good}, {body: form(token, "ffffffffffffffffffffffff", "other-secret")}} {
		if x := r.send(t, again); x.status != http.StatusConflict || !strings.Contains(x.body, "already done") {
			t.Errorf("after the setup, another form: %d; want 409, the token spent", x.status)
		}
	}
	// The page's address now leads on to the sign-in; without the token, still nothing.
	if x := r.send(t, setupRequest{method: "GET", target: "/setup?token=" + token}); x.status != http.StatusOK || !strings.Contains(x.body, "on to the sign-in") {
		t.Errorf("after the setup, GET: %d %.200s", x.status, x.body)
	}
	if x := r.send(t, setupRequest{method: "GET", target: "/setup?token=wrong"}); x.status != http.StatusForbidden || strings.Contains(x.body, "client_id") {
		t.Errorf("after the setup, GET with a wrong token: %d %.200s", x.status, x.body)
	}
	if sl.count() != 1 {
		t.Errorf("Save called %d times, want 1", sl.count())
	}
	follow(t, r, x)
	if code, err := r.result(t); err != nil || code != "good-code" {
		t.Errorf("Code = %q, %v", code, err)
	}
}

// A Save that fails (a locked keychain) shows its message's first line and lets the user try
// again with the same page; nothing is taken until a Save succeeds.
func TestSetupSaveFails(t *testing.T) {
	checkLeaks(t)
	r, sl := startSetup(t, "127.0.0.1", grant("good-code"), func(l *Login, sl *saveLog) {
		l.State = "fixed-state-for-the-save-test-0123456789"
		sl.fail = func(n int) error {
			if n == 1 {
				return fmt.Errorf("the keychain is locked: unlock it and try again (it said %s)\nsecond line", setupSecret)
			}
			return nil
		}
	})
	_, token := r.setupToken(t)
	x := r.send(t, setupRequest{body: form(token, testClientID, setupSecret)})
	if x.status != http.StatusInternalServerError || !strings.Contains(x.body, "Could not save the client: the keychain is locked: unlock it and try again") ||
		strings.Contains(x.body, "second line") || !strings.Contains(x.body, `value="`+testClientID+`"`) {
		t.Errorf("failed Save: %d %s", x.status, x.body)
	}
	checkNoSecret(t, "failed Save", x)
	x = r.send(t, setupRequest{body: form(token, testClientID, setupSecret)})
	if x.status != http.StatusSeeOther {
		t.Fatalf("second try: %d %s", x.status, x.body)
	}
	r.call(t, "GET", "/callback?code=good-code&state="+url.QueryEscape(r.l.State))
	if code, err := r.result(t); err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v", code, err)
	}
	if sl.count() != 2 || r.l.Config.ClientID != testClientID {
		t.Errorf("Save called %d times, Config's client %q", sl.count(), r.l.Config.ClientID)
	}
}

// Many forms at once: exactly one is saved, the others find the token spent.
func TestSetupConcurrentForms(t *testing.T) {
	checkLeaks(t)
	r, sl := startSetup(t, "127.0.0.1", grant("c"), nil)
	_, token := r.setupToken(t)
	const n = 8
	answers := make(chan exchange, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			x, err := r.try(setupRequest{body: form(token, testClientID, setupSecret+strconv.Itoa(i))})
			if err != nil {
				t.Errorf("form %d: %v", i, err)
			}
			answers <- x
		})
	}
	wg.Wait()
	close(answers)
	count := map[int]int{}
	var won exchange
	for x := range answers {
		count[x.status]++
		if x.status == http.StatusSeeOther {
			won = x
		}
	}
	if count[http.StatusSeeOther] != 1 || count[http.StatusConflict] != n-1 || sl.count() != 1 {
		t.Fatalf("statuses %v, %d Saves; want one 303, the rest 409, one Save", count, sl.count())
	}
	follow(t, r, won)
	if _, err := r.result(t); err != nil {
		t.Fatal(err)
	}
	if r.l.Config.ClientSecret != sl.calls[0].secret {
		t.Errorf("Config's client is not the one saved")
	}
}

// A client saved before the sign-in ends another way (cancelled, timed out) stays the
// Config's; and Code waits for a Save in progress before it returns.
func TestSetupSavedThenCancelled(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	sl := &saveLog{hook: func(sctx context.Context) {
		close(started)
		<-sctx.Done() // a slow keychain, that gets there in the end
	}}
	r := startLoginCtx(t, ctx, "localhost", grant("c"), func(l *Login) {
		l.Config.ClientID, l.Config.ClientSecret = "", ""
		l.Setup = &Setup{Save: sl.save}
	})
	_, token := r.setupToken(t)
	posted := make(chan error, 1)
	go func() {
		_, err := r.try(setupRequest{body: form(token, testClientID, setupSecret)})
		posted <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("Save was never called")
	}
	cancel()
	if _, err := r.result(t); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if r.l.Config.ClientID != testClientID || r.l.Config.ClientSecret != setupSecret {
		t.Errorf("Config's client %q; want the one Save kept while Code ended", r.l.Config.ClientID)
	}
	<-posted
}

// A redirect URI whose path is /setup keeps it: the setup page moves aside.
func TestSetupBesideRedirectPathSetup(t *testing.T) {
	checkLeaks(t)
	r, sl := startSetup(t, "127.0.0.1", grant("good-code"), func(l *Login, _ *saveLog) {
		l.Config.RedirectURL = strings.Replace(l.Config.RedirectURL, "/callback", "/setup", 1)
	})
	setupURL, token := r.setupToken(t)
	if !strings.Contains(setupURL, "/setup-client?token=") {
		t.Fatalf("setup page at %s", setupURL)
	}
	if x := r.send(t, setupRequest{target: "/setup", body: form(token, testClientID, setupSecret)}); x.status != http.StatusMethodNotAllowed {
		t.Errorf("POST to the redirect path: %d, want the callback's 405", x.status)
	}
	x := r.send(t, setupRequest{target: "/setup-client", body: form(token, testClientID, setupSecret)})
	if !strings.Contains(follow(t, r, x).body, "Signed in") {
		t.Error("the callback on /setup did not sign in")
	}
	if code, err := r.result(t); err != nil || code != "good-code" || sl.count() != 1 {
		t.Errorf("Code = %q, %v; %d Saves", code, err, sl.count())
	}
}

// Without Save, setup mode is refused before anything listens.
func TestSetupNeedsSave(t *testing.T) {
	l := &Login{Config: &oauth2.Config{RedirectURL: "http://localhost:1/callback"}, Setup: &Setup{}}
	if _, err := l.Code(context.Background()); err == nil || !strings.Contains(err.Error(), "Save") {
		t.Errorf("err = %v", err)
	}
}

// The reasons the page gives for a client ID or secret it refuses.
func TestSetupProblems(t *testing.T) {
	for _, tc := range []struct{ id, secret, want string }{
		{testClientID, setupSecret, ""},
		{strings.ToUpper(testClientID), "x", ""},
		{"", setupSecret, "Enter the client ID."},
		{testClientID[:23], setupSecret, "this one has 23."},
		{testClientID + "é", setupSecret, "this one has 25."},
		{"0123456789abcdef0123456é", setupSecret, "this one holds other characters."},
		{"0123456789abcdef0123456g", setupSecret, "this one holds other characters."},
		{testClientID, "", "Enter the client secret."},
		{testClientID, strings.Repeat("s", 512), ""},
		{testClientID, strings.Repeat("s", 513), "too long (over 512 bytes)"},
		{testClientID, "a\u00a0b", "holds a space"},
		{testClientID, "a\x7fb", "holds a space"},
	} {
		got := clientIDProblem(tc.id)
		if got == "" {
			got = secretProblem(tc.secret)
		}
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%q, %.20q: %q, want %q", tc.id, tc.secret, got, tc.want)
		}
		if tc.secret != "" && strings.Contains(got, tc.secret) {
			t.Errorf("the reason quotes the secret %q", tc.secret)
		}
	}
}
