package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Store keeps secrets under short key names such as "client-secret", "token"
// or "bearer:<id>". Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the value stored under key, or ErrNotFound.
	Get(key string) (string, error)
	// Set stores value under key, replacing any previous value.
	Set(key, value string) error
	// Delete removes key. Deleting an absent key is not an error.
	Delete(key string) error
	// Name says where the secrets are, for status output: "Secret Service",
	// "macOS Keychain", "Windows Credential Manager" or "insecure file <path>".
	Name() string
}

// ErrNotFound is returned by Store.Get when the key is absent.
var ErrNotFound = errors.New("not found in the keychain")

// KeychainErrorKind says why the keychain could not be used.
type KeychainErrorKind int

// The kinds of KeychainError.
const (
	// Unavailable: there is no keychain to talk to (no Secret Service on
	// the session bus, no session bus, no logon session, ...).
	Unavailable KeychainErrorKind = iota + 1
	// Locked: the keychain is there but locked, and it could not be
	// unlocked without the user.
	Locked
	// Timeout: the keychain did not answer in time; usually an unlock
	// prompt that nobody sees.
	Timeout
	// Other: anything else.
	Other
	// Refused: the keychain (or a policy in front of it, like a sandbox's
	// D-Bus filter) denied the call.
	Refused
)

// String returns the kind's name in lower case.
func (k KeychainErrorKind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case Locked:
		return "locked"
	case Timeout:
		return "timeout"
	case Refused:
		return "refused"
	}
	return "other"
}

// KeychainError means that the OS keychain could not be used. Its message is
// one line that names the keychain and the fix.
type KeychainError struct {
	Backend string            // Keyring.Name(), e.g. "Secret Service"
	Op      string            // "get", "set", "delete" or "check"
	Kind    KeychainErrorKind // why
	Err     error             // the underlying error
}

// Error returns one line naming the keychain and the fix.
func (e *KeychainError) Error() string {
	noun := backendNoun
	switch e.Kind {
	case Unavailable:
		return unavailableMessage(e.Err)
	case Locked:
		return noun + lockedFix
	case Timeout:
		var t *timeoutError
		after := defaultKeychainTimeout
		if errors.As(e.Err, &t) {
			after = t.after
		}
		return fmt.Sprintf("%s did not answer within %s: unlock it or check for a hidden prompt", noun, after)
	case Refused:
		return fmt.Sprintf("%s refused to %s a secret (access denied): check what may use the keychain (a sandbox's permissions, the keychain's access rules)", noun, refusedVerb(e.Op))
	}
	detail := "unknown error"
	if e.Err != nil {
		detail = sanitize.Line(e.Err.Error(), 200)
	}
	return fmt.Sprintf("%s failed (%s): %s", noun, e.Op, detail)
}

// Unwrap returns the underlying error.
func (e *KeychainError) Unwrap() error { return e.Err }

func refusedVerb(op string) string {
	switch op {
	case "get":
		return "read"
	case "set", "check":
		return "save"
	}
	return op
}

// timeoutError is the Err of a KeychainError of kind Timeout.
type timeoutError struct {
	after time.Duration // how long we waited
}

func (t *timeoutError) Error() string { return fmt.Sprintf("no answer within %s", t.after) }

// Timeout reports true, like a net.Error.
func (t *timeoutError) Timeout() bool { return true }
