package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// contentTypeJSON is what the real service (Express) sends with JSON.
const contentTypeJSON = "application/json; charset=utf-8"

// reply is a handler's answer, written after the handler has released s.mu.
type reply struct {
	status int
	body   any    // encoded as JSON; noBody for none
	text   string // when set: the body as text/plain instead of body
	header http.Header
}

// bodyless is the type of noBody.
type bodyless struct{}

// noBody marks a reply without a body (a redirect).
var noBody = bodyless{}

func jsonReply(status int, body any) reply { return reply{status: status, body: body} }

// errorReply is the OAuth2/Athom error shape {"error","error_description"}.
func errorReply(status int, code, desc string) reply {
	return jsonReply(status, map[string]string{"error": code, "error_description": desc})
}

func (rep reply) with(key, value string) reply {
	h := rep.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(key, value)
	rep.header = h
	return rep
}

func (rep reply) write(w http.ResponseWriter) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.text != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.text)))
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.text))
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	if _, ok := rep.body.(bodyless); ok {
		w.WriteHeader(rep.status)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep.body); err != nil {
		rep = errorReply(http.StatusInternalServerError, "server_error", "encode answer: "+err.Error())
		buf.Reset()
		_ = enc.Encode(rep.body)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

// handlerFunc answers a request; params holds the path's "*" segments.
type handlerFunc func(r *http.Request, params []string) reply

type route struct {
	method string
	parts  []string // path split at "/"; "*" matches one non-empty segment
	h      handlerFunc
}

// router is a small method+path table that answers 404 and 405 in JSON.
type router []route

func (rt *router) add(method, path string, h handlerFunc) {
	*rt = append(*rt, route{method: method, parts: strings.Split(path, "/"), h: h})
}

func (rt router) dispatch(r *http.Request) reply {
	segs := strings.Split(r.URL.Path, "/")
	var allow []string
	for _, ro := range rt {
		params, ok := match(ro.parts, segs)
		if !ok {
			continue
		}
		if ro.method == r.Method {
			return ro.h(r, params)
		}
		allow = append(allow, ro.method)
	}
	if allow != nil {
		return errorReply(http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)).with("Allow", strings.Join(allow, ", "))
	}
	return errorReply(http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
}

func match(parts, segs []string) ([]string, bool) {
	if len(parts) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range parts {
		switch {
		case p == "*" && segs[i] != "":
			params = append(params, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return params, true
}

// randHex returns n random bytes as 2n hex digits.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uuid4 returns a random RFC 4122 version 4 UUID.
func uuid4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
