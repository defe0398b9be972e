package homey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Homey API keys made from a signed-in owner session (docs/protocol.md#create-key): GET and POST
// /api/manager/users/pat, DELETE /api/manager/users/pat/<id>. Only an owner's OAuth session may
// manage them; a key's own session answers 403 "Invalid Session Type", another user's 403 "Must
// Be Owner". Only Homey Pro (Early 2023) and later have them: apiVersion 3 on the local platform.

// APIKey is one API key of a Homey. Token, the key itself, is a secret and is only in the
// answer that created it (the Homey shows a key once).
type APIKey struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Token     string   `json:"token,omitempty"`
	CreatedAt string   `json:"createdAt,omitempty"`
}

// Error codes a Homey answers key management with (the APIError Code of a 403).
const (
	CodeInvalidSessionType = "Invalid Session Type" // an API key's session may not manage keys
	CodeMustBeOwner        = "Must Be Owner"        // only the Homey's owner may
	CodeMissingScopes      = "Missing Scopes"       // the session lacks a scope of the route
)

// HasCode reports whether err holds an [APIError] with this status and error code (case
// insensitive), e.g. 403 [CodeMustBeOwner].
func HasCode(err error, status int, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status && strings.EqualFold(e.Code, code)
}

// HasAPIKeys reports whether h can have API keys: a Homey Pro (Early 2023) or later, i.e. the
// local platform with apiVersion 3 (0 = not said, taken as 3). Homey Pro 2019 and older
// (apiVersion 2) and Homey Cloud (platform "cloud") have none (docs/protocol.md#api-keys).
func HasAPIKeys(h Homey) bool {
	return h.Platform != "cloud" && (h.APIVersion == 0 || h.APIVersion >= 3)
}

// APIKeys lists the Homey's API keys (without their tokens). The answer may be an array or an
// object keyed by id; both are read.
func (c *Client) APIKeys(ctx context.Context, bearer string) ([]APIKey, error) {
	r := c.request(http.MethodGet, "/api/manager/users/pat", bearer)
	var raw json.RawMessage
	if err := c.do(ctx, r, maxBody, &raw); err != nil {
		return nil, err
	}
	var list []APIKey
	if json.Unmarshal(raw, &list) == nil {
		return list, nil
	}
	var m map[string]APIKey
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badResponse(r.op(), jsonReason(err))
	}
	for id, k := range m {
		if k.ID == "" {
			k.ID = id
		}
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list, nil
}

// CreateAPIKey makes an API key called name with scopes (POST /api/manager/users/pat). The
// answer holds the key (Token) once; an answer without a usable token or id is ErrBadResponse.
// A POST: callers must not send it twice after a broken connection ([Bearers.DoOnce]).
func (c *Client) CreateAPIKey(ctx context.Context, bearer, name string, scopes []string) (*APIKey, error) {
	r := c.request(http.MethodPost, "/api/manager/users/pat", bearer)
	r.body = map[string]any{"name": name, "scopes": scopes}
	var k APIKey
	if err := c.do(ctx, r, maxBody, &k); err != nil {
		return nil, err
	}
	if k.ID == "" {
		return nil, badResponse(r.op(), "no key id")
	}
	tok, err := checkToken(r.op(), strings.TrimSpace(k.Token))
	if err != nil {
		return nil, err
	}
	k.Token = tok
	return &k, nil
}

// DeleteAPIKey deletes the API key id (DELETE /api/manager/users/pat/<id>). A key that is
// already gone (404) counts as deleted.
func (c *Client) DeleteAPIKey(ctx context.Context, bearer, id string) error {
	r := c.request(http.MethodDelete, "/api/manager/users/pat/"+url.PathEscape(id), bearer)
	if err := c.check(r); err != nil {
		return err
	}
	return roundTrip(ctx, c.HTTP, r, func(resp *http.Response) error {
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return nil
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			return apiError(r.op(), resp)
		}
		return nil
	})
}

// Scope presets of `local add --create-key --scopes`.
var scopePresets = map[string][]string{
	"readonly": {ScopeDevices, ScopeZones},
	"control":  {ScopeDevices, ScopeZones, "homey.device.control", "homey.flow.readonly", "homey.flow.start"},
	"full":     {"homey"},
}

// ScopePresetNames are the names [ParseScopes] takes as presets, in order of power.
var ScopePresetNames = []string{"readonly", "control", "full"}

// scopeManagers are the managers of HomeyAPIV3Local that scopes name; each has homey.<m> and
// homey.<m>.readonly, and some an action scope (scopeActions).
var scopeManagers = []string{
	"alarm", "app", "dashboard", "device", "energy", "flow", "geolocation", "insights", "logic",
	"mood", "notifications", "presence", "reminder", "speaker", "system", "updates", "user", "zone",
}

var scopeActions = []string{
	"homey.app.control", "homey.device.control", "homey.flow.start", "homey.mood.set",
	"homey.presence.self", "homey.user.self",
}

// KnownScope reports whether s is a scope name a Homey issues: "homey", homey.<manager>,
// homey.<manager>.readonly or one of the action scopes (homey.device.control, …).
func KnownScope(s string) bool {
	if s == "homey" {
		return true
	}
	for _, a := range scopeActions {
		if s == a {
			return true
		}
	}
	for _, m := range scopeManagers {
		if s == "homey."+m || s == "homey."+m+".readonly" {
			return true
		}
	}
	return false
}

// ParseScopes reads a --scopes value: a preset (readonly, control, full) or a comma-separated
// list of scope names; "" is readonly. An unknown name is an error that names it. The result
// has no duplicates and keeps the order given.
func ParseScopes(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		v = "readonly"
	}
	if p, ok := scopePresets[v]; ok {
		return append([]string(nil), p...), nil
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		if !KnownScope(s) {
			return nil, fmt.Errorf("unknown scope %q", sanitize.Line(s, 60))
		}
		seen[s] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no scope given")
	}
	return out, nil
}
