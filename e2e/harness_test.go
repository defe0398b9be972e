package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
	"github.com/homeytray/homeytray/internal/testport"
)

// The end-to-end tests run the real binary, as a user would, against the emulator served by the
// test process, with the real Secret Service (gnome-keyring on a private bus) and, for the
// sign-in, real headless Chromium. `make test` provides all of it (.ci/desktop.sh).

var (
	binary     string // built once by TestMain
	moduleRoot string // the folder of go.mod (the tests run in e2e/), set by TestMain
)

func TestMain(m *testing.M) {
	if os.Getenv(mdnsResponderEnv) != "" { // the discovery test's helper process (discover_test.go)
		os.Exit(mdnsResponderMain())
	}
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "find the module root: go list -m:", err)
		os.Exit(1)
	}
	moduleRoot = strings.TrimSpace(string(root))
	dir, err := os.MkdirTemp("", "homeytray-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "homeytray")
	build := exec.Command("go", "build", "-trimpath", "-o", binary, ".")
	build.Dir = moduleRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as `make build` does: a static binary starts faster
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build homeytray:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireDesktop fails under CI=true and skips loudly elsewhere when the private desktop
// session of .ci/desktop.sh is not there.
func requireDesktop(tb testing.TB, needBrowser bool) {
	tb.Helper()
	missing := ""
	switch {
	case os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" || os.Getenv("HOMEYTRAY_TEST_DESKTOP") == "":
		missing = "the private D-Bus session with gnome-keyring"
	case needBrowser && os.Getenv("BROWSER") == "":
		missing = "headless Chromium as $BROWSER"
	}
	needOrSkip(tb, missing, "run the tests with `make test`")
}

// needOrSkip ends the test when something it needs is missing (missing != ""): a failure under
// CI=true, where nothing may be skipped, a loud skip elsewhere. fix says how to get it.
func needOrSkip(tb testing.TB, missing, fix string) {
	tb.Helper()
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is missing: %s", missing, fix)
	}
	tb.Skipf("SKIPPED: %s is missing; %s", missing, fix)
}

// testEnv is one user: a config folder, a keychain namespace, an emulator.
type testEnv struct {
	t    testing.TB
	srv  *emulator.Server
	vars []string
	// secrets that must never show up outside `token`'s stdout
	secrets []string
	bus     string // a session bus of e's own (ownKeyring); "" = the harness's
	bin     string // another build of homeytray to run; "" = the one TestMain built

}

func newTestEnv(t testing.TB, needBrowser bool) *testEnv {
	t.Helper()
	requireDesktop(t, needBrowser)
	port := freePort(t)
	srv := emulator.NewServer(t, emulator.Options{RedirectURI: fmt.Sprintf("http://localhost:%d/callback", port)})
	e := &testEnv{t: t, srv: srv}
	base := filepath.Join(t.TempDir())
	e.vars = append(cleanEnviron(),
		"XDG_CONFIG_HOME="+filepath.Join(base, "config"),
		"XDG_CACHE_HOME="+filepath.Join(base, "cache"),
		"HOMEYTRAY_PROFILE=test-"+randomHex(t, 4),
		"ATHOM_CLOUD_API_BASEURL="+srv.URL(),
		"HOMEYTRAY_CLIENT_ID="+srv.ClientID(),
		"HOMEYTRAY_CLIENT_SECRET="+srv.ClientSecret(),
		"HOMEYTRAY_REDIRECT_URI="+srv.RedirectURI(),
		"HOMEYTRAY_HTTP_TIMEOUT=3s",
	)
	e.secrets = []string{srv.ClientSecret()}
	t.Cleanup(func() { e.run("", "logout") }) // leave nothing in the shared test keyring
	return e
}

