package homey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// Rejecter is optionally implemented by the token source given to [Cloud]. When the cloud
// answers 401 invalid_token, Cloud calls Reject with the access token it sent; the source drops
// that token so that its next Token call refreshes.
type Rejecter interface {
	Reject(accessToken string)
}

// contextTokenSource is a token source that can honour a context (as auth.Session does).
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// Cloud calls the Athom cloud API as the signed-in user.
type Cloud struct {
	BaseURL string             // "" = CloudURL()
	Tokens  oauth2.TokenSource // the Athom access token; see [Rejecter]
	HTTP    *http.Client       // nil = a client with a 15 s timeout
}

// Me returns the signed-in user and their Homeys (GET /user/me).
func (c *Cloud) Me(ctx context.Context) (*User, error) {
	var u User
	if err := c.call(ctx, &request{method: http.MethodGet, path: "/user/me"}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// DelegationToken returns a fresh delegation JWT for Homeys (POST
// /delegation/token?audience=homey), the input of [Client.Login]. It is short-lived; don't keep it.
func (c *Cloud) DelegationToken(ctx context.Context) (string, error) {
	r := &request{
		method: http.MethodPost,
		path:   "/delegation/token",
		query:  url.Values{"audience": {"homey"}},
		body:   struct{}{}, // "{}", as the official client sends
	}
	var jwt string
	if err := c.callWith(ctx, r, func(ctx context.Context, r *request) (err error) {
		jwt, err = doToken(ctx, c.HTTP, r)
		return err
	}); err != nil {
		return "", err
	}
	return jwt, nil
}

// call sends r with the current access token and decodes its JSON answer into out; see callWith.
func (c *Cloud) call(ctx context.Context, r *request, out any) error {
	return c.callWith(ctx, r, func(ctx context.Context, r *request) error {
		return doJSON(ctx, c.HTTP, r, maxBody, out)
	})
}

// callWith sends r with the current access token through send. On 401 invalid_token it rejects
// that token (when Tokens is a Rejecter), takes a new one and tries exactly once more.
func (c *Cloud) callWith(ctx context.Context, r *request, send func(context.Context, *request) error) error {
	r.base = c.baseURL()
	tok, err := c.token(ctx, r.op())
	if err != nil {
		return err
	}
	r.bearer = tok
	err = send(ctx, r)
	rj, ok := c.Tokens.(Rejecter)
	if !ok || !IsInvalidToken(err) {
		return err
	}
	rj.Reject(tok)
	if tok, err = c.token(ctx, r.op()); err != nil {
		return err
	}
	r.bearer = tok
	return send(ctx, r)
}

// token asks Tokens for an access token; its errors are wrapped with %w, unchanged.
func (c *Cloud) token(ctx context.Context, op string) (string, error) {
	if c.Tokens == nil {
		return "", fmt.Errorf("%s: %w", op, errNoTokenSource)
	}
	var t *oauth2.Token
	var err error
	if ts, ok := c.Tokens.(contextTokenSource); ok {
		t, err = ts.TokenContext(ctx)
	} else {
		t, err = c.Tokens.Token()
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if t == nil || t.AccessToken == "" {
		return "", fmt.Errorf("%s: %w", op, errNoAccessToken)
	}
	return t.AccessToken, nil
}

func (c *Cloud) baseURL() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	return CloudURL()
}

var (
	errNoTokenSource = errors.New("no token source")
	errNoAccessToken = errors.New("the token source gave no access token")
)
