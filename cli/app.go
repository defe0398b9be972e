package cli

import (
	"context"
	"io"
	"net/http"
	"time"
)

// defaultRedirectURI is what the README tells users to register with their Athom Web API client.
const defaultRedirectURI = "http://localhost:47719/callback"

// httpTimeout bounds every HTTP request to the Athom cloud and the Homeys.
const httpTimeout = 15 * time.Second

// app is the composition root shared by every command. It is made of one part per concern, each
// built lazily, so a warm `token` touches only what it needs (the config file and one keychain
// item): the face (streams, browser, version), the settings (profile, environment, config file),
// the keychain, the Athom sign-in and the Homeys. Commands are methods of app or functions of
// the parts they use.
type app struct {
	*face
	*settings
	*keychain
	*athomSide
	*homeySide
}

// face is what a command talks to the user with.
type face struct {
	version        Version
	stdin          io.Reader
	stdout, stderr io.Writer
	opener         func(url string) error // the browser for the sign-in
	stdinTerminal  func() bool
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	set := &settings{getenv: getenv, profile: getenv("HOMEYTRAY_PROFILE")}
	timeout := httpTimeout
	if d, err := time.ParseDuration(getenv("HOMEYTRAY_HTTP_TIMEOUT")); err == nil && d > 0 {
		timeout = d
	}
	set.httpc = &http.Client{Timeout: timeout}
	keys := &keychain{set: set}
	athom := &athomSide{set: set, keys: keys}
	athom.tokens = &lazyTokens{s: athom}
	a := &app{
		face:      &face{stdin: stdin, stdout: stdout, stderr: stderr},
		settings:  set,
		keychain:  keys,
		athomSide: athom,
		homeySide: &homeySide{set: set, keys: keys, account: athom},
	}
	a.opener = a.openBrowser
	a.stdinTerminal = func() bool { return isTerminal(stdin) }
	return a
}

// withTimeout is the deadline for one whole command's network work (the sign-in has its own).
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*time.Minute)
}
