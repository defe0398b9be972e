package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/homeytray/homeytray/homey/emulator"
)

// signedIn is a user who ran setup and login against the emulator.
func signedIn(t *testing.T) *user {
	t.Helper()
	u := newUser(t)
	if _, stderr, code := u.run(u.srv.ClientSecret()+"\n", "setup", "--client-id", u.srv.ClientID(),
		"--redirect-uri", u.srv.RedirectURI()); code != exitOK {
		t.Fatalf("setup: exit %d, %s", code, stderr)
	}
	if _, stderr, code := u.run("", "login"); code != exitOK {
		t.Fatalf("login: exit %d, %s", code, stderr)
	}
	return u
}

// must runs a command that has to succeed and returns its stdout.
func (u *user) must(stdin string, argv ...string) string {
	u.t.Helper()
	out, stderr, code := u.run(stdin, argv...)
	if code != exitOK {
		u.t.Fatalf("%v: exit %d\n%s", argv, code, stderr)
	}
	return out
}

// noSecret fails when text holds a secret the emulator handed out.
func (u *user) noSecret(what, text string) {
	u.t.Helper()
	for _, s := range u.srv.IssuedSecrets() {
		if s != "" && strings.Contains(text, s) {
			u.t.Errorf("%s printed a secret", what)
		}
	}
}

// TestCreateKeyWorksWithoutCloud: `local add Home --create-key` makes a key on the Homey with
// the default scopes, never prints it, and then devices, token, api and run work on the LAN with
// the Athom cloud and the relay failing every request and the cloud sign-in's Homey sessions
// revoked; local remove deletes the key on the Homey.
func TestCreateKeyWorksWithoutCloud(t *testing.T) {
	u := signedIn(t)
	home := u.srv.Homeys()[0]
	out, stderr, code := u.run("", "local", "add", "Home", "--create-key")
	if code != exitOK || !strings.Contains(out, "Added Home ("+home.ID+") at "+home.LocalURL) {
		t.Fatalf("local add --create-key: exit %d\n%s%s", code, out, stderr)
	}
	u.noSecret("local add --create-key", out+stderr)
	if got, want := u.srv.APIKeyNames(home.ID), []string{keyName()}; !slices.Equal(got, want) {
		t.Errorf("keys on the Homey: %q, want %q", got, want)
	}
	if list := u.must("", "local", "list"); !strings.Contains(list, "made by homeytray") || !strings.Contains(list, keyName()) {
		t.Errorf("local list:\n%s", list)
	}
	var js []struct {
		ID         string `json:"id"`
		KeyID      string `json:"key_id"`
		CreatedKey bool   `json:"created_key"`
	}
	if err := json.Unmarshal([]byte(u.must("", "local", "list", "--json")), &js); err != nil || len(js) != 1 || !js[0].CreatedKey || js[0].KeyID == "" {
		t.Errorf("local list --json: %+v, %v", js, err)
	}

	u.srv.SetFault(emulator.FaultCloud, emulator.Fault{Kind: emulator.Fault5xx})
	u.srv.SetFault(emulator.FaultRelay, emulator.Fault{Kind: emulator.Fault5xx})
	u.srv.RevokeSessions()
	u.srv.ResetCounts()
	devices := u.must("", "devices", "--homey", "Home")
	for _, n := range u.srv.DeviceNames(home.ID) {
		if !strings.Contains(devices, n) {
			t.Errorf("devices lacks %q", n)
		}
	}
	tok := strings.TrimSpace(u.must("", "token", "--homey", "Home"))
	if !slices.Contains(u.srv.IssuedSecrets(), tok) {
		t.Errorf("token did not print the key the Homey made")
	}
	var me struct{ Type string }
	if err := json.Unmarshal([]byte(u.must("", "api", "--homey", "Home", "sessions/session/me")), &me); err != nil || me.Type != "PAT" {
		t.Errorf("api sessions/session/me: %+v, %v", me, err)
	}
	var list map[string]any
	if err := json.Unmarshal([]byte(u.must("", "api", "--homey", "Home", "/api/manager/devices/device")), &list); err != nil || len(list) != len(u.srv.DeviceNames(home.ID)) {
		t.Errorf("api devices: %d devices, %v", len(list), err)
	}
	if runtime.GOOS != "windows" { // a shell to print the environment (e2e runs the same on Linux)
		got := u.must("", "run", "--homey", "Home", "--", "sh", "-c", `test "$HOMEY_TOKEN" = "$1" && echo "$HOMEY_URL $HOMEY_ID"`, "sh", tok)
		if got != home.LocalURL+" "+home.ID+"\n" {
			t.Errorf("run saw %q", got)
		}
	}
	if n := u.srv.CountVia(home.ID, emulator.ViaRelay, "*"); n != 0 {
		t.Errorf("%d requests went to the relay", n)
	}
	if n := u.srv.Count("POST /delegation/token") + u.srv.Count("GET /user/me") + u.srv.Count("POST /oauth2/token"); n != 0 {
		t.Errorf("%d requests went to the cloud", n)
	}

	u.srv.ClearFaults()
	out = u.must("", "local", "remove", "Home")
	if !strings.Contains(out, "is deleted from Home") || len(u.srv.APIKeyNames(home.ID)) != 0 {
		t.Errorf("local remove: %q; keys left on the Homey: %q", out, u.srv.APIKeyNames(home.ID))
	}
}

