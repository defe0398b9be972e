package auth

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"strings"
)

// pageHTML has four placeholders, {{TITLE}}, {{CLASS}}, {{MESSAGE}} and {{NONCE}}. The texts are
// ours, but they are escaped all the same. (Not html/template: its package init alone costs about a
// millisecond on every start of the binary, and the warm `token` path counts milliseconds.)
//
//go:embed pages/page.html
var pageHTML string

// setupHTML is the setup page (setupHandler.form fills it in).
//
//go:embed pages/setup.html
var setupHTML string

// onwardHTML leads from the setup to the authorization page, {{NEXT}}.
//
//go:embed pages/onward.html
var onwardHTML string

// page is what the browser sees after the redirect. Pages hold no secrets
// and no text from the request.
type page struct {
	Status  int
	OK      bool
	Title   string
	Message string
}

var (
	pageSignedIn = page{http.StatusOK, true, "Signed in — you can close this tab",
		"The sign-in is complete. Return to the terminal or the tray."}
	pageDenied = page{http.StatusOK, false, "Sign-in cancelled",
		"Access was denied, so nothing was signed in. To try again, start the sign-in again."}
	pageFailed = page{http.StatusOK, false, "Sign-in failed",
		"The sign-in service reported an error. See the terminal for details, then start the sign-in again."}
	pageWrongState = page{http.StatusBadRequest, false, "This sign-in link is not valid",
		"It does not belong to the sign-in that is waiting (the state is wrong or missing). " +
			"Use the page that the sign-in opened, or start the sign-in again."}
	pageNoCode = page{http.StatusBadRequest, false, "No sign-in code",
		"This address carries no sign-in code. Use the page that the sign-in opened, or start the sign-in again."}
	pageTooLong = page{http.StatusRequestURITooLong, false, "This address is too long",
		"Use the page that the sign-in opened, or start the sign-in again."}
	pageFinished = page{http.StatusConflict, false, "This sign-in has already finished",
		"A sign-in code was already received. You can close this tab."}
)

// write sends the page with headers that keep it out of caches and keep the
// callback address (with its code) out of Referer headers.
func (p page) write(w http.ResponseWriter) {
	nonce := newNonce()
	h := w.Header()
	setSafeHeaders(h)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; "+
		"frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
	w.WriteHeader(p.Status)
	_, _ = io.WriteString(w, p.render(nonce))
}

// setSafeHeaders sets what every answer of the listener carries: no caching,
// no Referer to anyone, no content sniffing, and a policy that allows nothing
// (a page loosens it for its own inline style and script, by nonce).
func setSafeHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
}

func (p page) render(nonce string) string {
	class := "bad"
	if p.OK {
		class = "ok"
	}
	return strings.NewReplacer("{{TITLE}}", html.EscapeString(p.Title), "{{CLASS}}", class,
		"{{MESSAGE}}", html.EscapeString(p.Message), "{{NONCE}}", nonce).Replace(pageHTML)
}

// newNonce returns 128 random bits, base64url: a CSP nonce, fresh for every
// page.
func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
