//go:build unix

package auth

import (
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

// authVisits is an authorization server that records what reaches it. Like the real one may,
// its authorization page redirects to a login page on another host, which sends the browser
// back to the redirect URI with a code once the user has signed in.
type authVisits struct {
	*httptest.Server
	login  *httptest.Server
	mu     sync.Mutex
	visits []*http.Request // to either
}

func newAuthVisits(t *testing.T, code string) *authVisits {
	a := &authVisits{}
	a.login = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.record(r)
		q := r.URL.Query()
		back := url.Values{"code": {code}, "state": {q.Get("state")}}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
	}))
	t.Cleanup(a.login.Close)
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.record(r)
		q := r.URL.Query()
		if r.URL.Path != "/authorise" || q.Get("client_id") != testClientID {
			http.Error(w, "unknown client", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, a.login.URL+"/login?"+r.URL.RawQuery, http.StatusFound)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *authVisits) record(r *http.Request) {
	a.mu.Lock()
	a.visits = append(a.visits, r.Clone(r.Context()))
	a.mu.Unlock()
}

func (a *authVisits) all() []*http.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*http.Request(nil), a.visits...)
}

// startSetupInBrowser runs Code in setup mode, for a browser test: no client yet, the
// authorization page at as, every request to the listener logged.
func startSetupInBrowser(t *testing.T, as *authVisits, lg *listenerLog) (*loginRun, *saveLog) {
	t.Helper()
	return startSetup(t, "localhost", grant("unused"), func(l *Login, _ *saveLog) {
		l.Config.Endpoint.AuthURL = as.URL + "/authorise"
		l.Timeout = 2 * time.Minute
		l.wrap = lg.wrap
	})
}

// fillSetup types a client into the setup page and submits it with the mouse.
func fillSetup(t *testing.T, p *cdp.Page, id, secret string) {
	t.Helper()
	p.WaitFor(t, "the setup form", `document.getElementById("client_secret") !== null`)
	p.Type(t, "#client_id", id)
	p.Type(t, "#client_secret", secret)
	p.Click(t, `button[type="submit"]`)
}

// A new user in a real browser: the setup page opens, a mistyped client ID is refused on the
// page (the secret not sent back), the right one goes through, and the browser goes on to the
// authorization page with the new client, through a login page on yet another host (which a
// form-action 'self' would block, were it reached by redirects from the form), and back to the
// callback, which completes Code.
func TestSetupInChromium(t *testing.T) {
	checkLeaks(t)
	cdp.ChromiumPath(t)
	as := newAuthVisits(t, "good-code")
	lg := newListenerLog()
	r, sl := startSetupInBrowser(t, as, lg)
	setupURL, _ := r.setupToken(t)

	b := cdp.Start(t)
	p := b.NewPage(t, setupURL)
	p.WaitFor(t, "the setup page", `document.getElementById("redirect") !== null`)
	var shown string
	p.Eval(t, `document.getElementById("redirect").value`, &shown)
	if shown != r.redirect {
		t.Errorf("the page shows the redirect URL %q, want %q", shown, r.redirect)
	}
	// The copy button puts it on the clipboard (permission granted, as a user's click would).
	origin := "http://localhost:" + strconv.Itoa(r.port)
	p.Call(t, "Browser.grantPermissions", map[string]any{"origin": origin,
		"permissions": []string{"clipboardReadWrite", "clipboardSanitizedWrite"}}, nil)
	p.Click(t, "#copy")
	p.WaitFor(t, "the copy button's answer", `document.getElementById("copied").textContent !== ""`)
	var copied string
	p.Eval(t, `navigator.clipboard.readText()`, &copied)
	if copied != r.redirect {
		t.Errorf("the copy button copied %q (page says %q)", copied, p.Text(t))
	}

	// A client ID copied wrong: the reason on the page, the id typed back, the secret not.
	fillSetup(t, p, "0123456789abcdef0123456", setupSecret)
	p.WaitFor(t, "the refusal of the short client ID", `document.getElementById("problem") !== null`)
	if txt := p.Text(t); !strings.Contains(txt, "A client ID is 24 hexadecimal characters") {
		t.Errorf("the refusal says:\n%s", txt)
	}
	html := p.HTML(t)
	if strings.Contains(html, setupSecret) {
		t.Error("the page shows the secret after the refusal (in its markup or a field)")
	}
	if !strings.Contains(html, `value="0123456789abcdef0123456"`) {
		t.Error("the mistyped client ID is not typed back")
	}
	if sl.count() != 0 {
		t.Fatal("Save was called for a bad client ID")
	}

	fillSetup(t, p, testClientID, setupSecret)
	code, err := r.result(t)
	if err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v", code, err)
	}
	p.WaitFor(t, "the signed-in page", `document.body && document.body.innerText.includes("Signed in")`)
	if sl.count() != 1 || sl.calls[0] != (savedClient{testClientID, setupSecret}) || r.l.Config.ClientID != testClientID {
		t.Errorf("Save got %d calls; Config's client %q", sl.count(), r.l.Config.ClientID)
	}
	visits := as.all()
	if len(visits) != 2 || visits[0].URL.Path != "/authorise" || visits[0].URL.Query().Get("client_id") != testClientID {
		t.Fatalf("the authorization server saw %d visits, want the authorization page with the new client, then the login page", len(visits))
	}
	for _, v := range visits {
		if ref := v.Header.Get("Referer"); ref != "" {
			t.Errorf("%s got Referer %q", v.URL.Path, ref)
		}
	}

	t.Logf("the listener saw:\n%s", lg)
	var posts int
	for _, s := range lg.all() {
		if strings.Contains(s.target, "secret") {
			t.Errorf("%s: the secret in an address", s)
		}
		if s.method == http.MethodPost {
			posts++
			if s.header.Get("Origin") != origin {
				t.Errorf("%s: Origin %q; the page's own POST must carry its origin", s, s.header.Get("Origin"))
			}
		}
	}
	if posts != 2 {
		t.Errorf("%d POSTs reached the listener, want 2", posts)
	}
}

