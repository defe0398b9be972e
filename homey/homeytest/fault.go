package homeytest

import (
	"net"
	"net/http"
)

// FaultKind is a way for a request to fail.
type FaultKind int

// Fault kinds. An injected fault answers instead of the route: the emulated
// service never sees the request (like a broken proxy or relay in front of it).
const (
	Fault5xx       FaultKind = iota + 1 // 500 with a JSON error body
	FaultHTML                           // 502 with a text/html error page
	FaultTruncated                      // 200 application/json whose body is cut mid-way
	FaultReset                          // the connection is reset, no answer
	FaultHang                           // no answer until the client gives up or the server closes
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
	}
	return "none"
}

// FaultCloud is the SetFault route key for every request to the cloud listener.
const FaultCloud = "cloud *"

// Fault is injected into the next Times requests of a route (Times 0: until cleared).
type Fault struct {
	Kind  FaultKind
	Times int
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

// admit counts the request (also per Homey listener when h is set) and returns
// the fault to inject, if any, and whether an impostor answers (SetWrongID).
func (s *Server) admit(route string, h *homey, via string) (FaultKind, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	impostor := false
	if h != nil {
		s.viaCounts[viaKey(h.id, via, route)]++
		impostor = via == ViaLocal && h.wrongID
	}
	keys := []string{route, "*"}
	if h == nil {
		keys = []string{route, FaultCloud, "*"}
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
		return f.Kind, impostor
	}
	return 0, impostor
}

// handler wraps a route table: (on a relay, wait the relay latency,) count,
// maybe inject a fault, answer. h is the Homey the listener belongs to, nil
// for the cloud; via is ViaRelay or ViaLocal for a Homey's listeners.
func (s *Server) handler(rt router, h *homey, via string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if via == ViaRelay && !s.relayWait(r) {
			panic(http.ErrAbortHandler)
		}
		kind, impostor := s.admit(r.Method+" "+r.URL.Path, h, via)
		if kind != 0 {
			s.inject(w, r, kind)
			return
		}
		if impostor {
			impostorReply(r).write(w)
			return
		}
		rep := rt.dispatch(r)
		if h != nil {
			w.Header().Set("X-Homey-ID", h.id)
			w.Header().Set("X-Homey-Version", h.version)
		}
		rep.write(w)
	})
}

func (s *Server) inject(w http.ResponseWriter, r *http.Request, kind FaultKind) {
	switch kind {
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
	}
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
