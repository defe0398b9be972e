package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sync/errgroup"
)

// Access is one way to reach a Homey: its bearer, requests made with it, its devices. There are
// two: the Athom sign-in ([SignedIn]: a session from users/login, on the route the race picked,
// signed in again once when the Homey says 401) and an API key made on the Homey ([KeyAccess]:
// the key itself on the LAN, no cloud at all). The caller picks one from its settings, once;
// nothing after that asks which it is.
type Access interface {
	// Homey is the Homey this reaches.
	Homey() Homey
	// Bearer is a bearer for the Homey and the base URL to use it at.
	Bearer(ctx context.Context) (*Bearer, error)
	// Do calls fn with a client of the Homey and a bearer. When fn's error is a 401 and the way
	// allows it, the Homey is signed in to again and fn called once more. once marks a request
	// that must not reach the Homey twice (a POST that makes something): after a broken
	// connection it is not sent again.
	Do(ctx context.Context, once bool, fn func(ctx context.Context, c *Client, bearer string) error) error
	// Realtime is the credential source of a realtime [Stream] to the Homey: the bearer and
	// address that Bearer and Do use, renewed the way Do renews it when the Homey refuses it in
	// the handshake.
	Realtime() BearerSource
}

// SignedIn reaches a Homey through the Athom sign-in.
type SignedIn struct {
	Bearers *Bearers
	H       Homey
}

// Homey is the Homey s reaches.
func (s SignedIn) Homey() Homey { return s.H }

// Bearer is [Bearers.Get] for the Homey.
func (s SignedIn) Bearer(ctx context.Context) (*Bearer, error) {
	b, err := s.Bearers.Get(ctx, s.H)
	if err != nil {
		return nil, fmt.Errorf("get a bearer for %s: %w", s.H.Name, err)
	}
	return b, nil
}

// Do is [Bearers.Do], or [Bearers.DoOnce] with once.
func (s SignedIn) Do(ctx context.Context, once bool, fn func(ctx context.Context, c *Client, bearer string) error) error {
	if once {
		return s.Bearers.DoOnce(ctx, s.H, fn)
	}
	return s.Bearers.Do(ctx, s.H, fn)
}

// Realtime is [Bearers.Realtime] for the Homey: a refused session is replaced through the same
// single-flight sign-in as an HTTP 401, on the route the Router picks before each connection.
func (s SignedIn) Realtime() BearerSource { return s.Bearers.Realtime(s.H) }

// KeyAccess reaches a Homey Pro on its LAN with an API key made on it: the key is the bearer, no
// cloud, no sign-in, no expiry. The key goes only to an address where the Homey proved by a ping
// that it is that Homey (Pinged), as another device may own the address on another network.
// Every failure there is a *[KeyError] naming the Homey and the address.
type KeyAccess struct {
	H       Homey  // its id and name
	Address string // its base URL on the LAN
	Key     string
	HTTP    *http.Client
	Pinged  *Pinged // the proofs of this process; shared by every KeyAccess of it
}

// Homey is the Homey k reaches.
func (k *KeyAccess) Homey() Homey { return k.H }

// Bearer is the key itself, with no network call: a script may use it at once.
func (k *KeyAccess) Bearer(context.Context) (*Bearer, error) {
	return &Bearer{Token: k.Key, HomeyID: k.H.ID, BaseURL: k.Address}, nil
}

// Do calls fn once at the address, after the ping proof. A failure forgets the proof, so that
// the next call pings again (the Homey may have a new address). A 401 is final: the key was
// deleted on the Homey.
func (k *KeyAccess) Do(ctx context.Context, _ bool, fn func(ctx context.Context, c *Client, bearer string) error) error {
	if err := k.Pinged.Check(ctx, k.HTTP, k.Address, k.H.ID); err != nil {
		return &KeyError{Homey: k.H.Name, Address: k.Address, Err: err}
	}
	c := &Client{BaseURL: k.Address, HomeyID: k.H.ID, HTTP: k.HTTP}
	if err := fn(ctx, c, k.Key); err != nil {
		k.Pinged.Forget(k.H.ID, k.Address)
		if errors.Is(err, context.Canceled) {
			return err
		}
		return &KeyError{Homey: k.H.Name, Address: k.Address, Err: err}
	}
	return nil
}

// Realtime is the key at the Homey's address, proved by a ping before every connection: the
// key goes to no address where the Homey has not just shown that it is there (a connection
// lives for days, and a reconnect may find another network). A key the Homey refuses in the
// handshake is final (a *[KeyError] holding a 401 that matches [ErrKeyRefused]): it was
// deleted on the Homey. A failed proof counts as the Homey being offline, which a stream
// outlasts: a laptop away from home finds another device, or nothing, at the address until it
// is back.
func (k *KeyAccess) Realtime() BearerSource { return keySource{k} }

type keySource struct{ k *KeyAccess }

func (s keySource) Bearer(ctx context.Context, refused string) (Credential, error) {
	k := s.k
	if refused != "" && refused == k.Key {
		return Credential{}, &KeyError{Homey: k.H.Name, Address: k.Address,
			Err: &APIError{Op: opHandshake, StatusCode: http.StatusUnauthorized, err: ErrKeyRefused}}
	}
	k.Pinged.Forget(k.H.ID, k.Address)
	if err := k.Pinged.Check(ctx, k.HTTP, k.Address, k.H.ID); err != nil {
		if !IsNetworkError(err) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", err, ErrOffline)
		}
		return Credential{}, &KeyError{Homey: k.H.Name, Address: k.Address, Err: err}
	}
	return Credential{Token: k.Key, HomeyID: k.H.ID, BaseURL: k.Address}, nil
}

// Unreachable forgets the ping proof, for the HTTP calls too.
func (s keySource) Unreachable(string) { s.k.Pinged.Forget(s.k.H.ID, s.k.Address) }

// KeyError is a failure of an API-key Homey at its address: its ping, or a request there.
type KeyError struct {
	Homey, Address string
	Err            error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("the Homey %s at %s: %v", e.Homey, e.Address, e.Err)
}

// Unwrap returns the failure at the address.
func (e *KeyError) Unwrap() error { return e.Err }

// ListDevices lists the Homey's devices and, with withZones, its zones (both at once: through
// Athom's relay each call is a round trip of its own). A bearer that may not view zones (403)
// gives devices without zone names.
func ListDevices(ctx context.Context, a Access, withZones bool) (map[string]Device, map[string]Zone, error) {
	var devices map[string]Device
	var zones map[string]Zone
	err := a.Do(ctx, false, func(ctx context.Context, c *Client, bearer string) error {
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) {
			devices, err = c.Devices(ctx, bearer)
			return err
		})
		if withZones {
			g.Go(func() (err error) {
				zones, err = c.Zones(ctx, bearer)
				var apiE *APIError
				if errors.As(err, &apiE) && apiE.StatusCode == http.StatusForbidden {
					zones, err = nil, nil // no homey.zone.readonly: zone ids instead of names
				}
				return err
			})
		}
		return g.Wait()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list the devices of %s: %w", a.Homey().Name, err)
	}
	return devices, zones, nil
}
