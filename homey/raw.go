package homey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// RawRequest is one request to a Homey's API as a script writes it (`homeytray api`): any method
// and path, a body sent as it is.
type RawRequest struct {
	Method      string
	Path        string // starting with /api/, with an optional ?query
	Body        []byte // nil = none
	ContentType string // of Body; "" = application/json when there is a body
}

// RawResponse is a Homey's answer to a [RawRequest], whatever its status.
type RawResponse struct {
	Op         string // method and path, for errors
	Proto      string // e.g. HTTP/1.1
	Status     string // e.g. "200 OK"
	StatusCode int
	Header     http.Header
	Body       []byte
}

// maxRawBody bounds the body of a raw answer (device lists grow with the home).
const maxRawBody = maxListBody

// Send sends rr with bearer and returns the answer, whatever its status: only a failure to get
// one (network, a body cut short, a bad request) is an error.
func (c *Client) Send(ctx context.Context, bearer string, rr RawRequest) (*RawResponse, error) {
	path, query, _ := strings.Cut(rr.Path, "?")
	r := c.request(rr.Method, path, bearer)
	if err := c.check(r); err != nil {
		return nil, err
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.op(), err)
		}
		r.query = q
	}
	var out *RawResponse
	err := roundTripBody(ctx, c.HTTP, r, rr, func(resp *http.Response) error {
		body, err := readBody(r.op(), resp.Body, maxRawBody)
		if err != nil {
			return err
		}
		out = &RawResponse{Op: r.op(), Proto: resp.Proto, Status: resp.Status, StatusCode: resp.StatusCode,
			Header: resp.Header, Body: body}
		return nil
	})
	return out, err
}

// Err is the answer as an error when its status is not 2xx (an *APIError, with the Homey's
// error and error_description), else nil.
func (r *RawResponse) Err() error {
	if r.StatusCode >= 200 && r.StatusCode <= 299 {
		return nil
	}
	return apiError(r.Op, &http.Response{StatusCode: r.StatusCode, Header: r.Header,
		Body: io.NopCloser(bytes.NewReader(r.Body))})
}

// roundTripBody is roundTrip with rr's body sent as it is instead of r.body as JSON.
func roundTripBody(ctx context.Context, hc *http.Client, r *request, rr RawRequest, handle func(*http.Response) error) error {
	if rr.Body == nil {
		return roundTrip(ctx, hc, r, handle)
	}
	ct := rr.ContentType
	if ct == "" {
		ct = "application/json"
	}
	return roundTrip(ctx, withBody(hc, rr.Body, ct), r, handle)
}

// withBody is an *http.Client that puts body (of type ct) on each request it sends: request.build
// knows only JSON bodies, a raw request sends bytes as they are.
func withBody(hc *http.Client, body []byte, ct string) *http.Client {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	cp := *hc
	next := cp.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp.Transport = bodyTransport{next: next, body: body, ct: ct}
	return &cp
}

type bodyTransport struct {
	next http.RoundTripper
	body []byte
	ct   string
}

func (t bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(t.body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(t.body)), nil }
	r.ContentLength = int64(len(t.body))
	r.Header.Set("Content-Type", t.ct)
	return t.next.RoundTrip(r)
}

// Idempotent reports whether a request with this method may be sent again after a broken
// connection (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, PUT and DELETE.
func Idempotent(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// DoOnce is [Bearers.Do] for a request that must not reach the Homey twice (a POST that makes
// something, say): fn runs on the route the Router gives, and a network error there is returned
// as it is — the request may have been processed — after reporting the route Failed, except a
// failure to connect at all, which sent nothing: then fn runs once more on the next route. A
// 401 was not processed: as in Do, the Homey is signed in to again once and fn runs once more.
func (b *Bearers) DoOnce(ctx context.Context, h Homey, fn func(ctx context.Context, c *Client, bearer string) error) error {
	br, err := b.Get(ctx, h)
	if err != nil {
		return err
	}
	rt, err := b.router().BaseURL(ctx, h, true)
	if err != nil {
		return err
	}
	c := b.clientAt(h, rt)
	err = fn(ctx, c, br.Token)
	if b.Router != nil && ctx.Err() == nil && isNetworkErrorAt(err, rt.BaseURL) {
		b.Router.Failed(h, rt)
		if !isDialError(err) {
			return err
		}
		if rt, err = b.router().BaseURL(ctx, h, true); err != nil {
			return err
		}
		c = b.clientAt(h, rt)
		err = fn(ctx, c, br.Token)
	}
	if !IsUnauthorized(err) {
		return err
	}
	nb, err := b.signIn(ctx, h, c, rt, br.Token)
	if err != nil {
		return err
	}
	return fn(ctx, c, nb.Token)
}

// isDialError: the connection was never made (refused, no route, DNS), so nothing was sent.
func isDialError(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) && oe.Op == "dial" || errors.As(err, &de)
}
