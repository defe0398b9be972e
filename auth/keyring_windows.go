//go:build windows

package auth

import (
	"errors"
	"syscall"
)

// On Windows go-keyring uses the Credential Manager (CredRead/CredWrite),
// which has no lock and no prompt.
const (
	backendName = "Windows Credential Manager"
	backendNoun = "the Windows Credential Manager"
	lockedFix   = " refused access: log in to Windows as this user and try again"
)

// errNoSuchLogonSession is ERROR_NO_SUCH_LOGON_SESSION: credentials are
// per logon session, and a service or a scheduled task without a loaded
// profile has none.
const errNoSuchLogonSession = syscall.Errno(1312)

// itemGone: go-keyring's Delete reads the credential, then deletes it; another process may
// delete it in between, and CredDelete then fails with ERROR_NOT_FOUND (not mapped to
// ErrNotFound by go-keyring). Looking again finds it gone.
func itemGone(err error) bool { return errors.Is(err, syscall.ERROR_NOT_FOUND) }

// classifyOS sorts Credential Manager errors; 0 means "no rule matched".
func classifyOS(err error) KeychainErrorKind {
	if errors.Is(err, errNoSuchLogonSession) {
		return Unavailable
	}
	return 0
}

func unavailableMessage(error) string {
	return "the Windows Credential Manager is not available in this logon session: run as a logged-in user, " +
		"or use --insecure-file-store"
}
