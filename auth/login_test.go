package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

// checkLeaks fails t if a goroutine started during t still runs once t and
// its clean-ups are over (Code returned, servers closed). Registered first,
// its clean-up runs last. The auth tests do not run in parallel, so what runs
// when t starts belongs to earlier tests (a D-Bus connection, say) and is
// ignored.
func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if !t.Failed() { // a test that gave up early may leave its Code running: no news
			goleak.VerifyNone(t, ignore)
		}
	})
}

func TestLoginGoodFlow(t *testing.T) {
	checkLeaks(t)
	r := startLogin(t, "localhost", grant("good-code"), nil)
	authURL := r.authURL(t)
	u, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != testClientID || q.Get("redirect_uri") != r.redirect {
		t.Errorf("authorise URL lacks response_type, client_id or redirect_uri: %s", authURL)
	}
	if len(q.Get("state")) < 22 { // 22 base64 characters = 132 bits
		t.Errorf("state has %d characters, want ≥ 128 bits", len(q.Get("state")))
	}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Signed in — you can close this tab") {
		t.Errorf("browser got %d %q", resp.StatusCode, body)
	}
	for h, want := range map[string]string{"Content-Type": "text/html; charset=utf-8",
		"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if strings.Contains(string(body), "good-code") {
		t.Error("the page shows the code")
	}
	code, err := r.result(t)
	if err != nil || code != "good-code" {
		t.Fatalf("Code = %q, %v", code, err)
	}
	out := r.out.String()
	if !strings.Contains(out, authURL) || strings.Contains(out, "good-code") {
		t.Errorf("Out should show the URL and never the code:\n%s", out)
	}
	// The listener is gone.
	if ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(r.port)); err != nil {
		t.Errorf("port still taken after Code returned: %v", err)
	} else {
		ln.Close()
	}
}

func TestLoginBindsLoopbackOnly(t *testing.T) {
	checkLeaks(t)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		r := startLogin(t, host, grant("c"), nil)
		addrs := <-r.addrs
		state := r.state(t)
		var has4 bool
		for _, a := range addrs {
			ip := a.(*net.TCPAddr).IP
			if !ip.IsLoopback() {
				t.Errorf("%s: listening on %s", host, a)
			}
			has4 = has4 || ip.Equal(net.IPv4(127, 0, 0, 1))
		}
		if !has4 || (host == "127.0.0.1" && len(addrs) != 1) {
			t.Errorf("%s: listening on %v", host, addrs)
		}
		t.Logf("%s: listening on %v", host, addrs)
		// Nothing answers on the machine's other addresses.
		ifAddrs, _ := net.InterfaceAddrs()
		for _, a := range ifAddrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			target := net.JoinHostPort(ipn.IP.String(), strconv.Itoa(r.port))
			if c, err := net.DialTimeout("tcp", target, 500*time.Millisecond); err == nil {
				c.Close()
				t.Errorf("%s: the callback answers on %s", host, target)
			}
		}
		r.call(t, http.MethodGet, "/callback?code=c&state="+state)
		if _, err := r.result(t); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoginHostileCallbacks(t *testing.T) {
	checkLeaks(t)
	r := startLogin(t, "127.0.0.1", grant("good-code"), nil)
	state := r.state(t)
	long := strings.Repeat("a", 9<<10)
	huge := strings.Repeat("a", 40<<10)
	for _, tc := range []struct {
		name, method, target string
		want                 int
	}{
		{"missing state", "GET", "/callback?code=evil", 400},
		{"wrong state", "GET", "/callback?code=evil&state=wrong", 400},
		{"forged denial, wrong state", "GET", "/callback?error=access_denied&state=wrong", 400},
		{"forged denial, no state", "GET", "/callback?error=access_denied", 400},
		{"bad encoding", "GET", "/callback?code=evil&state=%zz", 400},
		{"no code", "GET", "/callback?state=" + state, 400},
		{"POST", "POST", "/callback?code=evil&state=" + state, 405},
		{"PUT", "PUT", "/callback?code=evil&state=" + state, 405},
		{"other path", "GET", "/other?code=evil&state=" + state, 404},
		{"root", "GET", "/", 404},
		{"callback subpath", "GET", "/callback/x?code=evil&state=" + state, 404},
		{"oversize query", "GET", "/callback?code=evil&state=" + state + "&x=" + long, 414},
		{"huge query", "GET", "/callback?code=evil&state=" + state + "&x=" + huge, 431},
	} {
		if resp := r.call(t, tc.method, tc.target); resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		select {
		case res := <-r.done:
			t.Fatalf("%s ended the sign-in: %q %v", tc.name, res.code, res.err)
		default:
		}
	}
	if resp := r.call(t, "GET", "/callback?code=good-code&state="+state); resp.StatusCode != 200 {
		t.Errorf("good callback: status %d", resp.StatusCode)
	}
	if code, err := r.result(t); err != nil || code != "good-code" {
		t.Errorf("Code = %q, %v; want the good code", code, err)
	}
}