// TestCreateKeyRefusals: each refusal is one line, and an unknown scope costs no request.
func TestCreateKeyRefusals(t *testing.T) {
	u := signedIn(t)
	home, cabin := u.srv.Homeys()[0], u.srv.Homeys()[1]
	refused := func(wantCode int, want string, argv ...string) {
		t.Helper()
		out, stderr, code := u.run("", argv...)
		if code != wantCode || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d (want %d)\n%s%s(want %q)", argv, code, wantCode, out, stderr, want)
		}
		u.noSecret(strings.Join(argv, " "), out+stderr)
	}
	u.srv.ResetCounts()
	refused(exitUsage, `unknown scope "homey.bogus"`, "local", "add", "Home", "--create-key", "--scopes", "homey.bogus,homey.device.readonly")
	refused(exitUsage, "must let the key view devices", "local", "add", "Home", "--create-key", "--scopes", "homey.zone.readonly")
	if n := u.srv.Count("*"); n != 0 {
		t.Errorf("a refused --scopes made %d requests", n)
	}
	u.srv.SetOwner(home.ID, false)
	refused(exitError, "only the owner of Home", "local", "add", "Home", "--create-key")
	u.srv.SetOwner(home.ID, true)
	if err := u.srv.SetVariant(cabin.ID, emulator.Variant{APIVersion: 2}); err != nil {
		t.Fatal(err)
	}
	u.must("", "homeys")
	refused(exitError, "Homey Pro 2019", "local", "add", "Cabin", "--create-key")
	if err := u.srv.SetVariant(cabin.ID, emulator.Variant{Platform: "cloud"}); err != nil {
		t.Fatal(err)
	}
	u.must("", "homeys")
	refused(exitError, "Homey Cloud", "local", "add", "Cabin", "--create-key")
	if n := u.srv.Count("POST /api/manager/users/pat"); n != 1 {
		t.Errorf("POST users/pat was made %d times, want 1 (the owner refusal)", n)
	}
	// A key's session cannot make keys: the Homey says 403 Invalid Session Type.
	key := u.srv.AddAPIKey(home.ID, []string{"homey"})
	u.must(key+"\n", "local", "add", "--address", home.LocalURL, "--name", "Keyed")
	refused(exitError, "Invalid Session Type", "api", "--homey", "Keyed", "users/pat", "-f", "name=x", "-F", "scopes[]=homey")
	refused(exitError, "no Homey of this account is called", "local", "add", "--create-key", "Nowhere")
	if len(u.srv.APIKeyNames(home.ID)) != 0 {
		t.Errorf("refusals left keys on the Homey: %q", u.srv.APIKeyNames(home.ID))
	}
	refused(exitUsage, "--scopes goes with --create-key", "local", "add", "--address", home.LocalURL, "--scopes", "full")
}

