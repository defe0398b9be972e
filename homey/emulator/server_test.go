package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawGet does one GET on a fresh connection and returns the transport error, if any.
func rawGet(ctx context.Context, u string) (*http.Response, []byte, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func TestFaults(t *testing.T) {
	const route = "GET /api/manager/system/ping"
	tests := []struct {
		kind  FaultKind
		check func(t *testing.T, res *http.Response, body []byte, err error)
	}{
		{Fault5xx, func(t *testing.T, res *http.Response, body []byte, err error) {
			if err != nil || res.StatusCode != 500 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !json.Valid(body) {
				t.Errorf("want 500 with a JSON body, got %v %v", status(res), err)
			}
		}},
		{FaultHTML, func(t *testing.T, res *http.Response, body []byte, err error) {
			if err != nil || res.StatusCode != 502 || res.Header.Get("Content-Type") != "text/html" || !strings.Contains(string(body), "<html>") {
				t.Errorf("want 502 with an HTML page, got %v %v", status(res), err)
			}
		}},
		{FaultTruncated, func(t *testing.T, res *http.Response, body []byte, err error) {
			var v any
			jerr := json.Unmarshal(body, &v)
			if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || jerr == nil {
				t.Errorf("want 200 JSON that does not parse, got %v %v (json error %v)", status(res), err, jerr)
			}
		}},
		{FaultReset, func(t *testing.T, res *http.Response, _ []byte, err error) {
			if err == nil {
				t.Errorf("want a transport error, got %v", status(res))
			}
		}},
		{FaultHang, func(t *testing.T, res *http.Response, _ []byte, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("want the client's deadline, got %v %v", status(res), err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			s, _ := newTestServer(t, Options{})
			h := s.Homeys()[0]
			s.SetFault(route, Fault{Kind: tc.kind, Times: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			res, body, err := rawGet(ctx, h.BaseURL+"/api/manager/system/ping")
			tc.check(t, res, body, err)
			ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel2()
			if res, _, err := rawGet(ctx2, h.BaseURL+"/api/manager/system/ping"); err != nil || res.StatusCode != 200 {
				t.Errorf("after Times=1: %v %v, want 200", status(res), err)
			}
			if got := s.Count(route); got != 2 {
				t.Errorf("Count(%s) = %d, want 2 (faulted requests count)", route, got)
			}
		})
	}
}

func status(res *http.Response) string {
	if res == nil {
		return "no response"
	}
	return res.Status
}

func TestFaultRoutes(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	get := func(u string) int {
		res, _, err := rawGet(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	me, ping := s.URL()+"/user/me", s.Homeys()[1].BaseURL+"/api/manager/system/ping?id=x"
	s.SetFault("*", Fault{Kind: Fault5xx})
	s.SetFault("GET /user/me", Fault{Kind: FaultHTML})
	if a, b := get(me), get(ping); a != 502 || b != 500 {
		t.Fatalf("route fault %d, * fault %d; want 502, 500", a, b)
	}
	s.SetFault("GET /user/me", Fault{})
	if got := get(me); got != 500 {
		t.Fatalf("after clearing the route: %d, want the * fault 500", got)
	}
	s.ClearFaults()
	if a, b := get(me), get(ping); a != 401 || b != 200 {
		t.Fatalf("after ClearFaults: %d, %d; want 401, 200", a, b)
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault("*", Fault{Kind: FaultHang})
	errc := make(chan error, 1)
	go func() {
		_, _, err := rawGet(context.Background(), s.URL()+"/user/me")
		errc <- err
	}()
	for s.Count("GET /user/me") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a hung request", d)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("the hung request got an answer, want a dropped connection")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the hung request was not released")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCountsAndGrants(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	tok := signIn(t, s)
	grant(t, s, refreshForm(tok.RefreshToken))
	homeySession(t, s, s.Homeys()[0])
	want := map[string]int{
		"POST /oauth2/token":              3,
		"POST /delegation/token":          1,
		"POST /api/manager/users/login":   1,
		"GET /user/me":                    0,
		"*":                               5,
		"GET /api/manager/devices/device": 0,
	}
	for route, n := range want {
		if got := s.Count(route); got != n {
			t.Errorf("Count(%q) = %d, want %d", route, got, n)
		}
	}
	if a, r := s.Grants("authorization_code"), s.Grants("refresh_token"); a != 2 || r != 1 {
		t.Errorf("Grants = %d code, %d refresh; want 2, 1", a, r)
	}
	s.ResetCounts()
	if s.Count("*") != 0 || s.Grants("authorization_code") != 0 {
		t.Error("ResetCounts left counts")
	}
}

func TestUnknownRoutesAndContentType(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	h := s.Homeys()[0]
	do(t, http.MethodGet, s.URL()+"/nope", nil, "").wantError(t, http.StatusNotFound, "not_found")
	do(t, http.MethodGet, h.BaseURL+"/api/manager/flow/flow", nil, "").wantError(t, http.StatusNotFound, "not_found")
	r := do(t, http.MethodGet, s.URL()+"/oauth2/token", nil, "")
	r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if r.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q, want POST", r.header.Get("Allow"))
	}
	redirect := do(t, http.MethodGet, s.URL()+"/oauth2/authorise?client_id="+s.ClientID()+"&response_type=code&redirect_uri="+s.RedirectURI(), nil, "")
	if redirect.status != http.StatusFound || !strings.HasPrefix(redirect.header.Get("Content-Type"), "application/json") {
		t.Errorf("authorise: %d %q, want 302 application/json", redirect.status, redirect.header.Get("Content-Type"))
	}
}