func TestLoginAccessDenied(t *testing.T) {
	checkLeaks(t)
	deny := func(state string) url.Values {
		return url.Values{"error": {"access_denied"}, "state": {state}}
	}
	r := startLogin(t, "localhost", deny, nil)
	resp, err := browser.Get(r.authURL(t))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Sign-in cancelled") {
		t.Errorf("page: %q", body)
	}
	if _, err := r.result(t); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("err = %v, want ErrAccessDenied", err)
	}
}

func TestLoginProviderError(t *testing.T) {
	checkLeaks(t)
	fail := func(state string) url.Values {
		return url.Values{"error": {"server_error"}, "error_description": {"down\nfor maintenance"}, "state": {state}}
	}
	r := startLogin(t, "localhost", fail, nil)
	resp, err := browser.Get(r.authURL(t))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = r.result(t)
	if err == nil || errors.Is(err, ErrAccessDenied) || err.Error() != "the sign-in failed: server_error: down for maintenance" {
		t.Errorf("err = %v", err)
	}
}

func TestLoginSecondCallbackIsNotDelivered(t *testing.T) {
	checkLeaks(t)
	r := startLogin(t, "127.0.0.1", grant("first"), nil)
	state := r.state(t)
	r.call(t, "GET", "/callback?code=first&state="+state)
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(r.port)+"/callback?code=second&state="+state, nil)
	if resp, err := browser.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict {
			t.Errorf("second callback: status %d, want 409 or no listener", resp.StatusCode)
		}
	}
	if code, err := r.result(t); err != nil || code != "first" {
		t.Errorf("Code = %q, %v; want the first code", code, err)
	}

	// The same, deterministically, at the handler.
	d := &delivery{ch: make(chan loginResult, 1)}
	h := &callback{path: "/cb", state: "s", d: d}
	for i, want := range []int{200, 409} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/cb?state=s&code=c"+strconv.Itoa(i), nil))
		if rec.Code != want {
			t.Errorf("callback %d: status %d, want %d", i, rec.Code, want)
		}
	}
	if len(d.ch) != 1 || (<-d.ch).code != "c0" {
		t.Error("want exactly the first code delivered")
	}
}

func TestLoginTimeout(t *testing.T) {
	checkLeaks(t)
	r := startLogin(t, "localhost", grant("c"), func(l *Login) { l.Timeout = 150 * time.Millisecond; l.Open = nil })
	_, err := r.result(t)
	if !errors.Is(err, ErrLoginTimeout) {
		t.Fatalf("err = %v, want ErrLoginTimeout", err)
	}
	if r.took > 2*time.Second {
		t.Errorf("took %s", r.took)
	}
	if !strings.Contains(r.out.String(), "Open this URL") {
		t.Errorf("without Open, Out should ask the user to open the URL:\n%s", r.out.String())
	}
}

func TestLoginParentCancel(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := startLoginCtx(t, ctx, "localhost", grant("c"), nil)
	r.authURL(t)
	cancel()
	if _, err := r.result(t); !errors.Is(err, context.Canceled) || errors.Is(err, ErrLoginTimeout) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestLoginOpenErrorIsNotFatal(t *testing.T) {
	checkLeaks(t)
	var opened string
	r := startLogin(t, "localhost", grant("c"), func(l *Login) {
		l.Open = func(u string) error { opened = u; return errors.New("no browser\nat all") }
		l.State = "fixed-state-for-this-test-0123456789"
	})
	<-r.addrs
	r.call(t, "GET", "/callback?code=c&state=fixed-state-for-this-test-0123456789")
	if code, err := r.result(t); err != nil || code != "c" {
		t.Fatalf("Code = %q, %v", code, err)
	}
	if !strings.Contains(r.out.String(), "Could not open a browser (no browser at all)") || opened == "" {
		t.Errorf("Out:\n%s", r.out.String())
	}
}

func TestLoginPortInUse(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct{ host, occupy string }{
		{"127.0.0.1", "127.0.0.1"}, {"localhost", "127.0.0.1"}, {"localhost", "::1"}, {"::1", "::1"},
	} {
		port := freePort(t)
		ln, err := net.Listen("tcp", net.JoinHostPort(tc.occupy, strconv.Itoa(port)))
		if err != nil {
			t.Logf("%s: cannot occupy %s (no IPv6?): %v", tc.host, tc.occupy, err)
			continue
		}
		l := &Login{Timeout: time.Second, Config: &oauth2.Config{ClientID: testClientID,
			RedirectURL: "http://" + net.JoinHostPort(tc.host, strconv.Itoa(port)) + "/callback"}}
		_, err = l.Code(context.Background())
		ln.Close()
		var pe *PortInUseError
		if !errors.As(err, &pe) || pe.Port != port {
			t.Errorf("%s with %s taken: err = %v, want PortInUseError", tc.host, tc.occupy, err)
			continue
		}
		if want := "port " + strconv.Itoa(port) + " is in use"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("message %q does not start with %q", err, want)
		}
	}
}

