//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey/emulator"
)

// Local Homeys: a Homey Pro reached with an API key, no Athom cloud (local.go).

var allScopes = []string{"homey.device.readonly", "homey.device.control", "homey.zone.readonly"}

// cloudRoutes are every route of the emulated Athom cloud: faulting all of them is "the cloud
// fails every request" while the Homeys keep answering ("*" would fault the Homeys too).
var cloudRoutes = []string{"GET /oauth2/authorise", "POST /oauth2/token", "GET /user/me", "POST /delegation/token", "GET /delegation/key"}

func (e *testEnv) breakCloud() {
	for _, r := range cloudRoutes {
		e.srv.SetFault(r, emulator.Fault{Kind: emulator.Fault5xx})
	}
}

func (e *testEnv) cloudCalls() int {
	n := 0
	for _, r := range cloudRoutes {
		n += e.srv.Count(r)
	}
	return n
}

// deadCloud points the binary at an Athom cloud that answers 500 to everything and counts.
func (e *testEnv) deadCloud(t *testing.T) *atomic.Int64 {
	var hits atomic.Int64
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"server_error","error_description":"the cloud is down"}`))
	}))
	t.Cleanup(dead.Close)
	e.setenv("ATHOM_CLOUD_API_BASEURL=" + dead.URL)
	return &hits
}

// localURL is the address of a Homey on the "LAN": the emulator's local listener.
func localURL(t *testing.T, h emulator.HomeyInfo) string {
	t.Helper()
	if h.LocalURL == "" {
		t.Fatalf("the emulator has no local listener for %s", h.Name)
	}
	return h.LocalURL
}

// removeLocalOnCleanup keeps the shared test keyring clean (logout keeps API keys).
func (e *testEnv) removeLocalOnCleanup(t *testing.T, homeyID string) {
	t.Cleanup(func() {
		e.run("", "local", "remove", homeyID)
		if _, err := e.keyring().Get("apikey:" + homeyID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("the API key of %s is still in the keychain: %v", homeyID, err)
		}
	})
}

func (e *testEnv) readConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.configDir(), "config.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// TestLocalHomeyWithoutCloud: add with a good key, then list, homeys, use, token, devices and
// status work with no Athom sign-in and a cloud that fails every request (it is never asked);
// remove deletes the key.
func TestLocalHomeyWithoutCloud(t *testing.T) {
	e := newTestEnv(t, false)
	hits := e.deadCloud(t)
	h := e.srv.Homeys()[1]
	addr := localURL(t, h)
	key := e.srv.AddAPIKey(h.ID, allScopes)
	e.removeLocalOnCleanup(t, h.ID)

	out := e.must(key+"\n", "local", "add", "--address", addr+"/", "--name", "Shed")
	if !strings.Contains(out, "Added Shed ("+h.ID+") at "+addr) {
		t.Errorf("local add said: %s", out)
	}
	if got, err := e.keyring().Get("apikey:" + h.ID); err != nil || got != key {
		t.Fatalf("the keychain item apikey:%s: %v (holds the key: %v)", h.ID, err, got == key)
	}
	if cfg := e.readConfig(t); strings.Contains(cfg, key) || !strings.Contains(cfg, addr) {
		t.Errorf("config.json must hold the address and never the key")
	}

	list := e.must("", "local", "list")
	for _, want := range []string{"Shed", addr, h.ID} {
		if !strings.Contains(list, want) {
			t.Errorf("local list lacks %q:\n%s", want, list)
		}
	}
	var js []localHomey
	if err := json.Unmarshal([]byte(e.must("", "local", "list", "--json")), &js); err != nil || len(js) != 1 || js[0] != (localHomey{h.ID, "Shed", addr}) {
		t.Errorf("local list --json = %+v, %v", js, err)
	}

	if out := e.run("", "homeys"); out.code != 0 || !strings.Contains(out.stdout, "Shed") || !strings.Contains(out.stdout, "API key") {
		t.Errorf("homeys without a sign-in: exit %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	e.must("", "use", "shed")

	if got := strings.TrimSpace(e.must("", "token")); got != key {
		t.Errorf("token did not print the API key")
	}
	var tj struct {
		Token, HomeyID, BaseURL string
		ExpiresAt               *time.Time
	}
	if err := json.Unmarshal([]byte(e.must("", "token", "--format", "json", "--homey", h.ID)), &struct {
		Token     *string     `json:"token"`
		HomeyID   *string     `json:"homey_id"`
		BaseURL   *string     `json:"base_url"`
		ExpiresAt **time.Time `json:"expires_at"`
	}{&tj.Token, &tj.HomeyID, &tj.BaseURL, &tj.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	if tj.Token != key || tj.HomeyID != h.ID || tj.BaseURL != addr || tj.ExpiresAt != nil {
		t.Errorf("token --format json: homey %s base %s expiry %v", tj.HomeyID, tj.BaseURL, tj.ExpiresAt)
	}

	e.srv.ResetCounts()
	devices := e.must("", "devices")
	for _, name := range e.srv.DeviceNames(h.ID) {
		if !strings.Contains(devices, name) {
			t.Errorf("devices lacks %q:\n%s", name, devices)
		}
	}
	if n := e.srv.CountVia(h.ID, emulator.ViaLocal, "GET /api/manager/devices/device"); n != 1 {
		t.Errorf("devices reached the local listener %d times, want 1", n)
	}
	if n := e.srv.CountVia(h.ID, emulator.ViaLocal, "GET /api/manager/system/ping"); n != 1 {
		t.Errorf("devices pinged %d times before sending the key, want 1", n)
	}
	if n := e.srv.CountVia(h.ID, emulator.ViaRelay, "*"); n != 0 {
		t.Errorf("devices went through the relay %d times", n)
	}

	st := e.run("", "status", "--json")
	var s statusReport
	if err := json.Unmarshal([]byte(st.stdout), &s); err != nil || st.code != 0 {
		t.Fatalf("status: exit %d, %v\n%s", st.code, err, st.stderr)
	}
	if s.SignedIn || s.SelectedAccess != "api_key" || len(s.LocalHomeys) != 1 || !s.LocalHomeys[0].KeyStored || s.LocalHomeys[0].Address != addr {
		t.Errorf("status --json: %+v", s)
	}
	if out := e.must("", "status"); !strings.Contains(out, "with its API key") || !strings.Contains(out, "Local Homey:") {
		t.Errorf("status:\n%s", out)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the dead cloud was asked %d times; an API-key Homey needs no cloud", n)
	}

	out = e.must("", "local", "remove", "Shed")
	if !strings.Contains(out, "Removed Shed") {
		t.Errorf("local remove said: %s", out)
	}
	if _, err := e.keyring().Get("apikey:" + h.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the API key is still in the keychain after remove: %v", err)
	}
	if out := e.must("", "local", "list"); !strings.Contains(out, "No local Homeys") {
		t.Errorf("local list after remove:\n%s", out)
	}
	if r := e.run("", "token", "--homey", "Shed"); r.code == 0 {
		t.Errorf("token for a removed Homey worked")
	}
}

// TestLocalKeyWinsOverCloud: signed in, with an API key for a Homey of the account: the key is
// used (no delegation, no Homey login), also with every cloud route failing and the access token
// expired; the other Homey still goes through the cloud and fails with one line.
func TestLocalKeyWinsOverCloud(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	home := e.srv.Homeys()[0]
	key := e.srv.AddAPIKey(home.ID, allScopes)
	e.removeLocalOnCleanup(t, home.ID)
	e.must(key+"\n", "local", "add", "--address", localURL(t, home))

	e.srv.ExpireAccessTokens()
	e.breakCloud()
	e.srv.ResetCounts()
	if got := strings.TrimSpace(e.must("", "token", "--homey", "Home")); got != key {
		t.Errorf("token --homey Home did not print the API key")
	}
	e.must("", "devices", "--homey", "Home")
	if n := e.cloudCalls(); n != 0 {
		t.Errorf("the cloud was asked %d times for an API-key Homey", n)
	}
	if n := e.srv.Count("POST /api/manager/users/login"); n != 0 {
		t.Errorf("a Homey login happened (%d) although the key wins", n)
	}
	st := e.run("", "status", "--json")
	var s statusReport
	if err := json.Unmarshal([]byte(st.stdout), &s); err != nil || s.SelectedAccess != "api_key" || !s.SignedIn {
		t.Errorf("status --json: %v %+v", err, s)
	}
	if r := e.run("", "homeys"); r.code != 0 || !strings.Contains(r.stdout, "API key, "+home.LocalURL) || !strings.Contains(r.stdout, "Cabin") {
		t.Errorf("homeys with the cloud down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := e.run("", "token", "--homey", "Cabin")
	if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("token for the cloud Homey with the cloud down: exit %d %q", r.code, r.stderr)
	}
}

// TestLocalAddRefused: every bad input is one line naming the address, and nothing is stored.
func TestLocalAddRefused(t *testing.T) {
	e := newTestEnv(t, false)
	h := e.srv.Homeys()[0]
	addr := localURL(t, h)
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	cases := []struct {
		name, key, addr string
		want            []string
	}{
		{"WrongKey", "not-a-key-" + randomHex(t, 8), addr, []string{addr, "refused this API key"}},
		{"NotAHomey", e.srv.AddAPIKey(h.ID, allScopes), e.srv.URL(), []string{e.srv.URL(), "is not a Homey"}},
		{"NothingAnswers", e.srv.AddAPIKey(h.ID, allScopes), closedURL, []string{closedURL, "nothing answers", "connection refused"}},
		{"NoScopes", e.srv.AddAPIKey(h.ID, nil), addr, []string{addr, "may not view devices", "homey.device.readonly"}},
		{"TLSToBareIP", e.srv.AddAPIKey(h.ID, allScopes), tlsSrv.URL, []string{tlsSrv.URL, "certificate", "homey.homeylocal.com", "http://127.0.0.1"}},
		// The test server's certificate names example.com and 127.0.0.1, not localhost.
		{"TLSNameMismatch", e.srv.AddAPIKey(h.ID, allScopes), strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1),
			[]string{strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1), "certificate", "not valid for that address", "homeylocal.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.run(c.key+"\n", "local", "add", "--address", c.addr)
			t.Logf("%s", strings.TrimSpace(r.stderr))
			if r.code != exitError {
				t.Errorf("exit %d, want 1: %q", r.code, r.stderr)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
				t.Errorf("not one line: %q", r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %q", w, r.stderr)
				}
			}
			if _, err := e.keyring().Get("apikey:" + h.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("a refused key was stored (%v)", err)
			}
			if strings.Contains(e.readConfig(t), "local_homeys") {
				t.Errorf("a refused Homey is in the config")
			}
		})
	}
	for _, args := range [][]string{{"local"}, {"local", "add"}, {"local", "add", "--address", "ftp://x"}, {"local", "frob"}, {"local", "remove"}} {
		if r := e.run("k\n", args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (%q)", args, r.code, r.stderr)
		}
	}
	if r := e.run("", "local", "add", "--address", addr); r.code != exitUsage || !strings.Contains(r.stderr, "no API key") {
		t.Errorf("no key on stdin: exit %d %q", r.code, r.stderr)
	}
}

// TestLocalHomeyAtWrongAddress: the address now answers as another Homey: devices says so in one
// line and never sends the key there; a key that lost its scopes gets the Homey's 403 as one line.
func TestLocalHomeyAtWrongAddress(t *testing.T) {
	e := newTestEnv(t, false)
	e.deadCloud(t)
	h := e.srv.Homeys()[0]
	addr := localURL(t, h)
	e.removeLocalOnCleanup(t, h.ID)
	e.must(e.srv.AddAPIKey(h.ID, allScopes)+"\n", "local", "add", "--address", addr)

	e.srv.SetWrongID(h.ID, true)
	e.srv.ResetCounts()
	r := e.run("", "devices")
	if r.code != exitError || !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "another Homey") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("devices at an address that is another Homey: exit %d %q", r.code, r.stderr)
	}
	if n := e.srv.CountVia(h.ID, emulator.ViaLocal, "*") - e.srv.CountVia(h.ID, emulator.ViaLocal, "GET /api/manager/system/ping"); n != 0 {
		t.Errorf("%d requests besides the ping went to the impostor", n)
	}
	e.srv.SetWrongID(h.ID, false)
	e.must("", "devices")

	// Not on the Homey's network: one line with the address and what to check.
	e.srv.StopLocal(h.ID)
	r = e.run("", "devices")
	if r.code != exitError || !strings.Contains(r.stderr, "nothing answers at "+addr) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("devices with the Homey unreachable: exit %d %q", r.code, r.stderr)
	}
	if got := strings.TrimSpace(e.must("", "token")); got == "" {
		t.Errorf("token needs no network for an API-key Homey")
	}
	if err := e.srv.StartLocal(h.ID); err != nil {
		t.Fatal(err)
	}

	// A key without the devices scope (deleted and re-created with fewer permissions, say).
	if err := e.keyring().Set("apikey:"+h.ID, e.srv.AddAPIKey(h.ID, []string{"homey.zone.readonly"})); err != nil {
		t.Fatal(err)
	}
	r = e.run("", "devices")
	if r.code != exitError || !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "403") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("devices with a key without scopes: exit %d %q", r.code, r.stderr)
	}
	// A revoked key.
	if err := e.keyring().Set("apikey:"+h.ID, "revoked-"+randomHex(t, 8)); err != nil {
		t.Fatal(err)
	}
	r = e.run("", "devices")
	if r.code != exitError || !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "refused its API key") {
		t.Errorf("devices with a revoked key: exit %d %q", r.code, r.stderr)
	}
}

// TestTrayLocalHomey: the tray's Homeys menu lists the API-key Homey; selected, the click copies
// its key and the Devices menu lists its devices, with every cloud route failing.
func TestTrayLocalHomey(t *testing.T) {
	requireTrayDesktop(t)
	e := newTestEnv(t, false)
	e.loginHTTP()
	cabin := e.srv.Homeys()[1]
	key := e.srv.AddAPIKey(cabin.ID, allScopes)
	e.removeLocalOnCleanup(t, cabin.ID)
	e.must(key+"\n", "local", "add", "--address", localURL(t, cabin))
	e.must("", "use", "Cabin")
	e.breakCloud()
	e.srv.ResetCounts()

	p := e.startTray(t)
	c := p.client
	c.waitStatus(10*time.Second, "Signed in as")
	m := c.waitMenu(10*time.Second, "Cabin (API key) in the Homeys menu", func(m *menuItem) bool {
		hs := m.find("Homeys")
		return hs != nil && hs.find("Cabin (API key)") != nil && hs.findHomey("Home") != nil
	})
	if it := m.find("Homeys").find("Cabin (API key)"); it.ToggleState != 1 {
		t.Errorf("Cabin (API key) is not the ticked Homey:\n%s", m.find("Homeys"))
	}
	bearer, _ := copyBearer(t, func() {
		if err := c.activate(); err != nil {
			t.Fatal(err)
		}
	})
	if bearer != key {
		t.Errorf("the click copied something else than Cabin's API key")
	}
	checkDevices(t, e, c, emulatedHomey{cabin.ID, cabin.Name, cabin.LocalURL}, key)
	if got := strings.TrimSpace(e.must("", "token")); got != key {
		t.Errorf("token through the tray did not print the API key")
	}
	if n := e.cloudCalls(); n != 0 {
		t.Errorf("the tray asked the failing cloud %d times", n)
	}

	// A key added on the command line shows in the running tray's menu.
	home := e.srv.Homeys()[0]
	e.removeLocalOnCleanup(t, home.ID)
	e.must(e.srv.AddAPIKey(home.ID, allScopes)+"\n", "local", "add", "--address", localURL(t, home))
	c.waitMenu(10*time.Second, "Home (API key) in the Homeys menu", func(m *menuItem) bool {
		hs := m.find("Homeys")
		return hs != nil && hs.find("Home (API key)") != nil
	})
}
