package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

func uniqueService(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "homeytray-test-" + hex.EncodeToString(b)
}

// requireSessionBus skips (loudly) without a session bus, except on CI.
func requireSessionBus(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return
	}
	msg := "!!! DBUS_SESSION_BUS_ADDRESS is not set: the REAL Secret Service keychain is NOT tested. " +
		"Start a session bus and an unlocked gnome-keyring (docs/desktop-tests.md#session) to run it."
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func wantErr(_ string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("got %v, want ErrNotFound", err)
	}
	return nil
}

func wantValue(got string, err error) func(string) error {
	return func(want string) error {
		if err != nil {
			return err
		}
		if got != want {
			return errors.New("read back a different value")
		}
		return nil
	}
}

// blockingBackend never answers until released, like go-keyring waiting for
// an unlock prompt nobody sees.
type blockingBackend struct{ release chan struct{} }

func (b blockingBackend) Get(string, string) (string, error) { <-b.release; return "", nil }
func (b blockingBackend) Set(string, string, string) error   { <-b.release; return nil }
func (b blockingBackend) Delete(string, string) error        { <-b.release; return nil }

func TestKeyringTimeout(t *testing.T) {
	b := blockingBackend{release: make(chan struct{})}
	defer close(b.release)
	k := &Keyring{Service: "s", Timeout: 50 * time.Millisecond, backend: b}
	for name, call := range map[string]func() error{
		"get":    func() error { _, err := k.Get("token"); return err },
		"set":    func() error { return k.Set("token", "v") },
		"delete": func() error { return k.Delete("token") },
		"check":  k.Check,
	} {
		start := time.Now()
		err := call()
		took := time.Since(start)
		var ke *KeychainError
		if !errors.As(err, &ke) || ke.Kind != Timeout {
			t.Fatalf("%s: err = %v, want a KeychainError of kind Timeout", name, err)
		}
		if took < 50*time.Millisecond || took > time.Second {
			t.Errorf("%s: returned after %s, want about 50ms", name, took)
		}
		if want := "did not answer within 50ms: unlock it or check for a hidden prompt"; !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not say %q", name, err, want)
		}
	}
}

// slowBackend answers only after its unlock check was asked (so, after the timeout), and says
// whether anything is locked.
type slowBackend struct {
	locked  bool
	checked chan struct{} // closed by Unlocked
	once    *sync.Once
	never   bool // never answers at all
}

func newSlowBackend(locked, never bool) slowBackend {
	return slowBackend{locked: locked, never: never, checked: make(chan struct{}), once: &sync.Once{}}
}

func (b slowBackend) wait() {
	<-b.checked
	if b.never {
		select {}
	}
}
func (b slowBackend) Unlocked() bool                     { b.once.Do(func() { close(b.checked) }); return !b.locked }
func (b slowBackend) Get(string, string) (string, error) { b.wait(); return "v", nil }
func (b slowBackend) Set(string, string, string) error   { b.wait(); return nil }
func (b slowBackend) Delete(string, string) error        { b.wait(); return nil }

// A keychain with nothing locked gets until its patience: it is busy, no prompt is hiding. One
// with something locked, or one that never answers, still times out, each saying after how long.
func TestKeyringSlowButUnlocked(t *testing.T) {
	k := &Keyring{Service: "s", Timeout: 50 * time.Millisecond, patience: time.Minute, backend: newSlowBackend(false, false)}
	if v, err := k.Get("token"); err != nil || v != "v" {
		t.Fatalf("slow but unlocked: %q, %v; want the value", v, err)
	}
	for _, c := range []struct {
		name          string
		locked, never bool
		want          string
	}{
		{"locked", true, true, "did not answer within 50ms"},
		{"unlocked, never answers", false, true, "did not answer within 300ms"},
	} {
		k := &Keyring{Service: "s", Timeout: 50 * time.Millisecond, patience: 300 * time.Millisecond, backend: newSlowBackend(c.locked, c.never)}
		_, err := k.Get("token")
		var ke *KeychainError
		if !errors.As(err, &ke) || ke.Kind != Timeout || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a timeout that says %q", c.name, err, c.want)
		}
	}
}

// frozenBackend is a daemon that answers nothing, its unlock check included.
type frozenBackend struct{ blockingBackend }

func (b frozenBackend) Unlocked() bool { <-b.release; return true }

func TestKeyringFrozen(t *testing.T) {
	b := frozenBackend{blockingBackend{release: make(chan struct{})}}
	defer close(b.release)
	k := &Keyring{Service: "s", Timeout: 50 * time.Millisecond, patience: time.Hour, backend: b}
	_, err := k.Get("token")
	var ke *KeychainError
	if !errors.As(err, &ke) || ke.Kind != Timeout || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Errorf("a frozen keychain: %v, want a timeout after the call's and the check's 50 ms", err)
	}
}

// enteredBackend tells when a call reached it, then answers only when released, and marks that
// it answered.
type enteredBackend struct {
	entered, release chan struct{}
	answered         *atomic.Bool
}

func (b enteredBackend) Get(string, string) (string, error) {
	b.entered <- struct{}{}
	<-b.release
	b.answered.Store(true)
	return "v", nil
}
func (b enteredBackend) Set(string, string, string) error { return nil }
func (b enteredBackend) Delete(string, string) error      { return nil }

