package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

// The variants below are what the real service may do where Athom's official client is lenient
// (docs/protocol.md#tolerance). Each is off by default: the emulator's defaults stay strict. None is
// kept in Options.StateFile.

// ViaForwarded names the listener of a Homey's remoteUrlForwarded (Variant.Forwarded) in
// CountVia and SetNoHomeyID.
const ViaForwarded = "forwarded"

// ViaAll, given to SetNoHomeyID, takes the header off every listener of every Homey.
const ViaAll = "all"

// TokenBody is how POST /delegation/token and POST /api/manager/users/login send their token.
type TokenBody int

// The token bodies.
const (
	TokenBodyJSON   TokenBody = iota // application/json, a JSON string (the default; the documented form)
	TokenBodyText                    // text/plain, the bare token and a newline
	TokenBodyQuoted                  // text/plain holding the JSON string, quotes and all
)

// String names the body as the demo's --token-body flag does: json, text or quoted.
func (b TokenBody) String() string {
	switch b {
	case TokenBodyText:
		return "text"
	case TokenBodyQuoted:
		return "quoted"
	}
	return "json"
}

// ParseTokenBody reads json, text or quoted.
func ParseTokenBody(s string) (TokenBody, error) {
	for _, b := range []TokenBody{TokenBodyJSON, TokenBodyText, TokenBodyQuoted} {
		if s == b.String() {
			return b, nil
		}
	}
	return 0, fmt.Errorf("token body %q: say json, text or quoted", s)
}

// The two 403 ping answers the official client tells apart (docs/protocol.md#ping).
const (
	PingInvalidSerial        = "Invalid Serial Number"
	PingSubscriptionInactive = "Subscription Inactive"
)

// Variant makes one Homey other than a Homey Pro (Early 2023) on the LAN. The zero value is the
// default Homey.
type Variant struct {
	// Platform "cloud" lists the Homey as a Homey Cloud in /user/me (its localUrl stays listed,
	// so a client that tries it shows on CountVia). "" = "local".
	Platform string
	// APIVersion 2 is a Homey Pro 2019: its device list is only at
	// /api/manager/devices/device/ (trailing slash, as its specification has it; without the
	// slash: 404). APIVersion 1 is firmware 1.x: users/login answers 404 (it has no delegation
	// sign-in). 0 = 3.
	APIVersion int
	// Forwarded lists remoteUrlForwarded, served by a listener of its own (ViaForwarded), and no
	// localUrl: a Homey reached through a port forward.
	Forwarded bool
	// Ping403 makes pings answer 403 {"error": Ping403, "statusCode": 403}: PingInvalidSerial or
	// PingSubscriptionInactive. Ping403Via limits it to one listener (ViaLocal, ViaRelay,
	// ViaForwarded); "" = every one.
	Ping403, Ping403Via string
}

// SetVariant makes Homey homeyID the variant v (a zero v: the default Homey again).
func (s *Server) SetVariant(homeyID string, v Variant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.findHomeyLocked(homeyID)
	switch {
	case h == nil:
		return fmt.Errorf("emulator: no Homey %q", homeyID)
	case s.closed:
		return fmt.Errorf("emulator: server closed")
	}
	if v.Forwarded && h.forwarded == nil {
		l, err := newListener("127.0.0.1:0", s.handler(s.homeyRoutes(h, ViaForwarded), h, ViaForwarded))
		if err != nil {
			return fmt.Errorf("emulator: listen homey %s (forwarded): %w", h.name, err)
		}
		h.forwarded = l
		go func() { _ = l.srv.Serve(l.ln) }()
	}
	h.variant = v
	return nil
}

// SetNoHomeyID takes the X-Homey-ID header off the answers of the listeners via (ViaRelay,
// ViaLocal, ViaForwarded, or ViaAll for every one; "" puts it back everywhere), as a relay that
// does not pass it on might. The official client accepts an answer without it.
func (s *Server) SetNoHomeyID(via string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noHomeyID = via
}

// SetTokenBody sets how the delegation and users/login answers carry their token.
func (s *Server) SetTokenBody(b TokenBody) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenBody = b
}

// SetRefreshError sets the answer to a refresh grant with a dead (revoked or rotated) refresh
// token: status and OAuth error code. 0 and "" restore the default, 400 invalid_grant.
func (s *Server) SetRefreshError(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshErrStatus, s.refreshErrCode = status, code
}

// ParseRefreshError reads the demo's --refresh-error flag: STATUS:CODE, e.g. 401:invalid_token.
func ParseRefreshError(v string) (int, string, error) {
	st, code, ok := strings.Cut(v, ":")
	var status int
	if _, err := fmt.Sscanf(st, "%d", &status); !ok || err != nil || status < 400 || status > 599 || code == "" {
		return 0, "", fmt.Errorf("refresh error %q: say STATUS:CODE, e.g. 401:invalid_token", v)
	}
	return status, code, nil
}

