package homey

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// The calls FuzzResponse drives, by its which argument (mod len).
var fuzzOps = []string{
	"GET /user/me",
	"POST /delegation/token",
	"POST /api/manager/users/login",
	"GET /api/manager/sessions/session/me",
	"GET /api/manager/devices/device",
	"GET /api/manager/zones/zone",
}

// A 2xx answer that is not what the protocol promises gives one of these, and
// nothing from the body (the media type is from the header, as
// mime.ParseMediaType lowercased it: printable ASCII without spaces).
var badAnswer = regexp.MustCompile(`^unexpected response: (no content|not JSON \([!-~]+\)|not JSON \(no content type\)|empty body|null|malformed JSON|wrong JSON type for [][*A-Za-z0-9.]+|body larger than [0-9]+ bytes|empty token|not a token|not a token \([!-~]+\)|malformed quoted token|truncated body \(unexpected EOF\))$`)

type fuzzRT func(*http.Request) (*http.Response, error)

func (f fuzzRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cutReader returns its bytes, then io.ErrUnexpectedEOF: a body the
// connection cut short.
type cutReader struct{ r io.Reader }

func (c cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// FuzzResponse answers each cloud and Homey call this program makes with any
// status, content type and body (optionally cut short): the call gives a value
// or an error that is one line, names the operation and never quotes the body;
// a 2xx answer that is not usable is ErrBadResponse with a fixed reason, a
// non-2xx one an *APIError with the status.
func FuzzResponse(f *testing.F) {
	user := `{"_id":"5e6f7a8b9c0d1e2f3a4b5c6d","firstname":"Ada","lastname":"Lovelace","fullname":"Ada Lovelace","email":"ada@example.com","language":"en","roleIds":["regular"],"devices":[],"homeys":[{"_id":"5f0c2a1b3c4d5e6f7a8b9c0d","id":"5f0c2a1b3c4d5e6f7a8b9c0d","name":"Home","platform":"local","platformVersion":2,"apiVersion":3,"softwareVersion":"12.4.0","model":"homey5q","state":"online","role":"owner","localUrl":"http://192.168.1.50","localUrlSecure":"https://192-168-1-50.homey.homeylocal.com","remoteUrl":"https://5f0c2a1b3c4d5e6f7a8b9c0d.connect.athom.com","users":[{"userId":"5e6f7a8b9c0d1e2f3a4b5c6d","role":"owner"}]}]}`
	devices := `{"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d":{"id":"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","name":"Desk lamp","zone":"0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a","class":"light","virtualClass":null,"capabilities":["onoff","dim"],"capabilitiesObj":{"onoff":{"id":"onoff","type":"boolean","title":"Turned on","value":true},"dim":{"id":"dim","type":"number","title":"Dim level","value":0.4}}},"x":{"name":"no id"},"n":null}`
	zones := `{"0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a":{"id":"0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a","name":"Home","parent":null},"z2":{"name":"Kitchen","parent":"0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a"}}`
	session := `{"id":"3f2e1d0c-b9a8-4765-8432-10fedcba9876","type":"OAUTH","scopes":["homey"],"intersectedScopes":["homey.device.readonly","homey.device.control","homey.zone.readonly"]}`
	jwt := `"eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJob21leSJ9.c2lnbmF0dXJl"`
	const js = "application/json; charset=utf-8"
	good := []string{user, jwt, jwt, session, devices, zones}
	for i, b := range good {
		w := uint8(i)
		f.Add(w, 200, js, []byte(b), false)
		f.Add(w, 200, js, []byte(b[:len(b)/2]), false) // truncated JSON
		f.Add(w, 200, js, []byte(b), true)             // cut by the connection
		f.Add(w, 200, "text/html", []byte(b), false)
		f.Add(w, 200, js, []byte("null"), false)
		f.Add(w, 200, js, []byte(`""`), false)
		f.Add(w, 200, js, []byte(`[]`), false)
		f.Add(w, 204, "", []byte(nil), false)
		f.Add(w, 401, js, []byte(`{"error":"invalid_token","error_description":"The access token provided is invalid"}`), false)
		f.Add(w, 403, js, []byte(`{"error":"Subscription Inactive"}`), false)
		f.Add(w, 400, js, []byte(`{"error":400,"error_description":{"name":"is required","scopes":"must be an array"}}`), false)
		f.Add(w, 502, "text/html", []byte("<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"), false)
		f.Add(w, 500, js, []byte("{\"error\":\"a\\nb\\u0000c\\u202e\",\"message\":\"\xff\xfe secret=hunter2\"}"), false)
		f.Add(w, 429, js, []byte(`{"error":"too_many_requests"}`), false)
	}
	f.Add(uint8(0), 200, js, []byte(`{"homeys":[{"_id":"a","id":"b","platformVersion":1e999}]}`), false)
	f.Add(uint8(0), 200, js, []byte(`{"homeys":[{"_id":"a","platformVersion":99999999999999999999}]}`), false)
	f.Add(uint8(0), 200, js, []byte(`{"homeys":[{"_id":"a","name":"Home\u0000\ud800"}]}`), false)
	f.Add(uint8(4), 200, js, []byte(`{"a":`+strings.Repeat("[", 20000)+`}`), false)
	f.Add(uint8(4), 200, js, []byte(`{"":{"id":""}}`), false)
	f.Add(uint8(5), 200, js, []byte("{\"z\xff\":{\"name\":\"\x00\"}}"), false)
	f.Add(uint8(1), 200, js, []byte(`"`+strings.Repeat("A", 5000)+`"`), false)
	f.Add(uint8(3), 200, js, []byte(`{"scopes":"homey"}`), false)

	f.Fuzz(func(t *testing.T, which uint8, status int, ctype string, body []byte, cut bool) {
		if status < 100 || status > 999 {
			return
		}
		w := int(which) % len(fuzzOps)
		op := fuzzOps[w]
		hc := &http.Client{Transport: fuzzRT(func(req *http.Request) (*http.Response, error) {
			h := http.Header{}
			if ctype != "" {
				h.Set("Content-Type", ctype)
			}
			var r io.Reader = strings.NewReader(string(body))
			if cut {
				r = cutReader{r}
			}
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(r), Request: req}, nil
		})}
		ctx := context.Background()
		cloud := &Cloud{BaseURL: "http://cloud.invalid", HTTP: hc,
			Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "AT-SECRET"})}
		client := &Client{BaseURL: "http://homey.invalid", HomeyID: "5f0c2a1b3c4d5e6f7a8b9c0d", HTTP: hc}

		var err error
		switch w {
		case 0:
			var u *User
			if u, err = cloud.Me(ctx); err == nil && u == nil {
				t.Fatal("Me: nil user without an error")
			}
		case 1:
			var s string
			if s, err = cloud.DelegationToken(ctx); err == nil && s == "" {
				t.Fatal("DelegationToken: empty token without an error")
			}
		case 2:
			var s string
			if s, err = client.Login(ctx, "jwt"); err == nil && s == "" {
				t.Fatal("Login: empty bearer without an error")
			}
		case 3:
			var s *SessionInfo
			if s, err = client.SessionMe(ctx, "bearer"); err == nil && s == nil {
				t.Fatal("SessionMe: nil without an error")
			}
		case 4:
			var m map[string]Device
			if m, err = client.Devices(ctx, "bearer"); err == nil {
				for k, d := range m {
					if d.ID == "" && k != "" {
						t.Fatalf("device %q without an id", k)
					}
					if d.Raw != nil && !json.Valid(d.Raw) {
						t.Fatalf("device %q: Raw is not JSON", k)
					}
				}
			}
		case 5:
			var m map[string]Zone
			if m, err = client.Zones(ctx, "bearer"); err == nil {
				for k, z := range m {
					if z.ID == "" && k != "" {
						t.Fatalf("zone %q without an id", k)
					}
				}
			}
		}
		ok2xx := status >= 200 && status <= 299
		if err == nil {
			if !ok2xx {
				t.Fatalf("%s: status %d gave no error", op, status)
			}
			return
		}
		msg := err.Error()
		if strings.ContainsAny(msg, "\r\n\x00\u0085\u2028\u2029") || !utf8.ValidString(msg) {
			t.Fatalf("not one printable line: %q", msg)
		}
		if !strings.HasPrefix(msg, op+": ") {
			t.Fatalf("error does not name %q: %q", op, msg)
		}
		for _, secret := range []string{"AT-SECRET", "cloud.invalid", "homey.invalid"} {
			if strings.Contains(msg, secret) && !strings.Contains(string(body), secret) {
				t.Fatalf("error holds the token or the host: %q", msg)
			}
		}
		// The body may only appear by being part of the fixed wording or of the content type.
		fixed := op + " " + http.StatusText(status) + " " + ErrBadResponse.Error() + " " + badAnswer.String() +
			" " + strings.ToLower(ctype)
		if b := strings.TrimSpace(string(body)); len(b) >= 12 && strings.Contains(msg, b) && !strings.Contains(fixed, b) {
			t.Fatalf("error quotes the body: %q", msg)
		}
		if ok2xx {
			if !errors.Is(err, ErrBadResponse) || !badAnswer.MatchString(strings.TrimPrefix(msg, op+": ")) {
				t.Fatalf("2xx answer: unexpected error %q", msg)
			}
			return
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("status %d: not an *APIError: %q", status, msg)
		}
		if ae.StatusCode != status || ae.Op != op {
			t.Fatalf("APIError %+v for %s %d", ae, op, status)
		}
		if utf8.RuneCountInString(ae.Code) > maxCodeLen || utf8.RuneCountInString(ae.Description) > maxDescLen {
			t.Fatalf("APIError fields too long: %q / %q", ae.Code, ae.Description)
		}
		if len(msg) > len(op)+maxCodeLen*4+maxDescLen*4+80 {
			t.Fatalf("error is %d bytes long", len(msg))
		}
	})
}