// A request that names any host but the listener's loopback ones is refused
// before its state is looked at, even with the right state, and ends
// nothing: that is what stops DNS rebinding (see hostGuard). Loopback names
// in any case pass on to the state check.
func TestLoginRefusesForeignHost(t *testing.T) {
	checkLeaks(t)
	for _, reg := range []string{"localhost", "127.0.0.1"} {
		r := startLogin(t, reg, grant("good-code"), nil)
		addrs := <-r.addrs
		state := r.state(t)
		p := strconv.Itoa(r.port)
		refused := []string{"evil.test:" + p, "evil.test", "127.0.0.2:" + p, "127.0.0.1:" + strconv.Itoa(r.port+1),
			"127.0.0.1", "localhost", "localhost.:" + p, "0.0.0.0:" + p}
		passed := []string{"127.0.0.1:" + p}
		if reg == "localhost" {
			passed = append(passed, "localhost:"+p, "LocalHost:"+p)
			for _, a := range addrs {
				if a.(*net.TCPAddr).IP.Equal(net.IPv6loopback) {
					passed = append(passed, "[::1]:"+p)
				}
			}
		} else {
			refused = append(refused, "localhost:"+p, "[::1]:"+p)
		}
		send := func(host, query string) (int, string) {
			t.Helper()
			req, err := http.NewRequest("GET", "http://127.0.0.1:"+p+"/callback?"+query, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatalf("%s: Host %q: %v", reg, host, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		for _, host := range refused {
			// The right state: a wrong Host is refused all the same.
			code, body := send(host, "code=evil&state="+url.QueryEscape(state))
			if code != http.StatusMisdirectedRequest || !strings.Contains(body, "is not the sign-in") {
				t.Errorf("%s: Host %q: status %d %.100q, want 421 and the error page", reg, host, code, body)
			}
		}
		for _, host := range passed {
			if code, _ := send(host, "code=evil&state=wrong"); code != http.StatusBadRequest {
				t.Errorf("%s: Host %q, wrong state: status %d, want 400 from the state check", reg, host, code)
			}
		}
		select {
		case res := <-r.done:
			t.Fatalf("%s: a foreign Host ended the sign-in: %q %v", reg, res.code, res.err)
		default:
		}
		if code, _ := send(passed[len(passed)-1], "code=good-code&state="+url.QueryEscape(state)); code != http.StatusOK {
			t.Errorf("%s: the real callback: status %d", reg, code)
		}
		if code, err := r.result(t); err != nil || code != "good-code" {
			t.Errorf("%s: Code = %q, %v; want the good code", reg, code, err)
		}
	}
}

// The names a browser puts in Host for each redirect URI; on port 80 it
// leaves the port out.
func TestCallbackHosts(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	v6 := &net.TCPAddr{IP: net.IPv6loopback}
	for _, tc := range []struct {
		uri   string
		addrs []net.Addr
		want  string
	}{
		{"http://localhost:47719/callback", []net.Addr{v4, v6}, "127.0.0.1:47719 [::1]:47719 localhost:47719"},
		{"http://localhost:47719/callback", []net.Addr{v4}, "127.0.0.1:47719 localhost:47719"},
		{"http://127.0.0.1:8484/", []net.Addr{v4}, "127.0.0.1:8484"},
		{"http://[::1]:9000/cb", []net.Addr{v6}, "[::1]:9000"},
		{"http://localhost:80/cb", []net.Addr{v4, v6}, "127.0.0.1 127.0.0.1:80 [::1] [::1]:80 localhost localhost:80"},
	} {
		r, err := parseRedirect(tc.uri)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for h := range callbackHosts(r, tc.addrs) {
			got = append(got, h)
		}
		slices.Sort(got)
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s: %s, want %s", tc.uri, g, tc.want)
		}
	}
}