// SetClientRefused makes the token endpoint refuse the client (401 invalid_client) for every
// grant, as when the client was deleted in Athom's developer portal or its secret changed.
func (s *Server) SetClientRefused(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clientRefused = on
}

// ParseVariant reads the demo's --homey-variant value: NAME=KIND[,KIND…] with the kinds cloud,
// pro2019 (apiVersion 2), v1 (apiVersion 1), forwarded, invalid-serial and
// subscription-inactive. It returns the name (or id) and the variant.
func ParseVariant(v string) (string, Variant, error) {
	name, kinds, ok := strings.Cut(v, "=")
	if !ok || name == "" || kinds == "" {
		return "", Variant{}, fmt.Errorf("homey variant %q: say NAME=KIND, e.g. Cabin=pro2019", v)
	}
	var out Variant
	for _, k := range strings.Split(kinds, ",") {
		switch k {
		case "cloud":
			out.Platform = "cloud"
		case "pro2019":
			out.APIVersion = 2
		case "v1":
			out.APIVersion = 1
		case "forwarded":
			out.Forwarded = true
		case "invalid-serial":
			out.Ping403 = PingInvalidSerial
		case "subscription-inactive":
			out.Ping403 = PingSubscriptionInactive
		default:
			return "", Variant{}, fmt.Errorf("homey variant %q: unknown kind %q (cloud, pro2019, v1, forwarded, invalid-serial, subscription-inactive)", v, k)
		}
	}
	return name, out, nil
}

// applyTolerance sets the variants of o; s.mu must be held or the server not yet serving.
func (s *Server) applyTolerance(o Options) error {
	s.noHomeyID, s.tokenBody = o.NoHomeyID, o.TokenBody
	s.refreshErrStatus, s.refreshErrCode = o.RefreshErrorStatus, o.RefreshErrorCode
	s.clientRefused = o.ClientRefused
	for name, v := range o.Variants {
		id := ""
		for _, h := range s.homeys {
			if h.id == name || strings.EqualFold(h.name, name) {
				id = h.id
			}
		}
		if id == "" {
			return fmt.Errorf("emulator: no Homey %q for a variant", name)
		}
		h := s.findHomeyLocked(id)
		if v.Forwarded {
			l, err := newListener("127.0.0.1:0", s.handler(s.homeyRoutes(h, ViaForwarded), h, ViaForwarded))
			if err != nil {
				return fmt.Errorf("emulator: listen homey %s (forwarded): %w", h.name, err)
			}
			h.forwarded = l
		}
		h.variant = v
	}
	return nil
}

// hidesHomeyID reports whether answers of listener via leave X-Homey-ID out; s.mu must be held.
func (s *Server) hidesHomeyID(via string) bool {
	return s.noHomeyID != "" && (s.noHomeyID == ViaAll || s.noHomeyID == via)
}

// tokenReply answers a token the way SetTokenBody says; s.mu must be held.
func (s *Server) tokenReplyLocked(tok string) reply {
	switch s.tokenBody {
	case TokenBodyText:
		return reply{status: http.StatusOK, text: tok + "\n"}
	case TokenBodyQuoted:
		return reply{status: http.StatusOK, text: `"` + tok + `"`}
	}
	return jsonReply(http.StatusOK, tok)
}

// refreshRefusedLocked is the answer to a dead refresh token (SetRefreshError); s.mu must be held.
func (s *Server) refreshRefusedLocked(desc string) reply {
	if s.refreshErrStatus == 0 {
		return invalidGrant(desc)
	}
	return errorReply(s.refreshErrStatus, s.refreshErrCode, desc)
}

// ping403 is the 403 a ping at listener via of h answers (Variant.Ping403), or false.
func (h *homey) ping403(via string) (reply, bool) {
	v := h.variant
	if v.Ping403 == "" || v.Ping403Via != "" && v.Ping403Via != via {
		return reply{}, false
	}
	return jsonReply(http.StatusForbidden, map[string]any{"error": v.Ping403, "statusCode": http.StatusForbidden}), true
}

// IssueAppsOnlyToken returns a new access token that, like an Athom personal access token made
// for the apps API (docs/protocol.md#cloud-pat), works for /user/me but is refused at POST /delegation/token
// (403): it cannot sign in to any Homey. It expires like any access token.
func (s *Server) IssueAppsOnlyToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := "pat-" + randHex(20)
	s.access[tok] = s.clock().Add(s.accessTTL)
	s.appsOnly[tok] = true
	s.issued = append(s.issued, tok)
	return tok
}