// FuzzHomeyJSON: a Homey decoded from any JSON survives Marshal and Unmarshal
// unchanged, is written with "id" and never "_id", and takes its ID from
// "_id" when that is set, else from "id".
func FuzzHomeyJSON(f *testing.F) {
	f.Add([]byte(`{"_id":"5f0c2a1b3c4d5e6f7a8b9c0d","id":"5f0c2a1b3c4d5e6f7a8b9c0d","name":"Home","platform":"local","platformVersion":2,"apiVersion":3,"softwareVersion":"12.4.0","model":"homey5q","state":"online","role":"owner","localUrl":"http://192.168.1.50","localUrlSecure":"https://192-168-1-50.homey.homeylocal.com","remoteUrl":"https://5f0c2a1b3c4d5e6f7a8b9c0d.connect.athom.com"}`), "a", "b")
	f.Add([]byte(`{"id":"only-id","name":"Cabin"}`), "only-id", "")
	f.Add([]byte(`{"_id":"only-underscore"}`), "", "only-underscore")
	f.Add([]byte(`{"_id":"","id":"x"}`), "x", "")
	f.Add([]byte(`{"_ID":"upper","ID":"x"}`), "x", "y")
	f.Add([]byte(`null`), "", "")
	f.Add([]byte(`{"platformVersion":1e999}`), "\xff", "\x00")
	f.Add([]byte(`{"apiVersion":-9223372036854775809}`), "\u2028", "")
	f.Add([]byte(`{"name":"\ud800\udc00\ud800"}`), "", "")
	f.Add([]byte(`[`+strings.Repeat("{", 5000)), "", "")
	f.Add([]byte(`{"id":1}`), "", "")
	f.Fuzz(func(t *testing.T, data []byte, id, underscoreID string) {
		var h Homey
		if json.Unmarshal(data, &h) == nil {
			homeyRoundTrip(t, h)
		}
		if !utf8.ValidString(id) || !utf8.ValidString(underscoreID) {
			return
		}
		doc, err := json.Marshal(map[string]string{"id": id, "_id": underscoreID, "name": "n"})
		if err != nil {
			t.Fatal(err)
		}
		var g Homey
		if err := json.Unmarshal(doc, &g); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		want := underscoreID
		if want == "" {
			want = id
		}
		if g.ID != want {
			t.Fatalf("%s: ID %q, want %q", doc, g.ID, want)
		}
		homeyRoundTrip(t, g)
	})
}

func homeyRoundTrip(t *testing.T, h Homey) {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatalf("marshal %+v: %v", h, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["_id"]; ok {
		t.Fatalf("written with _id: %s", b)
	}
	if _, ok := m["id"]; !ok {
		t.Fatalf("written without id: %s", b)
	}
	var back Homey
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !reflect.DeepEqual(back, h) {
		t.Fatalf("round trip changed %+v into %+v", h, back)
	}
}
