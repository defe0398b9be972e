package emulator

import (
	"net/http"
	"testing"
	"time"
)

func pingHeaders(id string) http.Header { return http.Header{"X-Homey-ID": {id}} }

// TestLocalAndRelay: every Homey answers on two listeners that share its sessions; the relay
// is slowed by the relay latency; CountVia tells them apart.
func TestLocalAndRelay(t *testing.T) {
	s := NewServer(t, Options{RelayLatency: 150 * time.Millisecond})
	h := s.Homeys()[0]
	if h.LocalURL == "" || h.LocalURL == h.BaseURL {
		t.Fatalf("Homey %+v: want a local listener beside the relay", h)
	}
	session := homeySession(t, s, h) // logged in through the relay
	for _, u := range []string{h.LocalURL, h.BaseURL} {
		start := time.Now()
		r := do(t, http.MethodGet, u+"/api/manager/devices/device", bearer(session), "")
		took := time.Since(start)
		if r.status != http.StatusOK || r.header.Get("X-Homey-ID") != h.ID {
			t.Errorf("devices at %s: %d, X-Homey-ID %q", u, r.status, r.header.Get("X-Homey-ID"))
		}
		if u == h.BaseURL && took < 150*time.Millisecond {
			t.Errorf("relay answered in %v; want at least the 150 ms relay latency", took)
		}
	}
	const devices = "GET /api/manager/devices/device"
	if l, r := s.CountVia(h.ID, ViaLocal, devices), s.CountVia(h.ID, ViaRelay, devices); l != 1 || r != 1 {
		t.Errorf("CountVia devices: local %d, relay %d; want 1, 1", l, r)
	}
	if n := s.CountVia(h.ID, ViaRelay, "*"); n != 2 { // login + devices
		t.Errorf("CountVia relay *: %d; want 2", n)
	}
	if n := s.CountVia(s.Homeys()[1].ID, ViaLocal, "*"); n != 0 {
		t.Errorf("other Homey counted %d requests", n)
	}
	s.SetRelayLatency(-1)
	start := time.Now()
	do(t, http.MethodGet, h.BaseURL+"/api/manager/system/ping?id="+h.ID, pingHeaders(h.ID), "")
	if took := time.Since(start); took > 140*time.Millisecond {
		t.Errorf("relay without latency answered in %v", took)
	}
	s.ResetCounts()
	if n := s.CountVia(h.ID, ViaRelay, "*"); n != 0 {
		t.Errorf("after ResetCounts: %d", n)
	}
}

// TestStopStartLocal: a stopped local listener refuses connections, also on a kept-alive
// connection; the relay keeps answering; StartLocal brings back the same URL.
func TestStopStartLocal(t *testing.T) {
	s := NewServer(t, Options{RelayLatency: -1})
	h := s.Homeys()[0]
	ping := "/api/manager/system/ping?id=" + h.ID
	hc := &http.Client{Timeout: 2 * time.Second} // keeps its connection alive between requests
	get := func(u string) error {
		res, err := hc.Get(u)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	if err := get(h.LocalURL + ping); err != nil {
		t.Fatal(err)
	}
	s.StopLocal(h.ID)
	s.StopLocal(h.ID) // twice is fine
	if err := get(h.LocalURL + ping); err == nil {
		t.Fatal("stopped local listener answered")
	}
	if err := get(h.BaseURL + ping); err != nil {
		t.Fatalf("relay with local stopped: %v", err)
	}
	if err := s.StartLocal(h.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.Homeys()[0].LocalURL; got != h.LocalURL {
		t.Fatalf("local URL after StartLocal = %s; want %s", got, h.LocalURL)
	}
	if err := get(h.LocalURL + ping); err != nil {
		t.Fatalf("restarted local listener: %v", err)
	}
	if err := s.StartLocal("nope"); err == nil {
		t.Error("StartLocal of an unknown Homey: no error")
	}
	s.StopLocal(h.ID) // Close must cope with a stopped listener
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.StartLocal(h.ID); err == nil {
		t.Error("StartLocal after Close: no error")
	}
}

// TestSetWrongID: another device at localUrl answers pings with its own X-Homey-ID and refuses
// our session; the relay still reaches the Homey.
func TestSetWrongID(t *testing.T) {
	s := NewServer(t, Options{RelayLatency: -1})
	h := s.Homeys()[0]
	session := homeySession(t, s, h)
	s.SetWrongID(h.ID, true)
	r := do(t, http.MethodGet, h.LocalURL+"/api/manager/system/ping?id="+h.ID, pingHeaders(h.ID), "")
	if got := r.header.Get("X-Homey-ID"); r.status != http.StatusOK || got == h.ID || got == "" {
		t.Errorf("impostor ping: %d, X-Homey-ID %q; want 200 with another id", r.status, got)
	}
	do(t, http.MethodGet, h.LocalURL+"/api/manager/devices/device", bearer(session), "").wantError(t, http.StatusUnauthorized, "Invalid Session")
	if r := do(t, http.MethodGet, h.BaseURL+"/api/manager/devices/device", bearer(session), ""); r.status != http.StatusOK {
		t.Errorf("relay while an impostor has localUrl: %d", r.status)
	}
	s.SetWrongID(h.ID, false)
	r = do(t, http.MethodGet, h.LocalURL+"/api/manager/devices/device", bearer(session), "")
	if r.status != http.StatusOK || r.header.Get("X-Homey-ID") != h.ID {
		t.Errorf("local after SetWrongID off: %d %q", r.status, r.header.Get("X-Homey-ID"))
	}
}

// TestFaultCloud: FaultCloud fails the cloud only; both Homey listeners keep answering.
func TestFaultCloud(t *testing.T) {
	s := NewServer(t, Options{RelayLatency: -1})
	h := s.Homeys()[0]
	s.SetFault(FaultCloud, Fault{Kind: Fault5xx})
	do(t, http.MethodGet, s.URL()+"/delegation/key", nil, "").wantError(t, http.StatusInternalServerError, "server_error")
	for _, u := range []string{h.LocalURL, h.BaseURL} {
		if r := do(t, http.MethodGet, u+"/api/manager/system/ping?id="+h.ID, pingHeaders(h.ID), ""); r.status != http.StatusOK {
			t.Errorf("ping at %s with the cloud failing: %d", u, r.status)
		}
	}
	s.SetFault(FaultCloud, Fault{})
	if r := do(t, http.MethodGet, s.URL()+"/delegation/key", nil, ""); r.status != http.StatusOK {
		t.Errorf("cloud after clearing: %d", r.status)
	}
}
