package auth

import (
	"context"
	"errors"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// DefaultProjectsURL is where a user registers a Web API client of their own
// (Athom's developer tools); Setup.ProjectsURL overrides it.
const DefaultProjectsURL = "https://tools.developer.homey.app/api/projects"

const (
	// setupPath is where the setup page is served, next to the redirect
	// path; setupPathAlt when the redirect path is setupPath itself.
	setupPath    = "/setup"
	setupPathAlt = "/setup-client"
	// maxSetupBody bounds a form: a 512-byte secret percent-encoded is
	// 1.5 KiB, the id and the token under 100 bytes.
	maxSetupBody = 8 << 10
	// maxSecretLen bounds the client secret; Athom's are far shorter.
	maxSecretLen = 512
	// maxRefill bounds the client id typed back into the form after an error.
	maxRefill = 64
)

// Setup is the first-run mode of Login: before the sign-in, the user
// registers a Web API client of their own at the authorization server and
// enters its client ID and secret on a page that Code serves on the redirect
// URI's listener.
type Setup struct {
	// Save keeps a new client: the secret in the keychain, the id in the
	// settings. It must keep both or neither, honour ctx (Code waits for a
	// Save in progress before it returns), and put no secret in its error:
	// the error's first line is shown on the page, where the user can try
	// again. Required.
	Save func(ctx context.Context, clientID, secret string) error
	// ProjectsURL is the page where clients are registered, linked from the
	// setup page; "" = DefaultProjectsURL.
	ProjectsURL string
}

// setupHandler serves the setup page and takes its form.
//
// The page is guarded like the callback, and more, because it takes a
// secret: the listener binds loopback only and hostGuard has already checked
// Host (no DNS rebinding); every request needs this run's random token (in
// the URL the browser was opened on, then in the form), compared in constant
// time; a POST must come from the page itself (Origin), so another site's
// page cannot submit a client of its choosing even with a guessed or leaked
// token; the secret travels only in a POST body and is never written into a
// page, a URL or an error. Once a client is saved the token is spent: no form
// is taken any more, and the page's address leads on to the sign-in.
//
// A saved form is answered with a 303 back to the page's own address (so
// that a reload does not post it again), which then sends the browser on to
// the authorization page by a refresh, not by a redirect: browsers hold every
// redirect that follows a form to the page's form-action, which is 'self',
// and the authorization server may well redirect on to a login page on
// another host.
type setupHandler struct {
	path     string
	token    string
	redirect string          // the redirect URI to register, shown on the page
	projects string          // where to register it
	origins  map[string]bool // the Origin values of the listener's own pages
	authURL  func(clientID string) string
	save     func(ctx context.Context, clientID, secret string) error
	ctx      context.Context // Code's: bounds Save

	mu     sync.Mutex // held during Save: one at a time
	saved  *savedClient
	closed bool // Code has returned: nothing more is saved
}

type savedClient struct{ id, secret string }

var (
	pageSetupBadToken = page{http.StatusForbidden, false, "This setup link is not valid",
		"It does not belong to the setup that is waiting. Use the page that the sign-in opened, or start the sign-in again."}
	pageSetupOrigin = page{http.StatusForbidden, false, "This form was not sent by the setup page",
		"Nothing was saved. Enter the client on the page that the sign-in opened."}
	pageSetupSecretInURL = page{http.StatusBadRequest, false, "The client secret does not belong in an address",
		"Nothing was saved. Addresses end up in the browser's history: create a new client secret, " +
			"then enter it in the form on the page that the sign-in opened."}
	pageSetupUnreadable = page{http.StatusBadRequest, false, "This form could not be read",
		"Nothing was saved. Enter the client on the page that the sign-in opened."}
	pageSetupTooLarge = page{http.StatusRequestEntityTooLarge, false, "This form is too large",
		"Nothing was saved. Enter just the client ID and the client secret."}
	pageSetupMediaType = page{http.StatusUnsupportedMediaType, false, "This form could not be read",
		"Nothing was saved. Enter the client on the page that the sign-in opened."}
	pageSetupDone = page{http.StatusConflict, false, "This setup is already done",
		"The client is saved. Go on with the sign-in, or start the sign-in again."}
)

func (s *setupHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if len(r.URL.RawQuery) > maxCallbackQuery {
		pageTooLong.write(w)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		pageSetupBadToken.write(w)
		return
	}
	// A secret in an address is refused whatever else the request holds:
	// taking it would teach the habit.
	if q.Has("client_secret") {
		pageSetupSecretInURL.write(w)
		return
	}
	if r.Method == http.MethodGet {
		s.get(w, q.Get("token"))
		return
	}
	s.post(w, r)
}

func (s *setupHandler) get(w http.ResponseWriter, token string) {
	if !sameState(token, s.token) {
		pageSetupBadToken.write(w)
		return
	}
	s.mu.Lock()
	saved, closed := s.saved, s.closed
	s.mu.Unlock()
	switch {
	case saved != nil:
		s.onward(w, s.authURL(saved.id))
	case closed:
		pageSetupDone.write(w)
	default:
		s.form(w, http.StatusOK, "", "")
	}
}

func (s *setupHandler) post(w http.ResponseWriter, r *http.Request) {
	// Browsers send Origin with every POST; the setup page's referrer
	// policy (same-origin) keeps it from being "null".
	if !s.origins[strings.ToLower(r.Header.Get("Origin"))] {
		pageSetupOrigin.write(w)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		pageSetupMediaType.write(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSetupBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			pageSetupTooLarge.write(w)
			return
		}
		pageSetupUnreadable.write(w)
		return
	}
	f, verdict := parseSetupForm(string(body), s.token)
	switch verdict {
	case formUnreadable:
		pageSetupUnreadable.write(w)
		return
	case formBadToken:
		pageSetupBadToken.write(w)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saved != nil || s.closed {
		pageSetupDone.write(w)
		return
	}
	if f.problem != "" {
		s.form(w, http.StatusBadRequest, f.clientID, f.problem)
		return
	}
	if err := s.save(s.ctx, f.clientID, f.secret); err != nil {
		msg := strings.ReplaceAll(err.Error(), f.secret, "…") // in case Save's error quotes it
		s.form(w, http.StatusInternalServerError, f.clientID, "Could not save the client: "+sanitize.Line(firstLine(msg), 300))
		return
	}
	s.saved = &savedClient{id: f.clientID, secret: f.secret}
	setSafeHeaders(w.Header())
	w.Header().Set("Location", s.path+"?"+url.Values{"token": {s.token}}.Encode())
	w.WriteHeader(http.StatusSeeOther)
}

// onward writes the page that sends the browser on to the authorization
// page, at once (a refresh) or with a click.
func (s *setupHandler) onward(w http.ResponseWriter, next string) {
	nonce := newNonce()
	h := w.Header()
	setSafeHeaders(h)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; "+
		"frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, strings.NewReplacer("{{NONCE}}", nonce, "{{NEXT}}", html.EscapeString(next)).Replace(onwardHTML))
}

// finish stops the handler and returns the client that was saved, if any.
// It waits for a Save in progress.
func (s *setupHandler) finish() *savedClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.saved
}

// form writes the setup page, with clientID typed back and problem shown.
// The secret is never written back.
func (s *setupHandler) form(w http.ResponseWriter, status int, clientID, problem string) {
	nonce := newNonce()
	h := w.Header()
	setSafeHeaders(h)
	// The form's own POST must carry an Origin (no-referrer would make it
	// "null"); same-origin still sends no Referer to any other site.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	problemHTML := ""
	if problem != "" {
		problemHTML = `<p class="bad" id="problem" role="alert">` + html.EscapeString(problem) + `</p>`
	}
	if len(clientID) > maxRefill {
		clientID = strings.ToValidUTF8(clientID[:maxRefill], "")
	}
	_, _ = io.WriteString(w, strings.NewReplacer(
		"{{NONCE}}", nonce,
		"{{PROJECTS}}", html.EscapeString(s.projects),
		"{{REDIRECT}}", html.EscapeString(s.redirect),
		"{{ACTION}}", html.EscapeString(s.path),
		"{{TOKEN}}", html.EscapeString(s.token),
		"{{CLIENT_ID}}", html.EscapeString(clientID),
		"{{PROBLEM}}", problemHTML,
	).Replace(setupHTML))
}

// formVerdict is what parseSetupForm made of a form.
type formVerdict int

const (
	formOK         formVerdict = iota // a client to save, or a problem to show
	formUnreadable                    // not a form, or a field given twice
	formBadToken                      // not this run's token: nothing else looked at
)

// setupForm is a submitted setup form that carried the right token.
type setupForm struct {
	clientID string // trimmed and lowercased when valid; as typed (trimmed) otherwise
	secret   string // trimmed
	problem  string // what to fix, for the page; "" = clientID and secret are good
}

// parseSetupForm reads a form-urlencoded body: the token first (constant
// time), then the client ID and secret. A problem never quotes the secret.
func parseSetupForm(body, token string) (setupForm, formVerdict) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return setupForm{}, formUnreadable
	}
	for _, k := range []string{"token", "client_id", "client_secret"} {
		if len(v[k]) > 1 {
			return setupForm{}, formUnreadable
		}
	}
	if !sameState(v.Get("token"), token) {
		return setupForm{}, formBadToken
	}
	f := setupForm{clientID: strings.TrimSpace(v.Get("client_id")), secret: strings.TrimSpace(v.Get("client_secret"))}
	if p := clientIDProblem(f.clientID); p != "" {
		f.problem = p
	} else if p := secretProblem(f.secret); p != "" {
		f.problem = p
	} else {
		f.clientID = strings.ToLower(f.clientID)
	}
	return f, formOK
}

