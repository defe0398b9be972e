// Package auth signs a desktop application in to an OAuth 2.0 service and
// keeps it signed in.
//
// It has three parts, none of which knows which service it talks to:
//
//   - Login runs the loopback sign-in of RFC 8252: it listens on the
//     registered loopback redirect URI, lets the user sign in in a browser and
//     returns the authorization code. On a first run (Login.Setup) it first
//     serves a page there where the user enters a newly registered client;
//     that page is the one part that knows Athom: where clients are
//     registered and what their ids look like.
//   - Session is an oauth2.TokenSource that stores every token it gets,
//     refreshes ahead of expiry and on demand (Reject), and makes sure that only
//     one refresh happens at a time, in this process (a mutex) and across
//     processes (a lock file), because refresh tokens may rotate.
//   - Store keeps the secrets: Keyring (the OS keychain, with a timeout around
//     every call) or, only when the user asks for it, FileStore (a plain file).
//
// Errors never contain a token, a secret, an authorization code or a raw
// server body.
package auth

import (
	"errors"
)

// ErrNotSignedIn means that the store holds no token: the user has to sign in.
var ErrNotSignedIn = errors.New("not signed in")

// ErrSignInGone means that the token endpoint refused the refresh token (any
// 400 or 401 answer to the refresh grant: the official client never inspects
// it, so the real code is unknown), or that a token without a refresh token was
// rejected. The user has to sign in again. The stored secrets are not deleted.
var ErrSignInGone = errors.New("the sign-in is no longer valid")

// ErrClientRefused means that the token endpoint refused the client itself
// (invalid_client): its id or secret is wrong, or the client was deleted. A new
// sign-in cannot help until the client is set up again. It also matches
// ErrSignInGone when it ended a refresh. The stored secrets are not deleted.
var ErrClientRefused = errors.New("the token endpoint refused the client id or secret")

// ErrAccessDenied means that the user refused access in the browser.
var ErrAccessDenied = errors.New("access was denied in the browser")

// ErrLoginTimeout means that no sign-in arrived within Login.Timeout.
var ErrLoginTimeout = errors.New("timed out waiting for the sign-in")
