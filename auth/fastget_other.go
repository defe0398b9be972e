//go:build !linux

package auth

// fastGet has no shortcut off Linux: go-keyring's own calls are already direct there (macOS
// Keychain, Windows Credential Manager).
func fastGet(service, user string) (string, bool, error) { return "", false, nil }