// clientIDProblem checks an Athom client ID: 24 hexadecimal characters (a
// MongoDB object id).
func clientIDProblem(id string) string {
	if id == "" {
		return "Enter the client ID."
	}
	const rule = "A client ID is 24 hexadecimal characters (0–9 and a–f), like 0123456789abcdef01234567: "
	if n := utf8.RuneCountInString(id); n != 24 {
		return rule + "this one has " + strconv.Itoa(n) + ". Copy it again from the developer tools."
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return rule + "this one holds other characters. Copy it again from the developer tools."
		}
	}
	return ""
}

// secretProblem checks a client secret for what no secret holds. It never
// quotes the secret.
func secretProblem(secret string) string {
	switch {
	case secret == "":
		return "Enter the client secret."
	case len(secret) > maxSecretLen:
		return "That client secret is too long (over " + strconv.Itoa(maxSecretLen) + " bytes): paste just the secret."
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; c <= ' ' || c > '~' {
			return "That client secret holds a space, a line break or another character that client secrets do not have: paste just the secret."
		}
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// setupRouter sends the setup path to the setup page, the rest to next (the
// callback, which answers 404 to any other path).
type setupRouter struct {
	setup *setupHandler
	next  http.Handler
}

func (r setupRouter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == r.setup.path {
		r.setup.ServeHTTP(w, req)
		return
	}
	r.next.ServeHTTP(w, req)
}

// setupOrigins lists the Origin values of pages served under hosts.
func setupOrigins(hosts map[string]bool) map[string]bool {
	origins := make(map[string]bool, len(hosts))
	for h := range hosts {
		origins["http://"+h] = true
	}
	return origins
}
