package homey

import (
	"context"
	"errors"
)

// Credential is what a [Stream] opens a realtime connection with: the bearer it hands the Homey
// in the handshake, the Homey's cloud id and where to reach it.
type Credential struct {
	Token   string // a Homey session bearer or an API key; a secret
	HomeyID string // the Homey's cloud id
	BaseURL string // e.g. http://192.168.1.50 or https://<id>.connect.athom.com; no trailing slash
}

// BearerSource gives a [Stream] its [Credential]; the stream asks before every connection, so
// that a Homey that moved between its LAN and Athom's relay is followed.
type BearerSource interface {
	// Bearer returns the credential to connect with. refused is "" before a connection, and
	// the token the Homey has just refused (401) in the handshake otherwise: then the source
	// must not return that token again but a new one (a new Homey session), or an error,
	// which ends the stream unless it may pass by itself (a network error, say).
	Bearer(ctx context.Context, refused string) (Credential, error)
}

// RouteFailer is optionally implemented by a [BearerSource]: the stream calls Unreachable
// when it could not connect to baseURL at all (a network error), so that the next Bearer
// looks for another route to the Homey.
type RouteFailer interface {
	Unreachable(baseURL string)
}

// Realtime is the [BearerSource] of a [Stream] to h through b: the bearer that b's HTTP calls
// use, on the route b's Router gives. A bearer the Homey refused in the handshake is replaced
// through the same single-flight sign-in as a 401 of an HTTP call ([Bearers.Do]): concurrent
// refusals and HTTP 401s make one sign-in between them, and errors of the Athom sign-in (the
// account signed out, say) come back as they are. It implements [RouteFailer].
func (b *Bearers) Realtime(h Homey) BearerSource { return &bearersSource{b: b, h: h} }

type bearersSource struct {
	b *Bearers
	h Homey
}

func (s *bearersSource) Bearer(ctx context.Context, refused string) (Credential, error) {
	var br *Bearer
	var err error
	if refused == "" {
		br, err = s.b.Get(ctx, s.h)
	} else {
		err = s.b.onRoute(ctx, s.h, func(c *Client, rt Route) error {
			var serr error
			br, serr = s.b.signIn(ctx, s.h, c, rt, refused)
			return serr
		})
	}
	if err != nil {
		return Credential{}, err
	}
	return Credential{Token: br.Token, HomeyID: s.h.ID, BaseURL: br.BaseURL}, nil
}

// Unreachable reports the route at baseURL failed to the Router, as an HTTP call's network
// error does.
func (s *bearersSource) Unreachable(baseURL string) {
	if s.b.Router == nil {
		return
	}
	for _, r := range s.h.Candidates() {
		if r.BaseURL == baseURL {
			s.b.Router.Failed(s.h, r)
		}
	}
}

// ErrKeyRefused: the Homey refused an API key in the realtime handshake. A key cannot be
// renewed, so a [Stream] that uses a [StaticBearer] ends with this error (joined with the
// handshake's 401 *APIError).
var ErrKeyRefused = errors.New("the Homey refused the API key")

// StaticBearer is the [BearerSource] of a Homey reached with an API key: always the same key
// at the same address. When the Homey refuses the key, Bearer returns [ErrKeyRefused].
type StaticBearer Credential

// Bearer returns the key, or ErrKeyRefused when the Homey refused it.
func (k StaticBearer) Bearer(_ context.Context, refused string) (Credential, error) {
	if refused != "" && refused == k.Token {
		return Credential{}, ErrKeyRefused
	}
	return Credential(k), nil
}
