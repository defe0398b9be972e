package homey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	defaultTimeout = 15 * time.Second
	userAgent      = "homeytray"
)

// request is one HTTP call to the cloud or a Homey.
type request struct {
	method  string
	base    string // scheme://host[/prefix], from the caller
	path    string // API path; with method it names the operation in errors
	query   url.Values
	body    any    // sent as JSON when non-nil
	bearer  string // Authorization: Bearer <bearer> when non-empty
	homeyID string // X-Homey-ID when non-empty
}

// op names the call in errors: method and path, never host or query.
func (r *request) op() string { return r.method + " " + r.path }

// roundTrip sends r with hc (nil = a 15 s client) and passes the answer to handle, closing the
// body afterwards. A client without a Timeout gets a 15 s deadline unless ctx has one. Transport
// failures come back as "<op>: <cause>", without the URL that *url.Error would print.
func roundTrip(ctx context.Context, hc *http.Client, r *request, handle func(*http.Response) error) error {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout} // http.DefaultTransport: connections are still reused
	}
	if _, ok := ctx.Deadline(); !ok && hc.Timeout <= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req, err := r.build(ctx)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", r.op(), &transportError{err: transportCause(err), base: r.base})
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		_ = resp.Body.Close()
	}()
	return handle(resp)
}

// build makes the *http.Request: JSON body, User-Agent, Accept, bearer and Homey id headers.
func (r *request) build(ctx context.Context) (*http.Request, error) {
	u, err := url.Parse(r.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: invalid base URL", r.op())
	}
	u.User, u.Fragment, u.RawPath = nil, "", ""
	u.Path = strings.TrimRight(u.Path, "/") + r.path
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%s: encode body: %w", r.op(), err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.op(), err)
	}
	r.setHeaders(req.Header)
	return req, nil
}

func (r *request) setHeaders(h http.Header) {
	h.Set("User-Agent", userAgent)
	h.Set("Accept", "application/json")
	if r.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if r.bearer != "" {
		h.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.homeyID != "" {
		h.Set("X-Homey-ID", r.homeyID)
	}
}

// transportCause drops the *url.Error layer, whose text repeats the full URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// doJSON sends r and decodes a 2xx JSON answer of at most limit bytes into out.
func doJSON(ctx context.Context, hc *http.Client, r *request, limit int64, out any) error {
	return roundTrip(ctx, hc, r, func(resp *http.Response) error {
		return decodeJSON(r.op(), resp, limit, out)
	})
}

// maxTokenBody bounds a token answer (a delegation JWT is about 1 KiB).
const maxTokenBody = 64 << 10

// doToken sends r and reads a 2xx answer that is a token: a JSON string (the documented form), or
// the bare token as text, as the official client takes any answer that is not JSON
// (docs/protocol.md#tolerance). Quotes and white space around it are dropped; an empty body, an HTML page, JSON that is
// no string, or text with spaces or control characters inside is ErrBadResponse.
func doToken(ctx context.Context, hc *http.Client, r *request) (string, error) {
	var tok string
	err := roundTrip(ctx, hc, r, func(resp *http.Response) error {
		var err error
		tok, err = decodeToken(r.op(), resp)
		return err
	})
	return tok, err
}

func decodeToken(op string, resp *http.Response) (string, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", apiError(op, resp)
	}
	if isJSON(resp.Header) {
		var tok string
		if err := decodeJSON(op, resp, maxTokenBody, &tok); err != nil {
			return "", err
		}
		return checkToken(op, strings.TrimSpace(tok))
	}
	if mt := mediaType(resp.Header); mt != "text/plain" && mt != "no content type" {
		return "", badResponse(op, "not a token ("+mt+")")
	}
	body, err := readBody(op, resp.Body, maxTokenBody)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(body))
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var s string
		if json.Unmarshal([]byte(t), &s) != nil {
			return "", badResponse(op, "malformed quoted token")
		}
		t = strings.TrimSpace(s)
	}
	return checkToken(op, t)
}

// checkToken refuses what cannot be a bearer token: empty, or with spaces, quotes or control
// characters inside (HTTP headers could not carry it).
func checkToken(op, t string) (string, error) {
	if t == "" {
		return "", badResponse(op, "empty token")
	}
	for _, c := range t {
		if c <= ' ' || c == '"' || c == '<' || c == 0x7f || c > '~' {
			return "", badResponse(op, "not a token")
		}
	}
	return t, nil
}
