//go:build unix

package cdp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A form in a real Chromium: typed into, submitted with a mouse click, the page's own script
// run; what the server receives is what was typed.
func TestTypeAndClick(t *testing.T) {
	// Registered first, so it runs after Start's clean-up: nothing of the browser may be left.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			got <- r.PostForm.Get("name") + "|" + r.PostForm.Get("pass")
			io.WriteString(w, "<!doctype html><title>done</title><p>Thank you")
			return
		}
		io.WriteString(w, `<!doctype html><title>form</title><form method="post">
<input id="name" name="name"><input id="pass" name="pass" type="password">
<button id="go" type="submit">Send</button></form>
<script>document.title = "ready";</script>`)
	}))
	t.Cleanup(srv.Close)
	b := Start(t)
	p := b.NewPage(t, srv.URL+"/")
	p.WaitFor(t, "the form's script", `document.title === "ready"`)
	p.Type(t, "#name", "Zoë <b>")
	p.Type(t, "#pass", "first try")
	p.Type(t, "#pass", "p a&ss") // over what it held
	if h := p.HTML(t); !strings.Contains(h, `data-typed="p a&amp;ss"`) {
		t.Errorf("the typed password is not in the field: %s", h)
	}
	p.Click(t, "#go")
	select {
	case s := <-got:
		if s != "Zoë <b>|p a&ss" {
			t.Errorf("the server got %q", s)
		}
	case <-time.After(Timeout):
		t.Fatal("the form never reached the server")
	}
	p.WaitFor(t, "the answer page", `document.body && document.body.innerText.includes("Thank you")`)
	if txt := p.Text(t); !strings.Contains(txt, "Thank you") {
		t.Errorf("page text %q", txt)
	}
}
