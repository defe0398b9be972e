package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

func TestBrowserCommand(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []string
	}{
		{"firefox", []string{"firefox", "U"}},
		{"firefox --new-window", []string{"firefox", "--new-window", "U"}},
		{"open -a Safari %s", []string{"open", "-a", "Safari", "U"}},
		{"w3m:lynx", []string{"w3m", "U"}},
		{"sh -c 'echo %s'", []string{"sh", "-c", "'echo", "U'"}},
	} {
		if got := browserCommand(c.spec, "U"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("browserCommand(%q) = %q, want %q", c.spec, got, c.want)
		}
	}
}

func TestCheckRedirectURI(t *testing.T) {
	for uri, ok := range map[string]bool{
		"http://localhost:47719/callback": true,
		"http://127.0.0.1:8080/cb":        true,
		"http://[::1]:8080/cb":            true,
		"https://localhost:47719/cb":      false,
		"http://localhost/callback":       false,
		"http://example.com:80/callback":  false,
		"http://localhost:1/cb?x=1":       false,
		"http://0.0.0.0:47719/callback":   false,
		"not a url":                       false,
	} {
		if err := checkRedirectURI(uri); (err == nil) != ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok=%v", uri, err, ok)
		}
	}
}

func TestValidProfile(t *testing.T) {
	for p, ok := range map[string]bool{"demo": true, "test-1a2b": true, "": false, "-x": false, "A": false, "a/b": false, "../x": false, strings.Repeat("a", 33): false} {
		if validProfile(p) != ok {
			t.Errorf("validProfile(%q) != %v", p, ok)
		}
	}
}

func TestDeviceRows(t *testing.T) {
	zones := map[string]homey.Zone{"z1": {ID: "z1", Name: "Kitchen"}, "z2": {ID: "z2", Name: "Attic"}}
	devices := map[string]homey.Device{
		"a": {ID: "a", Name: "Lamp", Zone: "z1", Class: "light", CapabilitiesObj: map[string]homey.Capability{
			"onoff": {Value: true}, "dim": {Value: 0.4}}},
		"b": {ID: "b", Name: "Sensor\x1b[31m", Zone: "z2", Class: "sensor", CapabilitiesObj: map[string]homey.Capability{
			"measure_temperature": {Value: 21.5, Units: "°C"}, "alarm_battery": {Value: nil}}},
		"c": {ID: "c", Name: "Orphan", Zone: "gone"},
	}
	want := [][4]string{
		{"Sensor [31m", "Attic", "sensor", "alarm_battery=- measure_temperature=21.5 °C"},
		{"Lamp", "Kitchen", "light", "dim=0.4 onoff=true"},
		{"Orphan", "gone", "-", ""},
	}
	if got := deviceRows(devices, zones); !reflect.DeepEqual(got, want) {
		t.Errorf("deviceRows =\n%q\nwant\n%q", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote(`a'b`); got != `'a'\''b'` {
		t.Errorf("shellQuote = %s", got)
	}
}

func TestExplain(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		want string
	}{
		{usageErrorf("token: bad"), exitUsage, "token: bad"},
		{fmt.Errorf("x: %w", auth.ErrSignInGone), exitAuth, "no longer valid"},
		{fmt.Errorf("x: %w", auth.ErrNotSignedIn), exitAuth, "not signed in"},
		{errNotSetUp, exitAuth, "no Athom Web API client"},
		{&ConfigError{Path: "/p/config.json", Err: errors.New("syntax error at byte 3")}, exitError, "/p/config.json"},
		{fmt.Errorf("get: %w", &homey.APIError{Op: "GET /user/me", StatusCode: 502}), exitError, "GET /user/me"},
		{errors.New("two\nlines"), exitError, "two"},
		{errSilentAuth, exitAuth, ""},
		{fmt.Errorf("fetch the account: GET /user/me: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}),
			exitError, "fetch the account: GET /user/me: the connection was reset"},
		{fmt.Errorf("x: refresh: %w", &url.Error{Op: "Post", URL: "http://h/oauth2/token", Err: context.DeadlineExceeded}),
			exitError, "x: refresh: no answer in time"},
	} {
		msg, _, code := explain(c.err, "homeytray")
		if code != c.code || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("explain(%v) = %q, %d; want %d and %q", c.err, msg, code, c.code, c.want)
		}
	}
}

// tokenLimit is a 429 of the token endpoint as auth reports it (status and headers by method).
type tokenLimit struct{ retryAfter string }

func (e tokenLimit) Error() string   { return "token endpoint: 429 too_many_requests" }
func (e tokenLimit) StatusCode() int { return 429 }
func (e tokenLimit) RetryHeader() http.Header {
	return http.Header{"Retry-After": {e.retryAfter}}
}

// TestExplainHints: the second line says what to do next, with the server's Retry-After, and
// promises to keep a sign-in only when there is one.
func TestExplainHints(t *testing.T) {
	for _, c := range []struct {
		err       error
		msg, hint string
	}{
		{fmt.Errorf("list the devices of Home: %w", &homey.APIError{Op: "GET /api/manager/devices/device", StatusCode: 429}),
			"the Homey is rate-limiting requests (GET /api/manager/devices/device: 429)", "Try again in a minute; the sign-in is kept."},
		{fmt.Errorf("fetch the account: %w", &homey.APIError{Op: "GET /user/me", StatusCode: 429}),
			"the Athom cloud is rate-limiting requests (GET /user/me: 429)", "Try again in a minute; the sign-in is kept."},
		{fmt.Errorf("refresh: %w", tokenLimit{"30"}), "the Athom cloud is rate-limiting requests (POST /oauth2/token: 429)",
			"Try again in 30 s; the sign-in is kept."},
		{fmt.Errorf("refresh: %w", tokenLimit{"300"}), "", "Try again in 5 min; the sign-in is kept."},
		{fmt.Errorf("%w: %w", errSigningIn, tokenLimit{"30"}), "", "Try again in 30 s."},
		{fmt.Errorf("%w: %w", errSigningIn, auth.ErrBadAnswer), "sign in: token endpoint", "The server had a problem; try again in a moment."},
		{fmt.Errorf("refresh: %w", auth.ErrBadAnswer), "", "The server had a problem; try again in a moment. The sign-in is kept."},
	} {
		msg, hint, code := explain(c.err, "homeytray")
		if code != exitError || !strings.Contains(msg, c.msg) || hint != c.hint {
			t.Errorf("explain(%v) = %q, %q, %d; want %q, %q, 1", c.err, msg, hint, code, c.msg, c.hint)
		}
	}
}

func TestConfigRoundTripAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.json")
	c, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c.ClientID, c.SelectedHomey = "abc", "h1"
	c.Homeys = []homey.Homey{{ID: "h1", Name: "Home"}, {ID: "h2", Name: "home"}}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config mode: %v %v", fi, err)
	}
	c2, err := loadConfig(path)
	if err != nil || c2.ClientID != "abc" || len(c2.Homeys) != 2 {
		t.Fatalf("reload: %v %+v", err, c2)
	}
	if _, err := c2.homey("HOME"); !errors.Is(err, errAmbiguousHomey) {
		t.Errorf("two Homeys named home: %v", err)
	}
	if h, err := c2.homey("h2"); err != nil || h.Name != "home" {
		t.Errorf("by id: %v", err)
	}
	if _, err := c2.homey("nope"); !errors.Is(err, errNoSuchHomey) {
		t.Errorf("unknown: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
	for _, bad := range []string{`{"client_id": 5}`, `{"client_id": "x"`, `{} {}`, "\x00"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfig(path)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("loadConfig(%q) = %v", bad, err)
		}
	}
}
