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
