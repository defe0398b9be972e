package emulator

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// FaultKind is a way for a request to fail.
type FaultKind int

// Fault kinds. An injected fault answers instead of the route: the emulated
// service never sees the request (like a broken proxy or relay in front of it),
// except with FaultLoseAnswer, where only the answer is lost.
const (
	Fault5xx       FaultKind = iota + 1 // 500 with a JSON error body
	FaultHTML                           // 502 with a text/html error page
	FaultTruncated                      // 200 application/json whose body is cut mid-way
	FaultReset                          // the connection is reset, no answer
	FaultHang                           // no answer until the client gives up or the server closes
	// FaultLoseAnswer lets the route really run (a grant rotates the refresh token, the
	// state is saved) but never delivers its answer: the connection is held until the
	// client gives up or the server closes, then dropped. Like a reply lost on the way back,
	// or a client killed while the server worked.
	FaultLoseAnswer
	// FaultRateLimit answers 429 with a Retry-After header (Fault.RetryAfter; "" = "2") and
	// the usual JSON error body, as a rate-limiting front end would.
	FaultRateLimit
	// FaultWrongType answers 200 application/json that parses but whose types are wrong for
	// the route (a number where a string belongs, a string where an object does, …), chosen
	// per route so that the client's decoder meets the mismatch (wrongTypeBody). It is the
	// service answering, not a proxy: a Homey's answer carries its X-Homey-ID.
	FaultWrongType
	// FaultSlow waits Fault.Delay (0 = 1 s) and then answers normally: slow is not broken.
	FaultSlow
)

// String names the kind, e.g. "hang".
func (k FaultKind) String() string {
	switch k {
	case Fault5xx:
		return "5xx"
	case FaultHTML:
		return "html"
	case FaultTruncated:
		return "truncated"
	case FaultReset:
		return "reset"
	case FaultHang:
		return "hang"
	case FaultLoseAnswer:
		return "lose-answer"
	case FaultRateLimit:
		return "ratelimit"
	case FaultWrongType:
		return "wrongtype"
	case FaultSlow:
		return "slow"
	}
	return "none"
}

// FaultCloud is the SetFault route key for every request to the cloud listener.
const FaultCloud = "cloud *"

// FaultRelay is the SetFault route key for every request to a Homey's relay listener (its
// remoteUrl: Athom's connect service down, the Homeys on the LAN fine).
const FaultRelay = "relay *"

// Fault is injected into the next Times requests of a route (Times 0: until cleared).
type Fault struct {
	Kind  FaultKind
	Times int
	// RetryAfter is FaultRateLimit's Retry-After header: seconds or an HTTP-date; "" = "2".
	RetryAfter string
	// Delay is how long FaultSlow waits before answering; 0 = 1 s.
	Delay time.Duration
}

const (
	htmlPage      = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	truncatedBody = `{"status":200,"result":{"id":"5f0c2a1b-3c4d-4e5f-8a7b-8c9d0e1f2a3b","name":"Desk la`
)

// SetFault injects f into requests of route: "METHOD /path" (path without
// query, e.g. "POST /oauth2/token", "GET /api/manager/devices/device") or
// "*" for every request to the cloud and every Homey, FaultCloud for every
// request to the cloud only (api.athom.com down, the Homeys on the LAN fine).
// A route's own fault wins over FaultCloud, which wins over "*". A zero Kind
// clears the route's fault.
func (s *Server) SetFault(route string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == 0 {
		delete(s.faults, route)
		return
	}
	s.faults[route] = &f
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// admitted is what admit decided for a request.
type admitted struct {
	fault    Fault // Kind 0: none
	impostor bool  // another Homey answers (SetWrongID)
	hideID   bool  // no X-Homey-ID on the answer (SetNoHomeyID)
}

// admit counts the request (also per Homey listener when h is set) and returns
// the fault to inject, if any, whether an impostor answers and whether the answer goes out
// without X-Homey-ID.
func (s *Server) admit(route string, h *homey, via string) admitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	a := admitted{hideID: h != nil && s.hidesHomeyID(via)}
	if h != nil {
		s.viaCounts[viaKey(h.id, via, route)]++
		a.impostor = via == ViaLocal && h.wrongID
	}
	keys := []string{route, "*"}
	switch {
	case h == nil:
		keys = []string{route, FaultCloud, "*"}
	case via == ViaRelay:
		keys = []string{route, FaultRelay, "*"}
	}
	for _, key := range keys {
		f := s.faults[key]
		if f == nil {
			continue
		}
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				delete(s.faults, key)
			}
		}
		a.fault = *f
		return a
	}
	return a
}

