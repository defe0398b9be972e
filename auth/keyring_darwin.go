//go:build darwin

package auth

import (
	"errors"
	"os/exec"
)

// On macOS go-keyring runs /usr/bin/security and keeps only its exit status.
const (
	backendName = "macOS Keychain"
	backendNoun = "the macOS Keychain"
	lockedFix   = " is locked or refused access: unlock it (log in at the Mac, or run " +
		"security unlock-keychain) and allow access, then try again"
)

// itemGone: the security tool finds and deletes an item in one call, so no other process can
// delete it in between; a missing item is go-keyring's ErrNotFound.
func itemGone(error) bool { return false }

// classifyOS sorts the exit status of security(1), which is the low byte of
// the Security framework's OSStatus; 0 means "no rule matched".
func classifyOS(err error) KeychainErrorKind {
	if errors.Is(err, exec.ErrNotFound) {
		return Unavailable
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return 0
	}
	switch exitErr.ExitCode() {
	case 36: // errSecInteractionNotAllowed (-25308): locked and no UI, e.g. over ssh
		return Locked
	case 51: // errSecAuthFailed (-25293): wrong password in the prompt
		return Locked
	case 128: // errSecUserCanceled (-128): the prompt was cancelled
		return Locked
	case 37, 50: // errSecNoDefaultKeychain (-25307), errSecNoSuchKeychain (-25294)
		return Unavailable
	}
	return 0
}

func unavailableMessage(error) string {
	return "the macOS Keychain is not available (no default keychain): run in a logged-in session, " +
		"or use --insecure-file-store"
}
