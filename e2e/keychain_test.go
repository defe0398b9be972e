//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/homey"
)

// privateKeyring starts a bus and a gnome-keyring of this test's own, so that the test can lock
// it without disturbing the tests of other packages that share the harness keyring. It returns
// the bus address and the keyring's password.
func privateKeyring(t *testing.T) (bus, password string) {
	t.Helper()
	bus, dir := privateBus(t)
	run := filepath.Join(dir, "run")
	password = "pw-" + randomHex(t, 4)
	gk := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	gk.Stdin = strings.NewReader(password) // no newline: it would be part of the password
	gk.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "XDG_RUNTIME_DIR="+run,
		"HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	start(t, gk)
	if !waitFor(30*time.Second, func() bool { return busHasName(bus, "org.freedesktop.secrets") }) {
		t.Fatal("gnome-keyring did not start")
	}
	return bus, password
}

// privateBus starts a session bus of the test's own (no services on it) and returns its address
// and the folder it lives in.
func privateBus(t *testing.T) (bus, dir string) {
	t.Helper()
	dir = t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	bus = "unix:path=" + filepath.Join(run, "bus")
	// A copy of the harness's bus config: a test may change it and have the bus reload it.
	base, err := os.ReadFile(filepath.Join(moduleRoot, ".ci", "session-bus.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, base, 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, exec.Command("dbus-daemon", "--nofork", "--config-file="+conf, "--address="+bus))
	if !waitFor(30*time.Second, func() bool { _, err := os.Stat(filepath.Join(run, "bus")); return err == nil }) {
		t.Fatal("private bus did not start")
	}
	return bus, dir
}

func start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

func busHasName(bus, name string) bool {
	out, err := gdbus(bus, "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
		"--method", "org.freedesktop.DBus.NameHasOwner", name)
	return err == nil && strings.Contains(out, "true")
}

func gdbus(bus string, args ...string) (string, error) {
	cmd := exec.Command("gdbus", append([]string{"call", "--address", bus}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// lockKeyring locks the login collection, as a screen lock or `secret-tool lock` would.
func lockKeyring(t *testing.T, bus string) {
	t.Helper()
	conn := busConn(t, bus)
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").Call(
		"org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{loginCollection}).Store(&locked, &prompt); err != nil {
		t.Fatalf("lock: %v", err)
	}
}

// unlockKeyring unlocks it with the password, without a prompt (gnome-keyring's own interface).
func unlockKeyring(t *testing.T, bus, password string) {
	t.Helper()
	conn := busConn(t, bus)
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		t.Fatal(err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(password), "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		dbus.ObjectPath(loginCollection), secret).Err; err != nil {
		t.Fatalf("unlock: %v", err)
	}
}

const loginCollection = "/org/freedesktop/secrets/collection/login"

func busConn(t *testing.T, bus string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// signedInOwnKeyring is a user signed in with a keyring (and bus) of the test's own, holding a
// Homey bearer: the bus address, the keyring's password and the bearer come back.
func signedInOwnKeyring(t *testing.T) (e *testEnv, bus, password, bearer string) {
	t.Helper()
	e = newTestEnv(t, false)
	bus, password = privateKeyring(t)
	e.setenv("DBUS_SESSION_BUS_ADDRESS=" + bus)
	e.loginHTTP()
	return e, bus, password, e.must("", "token")
}

// TestLockedKeychain: a locked keychain is a one-line error that names it (exit 1), nothing is
// lost, and after unlocking everything works again.
func TestLockedKeychain(t *testing.T) {
	e, bus, password, bearer := signedInOwnKeyring(t)
	lockKeyring(t, bus)
	for _, args := range [][]string{{"token"}, {"token", "--cloud"}, {"homeys"}} {
		r := e.run("", args...)
		if r.code != exitError || !strings.Contains(r.stderr, "keychain is locked") {
			t.Errorf("%v with a locked keychain: exit %d, %q", args, r.code, r.stderr)
		}
	}
	r := e.run("", "login", "--no-browser")
	if r.code != exitError || !strings.Contains(r.stderr, "locked") || strings.Contains(r.stderr, "authorise") {
		t.Errorf("login must refuse before showing a sign-in URL: exit %d, %q", r.code, r.stderr)
	}
	unlockKeyring(t, bus, password)
	if again := e.must("", "token"); again != bearer {
		t.Errorf("the cached bearer did not survive the locked keychain")
	}
}

// TestKeychainNotAnswering: the real gnome-keyring frozen (SIGSTOP, like a daemon stuck on a
// prompt or a hung session): every command that needs it ends after the keychain timeout with a
// one-line error that names the keychain, exit 1 (the sign-in is not gone), no browser opens for
// login, and once the daemon runs again everything works with nothing lost.
func TestKeychainNotAnswering(t *testing.T) {
	t.Parallel() // its own bus and keyring; it waits out five 6 s timeouts (the call's 3 s, the lock check's 3 s)
	e, bus, _, bearer := signedInOwnKeyring(t)
	pid := keyringPID(t, bus)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	for _, args := range [][]string{{"token"}, {"token", "--cloud"}, {"homeys"}, {"status"}, {"login", "--no-browser"}} {
		start := time.Now()
		r := e.run("", args...)
		said := r.stderr
		if args[0] == "status" {
			said = r.stdout // status reports on stdout, keychain trouble included, and exits 1
		}
		t.Logf("%v: exit %d after %v: %s", args, r.code, time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(said))
		if r.code != exitError || !strings.Contains(said, "keychain") || !strings.Contains(said, "answer") {
			t.Errorf("%v with a frozen keychain: exit %d, %q; want exit 1 naming the keychain", args, r.code, said)
		}
		if strings.Contains(r.stderr, "authorise") {
			t.Errorf("login showed a sign-in address although nothing could keep the tokens")
		}
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if again := e.must("", "token"); again != bearer {
		t.Errorf("the cached bearer did not survive the frozen keychain")
	}
	e.must("", "homeys")
}

// TestKeychainRefusesWrites: the bus lets the app read the keychain but refuses every write to it
// (a policy like a sandbox's). A command whose access token has run out says that the keychain
// refuses to save, exit 1 — and does not refresh: a refresh may rotate the refresh token, and a
// new one with nowhere to go would end the sign-in. Once writes work again, nothing is lost.
func TestKeychainRefusesWrites(t *testing.T) {
	e, bus, _, bearer := signedInOwnKeyring(t)
	conf := filepath.Join(filepath.Dir(strings.TrimPrefix(bus, "unix:path=")), "..", "bus.conf")
	refuseKeychainWrites(t, bus, conf, true)
	e.srv.ExpireAccessTokens()
	refreshes := e.srv.Grants("refresh_token")
	r := e.run("", "homeys")
	t.Logf("homeys: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	if r.code != exitError || !strings.Contains(r.stderr, "keychain refused to save") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("homeys with a keychain that refuses writes: exit %d, %q; want 1 and one line naming the keychain", r.code, r.stderr)
	}
	if n := e.srv.Grants("refresh_token"); n != refreshes {
		t.Errorf("the app refreshed (%d grants) although it could not keep the answer", n-refreshes)
	}
	if again := e.must("", "token"); again != bearer {
		t.Errorf("token (a read) stopped working")
	}
	refuseKeychainWrites(t, bus, conf, false)
	e.must("", "homeys")
}

// refuseKeychainWrites makes the bus refuse (or allow again) the Secret Service calls that
// write: CreateItem, SetSecret and Delete. dbus-daemon reloads its config on request.
func refuseKeychainWrites(t *testing.T, bus, conf string, refuse bool) {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	const rules = `<deny send_interface="org.freedesktop.Secret.Collection" send_member="CreateItem"/>` +
		`<deny send_interface="org.freedesktop.Secret.Item" send_member="SetSecret"/>` +
		`<deny send_interface="org.freedesktop.Secret.Item" send_member="Delete"/>`
	text := strings.Replace(string(b), rules, "", 1)
	if refuse {
		text = strings.Replace(text, "</policy>", rules+"</policy>", 1)
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := busConn(t, bus).BusObject().Call("org.freedesktop.DBus.ReloadConfig", 0).Err; err != nil {
		t.Fatalf("reload the bus config: %v", err)
	}
}

// keyringPID is the process that owns org.freedesktop.secrets on bus.
func keyringPID(t *testing.T, bus string) int {
	t.Helper()
	conn := busConn(t, bus)
	var owner string
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.secrets").Store(&owner); err != nil {
		t.Fatal(err)
	}
	var pid uint32
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, owner).Store(&pid); err != nil {
		t.Fatal(err)
	}
	return int(pid)
}

// TestNoKeychain: no Secret Service at all; login says so before it opens a browser.
func TestNoKeychain(t *testing.T) {
	e := newTestEnv(t, true)
	e.setenv("DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus"))
	log := filepath.Join(os.Getenv("HOMEYTRAY_TEST_RUN"), "browser.log")
	before, _ := os.ReadFile(log)
	r := e.run("", "login")
	stopBrowsers()
	if r.code != exitError || !strings.Contains(r.stderr, "D-Bus") || !strings.Contains(r.stderr, "--insecure-file-store") {
		t.Errorf("login without a keychain: exit %d, %q", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(log); len(after) != len(before) {
		t.Errorf("a browser was opened although there is nowhere to keep the tokens")
	}
	// token fails on the keychain, and status names that once: it is not a refresh error.
	if r := e.run("", "token"); r.code != exitError || !strings.Contains(r.stderr, "D-Bus") {
		t.Errorf("token without a keychain: exit %d, %q", r.code, r.stderr)
	}
	if r := e.run("", "status"); r.code != exitError || strings.Count(r.stdout, "D-Bus") != 1 || strings.Contains(r.stdout, "refresh error") {
		t.Errorf("status after token without a keychain: exit %d, want 1 and the keychain error once:\n%s", r.code, r.stdout)
	}
	// The explicit opt-in works without any keychain, and says so loudly.
	e.loginHTTPArgs("--insecure-file-store")
	st := e.must("", "--insecure-file-store", "status")
	if !strings.Contains(st, "WARNING") || !strings.Contains(st, "plain file") {
		t.Errorf("status does not warn about the file store:\n%s", st)
	}
	dir := filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), "homeytray-"+envValue(e.vars, "HOMEYTRAY_PROFILE"))
	fi, err := os.Stat(filepath.Join(dir, "secrets.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.json: %v %v", fi, err)
	}
	e.must("", "--insecure-file-store", "logout", "--all")
}

// TestPortInUse: a clear error naming the port, before any browser opens.
func TestPortInUse(t *testing.T) {
	e := newTestEnv(t, false)
	port := strings.TrimSuffix(strings.TrimPrefix(e.srv.RedirectURI(), "http://localhost:"), "/callback")
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := e.run("", "login", "--no-browser")
	if r.code != exitError || !strings.Contains(r.stderr, port) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("port in use: exit %d, %q", r.code, r.stderr)
	}
}

// TestPersonalAccessToken: login --pat checks the token, keeps it, and reports clearly when
// Athom stops accepting it (exit 4, no refresh attempted).
func TestPersonalAccessToken(t *testing.T) {
	e := newTestEnv(t, false)
	r := e.run("not-a-token\n", "login", "--pat")
	if r.code != exitError || !strings.Contains(r.stderr, "refused") {
		t.Errorf("bad PAT: exit %d, %q", r.code, r.stderr)
	}
	pat := e.accessTokenFromEmulator()
	e.secrets = append(e.secrets, pat)
	if out := e.must(pat+"\n", "login", "--pat"); !strings.Contains(out, "Signed in as Ada Lovelace") {
		t.Fatalf("login --pat: %s", out)
	}
	var s statusReport
	if err := json.Unmarshal([]byte(e.must("", "status", "--json")), &s); err != nil || s.SignIn != "personal access token" {
		t.Errorf("status: %v %+v", err, s)
	}
	e.must("", "token")
	e.srv.ExpireAccessTokens()
	e.srv.ResetCounts()
	r = e.run("", "homeys")
	if r.code != exitAuth || e.srv.Grants("refresh_token") != 0 {
		t.Errorf("rejected PAT: exit %d (%q), %d refreshes", r.code, r.stderr, e.srv.Grants("refresh_token"))
	}
}

// accessTokenFromEmulator plays a developer who made a token elsewhere: a code from the
// emulator exchanged directly.
func (e *testEnv) accessTokenFromEmulator() string {
	e.t.Helper()
	code, err := e.srv.AuthorizeCode("x")
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: e.srv.ClientID(), ClientSecret: e.srv.ClientSecret(),
		Endpoint: homey.Endpoint(e.srv.URL()), RedirectURL: e.srv.RedirectURI()}
	tok, err := cfg.Exchange(context.Background(), code)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.AccessToken
}

// TestDemo: `demo` needs no setup, keeps its own config and keychain namespace, and its sign-in
// lasts across processes (the emulator keeps its state in the demo's folder).
func TestDemo(t *testing.T) {
	e := newTestEnv(t, true)
	e.setenv("HOMEYTRAY_REDIRECT_URI=http://localhost:" + fmt.Sprint(freePort(t)) + "/callback")
	r := e.run("", "demo", "login")
	stopBrowsers()
	if r.code != 0 || !strings.Contains(r.stdout, "Signed in as Ada Lovelace") {
		t.Fatalf("demo login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if out := e.must("", "demo", "status"); !strings.Contains(out, "Signed in as Ada Lovelace") {
		t.Fatalf("demo login: %s", out)
	}
	t.Cleanup(func() { e.run("", "demo", "logout", "--all") })
	tok := strings.TrimSpace(e.must("", "demo", "token"))
	if tok == "" || strings.TrimSpace(e.must("", "demo", "token")) != tok {
		t.Errorf("demo token not stable across processes")
	}
	if out := e.must("", "demo", "devices"); !strings.Contains(out, "Desk lamp") {
		t.Errorf("demo devices: %s", out)
	}
	if r := e.run("", "status"); r.code != exitAuth {
		t.Errorf("the demo sign-in leaked into the real profile: status exit %d", r.code)
	}
}
