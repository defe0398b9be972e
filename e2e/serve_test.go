//go:build linux

package e2e

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/ipc"
)

// serveProc is one running `homeytray serve`: the headless face, no tray host needed.
type serveProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer // stdout and stderr
	done chan struct{}
	err  error // Wait's, once done is closed
}

// startServe runs `homeytray serve` with e's variables; the test's clean-up ends it.
func (e *testEnv) startServe(t *testing.T) *serveProc {
	t.Helper()
	p := &serveProc{out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, "serve")
	p.cmd.Env = slices.Clip(e.vars)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		e.checkNoSecret([]string{"serve"}, "stderr", p.out.String())
		if t.Failed() {
			t.Logf("serve output:\n%s", p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM (as systemd does) and returns the exit code.
func (p *serveProc) stop(t *testing.T) int {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("serve did not end within 5 s of SIGTERM")
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// ping asks the script socket of e's user which process answers it.
func (e *testEnv) ping(t *testing.T) (int, error) {
	t.Helper()
	path, err := ipc.SocketPath(e.appName())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	a, err := ipc.Ask(ctx, path, ipc.Request{Op: ipc.OpPing})
	return a.PID, err
}

// TestServe: `homeytray serve` keeps the sign-in fresh with no tray icon and answers `token`:
// the socket is answered by the serve process (ping gives its pid); a `token` that cannot reach
// the keychain (no session bus) still gets the bearer, so it came from serve; warm tokens cost
// no HTTP call; a second serve, and a tray, are refused by the single-instance lock (exit 0);
// `logout` reaches it (token then exits 4, "sign in again"); SIGTERM ends it with 0; its log
// says what changed and holds no secret.
func TestServe(t *testing.T) {
	e := newTestEnv(t, false)
	e.loginHTTP()
	p := e.startServe(t)
	if !waitFor(30*time.Second, func() bool {
		pid, err := e.ping(t)
		return err == nil && pid == p.cmd.Process.Pid
	}) {
		t.Fatalf("the socket is not answered by serve (pid %d); output:\n%s", p.cmd.Process.Pid, p.out.String())
	}
	if !waitFor(30*time.Second, func() bool { return strings.Contains(p.out.String(), "selected Homey:") }) {
		t.Fatalf("serve did not say which Homey it keeps fresh:\n%s", p.out.String())
	}

	want := strings.TrimSpace(e.must("", "token"))
	if want == "" {
		t.Fatal("token printed nothing")
	}
	e.srv.ResetCounts()
	for range 3 {
		if got := strings.TrimSpace(e.must("", "token")); got != want {
			t.Fatalf("a warm token differs from the first one")
		}
	}
	if n := e.srv.Count("*"); n != 0 {
		t.Errorf("three warm tokens through serve made %d HTTP calls, want 0", n)
	}
	noBus := slices.Concat(e.vars, []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")})
	cmd := exec.Command(binary, "token")
	cmd.Env = noBus
	if r := execResult(t, cmd, ""); r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("token without a keychain: exit %d, stderr %q; want serve's bearer", r.code, r.stderr)
	}

	for _, args := range [][]string{{"serve"}, {"tray"}} {
		r := e.run("", args...)
		if r.code != 0 || !strings.Contains(r.stderr, "already running") {
			t.Errorf("%v beside serve: exit %d, stderr %q; want 0 and \"already running\"", args, r.code, r.stderr)
		}
	}
	if pid, err := e.ping(t); err != nil || pid != p.cmd.Process.Pid {
		t.Errorf("after the refused starts the socket is answered by %d (%v), want serve", pid, err)
	}

	e.must("", "logout")
	if !waitFor(30*time.Second, func() bool { return strings.Contains(p.out.String(), "not signed in") }) {
		t.Errorf("serve did not log the logout:\n%s", p.out.String())
	}
	if r := e.run("", "token"); r.code != 4 {
		t.Errorf("token after logout: exit %d, want 4; stderr %q", r.code, r.stderr)
	}

	if code := p.stop(t); code != 0 {
		t.Errorf("serve exit code after SIGTERM: %d, want 0", code)
	}
	out := p.out.String()
	t.Logf("serve's log:\n%s", out)
	for _, w := range []string{"serving scripts on", "signed in as Ada Lovelace", "selected Homey:", "stopped"} {
		if !strings.Contains(out, w) {
			t.Errorf("serve's log lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, want) {
		t.Error("serve's log holds the bearer")
	}
	if _, err := e.ping(t); !errors.Is(err, ipc.ErrNoTray) {
		t.Errorf("ping after serve stopped: %v, want ErrNoTray", err)
	}
}
