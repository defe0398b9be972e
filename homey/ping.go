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
	"sync"
	"time"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// A Homey Pro (Early 2023 and later) can be reached on its LAN with an API key made in its web
// app (docs/protocol.md#api-keys): the key is the bearer itself, so the address it goes to must first prove,
// by a ping, that it is that Homey.

// NormalizeAddress makes the base URL of a Homey of what a user typed: scheme, host and port
// only, no trailing slash; an address without a scheme is http ("192.168.1.20" →
// "http://192.168.1.20"). An error says what is wrong, in words for the user.
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("not a URL; say e.g. http://192.168.1.20")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("use http:// (plain, on the LAN) or https://")
	case u.Hostname() == "":
		return "", errors.New("no host; say e.g. http://192.168.1.20")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		return "", errors.New("give only scheme, host and port, e.g. http://192.168.1.20")
	}
	return u.Scheme + "://" + u.Host, nil
}

// Ping asks base whether a Homey answers there (GET /api/manager/system/ping, no
// authentication) and returns its id, from the X-Homey-ID header of the answer. With wantID the
// ping carries ?id= and X-Homey-ID, and another Homey answering is an error: a caller sends a
// secret to base only after a nil error. hc nil is a client with a 15 s timeout.
//
// With wantID an answer without X-Homey-ID is accepted, as the official client accepts it
// (docs/protocol.md#tolerance): the ?id= answer (false from another Homey) then confirms the Homey, and only
// a JSON answer from base itself counts (not a captive portal's page). Without wantID the
// header is the only proof, as for the official createLocalAPI.
//
// An answer that is not a Homey's, or another Homey's, is a *[PingError] (matching
// [ErrWrongHomey]); a failure to get an answer wraps the transport's *url.Error, so
// [IsNetworkError] holds for it.
func Ping(ctx context.Context, hc *http.Client, base, wantID string) (string, error) {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	u := base + "/api/manager/system/ping"
	if wantID != "" {
		u += "?id=" + url.QueryEscape(wantID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("ping %s: invalid address", base)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if wantID != "" {
		req.Header.Set("X-Homey-ID", wantID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", &pingNetError{base: base, err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	e := &PingError{BaseURL: base, StatusCode: resp.StatusCode, ID: resp.Header.Get("X-Homey-ID"), WantID: wantID}
	if e.ID == "" && wantID != "" && isJSON(resp.Header) && json.Valid(body) && answeredHere(base, resp) {
		e.ID, e.confirmedByQuery = wantID, true // the ?id= answer below decides
	}
	switch {
	case e.NotHomey():
		return "", e
	case wantID != "" && (e.ID != wantID || string(bytes.TrimSpace(body)) == "false"):
		if e.confirmedByQuery {
			e.ID = "" // another Homey, whose id the answer did not say
		}
		return "", e
	}
	return e.ID, nil
}

// PingError is a ping ([Ping]) answered by something that is not the Homey asked for: no Homey
// at all (the answer is not 2xx, or has no X-Homey-ID; see [PingError.NotHomey]) or, when the
// ping asked for an id, another Homey (a different X-Homey-ID, or the body false). It matches
// [ErrWrongHomey].
type PingError struct {
	BaseURL    string // the address pinged
	StatusCode int    // the HTTP status of the answer
	ID         string // the answer's X-Homey-ID; "" when it had none
	WantID     string // the id the ping asked for; "" when it asked for none

	confirmedByQuery bool // the answer had no X-Homey-ID; the ?id= answer was the proof
}

// NotHomey reports whether no Homey answered (not 2xx, or no X-Homey-ID), rather than another
// Homey.
func (e *PingError) NotHomey() bool {
	return e.StatusCode < 200 || e.StatusCode > 299 || (e.ID == "" && !e.confirmedByQuery)
}

// Error is one line, e.g. "ping http://192.168.1.20: not a Homey (404 without X-Homey-ID)".
func (e *PingError) Error() string {
	if e.NotHomey() {
		return fmt.Sprintf("ping %s: not a Homey (%d without X-Homey-ID)", e.BaseURL, e.StatusCode)
	}
	if e.ID == "" {
		return fmt.Sprintf("ping %s: %v (it answered false for %s)", e.BaseURL, ErrWrongHomey, e.WantID)
	}
	return fmt.Sprintf("ping %s: %v (%s, not %s)", e.BaseURL, ErrWrongHomey, sanitize.Line(e.ID, 100), e.WantID)
}

// Is matches [ErrWrongHomey].
func (e *PingError) Is(target error) bool { return target == ErrWrongHomey }

// pingNetError is a ping that got no answer. Its text drops the URL that *url.Error repeats;
// it unwraps to the whole transport error, so [IsNetworkError] holds for every such failure.
type pingNetError struct {
	base string
	err  error
}

func (e *pingNetError) Error() string { return "ping " + e.base + ": " + transportCause(e.err).Error() }
func (e *pingNetError) Unwrap() error { return e.err }

// PingValid is how long a proof recorded by [Pinged] counts unless its Valid says otherwise.
const PingValid = time.Minute

// Pinged records, for the life of one process, the addresses at which a Homey proved by a ping
// that it is that Homey: a secret goes to an address only after such a proof (another device
// may own the IP on another network). A proof counts for Valid, as a tray runs for days and the
// machine may wake up on another network; after an error at the address the caller forgets it.
//
// The zero value is ready to use; its methods are safe for concurrent use.
type Pinged struct {
	Valid time.Duration // how long a proof counts; 0 = [PingValid]

	mu sync.Mutex
	at map[pingKey]time.Time
}

type pingKey struct{ id, base string }

// Check pings base for the Homey id ([Ping] with wantID id) unless that Homey proved itself there
// within Valid, and records the proof. A failed ping forgets any earlier one and returns Ping's
// error.
func (p *Pinged) Check(ctx context.Context, hc *http.Client, base, id string) error {
	k := pingKey{id, base}
	valid := p.Valid
	if valid <= 0 {
		valid = PingValid
	}
	p.mu.Lock()
	at, ok := p.at[k]
	p.mu.Unlock()
	if ok && time.Since(at) <= valid {
		return nil
	}
	if _, err := Ping(ctx, hc, base, id); err != nil {
		p.Forget(id, base)
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil {
		p.at = map[pingKey]time.Time{}
	}
	p.at[k] = time.Now()
	return nil
}

// Forget drops the proof of the Homey id at base (a request there failed): the next
// [Pinged.Check] pings again.
func (p *Pinged) Forget(id, base string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.at, pingKey{id, base})
}
