//go:build !linux

package auth

// Only Linux's Secret Service providers differ in where they keep secrets (collection_linux.go);
// the macOS Keychain and the Windows Credential Manager have one place, which go-keyring uses.
func withOwnCollection(_, _, _, _ string, f func() (string, error)) (string, error) { return f() }

func noCollectionMessage(error) (string, bool) { return "", false }

// allUnlocked is never known off Linux: the macOS Keychain can prompt for an item's access
// whatever its lock state, and the Credential Manager never prompts.
func allUnlocked() bool { return false }
