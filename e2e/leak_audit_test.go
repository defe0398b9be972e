//go:build linux

package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/homeytray/homeytray/homey/emulator"
)

// TestNoSecretLeaks is the secret-leak audit of issue 5: one user goes through every command and
// the tray's flows while every secret the emulator ever hands out is known (the client secret,
// authorization codes, access and refresh tokens, delegation JWTs, Homey sessions, API keys).
// None may appear anywhere but where the user asked for a token:
//   - stdout and stderr of every command (e.run checks each run; `token` may print the one
//     token it was asked for on stdout, and nothing else secret);
//   - every D-Bus message on the session bus except those to and from the Secret Service:
//     notifications, menu labels, the tray's properties and tooltips, the tray's own calls;
//   - the tray's own output (its log);
//   - every file the app wrote: config, cache, autostart entry, the lock files in the runtime folder;
//   - error messages: the commands are run against faults too, and after the sign-in is revoked.
func TestNoSecretLeaks(t *testing.T) {
	requireTrayDesktop(t)
	bus := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	audit := auditBus(t, bus)
	e := newTestEnv(t, true)
	secrets := func() []string { return slices.Concat(e.secrets, e.srv.IssuedSecrets()) }
	// scanFiles reads every file in the app's own folders (the browser keeps its profile, crash
	// dumps included, beside them) and in the runtime folder.
	// want are base names that must be among the files (else the audit read the wrong folders).
	scanFiles := func(stage string, want ...string) {
		t.Helper()
		var files []string
		for _, dir := range []string{
			filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), e.appName()),
			filepath.Join(envValue(e.vars, "XDG_CACHE_HOME"), e.appName()),
			filepath.Join(envValue(e.vars, "XDG_CONFIG_HOME"), "autostart"),
		} {
			if _, err := os.Stat(dir); err == nil {
				files = append(files, walkFiles(t, dir)...)
			}
		}
		files = append(files, runtimeFiles(t, e.appName())...)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Errorf("read %s: %v", f, err)
				continue
			}
			if hasAny(string(b), secrets()) {
				t.Errorf("%s: %s holds a secret", stage, f)
			}
		}
		for _, w := range want {
			if !slices.ContainsFunc(files, func(f string) bool { return filepath.Base(f) == w }) {
				t.Errorf("%s: no %s among the audited files %q", stage, w, files)
			}
		}
		t.Logf("%s: audited %d files: %q", stage, len(files), files)
	}

	// setup reads the client secret from stdin; login goes through the real browser.
	e.setupFromStdin()
	e.login()
	for _, args := range [][]string{
		{"status"}, {"status", "--json"}, {"homeys"}, {"homeys", "--json"},
		{"use", "Cabin"}, {"devices"}, {"devices", "--json"}, {"use", "Home"},
		{"autostart", "on"}, {"autostart", "status"},
		{"--version"}, {"help"}, {"token", "--homey", "Nowhere"}, {"use", "Nowhere"},
		{"devices", "--homey", "Nowhere"}, {"local", "remove", "Nowhere"},
	} {
		e.run("", args...)
	}

	// token prints the token it was asked for and no other secret, in every format.
	checkTokenOut := func(args ...string) {
		t.Helper()
		tok := strings.TrimSpace(e.must("", append(args, "--format", "raw")...))
		for _, format := range []string{"raw", "header", "json", "env", "curl"} {
			out := e.must("", append(args, "--format", format)...)
			if !strings.Contains(out, tok) {
				t.Errorf("%v --format %s does not print the token of --format raw", args, format)
			}
			for _, s := range secrets() {
				if s != tok && strings.Contains(out, s) {
					t.Errorf("%v --format %s printed a secret besides the token asked for", args, format)
				}
			}
		}
	}
	scanFiles("after the commands", "config.json", e.appName()+".desktop")
	checkTokenOut("token")
	checkTokenOut("token", "--homey", "Cabin")
	checkTokenOut("token", "--cloud")

	// An API-key Homey: the key goes in on stdin and into the keychain only.
	cabin := e.srv.Homeys()[1]
	key := e.srv.AddAPIKey(cabin.ID, allScopes)
	e.removeLocalOnCleanup(t, cabin.ID)
	e.must(key+"\n", "local", "add", "--address", localURL(t, cabin), "--name", "Shed")
	e.run("", "local", "list")
	e.run("", "local", "list", "--json")
	e.run("wrong-key-"+key[:8]+"\n", "local", "add", "--address", localURL(t, cabin))
	checkTokenOut("token", "--homey", "Shed")

	// A key made from the sign-in (issue 12), then api and run on it, on the account's Homey and
	// on the pasted-key one: answers, errors (404, 403 Invalid Session Type, a usage error, a
	// command not found), with --include's headers; the key is never printed.
	home := e.srv.Homeys()[0]
	e.removeLocalOnCleanup(t, home.ID)
	e.must("", "local", "add", "Home", "--create-key", "--scopes", "control")
	for _, args := range [][]string{
		{"local", "list"}, {"local", "list", "--json"},
		{"local", "add", "Home", "--create-key", "--scopes", "homey.bogus"},
		{"api", "devices/device"}, {"api", "--include", "sessions/session/me"},
		{"api", "--include", "devices/device/nope"}, {"api", "--homey", "Shed", "users/pat"},
		{"api", "--homey", "Shed", "-X", "POST", "users/pat", "-f", "name=x", "-F", "scopes[]=homey"},
		{"api", "--homey", "Cabin", "-X", "PUT", "devices/device/nope/capability/onoff", "-F", "value=true"},
		{"run", "--", "sh", "-c", `test -n "$HOMEY_TOKEN" && echo "$HOMEY_URL"`},
		{"run", "--homey", "Shed", "--", "sh", "-c", "exit 3"}, {"run", "--", "no-such-command"},
	} {
		e.run("", args...)
	}
	checkTokenOut("token", "--homey", "Home")
	e.must("", "local", "remove", "Home") // deletes the key on the Homey too

	// Errors: broken answers on every cloud and Homey route, then healed.
	for _, kind := range []emulator.FaultKind{emulator.Fault5xx, emulator.FaultHTML, emulator.FaultTruncated} {
		e.srv.SetFault("*", emulator.Fault{Kind: kind})
		e.srv.ExpireAccessTokens()
		e.run("", "homeys")
		e.run("", "devices")
		e.run("", "status")
		e.run("", "api", "devices/device")
		e.run("", "api", "--include", "--homey", "Shed", "zones/zone")
		e.run("", "run", "--", "true")
		e.srv.ClearFaults()
	}

	// The tray: copy a bearer (clipboard and a notification), copy a device id, switch Homeys,
	// answer a script, then lose the sign-in (the attention notification and status line).
	p := e.startTray(t)
	c := p.client
	c.waitStatus(15*time.Second, "Signed in as")
	notes := func() int { return audit.count(p.pid()) }
	copyBearer(t, c.activateOrFail)
	c.waitMenu(15*time.Second, "devices", func(m *menuItem) bool {
		d := m.find("Devices")
		return d != nil && len(visible(d.Children)) > 0
	})
	c.click("Copy bearer token")
	for _, d := range groupDevices(c.item("Devices")) {
		c.clickID(d.id) // copies its id, with a notification
		break
	}
	if h := c.item("Homeys").findHomey("Cabin"); h != nil {
		c.clickID(h.ID)
	}
	e.must("", "token") // served by the tray's socket
	e.must("", "devices")
	e.srv.RevokeRefreshTokens()
	e.srv.ExpireAccessTokens()
	e.srv.RevokeSessions()
	tellTestTray(t, e) // as after a command: the tray's reload finds the sign-in gone
	c.waitStatus(20*time.Second, "Sign-in needs attention")
	// Two copies of a bearer, one of a device id, and the sign-in that needs attention.
	if !waitFor(30*time.Second, func() bool { return notes() >= 4 }) {
		t.Errorf("the tray sent %d notifications, want 4: %q", notes(), audit.notes(p.pid()))
	}
	c.menu() // one more layout read, checked by the audit
	c.click("Log in…")
	defer stopBrowsers()
	c.waitStatus(60*time.Second, "Signed in as")
	scanFiles("with the tray signed in again", "config.json", e.appName()+".sock.lock")
	c.click("Log out")
	c.waitStatus(15*time.Second, "Not signed in")
	p.stop()

	e.run("", "autostart", "off")
	e.run("", "logout", "--all")

	// Everything the bus carried, the tray's output and every file the app left behind.
	all := secrets()
	if n := audit.leaks(all); len(n) > 0 {
		t.Errorf("secrets on the session bus (outside the Secret Service):\n%s", strings.Join(n, "\n"))
	}
	t.Logf("audited %d D-Bus messages (%d notifications from the tray), %d secrets", audit.total(), notes(), len(all))
	e.checkNoSecret([]string{"tray"}, "its output", p.out.String())
	scanFiles("at the end")
}

