package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Bearer is a Homey session token with what is needed to reuse it.
type Bearer struct {
	Token       string    `json:"token"`
	HomeyID     string    `json:"homey_id"`
	BaseURL     string    `json:"base_url"`
	IssuedAt    time.Time `json:"issued_at"`
	ConfirmedAt time.Time `json:"confirmed_at"` // last time the Homey accepted it
}

// BearerCache keeps one [Bearer] per Homey between runs. The caller implements it (a keychain,
// say); bearers are secrets.
type BearerCache interface {
	LoadBearer(homeyID string) (*Bearer, error) // (nil, nil) when none is cached
	SaveBearer(b *Bearer) error
	DropBearer(homeyID string) error
}

// DefaultTrust is how long a confirmed bearer is handed out without asking the Homey.
const DefaultTrust = 15 * time.Minute

// Bearers hands out Homey session bearers: cached ones while they are trusted, else checked with
// the Homey, else new ones from a delegation token and a Homey login.
type Bearers struct {
	Cloud *Cloud
	Cache BearerCache      // nil = no cache: every Get logs in
	Trust time.Duration    // 0 = DefaultTrust: a bearer confirmed within Trust is handed out with no call
	Now   func() time.Time // nil = time.Now
	HTTP  *http.Client     // for Homey calls; nil = a client with a 15 s timeout
}

// Get returns a usable bearer for h:
//   - cached and confirmed less than Trust ago: no HTTP call;
//   - cached but older (or for another base URL): one call, [Client.SessionMe]; if accepted,
//     ConfirmedAt becomes now and the bearer is saved; on 401 it is dropped and Get logs in;
//   - none: [Cloud.DelegationToken] and [Client.Login], two calls; the new bearer is saved.
//
// Errors of the cache are returned (wrapped), never ignored.
func (b *Bearers) Get(ctx context.Context, h Homey) (*Bearer, error) {
	c, err := b.client(h)
	if err != nil {
		return nil, err
	}
	cached, err := b.load(h.ID)
	switch {
	case err != nil:
		return nil, err
	case cached == nil:
		return b.login(ctx, h, c)
	case b.trusted(cached, c.BaseURL):
		return cached, nil
	}
	return b.confirm(ctx, h, c, cached)
}

// Do runs fn with a bearer for h. If fn's error [IsUnauthorized], Do drops the cached bearer, logs
// in again once and runs fn once more; that second error is returned as it is.
func (b *Bearers) Do(ctx context.Context, h Homey, fn func(ctx context.Context, c *Client, bearer string) error) error {
	br, err := b.Get(ctx, h)
	if err != nil {
		return err
	}
	c, err := b.client(h)
	if err != nil {
		return err
	}
	if err := fn(ctx, c, br.Token); !IsUnauthorized(err) {
		return err
	}
	if err := b.drop(h.ID); err != nil {
		return err
	}
	if br, err = b.login(ctx, h, c); err != nil {
		return err
	}
	return fn(ctx, c, br.Token)
}

// trusted: confirmed for this base URL less than Trust ago (and not in the future).
func (b *Bearers) trusted(br *Bearer, baseURL string) bool {
	age := b.now().Sub(br.ConfirmedAt)
	return br.BaseURL == baseURL && age >= 0 && age < b.trust()
}

// confirm asks the Homey whether it still accepts the cached bearer.
func (b *Bearers) confirm(ctx context.Context, h Homey, c *Client, cached *Bearer) (*Bearer, error) {
	_, err := c.SessionMe(ctx, cached.Token)
	if IsUnauthorized(err) {
		if err := b.drop(h.ID); err != nil {
			return nil, err
		}
		return b.login(ctx, h, c)
	}
	if err != nil {
		return nil, err
	}
	br := *cached
	br.BaseURL, br.ConfirmedAt = c.BaseURL, b.now()
	return b.save(&br)
}

// login signs in to the Homey with a fresh delegation token and saves the new bearer.
func (b *Bearers) login(ctx context.Context, h Homey, c *Client) (*Bearer, error) {
	if b.Cloud == nil {
		return nil, errNoCloud
	}
	jwt, err := b.Cloud.DelegationToken(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := c.Login(ctx, jwt)
	if err != nil {
		return nil, err
	}
	now := b.now()
	return b.save(&Bearer{Token: tok, HomeyID: h.ID, BaseURL: c.BaseURL, IssuedAt: now, ConfirmedAt: now})
}

// client is the Client for h at its base URL.
func (b *Bearers) client(h Homey) (*Client, error) {
	switch {
	case h.ID == "":
		return nil, errNoHomeyID
	case h.BaseURL() == "":
		return nil, fmt.Errorf("homey %s: %w", h.ID, errNoURL)
	}
	return &Client{BaseURL: h.BaseURL(), HomeyID: h.ID, HTTP: b.HTTP}, nil
}

// load returns the cached bearer of homeyID, or nil when there is none or it is not for it.
func (b *Bearers) load(homeyID string) (*Bearer, error) {
	if b.Cache == nil {
		return nil, nil
	}
	br, err := b.Cache.LoadBearer(homeyID)
	if err != nil {
		return nil, fmt.Errorf("load bearer: %w", err)
	}
	if br == nil || br.Token == "" || br.HomeyID != homeyID {
		return nil, nil
	}
	return br, nil
}

func (b *Bearers) save(br *Bearer) (*Bearer, error) {
	if b.Cache == nil {
		return br, nil
	}
	if err := b.Cache.SaveBearer(br); err != nil {
		return nil, fmt.Errorf("save bearer: %w", err)
	}
	return br, nil
}

func (b *Bearers) drop(homeyID string) error {
	if b.Cache == nil {
		return nil
	}
	if err := b.Cache.DropBearer(homeyID); err != nil {
		return fmt.Errorf("drop bearer: %w", err)
	}
	return nil
}

func (b *Bearers) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Bearers) trust() time.Duration {
	if b.Trust > 0 {
		return b.Trust
	}
	return DefaultTrust
}

var (
	errNoCloud = errors.New("no cloud to log in to the Homey with")
	errNoURL   = errors.New("no URL to reach it")
)
