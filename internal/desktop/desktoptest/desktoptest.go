//go:build linux || freebsd || netbsd || openbsd || dragonfly

// Package desktoptest starts the real desktop programs that the clipboard tests talk to (a
// private Xvfb, clipboard managers, a compositor) and runs command-line clients safely. For
// tests only.
//
// Every daemon runs in its own process group, with its output in a log file of the test's
// temp folder, and is killed at the end of the test; nothing fixed (display numbers, socket
// names) is used, so that several test runs can share the machine.
package desktoptest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Patience bounds each wait of a test: generous, because the machine may be loaded. It is a
// deadline for a condition, never a pause.
const Patience = 60 * time.Second

// Require fails the test under CI=true, and skips it loudly elsewhere, unless every tool is
// on PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("!!! %s missing: this REAL-program test does NOT run. Install with .ci/deps.sh (as root).",
		strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// WaitFor polls cond until it holds, failing the test after Patience.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", Patience, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Daemon is a started background program.
type Daemon struct {
	Cmd *exec.Cmd
	Log string // path of its combined output
	// exited is closed when the program has ended.
	exited chan struct{}
}

// Exited reports whether the program has ended.
func (d *Daemon) Exited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// Output returns what the program has printed so far.
func (d *Daemon) Output() string {
	b, _ := os.ReadFile(d.Log)
	return string(b)
}

// Stop ends the program's process group (SIGTERM, then SIGKILL if it lingers) and waits for
// it. Safe to call more than once.
func (d *Daemon) Stop() {
	if d.Exited() {
		return
	}
	_ = syscall.Kill(-d.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(Patience / 4):
		_ = syscall.Kill(-d.Cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
}

// Start starts cmd as a daemon of the test: in its own process group, with stdin from
// /dev/null (unless set) and its output in a log file of the test's temp folder (standard
// output only if not set). It is stopped at the end of the test, and its log is printed if
// the test failed.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Daemon {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	if cmd.Stdout == nil {
		cmd.Stdout = logFile
	}
	cmd.Stderr = logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	d := &Daemon{Cmd: cmd, Log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, d.Output())
		}
	})
	return d
}

// Xvfb starts a private X server and returns its display (":N"). Xvfb picks a free display
// number itself (-displayfd) and reports it once it accepts clients.
func Xvfb(t testing.TB) (display string, d *Daemon) {
	t.Helper()
	Require(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "640x480x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	d = Start(t, "xvfb", cmd)
	w.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatalf("Xvfb did not start:\n%s", d.Output())
		}
		return ":" + n, d
	case <-time.After(Patience):
		t.Fatalf("Xvfb did not report its display within %s:\n%s", Patience, d.Output())
	}
	return "", nil
}

// Env returns the environment for a client: PATH, plus the given VAR=value entries.
func Env(vars ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, vars...)
}

// Run runs a client to completion with stdin and returns its standard output. Its output goes
// to files, not pipes: clipboard tools fork children that keep a pipe open (`$(xclip …)`
// hangs). A client that has not ended after Patience is killed. The error includes its
// standard error.
func Run(t testing.TB, env []string, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = out, errf
	runErr := cmd.Run()
	stdout, _ := os.ReadFile(out.Name())
	if runErr != nil {
		stderr, _ := os.ReadFile(errf.Name())
		if ctx.Err() != nil {
			runErr = errors.New("did not end in time")
		}
		return string(stdout), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), runErr,
			bytes.TrimSpace(stderr))
	}
	return string(stdout), nil
}
