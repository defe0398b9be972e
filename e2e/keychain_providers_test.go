//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// The keychain flow against the other Secret Service providers Linux users have, each headless
// on a private bus of its own (.ci/keychain-provider.sh starts them; docs/desktop-tests.md#providers):
// KeePassXC, whose only collection is named after its database file and
// exists only for an exposed group, and KWallet (kwalletd5 with its Secret Service API on and the
// committed empty wallet). gnome-keyring runs the same flow for comparison. A provider that is
// missing fails the test under CI=true (.ci/deps.sh installs them); one that does not start fails
// it everywhere.

// startProvider starts provider on a private bus and returns the bus address.
func startProvider(t *testing.T, provider string) string {
	t.Helper()
	requireDesktop(t, false)
	bin := map[string][]string{
		"keepassxc":         {"keepassxc", "keepassxc-cli", "/usr/bin/python3"},
		"keepassxc-nogroup": {"keepassxc", "keepassxc-cli"},
		"kwallet":           {"kwalletd5"},
		"kwallet-nowallet":  {"kwalletd5"},
		"gnome-keyring":     {"gnome-keyring-daemon"},
	}[provider]
	var missing []string
	for _, b := range bin {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if provider == "keepassxc" && len(missing) == 0 {
		if exec.Command("/usr/bin/python3", "-c", "import pykeepass").Run() != nil {
			missing = append(missing, "python3-pykeepass")
		}
	}
	needOrSkip(t, strings.Join(missing, ", "), "run .ci/deps.sh")
	if provider == "gnome-keyring" {
		bus, _ := privateKeyring(t)
		return bus
	}
	bus, dir := privateBus(t)
	home := filepath.Join(dir, "home")
	cmd := exec.Command("bash", filepath.Join(moduleRoot, ".ci", "keychain-provider.sh"), provider, home)
	cmd.Env = append(cleanEnviron(), "DBUS_SESSION_BUS_ADDRESS="+bus)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	start(t, cmd) // the script execs the provider: this PID is the provider's, ended with SIGKILL
	if !waitFor(30*time.Second, func() bool { return busHasName(bus, "org.freedesktop.secrets") }) {
		t.Fatalf("%s did not appear on its bus as the Secret Service:\n%s", provider, log.String())
	}
	if strings.HasPrefix(provider, "keepassxc") {
		// KeePassXC takes the name before its database is open, and a call in between raises a
		// hidden "unlock" dialog that holds every later call. It writes its view state to
		// $XDG_CACHE_HOME/keepassxc/keepassxc.ini once the database is shown; with a group
		// exposed, the collection appears.
		ini := filepath.Join(home, "cache", "keepassxc", "keepassxc.ini")
		if !waitFor(30*time.Second, func() bool { _, err := os.Stat(ini); return err == nil }) {
			t.Fatalf("KeePassXC did not open its database:\n%s", log.String())
		}
	}
	if provider == "keepassxc" && !waitFor(30*time.Second, func() bool { return ssCollections(t, bus) > 0 }) {
		t.Fatalf("KeePassXC shows no collection for its exposed group:\n%s", log.String())
	}
	return bus
}

// ssCollections counts the provider's collections.
func ssCollections(t *testing.T, bus string) int {
	t.Helper()
	v, err := busConn(t, bus).Object("org.freedesktop.secrets", "/org/freedesktop/secrets").GetProperty(
		"org.freedesktop.Secret.Service.Collections")
	if err != nil {
		return 0
	}
	cols, _ := v.Value().([]dbus.ObjectPath)
	return len(cols)
}

// ssItems counts the items the provider holds, over all its collections (their Items property:
// KeePassXC's SearchItems matches nothing for no attributes).
func ssItems(t *testing.T, bus string) int {
	t.Helper()
	conn := busConn(t, bus)
	v, err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").GetProperty(
		"org.freedesktop.Secret.Service.Collections")
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	n := 0
	for _, c := range v.Value().([]dbus.ObjectPath) {
		items, err := conn.Object("org.freedesktop.secrets", c).GetProperty("org.freedesktop.Secret.Collection.Items")
		if err != nil {
			t.Fatalf("%s Items: %v", c, err)
		}
		n += len(items.Value().([]dbus.ObjectPath))
	}
	return n
}

func TestSecretServiceProviders(t *testing.T) {
	for _, provider := range []string{"gnome-keyring", "keepassxc", "kwallet"} {
		t.Run(provider, func(t *testing.T) {
			bus := startProvider(t, provider)
			e := newTestEnv(t, false)
			e.setenv("DBUS_SESSION_BUS_ADDRESS=" + bus)
			before := ssItems(t, bus)

			e.loginHTTP()
			if n := ssItems(t, bus) - before; n < 1 {
				t.Fatalf("the sign-in left %d items in %s", n, provider)
			}
			cold := e.must("", "token") // no bearer cached yet: a Homey sign-in
			warm := e.must("", "token") // the cached one, from the keychain
			if strings.TrimSpace(cold) == "" || warm != cold {
				t.Errorf("token cold then warm: %d and %d bytes, want the same bearer twice", len(cold), len(warm))
			}
			if st := e.must("", "status"); !strings.Contains(st, "Signed in as") || !strings.Contains(st, "Secret Service") {
				t.Errorf("status does not say signed in with the Secret Service:\n%s", st)
			}
			if d := e.must("", "devices"); strings.Count(d, "\n") < 2 {
				t.Errorf("devices listed no device:\n%s", d)
			}
			e.must("", "logout")
			if n := ssItems(t, bus) - before; n != 0 {
				t.Errorf("%d items left in %s after logout", n, provider)
			}
			if r := e.run("", "token"); r.code != exitAuth {
				t.Errorf("token after logout: exit %d (%q), want %d", r.code, r.stderr, exitAuth)
			}
		})
	}
}

// KeePassXC with Secret Service on but no group exposed has no collection at all: the sign-in
// stops before the browser with one line naming KeePassXC and the fix, not "locked".
func TestKeePassXCWithoutAnExposedGroup(t *testing.T) {
	bus := startProvider(t, "keepassxc-nogroup")
	e := newTestEnv(t, false)
	e.setenv("DBUS_SESSION_BUS_ADDRESS=" + bus)
	r := e.run("", "login", "--no-browser")
	msg := strings.TrimSpace(r.stderr)
	if r.code != exitError || !strings.Contains(msg, "KeePassXC's Secret Service has no collection") ||
		!strings.Contains(msg, "expose a group") || strings.Contains(msg, "locked") || strings.Contains(msg, "authorise") {
		t.Errorf("login: exit %d, %q; want exit %d and one line naming KeePassXC's fix", r.code, msg, exitError)
	}
	if lines := strings.Count(msg, "\n") + 1; lines > 2 {
		t.Errorf("login printed %d lines", lines)
	}
}

// KWallet before its first wallet: no collection either; one line naming KWallet and the fix.
func TestKWalletWithoutAWallet(t *testing.T) {
	bus := startProvider(t, "kwallet-nowallet")
	e := newTestEnv(t, false)
	e.setenv("DBUS_SESSION_BUS_ADDRESS=" + bus)
	r := e.run("", "login", "--no-browser")
	msg := strings.TrimSpace(r.stderr)
	if r.code != exitError || !strings.Contains(msg, "KWallet's Secret Service has no wallet") ||
		strings.Contains(msg, "locked") || strings.Contains(msg, "authorise") {
		t.Errorf("login: exit %d, %q; want exit %d and one line naming KWallet's fix", r.code, msg, exitError)
	}
}
