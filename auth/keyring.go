package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// defaultKeychainTimeout bounds every keychain call when Keyring.Timeout is 0.
// The GitHub CLI uses the same value for the same reason.
const defaultKeychainTimeout = 3 * time.Second

// keychainPatience is how long a call may take in all when the keychain has
// nothing locked, so that no prompt can be hiding (see Keyring.call).
const keychainPatience = 30 * time.Second

// checkKey is the throwaway item Check writes and deletes. A fixed name means
// that a Check interrupted half-way leaves at most one stray item.
const checkKey = "keychain-check"

// Keyring is a Store in the OS keychain (Secret Service on Linux and the BSDs,
// the macOS Keychain, the Windows Credential Manager), through
// github.com/zalando/go-keyring. Items are stored under Service with the key
// as the user name.
//
// go-keyring has no timeout and blocks forever on an unlock prompt nobody
// answers, so every call runs in its own goroutine and is abandoned after
// Timeout. An abandoned call may still complete later.
type Keyring struct {
	Service string        // e.g. the application's ID
	Timeout time.Duration // per call; 0 = 3 s

	// patience replaces keychainPatience when set (tests).
	patience time.Duration

	// backend is go-keyring when nil; tests substitute one that blocks.
	backend keyringBackend

	// The calls in progress, for Close. mu orders Close against a call that starts.
	mu      sync.Mutex
	calls   sync.WaitGroup
	closing bool
}

// errClosing is the error of a call made after Close.
var errClosing = errors.New("the program is exiting")

// Close waits, at most max, for the keychain calls in progress to end; a call made after Close
// fails at once. A process calls it last, before it exits: it must not exit with a request of
// its unanswered in the Secret Service. gnome-keyring (42 to 50 at least) aborts when it handles
// OpenSession from a client that is gone by then (its client lookup comes back empty and the
// reply is built from nothing), and every program on the desktop loses the keychain until the
// daemon is started again. (The same abort with a client that stays, from calls sent all at
// once by a new connection, is avoided in fastGet.)
func (k *Keyring) Close(max time.Duration) {
	k.mu.Lock()
	k.closing = true
	k.mu.Unlock()
	done := make(chan struct{})
	go func() { k.calls.Wait(); close(done) }()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// begin counts a call in progress for Close, or refuses it after Close.
func (k *Keyring) begin() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closing {
		return false
	}
	k.calls.Add(1)
	return true
}

// keyringBackend is the part of go-keyring that Keyring uses.
type keyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

type goKeyring struct{}

// raceRetries bounds how often a read or delete looks for the item again after another process
// deleted or replaced the one it found (itemGone). Between tries it waits a little longer each
// time (raceWait): with many writers replacing the item, an immediate retry can lose the same
// race again (1 of 600 calls did with 5 immediate retries on a loaded machine).
const raceRetries = 12

// raceWait is the pause before retry i: 1, 2, 4 … ms, at most 20 ms (about 150 ms in all).
func raceWait(i int) { time.Sleep(min(time.Millisecond<<i, 20*time.Millisecond)) }

// Get reads the item. go-keyring searches for the item, then reads the path it found; another
// process may delete or replace the item in between (a Secret Service answers "No such
// interface … on object at path …"). Then it looks again: the item is gone (ErrNotFound) or a
// new one is there.
func (goKeyring) Get(s, u string) (string, error) {
	if v, handled, err := fastGet(s, u); handled {
		return v, err
	}
	return withOwnCollection("get", s, u, "", func() (string, error) {
		v, err := keyring.Get(s, u)
		for i := 0; i < raceRetries && err != nil && itemGone(err); i++ {
			raceWait(i)
			v, err = keyring.Get(s, u)
		}
		return v, err
	})
}

// Set writes the item. go-keyring creates it with replace set, in one call to the collection:
// no other process can come between a search and the write, and a concurrent delete either
// runs before (the item is created anew) or after (last one wins). A race with a delete that
// already found the old item is left to the callers' locks (the refresh and sign-in locks).
func (goKeyring) Set(s, u, p string) error {
	_, err := withOwnCollection("set", s, u, p, func() (string, error) { return "", keyring.Set(s, u, p) })
	return err
}

// Delete removes the item. When the item it found vanished before the delete reached it
// (another process deleted or replaced it), it looks again: gone is success (ErrNotFound, which
// Keyring.Delete takes as done), a replacement is deleted in turn.
func (goKeyring) Delete(s, u string) error {
	_, err := withOwnCollection("delete", s, u, "", func() (string, error) {
		err := keyring.Delete(s, u)
		for i := 0; i < raceRetries && err != nil && itemGone(err); i++ {
			raceWait(i)
			err = keyring.Delete(s, u)
		}
		return "", err
	})
	return err
}

// Name returns the name of the OS keychain, e.g. "Secret Service".
func (k *Keyring) Name() string { return backendName }