// walkFiles lists the regular files under dir.
func walkFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runtimeFiles are the regular files of the app in $XDG_RUNTIME_DIR (lock files; the socket is
// not a file to read).
func runtimeFiles(t *testing.T, app string) []string {
	t.Helper()
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return nil
	}
	var out []string
	for _, f := range walkFiles(t, dir) {
		if strings.Contains(filepath.Base(f), app) {
			out = append(out, f)
		}
	}
	return out
}

// busAudit keeps every message on the session bus except the Secret Service's own traffic.
type busAudit struct {
	mu      sync.Mutex
	msgs    []auditedMsg
	keyring map[string]bool // unique names of the Secret Service
}

type auditedMsg struct {
	pid  uint32
	desc string // type, sender, destination, interface.member
	text []string
}

func auditBus(t *testing.T, bus string) *busAudit {
	t.Helper()
	a := &busAudit{keyring: map[string]bool{}}
	asker, err := dbus.Connect(bus)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	t.Cleanup(func() { asker.Close() })
	var owner string
	if err := asker.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.secrets").Store(&owner); err != nil {
		t.Fatalf("no Secret Service on the test bus: %v", err)
	}
	a.keyring[owner] = true
	eavesdrop(t, bus, nil, 4096, func(msg *dbus.Message) {
		sender, _ := msg.Headers[dbus.FieldSender].Value().(string)
		dest, _ := msg.Headers[dbus.FieldDestination].Value().(string)
		if a.keyring[sender] || a.keyring[dest] || dest == "org.freedesktop.secrets" {
			return
		}
		iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
		member, _ := msg.Headers[dbus.FieldMember].Value().(string)
		var pid uint32
		if msg.Type == dbus.TypeMethodCall && iface == "org.freedesktop.Notifications" && member == "Notify" {
			_ = asker.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, sender).Store(&pid)
		}
		m := auditedMsg{pid: pid, desc: fmt.Sprintf("%v %s→%s %s.%s", msg.Type, sender, dest, iface, member)}
		for _, v := range msg.Body {
			m.text = appendStrings(m.text, reflect.ValueOf(v))
		}
		a.mu.Lock()
		a.msgs = append(a.msgs, m)
		a.mu.Unlock()
	})
	return a
}

