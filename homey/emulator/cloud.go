package emulator

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// cloudRoutes is the api.athom.com stand-in.
func (s *Server) cloudRoutes() router {
	var rt router
	rt.add(http.MethodGet, "/oauth2/authorise", s.authorise)
	rt.add(http.MethodPost, "/oauth2/token", s.token)
	rt.add(http.MethodGet, "/user/me", s.userMe)
	rt.add(http.MethodPost, "/delegation/token", s.delegationToken)
	rt.add(http.MethodGet, "/delegation/key", s.delegationKey)
	return rt
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// checkAccessLocked answers 401 invalid_token unless r carries a live access token.
func (s *Server) checkAccessLocked(r *http.Request) (reply, bool) {
	tok, ok := bearerToken(r)
	if !ok {
		return invalidToken("the request has no bearer token"), false
	}
	exp, known := s.access[tok]
	switch {
	case !known:
		return invalidToken("the access token is invalid"), false
	case !s.clock().Before(exp):
		return invalidToken("the access token expired"), false
	}
	return reply{}, true
}

func invalidToken(desc string) reply {
	return errorReply(http.StatusUnauthorized, "invalid_token", desc).
		with("WWW-Authenticate", `Bearer realm="athom", error="invalid_token", error_description="`+desc+`"`)
}

// userMe is GET /user/me.
func (s *Server) userMe(r *http.Request, _ []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep, ok := s.checkAccessLocked(r); !ok {
		return rep
	}
	return jsonReply(http.StatusOK, s.userDoc())
}

// audiencePattern is compiled on first use: package-level work runs at every start of the
// homeytray binary, which links the emulator for `demo`.
var audiencePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9._-]{0,63}$`) })

// delegationToken is POST /delegation/token?audience=<aud>: a bare JSON
// string holding an RS512 JWT (aud, sub = user id, iss, iat, exp, jti).
// The body is empty or a JSON object whose keys the real service merges
// into the token's meta; the emulator only checks it.
func (s *Server) delegationToken(r *http.Request, _ []string) reply {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep, ok := s.checkAccessLocked(r); !ok {
		return rep
	}
	if err != nil || !emptyOrObject(body) {
		return errorReply(http.StatusBadRequest, "invalid_request", "the body must be empty or a JSON object")
	}
	if tok, _ := bearerToken(r); s.appsOnly[tok] {
		return errorReply(http.StatusForbidden, "forbidden", "this token may not create delegation tokens")
	}
	aud := r.URL.Query().Get("audience")
	if !audiencePattern().MatchString(aud) {
		return errorReply(http.StatusBadRequest, "invalid_request", "audience is missing or invalid")
	}
	now := s.clock()
	signed, err := signJWT(s.key, jwtClaims{Aud: aud, Sub: fixtureUser.id, Iss: s.cloud.url,
		Iat: now.Unix(), Exp: now.Add(delegationTTL).Unix(), Jti: uuid4()})
	if err != nil {
		return errorReply(http.StatusInternalServerError, "server_error", "sign delegation token")
	}
	s.issued = append(s.issued, signed)
	return s.tokenReplyLocked(signed)
}

func emptyOrObject(body []byte) bool {
	body = bytes.TrimSpace(body)
	var obj map[string]any
	return len(body) == 0 || body[0] == '{' && json.Unmarshal(body, &obj) == nil
}

// delegationKey is GET /delegation/key: the public key (PEM, as a JSON string)
// that verifies delegation tokens.
func (s *Server) delegationKey(*http.Request, []string) reply {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		return errorReply(http.StatusInternalServerError, "server_error", "encode public key")
	}
	return jsonReply(http.StatusOK, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
}

// verifyDelegation checks a delegation JWT for a Homey: RS512 signed with the
// cloud key, aud "homey", not expired, subject = the user. It returns the subject.
func (s *Server) verifyDelegationLocked(token string) (string, error) {
	claims, err := verifyJWT(token, &s.key.PublicKey, "homey", s.clock()) // s.mu is held, as clock needs
	if err != nil {
		return "", err
	}
	return claims.Sub, nil
}