// cleanEnviron is the harness environment without anything that would point the binary elsewhere.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOMEYTRAY_") && !strings.HasPrefix(kv, "HOMEYTRAY_TEST_") ||
			strings.HasPrefix(kv, "ATHOM_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (e *testEnv) setenv(kv ...string) { e.vars = append(e.vars, kv...) }

// exe is the homeytray binary e runs.
func (e *testEnv) exe() string {
	if e.bin != "" {
		return e.bin
	}
	return binary
}

// setupFromStdin drops the client from the environment and records it with `setup`, the
// client secret on stdin, as a user does.
func (e *testEnv) setupFromStdin() {
	e.t.Helper()
	var vars []string
	for _, kv := range e.vars {
		if !strings.HasPrefix(kv, "HOMEYTRAY_CLIENT_") && !strings.HasPrefix(kv, "HOMEYTRAY_REDIRECT_URI=") {
			vars = append(vars, kv)
		}
	}
	e.vars = vars
	e.must(e.srv.ClientSecret()+"\n", "setup", "--client-id", e.srv.ClientID(), "--redirect-uri", e.srv.RedirectURI())
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary with stdin and checks that stderr holds no secret and at most two lines
// (every error is one or two lines).
func (e *testEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.exe(), args...)
	cmd.Env = e.vars
	r := execResult(e.t, cmd, stdin)
	e.checkResult(args, r)
	return r
}

// execResult runs cmd with stdin and returns what it printed and its exit code.
func execResult(tb testing.TB, cmd *exec.Cmd, stdin string) result {
	tb.Helper()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.String(), errb.String(), 0}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		tb.Fatalf("run %v: %v", cmd.Args, err)
	}
	return r
}

// checkResult: no secret on stderr, nor on stdout unless the command prints a token.
func (e *testEnv) checkResult(args []string, r result) {
	e.t.Helper()
	e.checkNoSecret(args, "stderr", r.stderr)
	if len(args) == 0 || args[0] != "token" {
		e.checkNoSecret(args, "stdout", r.stdout)
	}
}

func (e *testEnv) checkNoSecret(args []string, stream, text string) {
	e.t.Helper()
	for _, s := range append(e.secrets, e.srv.IssuedSecrets()...) {
		if s != "" && strings.Contains(text, s) {
			e.t.Errorf("%v printed a secret on %s", args, stream)
		}
	}
}

// must runs a command that has to succeed.
func (e *testEnv) must(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("%v: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// login signs in through the real loopback listener and real headless Chromium.
func (e *testEnv) login() string {
	e.t.Helper()
	defer stopBrowsers()
	return e.must("", "login")
}

func freePort(tb testing.TB) int {
	tb.Helper()
	port, err := testport.Free()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// loginHTTP signs in with Go's HTTP client as the browser (quicker than Chromium, for benchmarks
// and tests that are not about the browser): it reads the printed URL and follows the redirects.
func (e *testEnv) loginHTTP() { e.loginHTTPArgs() }

// loginHTTPArgs is loginHTTP with global flags before the command.
func (e *testEnv) loginHTTPArgs(global ...string) {
	e.t.Helper()
	if r := e.startLoginHTTP(global...).finish(); r.code != 0 {
		e.t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
}

// loginHTTPResult is loginHTTP for a sign-in that may fail: it returns what the command printed.
func (e *testEnv) loginHTTPResult() result {
	e.t.Helper()
	return e.startLoginHTTP().finish()
}

// pendingLogin is a `login --no-browser` waiting for its browser: url is the authorise URL it printed.
type pendingLogin struct {
	e      *testEnv
	cmd    *exec.Cmd
	cancel context.CancelFunc
	url    string
	out    strings.Builder
	errb   bytes.Buffer
	copied chan struct{} // closed when stderr is read to its end
}

// startLoginHTTP starts `login --no-browser` and reads its stderr up to the authorise URL.
func (e *testEnv) startLoginHTTP(global ...string) *pendingLogin {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p := &pendingLogin{e: e, cancel: cancel, copied: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, e.exe(), append(global, "login", "--no-browser")...)
	p.cmd.Env = e.vars
	p.cmd.Stdout = &p.out
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	re := regexp.MustCompile(`http://\S+/oauth2/authorise\?\S+`)
	tmp := make([]byte, 1024)
	for p.url == "" {
		n, err := stderr.Read(tmp)
		p.errb.Write(tmp[:n])
		p.url = re.FindString(p.errb.String())
		if err != nil {
			break
		}
	}
	if p.url == "" {
		cancel()
		e.t.Fatalf("login printed no URL: %q", p.errb.String())
	}
	go func() { _, _ = io.Copy(&p.errb, stderr); close(p.copied) }()
	return p
}

// finish follows the authorise URL as a browser that does not render pages would (the emulator
// redirects to the callback) and returns what the command printed and its exit code.
func (p *pendingLogin) finish() result {
	p.e.t.Helper()
	defer p.cancel()
	if resp, err := http.Get(p.url); err == nil { // the callback page may report a failure
		resp.Body.Close()
	}
	<-p.copied
	var r result
	var ee *exec.ExitError
	if err := p.cmd.Wait(); errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		p.e.t.Fatal(err)
	}
	r.stdout, r.stderr = p.out.String(), p.errb.String() // complete once Wait has returned
	p.e.checkResult([]string{"login"}, r)
	return r
}