// setupAttackPage posts the setup form from another origin, with no token, a guessed one and
// (as if it had leaked) the real one; as a form (its referrer policy no-referrer makes Chromium
// send Origin: null) and as a fetch (Origin: the attacker's); and tries to read or frame the
// page. {{A}} and {{B}} are the setup page
// under localhost and under 127.0.0.1.
const setupAttackPage = `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>free stuff</title><body><script>` +
	hostileJS + `
const A = "{{A}}", B = "{{B}}";
const client = {client_id: "eeeeeeeeeeeeeeeeeeeeeeee", client_secret: "attacker-secret"};
const body = t => new URLSearchParams(Object.assign({token: t}, client)).toString();
const post = (t, extra) => Object.assign({mode: "no-cors", method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: body(t)}, extra);
(async () => {
  const token = await (await fetch("/ready")).text();
  await run([
    ["form POST, no token", n => viaForm(n, "POST", A, client)],
    ["form POST, guessed token", n => viaForm(n, "POST", A, Object.assign({token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, client))],
    ["form POST, the real token", n => viaForm(n, "POST", A, Object.assign({token: token}, client))],
    ["form POST, the real token, 127.0.0.1", n => viaForm(n, "POST", B, Object.assign({token: token}, client))],
    ["fetch POST, the real token", n => viaFetch(n, B, post(token, {}))],
    ["fetch cors GET of the page", n => viaFetch(n, A + "?token=" + token, {mode: "cors"})],
    ["iframe of the page", n => viaElement(n, "iframe", A + "?token=" + token)],
    ["form GET with the secret in the address", n => viaForm(n, "GET", A, Object.assign({token: token}, client))],
  ]);
  const next = await report("/report");
  if (next) location.href = next;
})();
</script>`

// A page on another origin, in the same browser as a waiting setup, cannot set up a client of
// its own or read the page, even with the real token: the form and fetch posts are refused
// (token, then Origin), nothing is saved, nothing ends, and the page reads no answer. The user
// then sets up in the same browser as usual.
func TestSetupHostilePageInChromium(t *testing.T) {
	checkLeaks(t)
	cdp.ChromiumPath(t)
	as := newAuthVisits(t, "good-code")
	lg := newListenerLog()
	r, sl := startSetupInBrowser(t, as, lg)
	setupURL, token := r.setupToken(t)
	port := strconv.Itoa(r.port)
	page := strings.NewReplacer("{{A}}", "http://localhost:"+port+"/setup", "{{B}}", "http://127.0.0.1:"+port+"/setup").Replace(setupAttackPage)
	site := newHostileSite(t, map[string]string{"/free.html": page})

	b := cdp.Start(t)
	p := b.NewPage(t, site.URL+"/free.html")
	select {
	case <-site.ready:
	case <-time.After(cdp.Timeout):
		t.Fatal("the hostile page never ran")
	}
	site.release <- token
	found := site.report(t)
	if sl.count() != 0 {
		t.Fatalf("the hostile page got %d clients saved", sl.count())
	}
	select {
	case res := <-r.done:
		t.Fatalf("the hostile page ended the sign-in: %q %v", res.code, res.err)
	default:
	}
	if len(found) != 8 {
		t.Errorf("the page reported %d attempts, want 8", len(found))
	}
	for _, a := range found {
		t.Logf("page: %-45s %s %s %d %s", a.Name, a.Outcome, a.Type, a.Status, a.Error)
		readable := a.Status != 0 || a.Body != "" || a.Headers != "" || (a.Type != "" && a.Type != "opaque")
		if a.Outcome == "timeout" || readable {
			t.Errorf("%s: %s, type %q, status %d, body %.200q: the page could read the answer (or it never came)",
				a.Name, a.Outcome, a.Type, a.Status, a.Body)
		}
	}
	site.next <- "" // the page is done

	// Each kind of attempt reached the listener and was refused (else the test proves nothing).
	origins := map[string]bool{}
	for _, s := range lg.all() {
		if !strings.HasPrefix(s.target, "/setup") {
			continue
		}
		switch {
		case s.method == http.MethodPost:
			origins[s.header.Get("Origin")] = true
			if s.status != http.StatusForbidden {
				t.Errorf("%s (Origin %q): want 403", s, s.header.Get("Origin"))
			}
		case strings.Contains(s.target, "client_secret"):
			if s.status != http.StatusBadRequest {
				t.Errorf("%s: want 400", s)
			}
		case s.status != http.StatusOK:
			t.Errorf("%s: the page with the real token should be served (and stay unreadable)", s)
		}
		if s.answer.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: answered with Access-Control-Allow-Origin", s)
		}
	}
	if !origins["null"] || !origins[site.URL] {
		t.Errorf("POSTs came with Origin %v; want both null and %s among them", origins, site.URL)
	}

	// The user, in the same browser.
	p.Navigate(t, setupURL)
	fillSetup(t, p, testClientID, setupSecret)
	if code, err := r.result(t); err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v", code, err)
	}
	if sl.count() != 1 || r.l.Config.ClientID != testClientID {
		t.Errorf("Save got %d calls; Config's client %q", sl.count(), r.l.Config.ClientID)
	}
}
