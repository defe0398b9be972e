package auth

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var goodClientID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// FuzzSetupForm posts any body to the setup page (from the page's own origin): a client is
// saved only when the body parses, carries exactly this run's token once, a 24-hex client ID
// and a sane secret; then the answer is the 303, else an error; the secret never comes back.
func FuzzSetupForm(f *testing.F) {
	good := form(fuzzState, testClientID, setupSecret)
	for _, s := range []string{
		good,
		form(fuzzState, " "+strings.ToUpper(testClientID)+" ", " "+setupSecret+"\n"),
		form(fuzzState+"x", testClientID, setupSecret),
		form(fuzzState[:10], testClientID, setupSecret),
		form("", testClientID, setupSecret),
		form(fuzzState, testClientID[1:], setupSecret),
		form(fuzzState, "0123456789abcdef0123456g", setupSecret),
		form(fuzzState, testClientID, ""),
		form(fuzzState, testClientID, "a b"),
		form(fuzzState, testClientID, "a\x00b"),
		form(fuzzState, testClientID, strings.Repeat("s", 513)),
		form(fuzzState, `"><script>x</script>`, setupSecret),
		good + "&token=" + fuzzState,
		good + "&client_id=" + testClientID,
		good + "&client_secret=x",
		good + "&x=%zz",
		good + ";x=1",
		"token=" + fuzzState + "&client_id=" + testClientID + "&client_secret=" + setupSecret,
		"client_secret=" + setupSecret + "&client_id=" + testClientID + "&token=" + fuzzState,
		strings.Repeat("a", maxSetupBody+1),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var saved []savedClient
		s := &setupHandler{path: "/setup", token: fuzzState, redirect: "http://localhost:47719/callback",
			projects: DefaultProjectsURL, origins: map[string]bool{"http://localhost:47719": true},
			authURL: func(id string) string { return "https://auth.example/authorise?client_id=" + id },
			save: func(_ context.Context, id, secret string) error {
				saved = append(saved, savedClient{id, secret})
				return nil
			},
			ctx: context.Background()}
		r := httptest.NewRequest(http.MethodPost, "http://localhost:47719/setup", strings.NewReader(body))
		r.Header.Set("Origin", "http://localhost:47719")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)

		v, perr := url.ParseQuery(body)
		switch {
		case len(saved) > 1:
			t.Fatalf("%d clients saved", len(saved))
		case len(saved) == 1:
			c := saved[0]
			if perr != nil || len(body) > maxSetupBody || len(v["token"]) != 1 || v.Get("token") != fuzzState ||
				len(v["client_id"]) != 1 || len(v["client_secret"]) != 1 {
				t.Fatalf("saved a client from %q", body)
			}
			if !goodClientID.MatchString(c.id) || c.id != strings.ToLower(strings.TrimSpace(v.Get("client_id"))) {
				t.Fatalf("saved client id %q from %q", c.id, body)
			}
			if c.secret != strings.TrimSpace(v.Get("client_secret")) || secretProblem(c.secret) != "" ||
				len(c.secret) > maxSecretLen || strings.ContainsAny(c.secret, " \t\r\n\x00") {
				t.Fatalf("saved secret %q from %q", c.secret, body)
			}
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/setup?token="+fuzzState {
				t.Fatalf("saved, but answered %d %q", w.Code, w.Header().Get("Location"))
			}
		default:
			if w.Code < 400 {
				t.Fatalf("nothing saved, yet status %d for %q", w.Code, body)
			}
		}
		// The secret never comes back: not as typed, not escaped. (A secret that the answer
		// holds anyway, a word of its text or part of the client ID typed back, proves nothing.)
		if perr == nil {
			sec := strings.TrimSpace(v.Get("client_secret"))
			f, _ := parseSetupForm(body, fuzzState)
			ref := httptest.NewRecorder()
			s.form(ref, http.StatusOK, f.clientID, f.problem)
			for _, p := range []page{pageSetupBadToken, pageSetupOrigin, pageSetupSecretInURL, pageSetupUnreadable,
				pageSetupTooLarge, pageSetupMediaType, pageSetupDone, pageTooLong} {
				p.write(ref)
			}
			for _, form := range []string{sec, html.EscapeString(sec)} {
				if len(sec) >= 8 && !strings.Contains(ref.Body.String(), form) && strings.Contains(w.Body.String(), form) {
					t.Fatalf("the answer holds the secret %q", sec)
				}
			}
		}
	})
}
