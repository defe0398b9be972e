//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/homeytray/homeytray/homey/emulator"
)

// Issue 12 with the real binary: a key made from the owner's sign-in, then the Homey on its LAN
// alone; api; run.

// breakCloudAndRelay makes the Athom cloud and every Homey's relay fail every request, and ends
// the cloud sign-in's Homey sessions: what still works works with the API key on the LAN.
func (e *testEnv) breakCloudAndRelay() {
	e.breakCloud()
	e.srv.SetFault(emulator.FaultRelay, emulator.Fault{Kind: emulator.Fault5xx})
	e.srv.RevokeSessions()
}

// TestCreateKeyThenLANOnly: `local add Home --create-key --scopes control`, then devices, token,
// api (GET, PUT, piped into jq) and run work with the cloud and the relay failing every request;
// local remove then says the key stays on the Homey (no sign-in works), and once the cloud is
// back a second key is deleted on the Homey by local remove.
func TestCreateKeyThenLANOnly(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	home := e.srv.Homeys()[0]
	e.removeLocalOnCleanup(t, home.ID)
	out := e.must("", "local", "add", "Home", "--create-key", "--scopes", "control")
	if !strings.Contains(out, "Added Home ("+home.ID+") at "+home.LocalURL) || !strings.Contains(out, "homey.device.control") {
		t.Errorf("local add --create-key said:\n%s", out)
	}
	if names := e.srv.APIKeyNames(home.ID); len(names) != 1 || !strings.HasPrefix(names[0], "homeytray on ") {
		t.Fatalf("keys on the Homey: %q", names)
	}
	var list []struct {
		localHomey
		KeyName    string `json:"key_name"`
		CreatedKey bool   `json:"created_key"`
	}
	if err := json.Unmarshal([]byte(e.must("", "local", "list", "--json")), &list); err != nil || len(list) != 1 || !list[0].CreatedKey || list[0].KeyName != e.srv.APIKeyNames(home.ID)[0] {
		t.Errorf("local list --json: %+v, %v", list, err)
	}

	e.breakCloudAndRelay()
	e.srv.ResetCounts()
	devices := e.must("", "devices", "--homey", "Home")
	for _, n := range e.srv.DeviceNames(home.ID) {
		if !strings.Contains(devices, n) {
			t.Errorf("devices lacks %q", n)
		}
	}
	tok := strings.TrimSpace(e.must("", "token", "--homey", "Home"))
	if tok == "" {
		t.Fatal("token printed nothing")
	}
	e.secrets = append(e.secrets, tok) // from here on no output but token's may hold it
	lamp := "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	e.must("", "api", "--homey", "Home", "-X", "PUT", "devices/device/"+lamp+"/capability/onoff", "-F", "value=false")
	if r := e.run("", "api", "--homey", "Home", "devices/device/"+lamp); !strings.Contains(r.stdout, `"value":false`) {
		t.Errorf("the lamp after PUT onoff=false: exit %d\n%s", r.code, r.stdout)
	}
	// The issue's own check: api piped into jq counts the emulator's devices.
	pipe := exec.Command("sh", "-c", `"$0" api --homey Home /api/manager/devices/device | jq 'keys|length'`, binary)
	pipe.Env = e.vars
	r := execResult(t, pipe, "")
	if n, err := strconv.Atoi(strings.TrimSpace(r.stdout)); err != nil || n != len(e.srv.DeviceNames(home.ID)) {
		t.Errorf("api | jq 'keys|length' = %q (exit %d, %s), want %d", r.stdout, r.code, r.stderr, len(e.srv.DeviceNames(home.ID)))
	}
	e.checkResult([]string{"api"}, r)
	got := e.must("", "run", "--homey", "Home", "--", "sh", "-c", `test "$HOMEY_TOKEN" = "$1" && echo "$HOMEY_URL $HOMEY_ID"`, "sh", tok)
	if got != home.LocalURL+" "+home.ID+"\n" {
		t.Errorf("run saw %q", got)
	}
	if n := e.srv.CountVia(home.ID, emulator.ViaRelay, "*") + e.cloudCalls(); n != 0 {
		t.Errorf("%d requests went to the relay or the cloud", n)
	}

	// No sign-in works now: the key stays on the Homey, and local remove says where to delete it.
	out = e.must("", "local", "remove", "Home")
	if !strings.Contains(out, "stays on the Homey") || !strings.Contains(out, "Settings → API keys") || len(e.srv.APIKeyNames(home.ID)) != 1 {
		t.Errorf("local remove without a sign-in: %q, keys %q", out, e.srv.APIKeyNames(home.ID))
	}

	e.srv.ClearFaults()
	e.loginHTTP()
	e.must("", "local", "add", "Home", "--create-key")
	out = e.must("", "local", "remove", "Home")
	if !strings.Contains(out, "is deleted from Home") || len(e.srv.APIKeyNames(home.ID)) != 1 {
		t.Errorf("local remove: %q, keys left %q (want only the first one)", out, e.srv.APIKeyNames(home.ID))
	}
}

// TestRunSignals: SIGTERM and SIGINT sent to homeytray reach the command, which decides (here:
// exits 7 and 8); a command killed by a signal gives 128+N.
func TestRunSignals(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	for _, c := range []struct {
		sig  syscall.Signal
		trap string
		code int
	}{
		{syscall.SIGTERM, `trap 'echo got TERM; exit 7' TERM`, 7},
		{syscall.SIGINT, `trap 'echo got INT; exit 8' INT`, 8},
		{syscall.SIGTERM, `:`, 128 + int(syscall.SIGTERM)}, // no trap: the signal ends it
	} {
		ready := filepath.Join(t.TempDir(), "ready")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, binary, "run", "--", "sh", "-c", c.trap+`; echo > "$1"; while :; do sleep 0.05; done`, "sh", ready)
		cmd.Env = e.vars
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(30*time.Second, func() bool { _, err := os.Stat(ready); return err == nil }) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the command of run did not start: %s", errOut.String())
		}
		if err := cmd.Process.Signal(c.sig); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		cancel()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || c.trap != ":" && !strings.Contains(out.String(), "got ") {
			t.Errorf("%v to run: exit %d (want %d), stdout %q", c.sig, code, c.code, out.String())
		}
	}
}
