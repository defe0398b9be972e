package emulator

import (
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"net/url"
	"time"
)

// authCode is an issued authorization code.
type authCode struct {
	Expiry      time.Time `json:"expiry"`
	RedirectURI string    `json:"redirect_uri"`
	Used        bool      `json:"used"`
}

// tokenJSON is the token endpoint's success answer.
type tokenJSON struct {
	TokenType    string `json:"token_type"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// authorise is GET /oauth2/authorise. The demo user is always signed in and
// always consents, so a valid request is answered at once with a redirect.
func (s *Server) authorise(r *http.Request, _ []string) reply {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !q.Has("client_id") || q.Get("client_id") != s.clientID {
		return errorReply(http.StatusBadRequest, "invalid_client", "unknown client_id")
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		return errorReply(http.StatusBadRequest, "invalid_request", "redirect_uri is required")
	}
	if redirect != s.redirectURI {
		return errorReply(http.StatusBadRequest, "invalid_request", "redirect_uri is not registered for this client")
	}
	params := url.Values{}
	if q.Has("state") {
		params.Set("state", q.Get("state"))
	}
	rt := q.Get("response_type")
	if rt == "" {
		rt = q.Get("authorization_type") // Athom's own doc example spells it so
	}
	if rt != "code" {
		params.Set("error", "unsupported_response_type")
		return redirectReply(redirect, params)
	}
	code, err := s.newCodeLocked(redirect)
	if err != nil {
		return errorReply(http.StatusInternalServerError, "server_error", err.Error())
	}
	params.Set("code", code)
	return redirectReply(redirect, params)
}

func redirectReply(redirect string, params url.Values) reply {
	u, _ := url.Parse(redirect) // the registered URI: parsed at New
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return reply{status: http.StatusFound, body: noBody}.
		with("Location", u.String()).with("Cache-Control", "no-store")
}

// AuthorizeCode issues an authorization code for the registered redirect URI,
// as GET /oauth2/authorise would; state is not stored (the client checks it).
func (s *Server) AuthorizeCode(state string) (code string, err error) {
	_ = state
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("emulator: server closed")
	}
	return s.newCodeLocked(s.redirectURI)
}

func (s *Server) newCodeLocked(redirect string) (string, error) {
	now := s.clock()
	for c, ac := range s.codes {
		if now.Sub(ac.Expiry) > 10*time.Minute {
			delete(s.codes, c)
		}
	}
	code := randHex(16)
	s.codes[code] = &authCode{Expiry: now.Add(codeTTL), RedirectURI: redirect}
	s.issued = append(s.issued, code)
	return code, s.saveLocked()
}

// token is POST /oauth2/token (form body; client auth by Basic or form fields).
func (s *Server) token(r *http.Request, _ []string) reply {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errorReply(http.StatusBadRequest, "invalid_request", "the body is not a valid form")
	}
	form := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clientRefused || !s.clientAuthenticated(r) {
		return errorReply(http.StatusUnauthorized, "invalid_client", "client authentication failed").
			with("WWW-Authenticate", `Basic realm="athom"`)
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		return errorReply(http.StatusBadRequest, "invalid_request", "grant_type is required")
	case "authorization_code":
		return s.grantCodeLocked(form)
	case "refresh_token":
		return s.grantRefreshLocked(form)
	default:
		return errorReply(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+url.QueryEscape(gt)+" is not supported")
	}
}

// clientAuthenticated accepts valid Basic credentials or valid form fields.
func (s *Server) clientAuthenticated(r *http.Request) bool {
	if id, secret, ok := r.BasicAuth(); ok {
		if s.isClient(id, secret) {
			return true
		}
		// RFC 6749 §2.3.1 form-encodes both parts first (x/oauth2 does; homey-api does not).
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 == nil && err2 == nil && s.isClient(uid, usecret) {
			return true
		}
	}
	f := r.PostForm
	return f.Has("client_id") && s.isClient(f.Get("client_id"), f.Get("client_secret"))
}

func (s *Server) isClient(id, secret string) bool {
	okID := subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID)) == 1
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret)) == 1
	return okID && okSecret
}

func (s *Server) grantCodeLocked(form url.Values) reply {
	code := form.Get("code")
	if code == "" {
		return errorReply(http.StatusBadRequest, "invalid_request", "code is required")
	}
	c := s.codes[code]
	switch {
	case c == nil:
		return invalidGrant("the authorization code is invalid")
	case c.Used:
		return invalidGrant("the authorization code was already used")
	case !s.clock().Before(c.Expiry):
		return invalidGrant("the authorization code expired")
	case form.Has("redirect_uri") && form.Get("redirect_uri") != c.RedirectURI:
		return invalidGrant("redirect_uri does not match the authorization request")
	}
	c.Used = true
	return s.issueLocked("authorization_code", "")
}

func (s *Server) grantRefreshLocked(form url.Values) reply {
	rt := form.Get("refresh_token")
	if rt == "" {
		return errorReply(http.StatusBadRequest, "invalid_request", "refresh_token is required")
	}
	if _, ok := s.refresh[rt]; !ok {
		if !s.inGraceLocked(rt) {
			return s.refreshRefusedLocked("the refresh token is invalid or was revoked")
		}
		// A rotated token within the grace window: the client most likely never
		// got the answer that replaced it. Issue a new pair; the token stays in
		// s.rotated with its first rotation time, so the window does not restart.
		return s.issueLocked("refresh_token", "")
	}
	return s.issueLocked("refresh_token", rt)
}

// inGraceLocked reports whether rt was replaced by rotation less than
// refreshGrace ago.
func (s *Server) inGraceLocked(rt string) bool {
	at, ok := s.rotated[rt]
	return ok && s.refreshGrace > 0 && s.clock().Sub(at) < s.refreshGrace
}

func invalidGrant(desc string) reply {
	return errorReply(http.StatusBadRequest, "invalid_grant", desc)
}

// issueLocked answers a successful grant. used is the refresh token the grant
// used ("" for a code): kept unless rotation is on.
func (s *Server) issueLocked(grant, used string) reply {
	now := s.clock()
	at := randHex(20)
	s.access[at] = now.Add(s.accessTTL)
	rt := used
	if rt == "" || s.rotate {
		if used != "" {
			delete(s.refresh, used)
			if s.refreshGrace > 0 {
				s.rotated[used] = now
			}
		}
		for old, at := range s.rotated {
			if now.Sub(at) >= s.refreshGrace {
				delete(s.rotated, old)
			}
		}
		rt = randHex(20)
		s.refresh[rt] = now
	}
	s.issued = append(s.issued, at, rt)
	s.grants[grant]++
	if err := s.saveLocked(); err != nil {
		return errorReply(http.StatusInternalServerError, "server_error", err.Error())
	}
	return jsonReply(http.StatusOK, tokenJSON{
		TokenType: "bearer", AccessToken: at, RefreshToken: rt,
		ExpiresIn: int(math.Ceil(s.accessTTL.Seconds())),
	}).with("Cache-Control", "no-store").with("Pragma", "no-cache")
}
