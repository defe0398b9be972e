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
)

// Client talks to one Homey at one base URL. Every request carries X-Homey-ID: HomeyID.
type Client struct {
	BaseURL string       // e.g. the Homey's remoteUrl
	HomeyID string       // the cloud id of the Homey
	HTTP    *http.Client // nil = a client with a 15 s timeout
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
}

// Zone is a room or area of a Homey.
type Zone struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Parent *string `json:"parent"` // nil for the top zone
}

// Ping checks that c.BaseURL reaches the Homey c.HomeyID (GET /api/manager/system/ping?id=…).
// Another Homey answering (X-Homey-ID differs, or the body is false) gives [ErrWrongHomey]; a
// 403 "Subscription Inactive" gives an *APIError that also matches [ErrSubscriptionInactive].
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
		e := apiError(op, resp)
		if e.StatusCode == http.StatusForbidden && strings.EqualFold(e.Code, "Subscription Inactive") {
			e.err = ErrSubscriptionInactive
		}
		return e
	}
	if got := resp.Header.Get("X-Homey-ID"); got != c.HomeyID {
		return fmt.Errorf("%s: %w (X-Homey-ID differs)", op, ErrWrongHomey)
	}
	body, err := readBody(op, resp.Body, maxBody)
	if err != nil {
		return err
	}
	if string(bytes.TrimSpace(body)) == "false" {
		return fmt.Errorf("%s: %w (ping answered false)", op, ErrWrongHomey)
	}
	return nil
}

// Login exchanges a delegation JWT from [Cloud.DelegationToken] for a Homey session bearer
// (POST /api/manager/users/login, sent without Authorization).
func (c *Client) Login(ctx context.Context, delegationJWT string) (string, error) {
	r := c.request(http.MethodPost, "/api/manager/users/login", "")
	r.body = map[string]string{"token": delegationJWT}
	var bearer string
	if err := c.do(ctx, r, maxBody, &bearer); err != nil {
		return "", err
	}
	if bearer == "" {
		return "", badResponse(r.op(), "empty token")
	}
	return bearer, nil
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

// Devices lists the Homey's devices by id (GET /api/manager/devices/device).
func (c *Client) Devices(ctx context.Context, bearer string) (map[string]Device, error) {
	r := c.request(http.MethodGet, "/api/manager/devices/device", bearer)
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
