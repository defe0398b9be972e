//go:build linux

package e2e

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/internal/cdp"
)

// TestFirstRunSetupInTheTray is a new user's first minute, with no terminal: nothing set up, no
// keychain items. The tray's "Log in…" opens the setup page that homeytray serves on the sign-in's
// loopback listener; the user fills in the client id and secret in a real (headless) Chromium and
// submits; the browser goes straight on into the emulator's sign-in; the menu says "Signed in
// as …" and "Copy bearer token" puts a bearer the Homey accepts on the clipboard. Before that, a
// form posted without the page's token, one from another origin and one for another host are
// refused and store nothing.
func TestFirstRunSetupInTheTray(t *testing.T) {
	requireTrayDesktop(t)
	cdp.ChromiumPath(t)
	e := newTestEnv(t, false)
	var vars []string
	for _, kv := range e.vars { // no client in the environment: a new user's
		if !strings.HasPrefix(kv, "HOMEYTRAY_CLIENT_") {
			vars = append(vars, kv)
		}
	}
	e.vars = vars
	// The tray's browser: a script that only writes down the address it was asked to open.
	dir := t.TempDir()
	opened := filepath.Join(dir, "opened")
	browser := filepath.Join(dir, "browser")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '"+opened+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := e.startTray(t, "BROWSER="+browser)
	p.client.waitStatus(30*time.Second, "Not signed in")
	p.client.click("Log in…")
	var setupURL string
	if !waitFor(30*time.Second, func() bool {
		b, _ := os.ReadFile(opened)
		setupURL = strings.TrimSpace(string(b))
		return setupURL != ""
	}) {
		t.Fatalf("Log in… opened no page:\n%s", p.out.String())
	}
	u, err := url.Parse(setupURL)
	if err != nil || u.Query().Get("token") == "" || !strings.HasPrefix(u.Host, "localhost:") {
		t.Fatalf("Log in… opened %q, want the setup page on the loopback listener, with its token", setupURL)
	}
	token := u.Query().Get("token")

	// Refused, and nothing stored.
	post := func(host, origin, formToken string) int {
		t.Helper()
		form := url.Values{"token": {formToken}, "client_id": {e.srv.ClientID()}, "client_secret": {e.srv.ClientSecret()}}
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+u.Port()+u.Path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	own := "http://" + u.Host
	for _, c := range []struct{ name, host, origin, token string }{
		{"no token", u.Host, own, ""},
		{"a wrong token", u.Host, own, strings.Repeat("A", len(token))},
		{"another origin", u.Host, "http://evil.example", token},
		{"no origin", u.Host, "", token},
		{"another host", "evil.example", "http://evil.example", token},
	} {
		if code := post(c.host, c.origin, c.token); code < 400 {
			t.Errorf("a form with %s was accepted (%d)", c.name, code)
		}
	}
	if _, err := e.keyring().Get("client-secret"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a refused form left a client secret in the keychain (%v)", err)
	}
	if s := e.settingsRaw(t); strings.Contains(s, e.srv.ClientID()) {
		t.Fatalf("a refused form left the client id in the settings:\n%s", s)
	}

	// The user in a real browser.
	page := cdp.Start(t).NewPage(t, setupURL)
	page.WaitFor(t, "the setup form", `document.getElementById("client_secret") !== null`)
	page.Type(t, "#client_id", e.srv.ClientID())
	page.Type(t, "#client_secret", e.srv.ClientSecret())
	page.Click(t, `button[type="submit"]`)
	page.WaitFor(t, "the signed-in page", `document.body && document.body.innerText.includes("Signed in")`)
	p.client.waitStatus(30*time.Second, "Signed in as")
	if got, err := e.keyring().Get("client-secret"); err != nil || got != e.srv.ClientSecret() {
		t.Errorf("the client secret is not in the keychain (%v)", err)
	}
	if s := e.settingsRaw(t); !strings.Contains(s, e.srv.ClientID()) || strings.Contains(s, e.srv.ClientSecret()) {
		t.Errorf("the settings should hold the client id and never the secret:\n%s", s)
	}
	bearer, _ := copyBearer(t, func() { p.client.click("Copy bearer token") })
	checkBearer(t, e.homeyByName("Home"), bearer)
}

// settingsRaw is config.json as it is ("" when there is none).
func (e *testEnv) settingsRaw(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.configDir(), "config.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}
