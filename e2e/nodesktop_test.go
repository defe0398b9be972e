//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// noDesktopEnv is a new user on a machine with no desktop session — an SSH login, a container:
// no D-Bus session bus, no display, empty home and XDG folders, and a PATH that holds links to
// the given tools only (no dbus-launch that could make a bus behind our back).
func noDesktopEnv(t *testing.T, tools ...string) []string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	run := filepath.Join(dir, "run")
	for _, d := range []string{bin, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range cleanEnviron() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "PATH", "HOME", "BROWSER",
			"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME":
			continue
		}
		env = append(env, kv)
	}
	// The demo's redirect port of its own: tests of other packages may run a demo meanwhile.
	redirect := fmt.Sprintf("HOMEYTRAY_REDIRECT_URI=http://localhost:%d/callback", freePort(t))
	return append(env, redirect, "PATH="+bin, "HOME="+filepath.Join(dir, "home"), "XDG_RUNTIME_DIR="+run,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"))
}

// TestNoDesktopTray: the tray on a machine with no desktop session exits 1 with one line that
// says so and names serve, and no panic (fyne.io/systray panics on quit when it found no bus).
func TestNoDesktopTray(t *testing.T) {
	if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err == nil {
		t.Fatalf("this machine has a systemd user bus: the test cannot make a machine without one")
	}
	for _, args := range [][]string{nil, {"tray"}} {
		cmd := exec.Command(binary, args...)
		cmd.Env = noDesktopEnv(t)
		r := execResult(t, cmd, "")
		if r.code != 1 || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") ||
			!strings.Contains(r.stderr, "no desktop session") || !strings.Contains(r.stderr, "homeytray serve") ||
			strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("homeytray %v without a desktop: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// TestNoDesktopDemo: `homeytray demo` (and `make demo`, the README's first command) on a machine
// with no desktop runs in the terminal: a demo bearer within 30 s, the other terminals' demo
// commands answered, Ctrl-C ends it with exit 0, and nothing panics.
func TestNoDesktopDemo(t *testing.T) {
	t.Run("binary", func(t *testing.T) {
		env := noDesktopEnv(t)
		cmd := exec.Command(binary, "demo")
		cmd.Env = env
		checkTerminalDemo(t, cmd, false, func() {
			out := exec.Command(binary, "demo", "token")
			out.Env = env
			if r := execResult(t, out, ""); r.code != 0 || len(strings.TrimSpace(r.stdout)) < 20 {
				t.Errorf("demo token from another terminal: exit %d %q", r.code, r.stderr)
			}
		})
	})
	t.Run("make demo", func(t *testing.T) {
		cmd := exec.Command("make", "-s", "demo")
		cmd.Dir = moduleRoot
		cmd.Env = append(noDesktopEnv(t, "make", "go", "git", "date", "sh", "rm", "mkdir"),
			"GOCACHE="+goEnv(t, "GOCACHE"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOFLAGS=-mod=mod")
		checkTerminalDemo(t, cmd, true, nil) // make itself ends by the SIGINT, as make does
	})
}

// checkTerminalDemo starts cmd (in a process group), waits up to 30 s for its demo bearer,
// runs also, sends it SIGINT and checks a clean exit (or, with interrupted, the end by the signal
// that make reports for a Ctrl-C) without a panic.
func checkTerminalDemo(t *testing.T, cmd *exec.Cmd, interrupted bool, also func()) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second) // the bound for a new user's first minute
	sawHeader := false
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before printing a bearer:\n%s", stderr.String())
			}
			if strings.HasPrefix(l, "A demo bearer") {
				sawHeader = true
			} else if sawHeader && strings.TrimSpace(l) != "" {
				break wait // the bearer itself
			}
		case <-deadline:
			t.Fatalf("no demo bearer within 30 s:\n%s", stderr.String())
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if also != nil {
		also()
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil && !(interrupted && strings.Contains(err.Error(), "interrupt")) {
			t.Errorf("the demo ended with %v after Ctrl-C:\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "homeytray: stopped") {
			t.Errorf("the demo did not stop cleanly after Ctrl-C:\n%s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo did not end after Ctrl-C:\n%s", stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("the demo panicked:\n%s", s)
	}
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
