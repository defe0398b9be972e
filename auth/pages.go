package auth

import (
	_ "embed"
	"html"
	"io"
	"net/http"
	"strings"
)

// pageHTML has three placeholders, {{TITLE}}, {{CLASS}} and {{MESSAGE}}. The texts are ours,
// but they are escaped all the same. (Not html/template: its package init alone costs about a
// millisecond on every start of the binary, and the warm `token` path counts milliseconds.)
//
//go:embed pages/page.html
var pageHTML string

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
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(p.Status)
	_, _ = io.WriteString(w, p.render())
}

func (p page) render() string {
	class := "bad"
	if p.OK {
		class = "ok"
	}
	return strings.NewReplacer("{{TITLE}}", html.EscapeString(p.Title), "{{CLASS}}", class,
		"{{MESSAGE}}", html.EscapeString(p.Message)).Replace(pageHTML)
}
