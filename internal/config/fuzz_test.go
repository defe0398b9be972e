package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzLoadConfig: any config.json gives settings or an *Error naming the file, in one line; the
// file is never changed by reading it; and loaded settings survive being written and read again
// unchanged (what a transaction does).
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`null`,
		``,
		"  \n\t",
		`{"client_id":"0123456789abcdef01234567","redirect_uri":"http://localhost:8976/callback","selected_homey":"5f0c2a1b3c4d5e6f7a8b9c0d","user":{"id":"5e6f7a8b9c0d1e2f3a4b5c6d","name":"Ada Lovelace","email":"ada@example.com"},"homeys":[{"id":"5f0c2a1b3c4d5e6f7a8b9c0d","name":"Home","platform":"local","platformVersion":2,"apiVersion":3,"softwareVersion":"12.4.0","model":"homey5q","state":"online","role":"owner","localUrl":"http://192.168.1.50","remoteUrl":"https://5f0c2a1b3c4d5e6f7a8b9c0d.connect.athom.com"}],"homeys_fetched_at":"2026-01-02T03:04:05.123456789+01:00","routes":{"5f0c2a1b3c4d5e6f7a8b9c0d":{"strategy":"local","base_url":"http://192.168.1.50"}},"local_homeys":[{"id":"l1","name":"Lab","address":"http://192.168.1.20"}],"clipboard_clear_seconds":0}`,
		`{"homeys":[{"_id":"a","id":"b"}]}`,
		`{"client_id":"x"}}`,
		`{"client_id":"x"}]`,
		`{"client_id":"x"} {"client_id":"y"}`,
		`{"client_id":"x"} garbage`,
		`{"client_id":"x"`,
		`{"client_id":`,
		`{"client_id":1}`,
		`{"homeys":{}}`,
		`{"homeys_fetched_at":"yesterday"}`,
		`{"homeys_fetched_at":"10000-01-01T00:00:00Z"}`,
		`{"clipboard_clear_seconds":1e999}`,
		`{"clipboard_clear_seconds":99999999999999999999}`,
		`{"clipboard_clear_seconds":-1}`,
		`{"user":null,"routes":null,"homeys":null}`,
		`{"homeys":[` + strings.Repeat("[", 100000) + `]}`,
		`[]`,
		"{\"client_id\":\"\xff\xfe\"}",
		"{\"client_id\":\"a\u0000b\"}",
		"\x00\x00\x00",
		"\xef\xbb\xbf{}",
		`{"last_refresh_error":"line1\nline2"}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir() // one folder: a t.TempDir per input would cost more than the input
	f.Fuzz(func(t *testing.T, content []byte) {
		file, err := os.CreateTemp(dir, "config-*.json")
		if err != nil {
			t.Fatal(err)
		}
		path := file.Name()
		defer os.Remove(path)
		_, err = file.Write(content)
		if cerr := file.Close(); err != nil || cerr != nil {
			t.Fatal(err, cerr)
		}
		old := time.Unix(1_000_000_000, 0)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		c, err := readSettings(path)

		after, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Equal(after, content) {
			t.Fatalf("the file was changed (%v)", rerr)
		}
		if st, err := os.Stat(path); err != nil || !st.ModTime().Equal(old) {
			t.Fatalf("the file was touched (%v)", err)
		}

		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("not an *Error for %s: %T %v", path, err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Fatalf("error does not name the file: %q", msg)
			}
			if strings.ContainsAny(msg, "\r\n\x00\u0085\u2028\u2029") || !utf8.ValidString(msg) {
				t.Fatalf("not one printable line: %q", msg)
			}
			return
		}
		// Anything accepted is one JSON value (and whitespace): a file with
		// anything after it is corrupt and must not be taken, then rewritten.
		if !json.Valid(content) {
			t.Fatalf("accepted a file that is not one JSON value: %q", content)
		}
		b1, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("a loaded config cannot be written: %v", err)
		}
		if err := os.WriteFile(path, b1, 0o600); err != nil {
			t.Fatal(err)
		}
		c2, err := readSettings(path)
		if err != nil {
			t.Fatalf("a written config cannot be read: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(c2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the config:\n%s\n%s", b1, b2)
		}
	})
}