// Get returns the secret stored under key, or ErrNotFound.
func (k *Keyring) Get(key string) (string, error) {
	return k.call("get", func(b keyringBackend) (string, error) { return b.Get(k.Service, key) })
}

// Set stores value under key.
func (k *Keyring) Set(key, value string) error {
	_, err := k.call("set", func(b keyringBackend) (string, error) { return "", b.Set(k.Service, key, value) })
	return err
}

// Delete removes key; an absent key is not an error.
func (k *Keyring) Delete(key string) error {
	_, err := k.call("delete", func(b keyringBackend) (string, error) { return "", b.Delete(k.Service, key) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Check proves that the keychain works by writing, reading back and deleting
// a throwaway item. Run it before a sign-in: an authorization code is
// single-use, and tokens must never exist with nowhere to keep them.
func (k *Keyring) Check() error {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	want := hex.EncodeToString(buf)
	if err := k.Set(checkKey, want); err != nil {
		return err
	}
	got, err := k.Get(checkKey)
	if err != nil {
		return err
	}
	if got != want {
		return &KeychainError{Backend: backendName, Op: "check", Kind: Other,
			Err: errors.New("it returned a different value than was stored")}
	}
	return k.Delete(checkKey)
}

type keyringResult struct {
	value string
	err   error
}

// call runs f in a goroutine and gives up after the timeout; a go-keyring
// call can otherwise block forever on an unanswered unlock prompt.
//
// A keychain that is only slow is not given up on so soon: when the timeout
// passes and the backend can tell (unlockChecker) that nothing it keeps is
// locked — so no unlock prompt can be what the call waits for — the call gets
// until keychainPatience. A busy daemon on a loaded machine once took longer
// than the timeout, and "unlock it or check for a hidden prompt" sent the
// user after a prompt that did not exist.
func (k *Keyring) call(op string, f func(keyringBackend) (string, error)) (string, error) {
	if k.Service == "" {
		return "", &KeychainError{Backend: backendName, Op: op, Kind: Other, Err: errors.New("no service name")}
	}
	// A call counts until it returns, its own timeouts included; one it gave up on is not
	// waited for (its keychain did not answer, and would not answer Close either).
	if !k.begin() {
		return "", &KeychainError{Backend: backendName, Op: op, Kind: Other, Err: errClosing}
	}
	defer k.calls.Done()
	b := k.backend
	if b == nil {
		b = goKeyring{}
	}
	d := k.Timeout
	if d <= 0 {
		d = defaultKeychainTimeout
	}
	patience := k.patience
	if patience <= 0 {
		patience = keychainPatience
	}
	ch := make(chan keyringResult, 1) // buffered: an abandoned call must not leak a blocked send
	go func() {
		v, err := f(b)
		ch <- keyringResult{v, err}
	}()
	result := func(r keyringResult) (string, error) {
		if r.err == nil {
			return r.value, nil
		}
		if errors.Is(r.err, keyring.ErrNotFound) {
			return "", ErrNotFound
		}
		return "", &KeychainError{Backend: backendName, Op: op, Kind: classify(r.err), Err: r.err}
	}
	timeout := func(after time.Duration) error {
		return &KeychainError{Backend: backendName, Op: op, Kind: Timeout, Err: &timeoutError{after}}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-ch:
		return result(r)
	case <-timer.C:
	}
	// Past the timeout: is anything locked? The check gets as long as the call had (a frozen
	// daemon answers neither).
	uc, ok := b.(unlockChecker)
	if !ok || patience <= 2*d {
		return "", timeout(d)
	}
	unlocked := make(chan bool, 1) // buffered: the check may answer after we gave up
	go func() { unlocked <- uc.Unlocked() }()
	timer.Reset(d)
	select {
	case r := <-ch:
		return result(r)
	case <-timer.C:
		return "", timeout(2 * d)
	case ok := <-unlocked:
		if !ok {
			return "", timeout(d)
		}
	}
	// Nothing is locked, so no prompt is hiding: the call gets until patience (at most; the
	// check took less than d).
	timer.Reset(patience - 2*d)
	select {
	case r := <-ch:
		return result(r)
	case <-timer.C:
		return "", timeout(patience)
	}
}

// unlockChecker is a backend that can tell, quickly, that nothing it keeps is
// locked: then a call that takes long is waiting for a busy keychain, not for
// an unlock prompt.
type unlockChecker interface {
	Unlocked() bool
}

// Unlocked reports whether the keychain answers and nothing in it is locked
// (Linux: every Secret Service collection unlocked; elsewhere never known).
func (goKeyring) Unlocked() bool { return allUnlocked() }

// classify sorts a go-keyring error into a kind: first the OS-specific
// rules, then go-keyring's own platform error.
func classify(err error) KeychainErrorKind {
	if k := classifyOS(err); k != 0 {
		return k
	}
	if errors.Is(err, keyring.ErrUnsupportedPlatform) {
		return Unavailable
	}
	return Other
}