// appendStrings collects every string (and byte slice, as text) inside a D-Bus value.
func appendStrings(out []string, v reflect.Value) []string {
	if !v.IsValid() {
		return out
	}
	if dv, ok := v.Interface().(dbus.Variant); ok {
		return appendStrings(out, reflect.ValueOf(dv.Value()))
	}
	switch v.Kind() {
	case reflect.String:
		return append(out, v.String())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append(out, string(v.Bytes()))
		}
		for i := 0; i < v.Len(); i++ {
			out = appendStrings(out, v.Index(i))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			out = appendStrings(out, it.Key())
			out = appendStrings(out, it.Value())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out = appendStrings(out, v.Field(i))
			}
		}
	case reflect.Pointer, reflect.Interface:
		return appendStrings(out, v.Elem())
	}
	return out
}

// leaks lists the messages that carry one of secrets.
func (a *busAudit) leaks(secrets []string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, m := range a.msgs {
		for _, s := range m.text {
			if hasAny(s, secrets) {
				out = append(out, m.desc)
				break
			}
		}
	}
	return out
}

func hasAny(text string, secrets []string) bool {
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// notes lists the summaries of the notifications process pid sent.
func (a *busAudit) notes(pid int) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, m := range a.msgs {
		if int(m.pid) == pid && len(m.text) > 3 {
			out = append(out, m.text[3]) // Notify(app, replaces, icon, summary, body, …)
		}
	}
	return out
}

// count is the number of notifications process pid sent.
func (a *busAudit) count(pid int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, m := range a.msgs {
		if int(m.pid) == pid {
			n++
		}
	}
	return n
}

func (a *busAudit) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.msgs)
}
