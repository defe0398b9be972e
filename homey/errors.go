package homey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Sentinel errors, for errors.Is.
var (
	// ErrBadResponse: the server answered, but not with what the protocol promises (not JSON,
	// truncated or malformed JSON, a wrong JSON type, an empty body, a non-JSON error page).
	ErrBadResponse = errors.New("unexpected response")
	// ErrWrongHomey: a ping was answered by some other Homey (or by something that is no Homey).
	ErrWrongHomey = errors.New("a different Homey answered")
	// ErrSubscriptionInactive: the Homey (Cloud) answered 403 "Subscription Inactive".
	ErrSubscriptionInactive = errors.New("the Homey's subscription is inactive")
	// ErrInvalidSerial: the Homey answered its ping 403 "Invalid Serial Number".
	ErrInvalidSerial = errors.New("the Homey reports an invalid serial number")
)

const (
	maxBody      = 4 << 20  // JSON answers from the cloud and small Homey routes
	maxListBody  = 32 << 20 // device and zone lists, which grow with the home
	maxErrorBody = 64 << 10 // non-2xx answers: only error and error_description are read
	maxDescLen   = 200
	maxCodeLen   = 100
)

// APIError is a non-2xx answer from the Athom cloud or a Homey.
type APIError struct {
	Op          string // method and path, e.g. "GET /user/me"; never a host or query string
	StatusCode  int
	Code        string // the JSON "error" field
	Description string // the JSON "error_description" (an object {field: msg} flattened), sanitised, ≤ 200 chars

	err        error         // what Unwrap reports: ErrBadResponse when the body was not JSON, or a sentinel
	retryAfter time.Duration // the Retry-After of a 429 or 503; 0 = none or unreadable
}

// RetryAfter is how long the server asked the client to wait (the Retry-After header of a 429
// or 503 answer, in seconds or as an HTTP-date), at most [MaxRetryAfter]; 0 when it did not say
// or said something unreadable. Callers find it with errors.As(err, &interface{ RetryAfter()
// time.Duration }); the same method is on the token endpoint's errors in package auth.
func (e *APIError) RetryAfter() time.Duration { return e.retryAfter }

// RetryAfterOf is how long the server behind err asked the client to wait before its next
// request, 0 when it did not say: an *APIError's [APIError.RetryAfter], or, for an error with a
// RetryHeader() http.Header method (auth's token endpoint errors; auth cannot import this
// package), [ParseRetryAfter] of those headers.
func RetryAfterOf(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.retryAfter
	}
	var rh interface{ RetryHeader() http.Header }
	if errors.As(err, &rh) {
		return ParseRetryAfter(rh.RetryHeader(), time.Now())
	}
	return 0
}

// StatusOf is the HTTP status of the answer behind err: an *APIError's, or that of an error with
// a StatusCode() int method (auth's token endpoint errors); 0 when err carries none (a network
// error, say).
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) {
		return sc.StatusCode()
	}
	return 0
}

// MaxRetryAfter caps [APIError.RetryAfter]: a bogus header must not park a client for days.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads the Retry-After header of h: delay-seconds, or an HTTP-date taken
// relative to the answer's own Date header when it has one (so a server whose clock is off
// still means what it says), else relative to now. The result is capped at [MaxRetryAfter];
// a missing, negative, past or unreadable value gives 0.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 63); err == nil {
		if n > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			now = date
		}
		d = at.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// Error is one line, e.g. "GET /user/me: 401 invalid_token: token expired".
