package emulator

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/officialjs"
)

// TestConformanceRealtime runs the realtime side of Athom's official JS client (npm homey-api)
// against the emulator: makeCapabilityInstance('onoff') and the devices manager's
// device.update receive every value set through HTTP, in order; setValue goes through the
// socket's api event, the capability instance skips its own change and device.update reports
// it; after the Homey's sessions expire
// mid-stream the client is disconnected, signs in to the Homey again, subscribes again and
// receives the next change. If the official client cannot use the emulator's realtime API,
// the emulator is wrong.
func TestConformanceRealtime(t *testing.T) {
	node, modules := officialjs.Install(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := NewServer(t, Options{})
	h := s.Homeys()[0]
	const lamp = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "realtime.js"))
	cmd.Env = append(os.Environ(),
		"HOMEY_API_DIR="+modules,
		"ATHOM_CLOUD_API_BASEURL="+s.URL(),
		"EMU_CLIENT_ID="+s.ClientID(),
		"EMU_CLIENT_SECRET="+s.ClientSecret(),
		"EMU_REDIRECT_URI="+s.RedirectURI(),
		"EMU_DEVICE="+lamp,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stdout)
	next := func(key string, v any) {
		t.Helper()
		if !lines.Scan() {
			_ = cmd.Wait()
			t.Fatalf("realtime.js ended before %q: %s", key, redact(stderr.String(), s.ClientSecret()))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil || m[key] == nil {
			t.Fatalf("realtime.js printed %q; want %q", lines.Text(), key)
		}
		if err := json.Unmarshal(m[key], v); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}

	var ready struct {
		Connected      bool
		Sent, Received []bool
		Updates        []bool
		SetValue       struct{ Value, HTTP bool }
	}
	next("ready", &ready)
	if !ready.Connected || len(ready.Sent) != 3 {
		t.Fatalf("ready = %+v", ready)
	}
	if !slices.Equal(ready.Received, ready.Sent) {
		t.Errorf("makeCapabilityInstance received %v; want %v (the values set through HTTP, in order)", ready.Received, ready.Sent)
	}
	if want := append(slices.Clone(ready.Sent), !ready.Sent[0]); !slices.Equal(ready.Updates, want) {
		t.Errorf("device.update carried onoff %v; want %v (set through HTTP, then through the socket)", ready.Updates, want)
	}
	if ready.SetValue.Value != !ready.Sent[0] || ready.SetValue.HTTP != !ready.Sent[0] {
		t.Errorf("setValue through the socket: %+v; want %v", ready.SetValue, !ready.Sent[0])
	}
	for _, ev := range []string{"IO handshakeClient", "IO subscribe", "IO api"} {
		if s.Count(ev) == 0 {
			t.Errorf("the official client never emitted %s", strings.TrimPrefix(ev, "IO "))
		}
	}

	logins := s.Count("POST /api/manager/users/login")
	s.ExpireSessions()
	deadline := time.Now().Add(60 * time.Second)
	for s.RealtimeSubscribers(h.ID, "homey:device:"+lamp) != 1 || s.Count("POST /api/manager/users/login") == logins {
		if time.Now().After(deadline) {
			t.Fatalf("the official client did not subscribe again after the sessions expired (%d sign-ins before, %d now)",
				logins, s.Count("POST /api/manager/users/login"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := stdin.Write([]byte("continue\n")); err != nil {
		t.Fatal(err)
	}
	var done struct {
		Received       []bool
		SessionChanged bool
		Connected      bool
	}
	next("done", &done)
	if len(done.Received) != 1 || done.Received[0] != !ready.Sent[1] || !done.SessionChanged || !done.Connected {
		t.Errorf("after the expiry: %+v; want one value, %v, on a new session", done, !ready.Sent[1])
	}
	if n := s.Count("IO handshakeClient 401"); n != 1 {
		t.Errorf("%d handshakes refused; want 1 (the expired session, once)", n)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("realtime.js: %v\n%s", err, redact(stderr.String(), s.ClientSecret()))
	}
}