// Close waits for the call in progress (a process must not exit with a keychain request
// unanswered), and a call made after Close fails at once without reaching the keychain.
func TestKeyringCloseWaitsForCallsInProgress(t *testing.T) {
	b := enteredBackend{entered: make(chan struct{}, 1), release: make(chan struct{}), answered: &atomic.Bool{}}
	k := &Keyring{Service: "s", Timeout: time.Hour, backend: b}
	got := make(chan string, 1)
	go func() { v, _ := k.Get("token"); got <- v }()
	<-b.entered
	closed := make(chan struct{})
	go func() { k.Close(time.Hour); close(closed) }()
	// Once Close has begun, new calls are refused.
	for !k.isClosing() {
		time.Sleep(time.Millisecond)
	}
	if _, err := k.Get("later"); err == nil || !strings.Contains(err.Error(), "the program is exiting") {
		t.Fatalf("a call after Close: %v, want one that says the program is exiting", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a call was still waiting for the keychain")
	default:
	}
	close(b.release)
	<-closed
	// What Close waits for is the keychain's answer. Not for the caller to have taken it: that
	// happens after (a run under Wine once saw the caller's goroutine not yet back from Get).
	if !b.answered.Load() {
		t.Error("Close returned before the keychain answered the call in progress")
	}
	if v := <-got; v != "v" {
		t.Errorf("the call in progress got %q, want its value", v)
	}
	if len(b.entered) != 0 {
		t.Error("a call after Close reached the keychain")
	}
}

func (k *Keyring) isClosing() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.closing
}

// Close gives up after its bound on a keychain that never answers.
func TestKeyringCloseBounded(t *testing.T) {
	b := blockingBackend{release: make(chan struct{})}
	defer close(b.release)
	k := &Keyring{Service: "s", Timeout: time.Hour, backend: b}
	started := make(chan struct{})
	go func() { close(started); _, _ = k.Get("token") }()
	<-started
	k.Close(10 * time.Millisecond) // returns: the test would time out otherwise
}

// errBackend answers every call with err.
type errBackend struct{ err error }

func (b errBackend) Get(string, string) (string, error) { return "", b.err }
func (b errBackend) Set(string, string, string) error   { return b.err }
func (b errBackend) Delete(string, string) error        { return b.err }

func TestKeyringNotFound(t *testing.T) {
	k := &Keyring{Service: "s", backend: errBackend{keyring.ErrNotFound}}
	if _, err := k.Get("x"); err != ErrNotFound {
		t.Errorf("Get: %v, want ErrNotFound itself", err)
	}
	if err := k.Delete("x"); err != nil {
		t.Errorf("Delete of an absent key: %v, want nil", err)
	}
	if err := (&Keyring{}).Set("x", "y"); err == nil {
		t.Error("a Keyring without a service name worked")
	}
}

func TestKeyringErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  *KeychainError
		want string
	}{
		{&KeychainError{Op: "get", Kind: Locked}, lockedFix}, // per OS: "is locked: …", "refused access: …"
		{&KeychainError{Op: "get", Kind: Timeout, Err: &timeoutError{2 * time.Second}}, "did not answer within 2s"},
		{&KeychainError{Op: "get", Kind: Timeout}, "did not answer within 3s"},
		{&KeychainError{Op: "set", Kind: Other, Err: errors.New("boom\nsecond line")}, "failed (set): boom second line"},
		{&KeychainError{Op: "set", Kind: Unavailable, Err: errors.New("x")}, "--insecure-file-store"},
	} {
		msg := tc.err.Error()
		if !strings.Contains(msg, tc.want) || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("%v/%v: %q, want one line containing %q", tc.err.Kind, tc.err.Op, msg, tc.want)
		}
		if !strings.Contains(msg, backendNoun) && tc.err.Kind != Unavailable {
			t.Errorf("%q does not name the keychain", msg)
		}
	}
	inner := errors.New("inner")
	if !errors.Is(&KeychainError{Kind: Other, Err: inner}, inner) {
		t.Error("KeychainError does not unwrap")
	}
}

// helperKeyring runs in a child whose session bus the test chose: it
// optionally locks the login collection, then does one Get and prints the
// kind of error and how long it took.
func helperKeyring() error {
	if os.Getenv("AUTH_TEST_LOCK_COLLECTION") != "" {
		if err := lockLoginCollection(); err != nil {
			return err
		}
	}
	k := &Keyring{Service: os.Getenv("AUTH_TEST_SERVICE"), Timeout: 2 * time.Second}
	start := time.Now()
	_, err := k.Get("token")
	kind := "none"
	var ke *KeychainError
	if errors.As(err, &ke) {
		kind = ke.Kind.String()
	} else if err != nil {
		kind = "plain"
	}
	fmt.Printf("%s %d\n", kind, time.Since(start).Milliseconds())
	if err != nil {
		fmt.Println(err)
	}
	return nil
}

// lockLoginCollection locks the Secret Service login collection (only ever
// on a private keyring a test started).
func lockLoginCollection() error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	obj := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	return obj.CallWithContext(ctx, "org.freedesktop.Secret.Service.Lock", 0,
		[]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}).Store(&locked, &prompt)
}