// handler wraps a route table: (on a relay, wait the relay latency,) count,
// maybe inject a fault, answer. h is the Homey the listener belongs to, nil
// for the cloud; via is ViaRelay or ViaLocal for a Homey's listeners.
func (s *Server) handler(rt router, h *homey, via string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if via == ViaRelay && !s.relayWait(r) {
			panic(http.ErrAbortHandler)
		}
		ad := s.admit(r.Method+" "+r.URL.Path, h, via)
		f := ad.fault
		kind := f.Kind
		if kind == FaultSlow {
			if !s.sleep(r, orDefault(f.Delay, time.Second)) {
				panic(http.ErrAbortHandler)
			}
			kind = 0 // then answer as usual
		}
		// The emulated clock's Date, not the host's: with SetClockOffset a client that reads
		// Date sees a server whose clock is off.
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		if kind != 0 && kind != FaultLoseAnswer {
			s.inject(w, r, f, h, ad.hideID)
			return
		}
		if ad.impostor {
			impostorReply(r, ad.hideID).write(w)
			return
		}
		if h != nil && r.URL.Path == "/socket.io/" && r.Method == http.MethodGet {
			if kind == FaultLoseAnswer {
				s.hang(r)
			}
			s.serveRealtime(w, r, h) // the realtime API (realtime.go)
			return
		}
		rep := rt.dispatch(r)
		if kind == FaultLoseAnswer {
			s.hang(r) // the route has done its work; its answer never leaves
		}
		if h != nil && !ad.hideID {
			w.Header().Set("X-Homey-ID", h.id)
			w.Header().Set("X-Homey-Version", h.version)
		}
		rep.write(w)
	})
}

// inject answers r with fault f instead of the route; h is the listener's Homey (nil: the cloud);
// hideID leaves X-Homey-ID off a Homey's own answer (SetNoHomeyID).
func (s *Server) inject(w http.ResponseWriter, r *http.Request, f Fault, h *homey, hideID bool) {
	switch f.Kind {
	case Fault5xx:
		errorReply(http.StatusInternalServerError, "server_error", "injected fault: internal server error").write(w)
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(htmlPage))
	case FaultTruncated:
		w.Header().Set("Content-Type", contentTypeJSON)
		_, _ = w.Write([]byte(truncatedBody))
	case FaultReset:
		reset(w)
	case FaultHang:
		s.hang(r)
	case FaultRateLimit:
		ra := f.RetryAfter
		if ra == "" {
			ra = "2"
		}
		errorReply(http.StatusTooManyRequests, "too_many_requests", "injected fault: too many requests, slow down").
			with("Retry-After", ra).write(w)
	case FaultWrongType:
		if h != nil && !hideID {
			w.Header().Set("X-Homey-ID", h.id)
			w.Header().Set("X-Homey-Version", h.version)
		}
		jsonReply(http.StatusOK, wrongTypeBody(r)).write(w)
	}
}

// wrongTypeBody is valid JSON of the wrong types for r's route: each field the client reads
// has a type it cannot decode into, so a strict decoder fails instead of taking zero values.
func wrongTypeBody(r *http.Request) any {
	p := r.URL.Path
	switch {
	case p == "/oauth2/token":
		return map[string]any{"access_token": 123, "token_type": "bearer", "expires_in": "soon", "refresh_token": map[string]any{}}
	case p == "/user/me":
		return map[string]any{"_id": 42, "firstname": "Ada", "homeys": "none"}
	case p == "/delegation/token":
		return map[string]any{"token": "not-a-bare-string"} // the real answer is a bare JSON string
	case p == "/delegation/key":
		return 4096
	case p == "/api/manager/system/ping":
		return "pong" // the official client ignores a ping's success body: only false matters
	case p == "/api/manager/users/login":
		return 12345 // a number where the bare session token string belongs
	case p == "/api/manager/sessions/session/me":
		return map[string]any{"id": 7, "type": []string{"OAUTH"}, "scopes": "homey", "intersectedScopes": map[string]any{}}
	case p == "/api/manager/devices/device" || p == "/api/manager/devices/device/":
		return map[string]any{"d1": map[string]any{"id": "d1", "name": 42, "capabilities": "onoff"}}
	case strings.HasPrefix(p, "/api/manager/devices/device/"):
		return map[string]any{"id": 7, "name": false, "capabilitiesObj": []any{}}
	case p == "/api/manager/zones/zone" || p == "/api/manager/zones/zone/":
		return map[string]any{"z1": map[string]any{"id": "z1", "name": []string{"Kitchen"}, "parent": false}}
	}
	return []any{[]any{0}} // fits no string, object or boolean
}

// reset closes the connection with an RST (SO_LINGER 0) instead of an answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// hang blocks until the client gives up or Close runs, then drops the
// connection without an answer.
func (s *Server) hang(r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	s.hung.Add(1)
	s.mu.Unlock()
	defer s.hung.Done()
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
	panic(http.ErrAbortHandler)
}
