package homey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to one Homey at one base URL. Every request carries X-Homey-ID: HomeyID.
type Client struct {
	BaseURL string // e.g. the Homey's remoteUrl
	HomeyID string // the cloud id of the Homey
	// APIVersion is the Homey's apiVersion from /user/me: 2 (Homey Pro 2019 and older) lists
	// devices at /api/manager/devices/device/ (trailing slash), as its specification has it;
	// 0 or 3 use the Homey Pro 2023 paths.
	APIVersion int
	HTTP       *http.Client // nil = a client with a 15 s timeout
}

// SessionInfo describes a Homey session (GET /api/manager/sessions/session/me).
type SessionInfo struct {
	ID                string   `json:"id"`
	Type              string   `json:"type"` // OAUTH, APP or PAT
	Scopes            []string `json:"scopes"`
	IntersectedScopes []string `json:"intersectedScopes"` // the effective scopes
}

// Device is one device of a Homey, with the fields this program reads.
type Device struct {
	ID              string                `json:"id"`
	Name            string                `json:"name"`
	Zone            string                `json:"zone"` // a [Zone] id
	Class           string                `json:"class"`
	Capabilities    []string              `json:"capabilities"`
	CapabilitiesObj map[string]Capability `json:"capabilitiesObj"`
	Raw             json.RawMessage       `json:"-"` // the Homey's whole object, as it sent it
}

// deviceFields has Device's fields without its methods.
type deviceFields Device

// UnmarshalJSON decodes the known fields and keeps the whole object in Raw.
func (d *Device) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var v deviceFields
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Device(v)
	d.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Capability is one entry of a device's capabilitiesObj.
type Capability struct {
	ID    string `json:"id"`
	Type  string `json:"type"` // boolean, number, string or enum
	Title string `json:"title"`
	Units string `json:"units"`
	Value any    `json:"value"`
	// LastUpdated is when the value last changed, as the Homey sent it (an ISO 8601 string;
	// see [Capability.Updated]).
	LastUpdated json.RawMessage `json:"lastUpdated,omitempty"`
}

// Updated is when the value last changed, by the Homey's clock; zero when it did not say.
func (c Capability) Updated() time.Time { return jsTime(c.LastUpdated) }

// Zone is a room or area of a Homey.
type Zone struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Parent *string `json:"parent"` // nil for the top zone
}

// Ping checks that c.BaseURL reaches the Homey c.HomeyID (GET /api/manager/system/ping?id=…).
// Another Homey answering (an X-Homey-ID that differs, or the body false) gives [ErrWrongHomey];
// an answer without X-Homey-ID is accepted, as the official client accepts it (docs/protocol.md#tolerance):
// then the ?id= answer is what confirms the Homey, and only a JSON answer from the address
// pinged counts (not a page a captive portal redirected to). A 403 "Subscription Inactive" or
// "Invalid Serial Number" gives an *APIError that also matches [ErrSubscriptionInactive] or
// [ErrInvalidSerial].
func (c *Client) Ping(ctx context.Context) error {
	r := c.request(http.MethodGet, "/api/manager/system/ping", "")
	r.query = url.Values{"id": {c.HomeyID}}
	if err := c.check(r); err != nil {
		return err
	}
	return roundTrip(ctx, c.HTTP, r, func(resp *http.Response) error {
		return c.checkPing(r.op(), resp)
	})
}

func (c *Client) checkPing(op string, resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return pingStatusError(op, resp)
	}
	got := resp.Header.Get("X-Homey-ID")
	switch {
	case got != "" && got != c.HomeyID:
		return fmt.Errorf("%s: %w (X-Homey-ID differs)", op, ErrWrongHomey)
	case got == "" && !answeredHere(c.BaseURL, resp):
		return fmt.Errorf("%s: %w (redirected elsewhere, no X-Homey-ID)", op, ErrWrongHomey)
	case got == "" && !isJSON(resp.Header):
		return fmt.Errorf("%s: %w (no X-Homey-ID and not JSON)", op, ErrWrongHomey)
	}
	body, err := readBody(op, resp.Body, maxBody)
	if err != nil {
		return err
	}
	if string(bytes.TrimSpace(body)) == "false" {
		return fmt.Errorf("%s: %w (ping answered false)", op, ErrWrongHomey)
	}
	if got == "" && !json.Valid(body) {
		return fmt.Errorf("%s: %w (no X-Homey-ID and no JSON answer)", op, ErrWrongHomey)
	}
	return nil
}

