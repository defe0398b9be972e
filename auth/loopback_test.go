package auth

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseRedirect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want redirect
		ok   bool
	}{
		{"http://localhost:47719/callback", redirect{"localhost", 47719, "/callback"}, true},
		{"http://127.0.0.1:8484/", redirect{"127.0.0.1", 8484, "/"}, true},
		{"http://127.0.0.1:8484", redirect{"127.0.0.1", 8484, "/"}, true},
		{"http://[::1]:9000/cb", redirect{"::1", 9000, "/cb"}, true},
		{"https://localhost:47719/callback", redirect{}, false}, // a loopback listener cannot do TLS
		{"http://localhost/callback", redirect{}, false},        // no port
		{"http://localhost:0/callback", redirect{}, false},      // the registered URI needs the real port
		{"http://localhost:70000/callback", redirect{}, false},
		{"http://0.0.0.0:47719/callback", redirect{}, false}, // all interfaces
		{"http://example.com:47719/callback", redirect{}, false},
		{"http://192.168.1.2:47719/callback", redirect{}, false},
		{"http://localhost:47719/callback?x=1", redirect{}, false},
		{"http://user@localhost:47719/callback", redirect{}, false},
		{"", redirect{}, false},
		{"::not a url", redirect{}, false},
	} {
		got, err := parseRedirect(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRedirect(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestParsePaste(t *testing.T) {
	const state = "the-state"
	for _, tc := range []struct {
		line, code string
		denied     bool
		problem    string // a word of the message
	}{
		{line: "abc123", code: "abc123"},
		{line: "http://localhost:47719/callback?code=abc&state=the-state", code: "abc"},
		{line: "http://localhost:47719/callback?state=the-state&code=abc#frag", code: "abc"},
		{line: "http://localhost:47719/callback?code=abc", code: "abc"}, // state checked only if present
		{line: "?code=abc&state=the-state", code: "abc"},
		{line: "code=abc&state=the-state", code: "abc"},
		{line: "http://localhost:47719/callback?code=abc&state=other", problem: "another sign-in"},
		{line: "http://localhost:47719/callback?error=access_denied&state=other", problem: "another sign-in"},
		{line: "http://localhost:47719/callback?error=access_denied&state=the-state", denied: true},
		{line: "http://localhost:47719/callback?state=the-state", problem: "no sign-in code"},
		{line: "http://localhost:47719/callback?code=%zz", problem: "could not be read"},
		{line: "hello world", problem: "does not look like"},
		{line: "<script>", problem: "does not look like"},
		{line: "localhost:47719/callback?code=abc&state=other", problem: "another sign-in"}, // no scheme, still an address
		{line: "abc?state=the-state", problem: "does not look like"},                        // not a code: it has a query
		{line: "abc#frag", problem: "does not look like"},
		{line: strings.Repeat("a", 3000), problem: "does not look like"},
	} {
		res, problem := parsePaste(tc.line, state)
		switch {
		case tc.problem != "":
			if !strings.Contains(problem, tc.problem) {
				t.Errorf("%.40q: problem %q, want one about %q", tc.line, problem, tc.problem)
			}
		case tc.denied:
			if !errors.Is(res.err, ErrAccessDenied) {
				t.Errorf("%.40q: %+v, want ErrAccessDenied", tc.line, res)
			}
		case problem != "" || res.code != tc.code || res.err != nil:
			t.Errorf("%.40q: code %q, err %v, problem %q; want code %q", tc.line, res.code, res.err, problem, tc.code)
		}
	}
}

func TestLoginPaste(t *testing.T) {
	const state = "fixed-state-0123456789abcdef"
	for _, tc := range []struct {
		name, input, want, say string
	}{
		{"bare code", "pasted-code\n", "pasted-code", ""},
		{"full URL", "  http://127.0.0.1:1/callback?code=from-url&state=" + state + "  \n", "from-url", ""},
		{"wrong state first", "http://127.0.0.1:1/callback?code=evil&state=other\nright-code\n", "right-code",
			"belongs to another sign-in"},
		{"junk first", "\nhello world\nok-code", "ok-code", "does not look like"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLogin(t, "127.0.0.1", grant("browser-code"), func(l *Login) {
				l.Open = nil
				l.State = state
				l.Paste = strings.NewReader(tc.input)
			})
			code, err := r.result(t)
			if err != nil || code != tc.want {
				t.Fatalf("Code = %q, %v; want %q", code, err, tc.want)
			}
			out := r.out.String()
			if !strings.Contains(out, "paste the code") || !strings.Contains(out, tc.say) {
				t.Errorf("Out lacks the paste hint or %q:\n%s", tc.say, out)
			}
			if strings.Contains(out, "evil") {
				t.Errorf("Out echoes pasted input:\n%s", out)
			}
		})
	}
}

// errReader fails every read, like a closed terminal.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read error") }

// End of input (login </dev/null) and read errors are not a cancellation:
// the browser can still come back.
func TestLoginPasteEOFIsNotCancellation(t *testing.T) {
	for name, in := range map[string]io.Reader{"eof": strings.NewReader(""), "error": errReader{}} {
		t.Run(name, func(t *testing.T) {
			r := startLogin(t, "localhost", grant("browser-code"), func(l *Login) { l.Paste = in })
			authURL := r.authURL(t)
			time.Sleep(50 * time.Millisecond) // let the paste reader hit the end
			select {
			case res := <-r.done:
				t.Fatalf("Code returned at end of input: %q %v", res.code, res.err)
			default:
			}
			resp, err := browser.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if code, err := r.result(t); err != nil || code != "browser-code" {
				t.Errorf("Code = %q, %v", code, err)
			}
		})
	}
}

// A paste reader blocked on a terminal must not hold Code up.
func TestLoginBlockedPasteDoesNotBlock(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := startLogin(t, "localhost", grant("browser-code"), func(l *Login) { l.Paste = pr })
	resp, err := browser.Get(r.authURL(t))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, err := r.result(t); err != nil || code != "browser-code" {
		t.Errorf("Code = %q, %v", code, err)
	}
}

func TestNewState(t *testing.T) {
	a, b := newState(), newState()
	if a == b || len(a) < 22 || url.QueryEscape(a) != a {
		t.Errorf("states %q %q: want distinct, ≥ 128 bits, URL-safe", a, b)
	}
}