// TestAPI: GET, PUT and POST with -F, -f and --input; 401 signs in again once; 404 and 403 exit
// 1 with the Homey's error on one line (and the answer with --include); a POST is not sent again
// after a broken connection, a GET is.
func TestAPI(t *testing.T) {
	u := signedIn(t)
	home := u.srv.Homeys()[0]
	lamp := "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	u.must("", "api", "-X", "PUT", "devices/device/"+lamp+"/capability/onoff", "-F", "value=false")
	var d struct {
		CapabilitiesObj map[string]struct{ Value any } `json:"capabilitiesObj"`
	}
	if err := json.Unmarshal([]byte(u.must("", "api", "/api/manager/devices/device/"+lamp)), &d); err != nil || d.CapabilitiesObj["onoff"].Value != false {
		t.Errorf("after PUT onoff=false the lamp is %v (%v)", d.CapabilitiesObj["onoff"].Value, err)
	}
	u.must("", "api", "-X", "PUT", "devices/device/"+lamp+"/capability/dim", "-F", "value=0.25")

	out := u.must("", "api", "users/pat", "-f", "name=script", "-F", "scopes[]=homey.device.readonly")
	var made struct{ ID, Token string }
	if err := json.Unmarshal([]byte(out), &made); err != nil || made.ID == "" || made.Token == "" {
		t.Errorf("api POST users/pat: %v", err)
	}
	file := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(file, []byte(`{"name":"from a file","scopes":["homey.zone.readonly"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	u.must("", "api", "users/pat", "--input", file)
	u.must(`{"name":"from stdin","scopes":["homey"]}`, "api", "-X", "POST", "users/pat", "--input", "-")
	if got := u.srv.APIKeyNames(home.ID); !slices.Equal(got, []string{"from a file", "from stdin", "script"}) {
		t.Errorf("keys made through api: %q", got)
	}

	u.srv.RevokeSessions()
	u.srv.ResetCounts()
	u.must("", "api", "devices/device")
	if n := u.srv.Count("POST /api/manager/users/login"); n != 1 {
		t.Errorf("after a 401 api signed in %d times, want 1", n)
	}

	out, stderr, code := u.run("", "api", "devices/device/nope")
	if code != exitError || out != "" || !strings.Contains(stderr, "404 Device Not Found") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("api 404: exit %d, %q %q", code, out, stderr)
	}
	out, _, code = u.run("", "api", "--include", "devices/device/nope")
	if code != exitError || !strings.HasPrefix(out, "HTTP/1.1 404 Not Found\n") || !strings.Contains(out, "X-Homey-Id: "+home.ID) || !strings.Contains(out, `"error":"Device Not Found"`) {
		t.Errorf("api --include 404: exit %d\n%s", code, out)
	}
	key := u.srv.AddAPIKey(home.ID, []string{"homey.device.readonly"})
	u.must(key+"\n", "local", "add", "--address", home.LocalURL, "--name", "Keyed")
	if _, stderr, code := u.run("", "api", "--homey", "Keyed", "-X", "PUT", "devices/device/"+lamp+"/capability/onoff", "-F", "value=true"); code != exitError || !strings.Contains(stderr, "403 Missing Scopes") {
		t.Errorf("api 403: exit %d, %q", code, stderr)
	}
	u.must("", "local", "remove", "Keyed")

	u.srv.ResetCounts()
	u.srv.SetFault("POST /api/manager/users/pat", emulator.Fault{Kind: emulator.FaultReset, Times: 1})
	if _, _, code := u.run("", "api", "users/pat", "-f", "name=once", "-F", "scopes[]=homey"); code != exitError {
		t.Errorf("api POST on a reset connection: exit %d, want 1", code)
	}
	if n := u.srv.Count("POST /api/manager/users/pat"); n != 1 {
		t.Errorf("a POST whose connection broke was sent %d times, want 1", n)
	}
	u.srv.SetFault("GET /api/manager/zones/zone", emulator.Fault{Kind: emulator.FaultReset, Times: 1})
	u.must("", "api", "zones/zone")
	if n := u.srv.Count("GET /api/manager/zones/zone"); n != 2 {
		t.Errorf("a GET whose connection broke was sent %d times, want 2", n)
	}
	for _, argv := range [][]string{{"api"}, {"api", "a", "b"}, {"api", "x", "--input", file, "-F", "a=1"}, {"api", "-F", "novalue", "x"}} {
		if _, _, code := u.run("", argv...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", argv, code)
		}
	}
}

func TestAPIFields(t *testing.T) {
	a := quietFactory(strings.NewReader("from stdin"))
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("file text"), 0o600); err != nil {
		t.Fatal(err)
	}
	body, err := buildFields(a, []string{"b=true", "f=false", "n=null", "i=42", "x=1.5", "s=hello", "file=@" + file, "in=@-", "l[]=1", "l[]=two", "nan=NaN"}, []string{"r=true"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(body)
	want := `{"b":true,"f":false,"file":"file text","i":42,"in":"from stdin","l":[1,"two"],"n":null,"nan":"NaN","r":"true","s":"hello","x":1.5}`
	if string(got) != want {
		t.Errorf("fields = %s\nwant     %s", got, want)
	}
	for p, want := range map[string]string{"devices/device": "/api/manager/devices/device", "/zones/zone": "/api/manager/zones/zone", "/api/app/x": "/api/app/x"} {
		if got := apiPath(p); got != want {
			t.Errorf("apiPath(%q) = %q, want %q", p, got, want)
		}
	}
}
