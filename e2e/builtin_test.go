package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBuiltinClient: a packager builds homeytray with a Web API client of their own (make build
// BUILTIN_CLIENT_ID=… BUILTIN_CLIENT_SECRET_FILE=…): a new user signs in with no setup at all,
// status says the built-in client is in use, the user's own setup wins over it, and make never
// printed the secret.
func TestBuiltinClient(t *testing.T) {
	e := newTestEnv(t, false)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secretFile, []byte(e.srv.ClientSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.bin = filepath.Join(dir, "homeytray")
	if runtime.GOOS == "windows" {
		e.bin += ".exe"
	}
	build := exec.Command("make", "build", "BIN="+e.bin, "BUILTIN_CLIENT_ID="+e.srv.ClientID(),
		"BUILTIN_CLIENT_SECRET_FILE="+secretFile, "BUILTIN_REDIRECT_URI="+e.srv.RedirectURI())
	build.Dir = moduleRoot
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("make build with a built-in client: %v\n%s", err, out)
	}
	if strings.Contains(string(out), e.srv.ClientSecret()) {
		t.Errorf("make printed the client secret:\n%s", out)
	}
	// A user with nothing set up: no client in the environment, no setup.
	var vars []string
	for _, kv := range e.vars {
		if !strings.HasPrefix(kv, "HOMEYTRAY_CLIENT_") && !strings.HasPrefix(kv, "HOMEYTRAY_REDIRECT_URI=") {
			vars = append(vars, kv)
		}
	}
	e.vars = vars
	status := func() statusReport {
		t.Helper()
		var s statusReport
		r := e.run("", "status", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("status --json: %v\n%s%s", err, r.stdout, r.stderr)
		}
		return s
	}
	if s := status(); s.Client != "built-in" || s.ClientID != e.srv.ClientID() {
		t.Fatalf("before the sign-in: client %q (%s), want the built-in one", s.Client, s.ClientID)
	}
	e.loginHTTP()
	if s := status(); !s.SignedIn || s.Client != "built-in" {
		t.Fatalf("after the sign-in: signed in %v, client %q", s.SignedIn, s.Client)
	}
	if tok := strings.TrimSpace(e.must("", "token")); tok == "" {
		t.Fatal("no bearer")
	}
	// The user's own client wins (the emulator knows one client: the same id, set up by hand).
	e.must(e.srv.ClientSecret(), "setup", "--client-id", e.srv.ClientID(), "--redirect-uri", e.srv.RedirectURI())
	if s := status(); s.Client != "setup" {
		t.Errorf("after setup: client %q, want the user's own (setup)", s.Client)
	}
	if r := e.run("", "status"); !strings.Contains(r.stdout, "your own, from setup") {
		t.Errorf("status does not say whose client is used:\n%s", r.stdout)
	}
}