// pingStatusError is a non-2xx ping answer: an *APIError, marked with [ErrSubscriptionInactive]
// or [ErrInvalidSerial] for the two 403 answers the official client tells apart.
func pingStatusError(op string, resp *http.Response) *APIError {
	e := apiError(op, resp)
	if e.StatusCode == http.StatusForbidden {
		switch {
		case strings.EqualFold(e.Code, "Subscription Inactive"):
			e.err = ErrSubscriptionInactive
		case strings.EqualFold(e.Code, "Invalid Serial Number"):
			e.err = ErrInvalidSerial
		}
	}
	return e
}

// answeredHere reports whether resp came from base itself, not from where a redirect led.
func answeredHere(base string, resp *http.Response) bool {
	if resp.Request == nil || resp.Request.URL == nil {
		return true
	}
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(u.Host, resp.Request.URL.Host) && u.Scheme == resp.Request.URL.Scheme
}

// Login exchanges a delegation JWT from [Cloud.DelegationToken] for a Homey session bearer
// (POST /api/manager/users/login, sent without Authorization).
func (c *Client) Login(ctx context.Context, delegationJWT string) (string, error) {
	r := c.request(http.MethodPost, "/api/manager/users/login", "")
	r.body = map[string]string{"token": delegationJWT}
	if err := c.check(r); err != nil {
		return "", err
	}
	return doToken(ctx, c.HTTP, r)
}

// SessionMe describes the session of bearer; a 401 means the Homey no longer accepts it.
func (c *Client) SessionMe(ctx context.Context, bearer string) (*SessionInfo, error) {
	r := c.request(http.MethodGet, "/api/manager/sessions/session/me", bearer)
	var s SessionInfo
	if err := c.do(ctx, r, maxBody, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Devices lists the Homey's devices by id (GET /api/manager/devices/device; with APIVersion 2,
// /api/manager/devices/device/).
func (c *Client) Devices(ctx context.Context, bearer string) (map[string]Device, error) {
	path := "/api/manager/devices/device"
	if c.APIVersion == 2 {
		path += "/"
	}
	r := c.request(http.MethodGet, path, bearer)
	var m map[string]Device
	if err := c.do(ctx, r, maxListBody, &m); err != nil {
		return nil, err
	}
	for id, d := range m {
		if d.ID == "" {
			d.ID = id
			m[id] = d
		}
	}
	return m, nil
}

// Zones lists the Homey's zones by id (GET /api/manager/zones/zone).
func (c *Client) Zones(ctx context.Context, bearer string) (map[string]Zone, error) {
	r := c.request(http.MethodGet, "/api/manager/zones/zone", bearer)
	var m map[string]Zone
	if err := c.do(ctx, r, maxListBody, &m); err != nil {
		return nil, err
	}
	for id, z := range m {
		if z.ID == "" {
			z.ID = id
			m[id] = z
		}
	}
	return m, nil
}

func (c *Client) request(method, path, bearer string) *request {
	return &request{method: method, base: c.BaseURL, path: path, bearer: bearer, homeyID: c.HomeyID}
}

// check refuses calls that could not be meant: no Homey id to send.
func (c *Client) check(r *request) error {
	if c.HomeyID == "" {
		return fmt.Errorf("%s: %w", r.op(), errNoHomeyID)
	}
	return nil
}

func (c *Client) do(ctx context.Context, r *request, limit int64, out any) error {
	if err := c.check(r); err != nil {
		return err
	}
	return doJSON(ctx, c.HTTP, r, limit, out)
}

var errNoHomeyID = errors.New("no Homey id")