func (e *APIError) Error() string {
	if e.StatusCode == 0 && e.Code == "" { // a realtime ack's error may carry neither
		switch {
		case e.Description != "":
			return e.Op + ": " + e.Description
		case e.err != nil:
			return e.Op + ": " + e.err.Error()
		}
		return e.Op + ": refused"
	}
	var b strings.Builder
	b.WriteString(e.Op + ":")
	if e.StatusCode != 0 {
		b.WriteString(" " + strconv.Itoa(e.StatusCode))
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	switch {
	case e.Description != "":
		b.WriteString(": " + e.Description)
	case e.err != nil && e.Code == "":
		b.WriteString(": " + e.err.Error())
	}
	return b.String()
}

// Unwrap returns [ErrBadResponse] when the error body was not JSON (an HTML page, say), a more
// specific sentinel such as [ErrSubscriptionInactive] when one applies, else nil.
func (e *APIError) Unwrap() error { return e.err }

// IsUnauthorized reports whether err holds an [APIError] with status 401.
func IsUnauthorized(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized
}

// IsInvalidToken reports whether err holds a 401 [APIError] with the code "invalid_token": the
// Athom cloud no longer accepts the access token.
func IsInvalidToken(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized && e.Code == "invalid_token"
}

// badResponse wraps ErrBadResponse with the operation and a short reason (never body text).
func badResponse(op, reason string) error {
	return fmt.Errorf("%s: %w: %s", op, ErrBadResponse, reason)
}

// decodeJSON checks resp and decodes its JSON body into out: non-2xx becomes an *APIError, and a
// 2xx answer that is empty, not application/json, too large, truncated, null or of the wrong
// shape becomes ErrBadResponse.
func decodeJSON(op string, resp *http.Response, limit int64, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(op, resp)
	}
	if resp.StatusCode == http.StatusNoContent {
		return badResponse(op, "no content")
	}
	if !isJSON(resp.Header) {
		return badResponse(op, "not JSON ("+mediaType(resp.Header)+")")
	}
	body, err := readBody(op, resp.Body, limit)
	if err != nil {
		return err
	}
	switch t := bytes.TrimSpace(body); {
	case len(t) == 0:
		return badResponse(op, "empty body")
	case string(t) == "null":
		return badResponse(op, "null")
	}
	if err := json.Unmarshal(body, out); err != nil {
		return badResponse(op, jsonReason(err))
	}
	return nil
}

// readBody reads at most limit bytes. A body cut short by the connection is a bad response;
// other read failures (reset, timeout) are returned wrapped.
func readBody(op string, r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%s: %w: truncated body (%w)", op, ErrBadResponse, err)
	case err != nil:
		return nil, fmt.Errorf("%s: read body: %w", op, err)
	case int64(len(body)) > limit:
		return nil, badResponse(op, fmt.Sprintf("body larger than %d bytes", limit))
	}
	return body, nil
}

// jsonReason describes a decoding error without quoting the body (json's own messages may hold
// a character or a number from it).
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		return "wrong JSON type for " + te.Type.String()
	}
	return "malformed JSON"
}

func isJSON(h http.Header) bool {
	return mediaType(h) == "application/json"
}

// mediaType is the parsed Content-Type without parameters, or "no content type".
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt == "" {
		return "no content type"
	}
	return mt
}

// apiError reads a non-2xx answer into an *APIError.
func apiError(op string, resp *http.Response) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.retryAfter = ParseRetryAfter(resp.Header, time.Now())
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if !isJSON(resp.Header) || !e.parse(body) {
		e.err = ErrBadResponse
	}
	return e
}

// parse fills Code and Description from a JSON error object; false if body is not one.
func (e *APIError) parse(body []byte) bool {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return false
	}
	e.Code = sanitize.Line(scalar(m["error"]), maxCodeLen)
	for _, k := range []string{"error_description", "error_message", "message"} {
		if d := description(m[k]); d != "" {
			e.Description = sanitize.Line(d, maxDescLen)
			break
		}
	}
	return true
}

// scalar is a JSON string's value or a number's literal; "" for anything else.
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// description is a string, or an object {field: msg} flattened to "field: msg, ..." (sorted).
func description(raw json.RawMessage) string {
	if s := scalar(raw); s != "" {
		return s
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || len(obj) == 0 {
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+scalar(obj[k]))
	}
	return strings.Join(parts, ", ")
}
