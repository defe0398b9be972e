//go:build linux

package auth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// The texts are the ones go-keyring and godbus really produce (docs/desktop-tests.md#keychain-errors).
func TestClassifySecretServiceErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want KeychainErrorKind
	}{
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown",
			Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, Unavailable},
		{errors.New("The name org.freedesktop.secrets was not provided by any .service files"), Unavailable},
		{&exec.Error{Name: "dbus-launch", Err: exec.ErrNotFound}, Unavailable},
		{errors.New("dbus: couldn't determine address of session bus"), Unavailable},
		{&net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")}, Unavailable},
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"), Locked},
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), Locked},
		{&dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked", Body: []any{"Cannot get secret of a locked object"}}, Locked},
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.Failed", Body: []any{"The password was invalid"}}, Locked},
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply"}, Timeout},
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied", Body: []any{"Rejected send message, 2 matched rules"}}, Refused},
		// What a method call really returns: a dbus.Error value (godbus's Call.Err), wrapped.
		{fmt.Errorf("set: %w", dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied", Body: []any{"Rejected send message"}}), Refused},
		{dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked", Body: []any{"Cannot get secret of a locked object"}}, Locked},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply"}, Timeout},
		{errors.New("data passed to Set was too big"), Other},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// requireBinary skips (loudly) without the named program, except on CI.
func requireBinary(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	msg := fmt.Sprintf("!!! %s not installed: real keychain error paths are NOT tested", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startBus starts a private session bus without service directories, so
// nothing is activated behind our back, and returns its address. (The
// <listen> element is required but --address overrides it.)
func startBus(t *testing.T, dir string) string {
	requireBinary(t, "dbus-daemon")
	conf := filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
<limit name="reply_timeout">60000</limit></busconfig>`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--nofork", "--config-file="+conf,
		"--address=unix:path="+filepath.Join(dir, "bus"), "--print-address=1")
	out, _ := cmd.StdoutPipe()
	var log bytes.Buffer
	cmd.Stderr = &log
	startChild(t, cmd)
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Wait() // dbus-daemon exited; its stderr is complete
		t.Fatalf("dbus-daemon printed no address: %v: %s", err, log.String())
	}
	return strings.TrimSpace(addr)
}

// startGnomeKeyring starts gnome-keyring on bus with an unlocked login
// keyring under dir and waits until it owns org.freedesktop.secrets.
func startGnomeKeyring(t *testing.T, dir, bus string) {
	requireBinary(t, "gnome-keyring-daemon")
	run := filepath.Join(dir, "xdg")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+run, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"DBUS_SESSION_BUS_ADDRESS="+bus)
	cmd.Stdin = strings.NewReader("test-password") // no newline: it would be part of the password
	var log bytes.Buffer
	cmd.Stderr = &log
	startChild(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := dbus.Connect(bus, dbus.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for ; ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		var has bool
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0,
			"org.freedesktop.secrets").Store(&has)
		if err == nil && has {
			return
		}
	}
	t.Fatalf("gnome-keyring did not appear on the bus: %s", log.String())
}

// startChild starts cmd and kills it (by its PID) at cleanup, or when this
// process dies first (a test timeout runs no cleanups).
func startChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// keyringChild runs helperKeyring with env and returns the kind of error,
// the time the Get took and the message.
func keyringChild(t *testing.T, env ...string) (kind string, took time.Duration, msg string) {
	t.Helper()
	cmd := helperCommand("keyring", append(env, "AUTH_TEST_SERVICE="+uniqueService(t))...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	watchdog := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	lines := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)
	f := strings.Fields(lines[0])
	if len(f) != 2 {
		t.Fatalf("helper said %q", out)
	}
	ms, _ := strconv.Atoi(f[1])
	if len(lines) > 1 {
		msg = lines[1]
	}
	return f[0], time.Duration(ms) * time.Millisecond, msg
}

func TestKeyringNoSecretServiceOnTheBus(t *testing.T) {
	bus := startBus(t, t.TempDir())
	kind, took, msg := keyringChild(t, "DBUS_SESSION_BUS_ADDRESS="+bus)
	t.Logf("Get without a Secret Service: %s after %s", kind, took)
	if kind != "unavailable" || took > time.Second {
		t.Errorf("got %s after %s (%q), want unavailable at once", kind, took, msg)
	}
	if !strings.Contains(msg, "no Secret Service keychain on the session bus") {
		t.Errorf("message %q", msg)
	}
}

func TestKeyringNoBus(t *testing.T) {
	gone := "unix:path=" + filepath.Join(t.TempDir(), "no-bus-here")
	kind, took, msg := keyringChild(t, "DBUS_SESSION_BUS_ADDRESS="+gone)
	t.Logf("Get with a stale bus address: %s after %s", kind, took)
	if kind != "unavailable" || !strings.Contains(msg, "no D-Bus session bus") {
		t.Errorf("got %s (%q), want unavailable naming the missing bus", kind, msg)
	}
}

func TestKeyringLockedCollection(t *testing.T) {
	dir := t.TempDir()
	bus := startBus(t, dir)
	startGnomeKeyring(t, dir, bus)
	kind, took, msg := keyringChild(t, "DBUS_SESSION_BUS_ADDRESS="+bus, "AUTH_TEST_LOCK_COLLECTION=1")
	t.Logf("Get on a locked collection: %s after %s", kind, took)
	if kind != "locked" || !strings.Contains(msg, "is locked") {
		t.Errorf("got %s after %s (%q), want locked", kind, took, msg)
	}
}

// TestFastGetAgreesWithGoKeyring: the three-call reader returns what go-keyring stored and
// reads back, and leaves anything unusual (missing, ambiguous, elsewhere) to go-keyring.
func TestFastGetAgreesWithGoKeyring(t *testing.T) {
	requireSessionBus(t)
	svc := uniqueService(t)
	t.Cleanup(func() { _ = keyring.Delete(svc, "k") })
	if err := keyring.Set(svc, "k", "välue with spaces\nand a newline"); err != nil {
		t.Fatal(err)
	}
	want, err := keyring.Get(svc, "k")
	if err != nil {
		t.Fatal(err)
	}
	got, handled, err := fastGet(svc, "k")
	if !handled || err != nil || got != want {
		t.Fatalf("fastGet = %q, %v, %v; go-keyring read %q", got, handled, err, want)
	}
	if _, handled, _ := fastGet(svc, "missing"); handled {
		t.Errorf("a missing item must go to go-keyring (which unlocks first)")
	}
	if _, ok := loginItem([]dbus.ObjectPath{"/org/freedesktop/secrets/collection/other/1"}); ok {
		t.Errorf("an item outside the login collection must go to go-keyring")
	}
	if _, ok := loginItem([]dbus.ObjectPath{loginCollection + "1", loginCollection + "2"}); ok {
		t.Errorf("two matches must go to go-keyring")
	}
}

// itemGoneCases are the errors of a call on an item that another process deleted meanwhile
// (gnome-keyring's real text first) and some that are not.
var itemGoneCases = []struct {
	err  error
	want bool
}{
	{dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownMethod",
		Body: []any{`No such interface “org.freedesktop.Secret.Item” on object at path /org/freedesktop/secrets/collection/login/12`}}, true},
	{dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownMethod",
		Body: []any{"Object does not exist at path “/org/freedesktop/secrets/collection/login/55”"}}, true},
	{errors.New("Object does not exist at path “/org/freedesktop/secrets/collection/login/55”"), true},
	{&dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownObject", Body: []any{"no such object"}}, true},
	{dbus.Error{Name: "org.freedesktop.Secret.Error.NoSuchObject", Body: []any{"the item does not exist"}}, true},
	{errors.New(`No such interface "org.freedesktop.Secret.Item" on object at path /x`), true},
	{dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownMethod", Body: []any{"No such method Frob"}}, false},
	{dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked", Body: []any{"locked"}}, false},
	{errors.New("data passed to Set was too big"), false},
}

func TestItemGone(t *testing.T) {
	for _, tc := range itemGoneCases {
		if got := itemGone(tc.err); got != tc.want {
			t.Errorf("itemGone(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
