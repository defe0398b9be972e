//go:build !windows

package ipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/homeytray/homeytray/internal/failure"
)

// fakeTray answers ping and token requests and counts the calls.
type fakeTray struct{ calls atomic.Int32 }

func (f *fakeTray) handle(ctx context.Context, r Request) Answer {
	f.calls.Add(1)
	switch r.Op {
	case "ping":
		return Answer{PID: os.Getpid()}
	case "token":
		return Answer{Token: "fake-bearer-" + r.Homey, HomeyID: r.Homey, BaseURL: "http://homey.test"}
	}
	return Answer{Failure: failure.Of(errors.New("unknown request"))}
}

func ask(t *testing.T, path string, r Request) (Answer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Ask(ctx, path, r)
}

func TestSocketRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "homeytray.sock") // "run" does not exist yet
	f := &fakeTray{}
	stop := serveAt(t, path, f.handle)

	a, err := ask(t, path, Request{Op: "ping"})
	if err != nil || a.PID != os.Getpid() {
		t.Fatalf("ping: %+v, %v; want PID %d", a, err, os.Getpid())
	}
	a, err = ask(t, path, Request{Op: "token", Homey: "Kitchen"})
	if err != nil || a.Token != "fake-bearer-Kitchen" || a.HomeyID != "Kitchen" || a.BaseURL != "http://homey.test" {
		t.Fatalf("token: %+v, %v", a, err)
	}
	for name, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Lstat(name)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode().Perm(), err, want)
		}
	}

	stop()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Serve ended: %v; want it removed", err)
	}
	if _, err := ask(t, path, Request{Op: "ping"}); !errors.Is(err, ErrNoTray) {
		t.Errorf("Ask after Serve ended: %v; want ErrNoTray", err)
	}
	serveAt(t, path, f.handle) // the lock was released
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	staleSocket(t, path)
	if _, err := ask(t, path, Request{Op: "ping"}); !errors.Is(err, ErrNoTray) {
		t.Fatalf("Ask on a stale socket: %v; want ErrNoTray", err)
	}
	f := &fakeTray{}
	serveAt(t, path, f.handle)
	if a, err := ask(t, path, Request{Op: "ping"}); err != nil || a.PID == 0 {
		t.Fatalf("ping after replacing the stale socket: %+v, %v", a, err)
	}
}

// staleSocket leaves a socket file at path that nobody listens on (a crashed tray's).
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
}

func TestListenKeepsOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	if err := os.WriteFile(path, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(path); err == nil {
		l.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if b, _ := os.ReadFile(path); string(b) != "not a socket" {
		t.Errorf("the file was changed: %q", b)
	}
}

func TestListenRefusesSharedFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(filepath.Join(dir, "homeytray.sock")); err == nil {
		l.Close()
		t.Fatal("Listen accepted a folder every user can write to")
	}
}

func TestSecondListenIsAlreadyRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	f := &fakeTray{}
	serveAt(t, path, f.handle)

	if l, err := Listen(path); !errors.Is(err, ErrAlreadyRunning) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("second Listen (lock held): %v; want ErrAlreadyRunning", err)
	}
	// Without its lock file the running tray is still found: it answers the ping.
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(path); !errors.Is(err, ErrAlreadyRunning) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("second Listen (lock file gone): %v; want ErrAlreadyRunning", err)
	}
	if a, err := ask(t, path, Request{Op: "ping"}); err != nil || a.PID == 0 {
		t.Fatalf("the first tray stopped answering: %+v, %v", a, err)
	}
}

func TestAskNoTray(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	for name, path := range map[string]string{
		"no file":   filepath.Join(dir, "missing.sock"),
		"no folder": filepath.Join(dir, "missing", "homeytray.sock"),
		"stale":     stale,
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := ask(t, path, Request{Op: "token"})
			if !errors.Is(err, ErrNoTray) {
				t.Fatalf("Ask: %v; want ErrNoTray", err)
			}
			if d := time.Since(start); d > dialTimeout {
				t.Errorf("Ask took %v to find no tray", d)
			}
		})
	}
}

// rawExchange writes b on a fresh connection to path and returns everything the server sends.
func rawExchange(t *testing.T, path string, b []byte) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write(b) // the server may stop reading (and close) before all of b is sent
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read the answer: %v", err)
	}
	return string(got)
}

func TestRequestLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	f := &fakeTray{}
	serveAt(t, path, f.handle)

	atLimit := []byte(`{"op":"token","homey":"` + strings.Repeat("x", maxRequest-len(`{"op":"token","homey":""}`)) + `"}`)
	if len(atLimit) != maxRequest {
		t.Fatalf("test request is %d bytes", len(atLimit))
	}
	var a Answer
	if err := json.Unmarshal([]byte(rawExchange(t, path, append(atLimit, '\n'))), &a); err != nil || a.Token == "" {
		t.Fatalf("request of exactly 64 KiB: %+v, %v; want a token", a, err)
	}
	calls := f.calls.Load()

	for name, req := range map[string][]byte{
		"over the limit":    append(bytes.Repeat([]byte{' '}, maxRequest+1), `{"op":"ping"}`+"\n"...),
		"no newline, large": bytes.Repeat([]byte{'x'}, 4*maxRequest),
		"not JSON":          []byte("token please\n"),
	} {
		t.Run(name, func(t *testing.T) {
			got := rawExchange(t, path, req)
			var a Answer
			if err := json.Unmarshal([]byte(got), &a); err != nil || a.Failure == nil || a.Token != "" {
				t.Fatalf("answer %q (%v); want an error answer", got, err)
			}
			if !strings.HasSuffix(got, "\n") {
				t.Errorf("answer %q does not end in a newline", got)
			}
		})
	}
	if n := f.calls.Load(); n != calls {
		t.Errorf("the handler ran %d times for refused requests", n-calls)
	}
}

// A request without newline, ended by closing the write side, is answered too.
func TestRequestEndedByEOF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	f := &fakeTray{}
	serveAt(t, path, f.handle)
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(`{"op":"ping"}`))
	c.CloseWrite()
	var a Answer
	if err := json.NewDecoder(c).Decode(&a); err != nil || a.PID != os.Getpid() {
		t.Fatalf("answer %+v, %v", a, err)
	}
}

// A peer that connects and says nothing holds one goroutine until its deadline, not the tray.
func TestSilentPeerBlocksNobody(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	f := &fakeTray{}
	serveAt(t, path, f.handle)
	silent, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if a, err := ask(t, path, Request{Op: "ping"}); err != nil || a.PID == 0 {
		t.Fatalf("ping beside a silent peer: %+v, %v", a, err)
	}
}

// Ask gives up at its context's deadline when the tray accepts but never answers.
func TestAskHungTray(t *testing.T) {
	path := filepath.Join(t.TempDir(), "homeytray.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // reads, never answers, until the client goes
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Ask(ctx, path, Request{Op: "ping"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ask: %v; want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 30*time.Second { // a hang, not slowness: the machine may be loaded
		t.Errorf("Ask returned after %v", d)
	}
}

// The per-connection deadline, on fake time: a peer that sends nothing is dropped after
// connTimeout, and a handler's context ends at the same deadline.
func TestConnectionDeadline(t *testing.T) {
	serve := func(server net.Conn, h Handler) {
		serveRequest(context.Background(), server, h)
		server.Close() // as serveConn does
	}
	synctest.Test(t, func(t *testing.T) {
		server, client := net.Pipe()
		defer client.Close()
		start := time.Now()
		go serve(server, (&fakeTray{}).handle)
		if _, err := client.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("silent peer's read: %v; want EOF", err)
		}
		if d := time.Since(start); d != connTimeout {
			t.Errorf("silent peer dropped after %v; want %v", d, connTimeout)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		server, client := net.Pipe()
		defer client.Close()
		start := time.Now()
		var ended time.Duration
		slow := func(ctx context.Context, r Request) Answer {
			<-ctx.Done()
			ended = time.Since(start)
			return Answer{Failure: failure.Of(errors.New("too late"))}
		}
		go serve(server, slow)
		client.Write([]byte(`{"op":"token"}` + "\n"))
		io.ReadAll(client) // an error answer, or nothing if the write deadline won the race
		if ended != connTimeout {
			t.Errorf("slow handler's context ended after %v; want %v", ended, connTimeout)
		}
	})
}

// The uid of "nobody": a real other user for the peer checks.
const otherUID = 65534

// TestPeerOfAnotherUser proves both peer checks with a real process of another user. The
// socket is opened to everyone (mode 0666 in a 0755 folder) so that only the uid check stands
// between that user and a token. Needs root to start the other process.
func TestPeerOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the tests as root: this test needs it to start a process of another user")
		}
		t.Skip("SKIPPED LOUDLY: needs root to start a process of another user (CI runs it)")
	}
	dir, err := os.MkdirTemp("", "homeytray-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "homeytray.sock")
	f := &fakeTray{}
	serveAt(t, path, f.handle)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	helper := copyTestBinary(t, dir)

	if got := runHelper(t, helper, "raw", path, 0); !strings.HasPrefix(got, "answer:") {
		t.Fatalf("control, same user: %q; want an answer", got)
	}
	calls := f.calls.Load()
	if got := runHelper(t, helper, "raw", path, otherUID); got != "closed" {
		t.Errorf("server side, a client of uid %d: %q; want the connection closed unanswered", otherUID, got)
	}
	if got := runHelper(t, helper, "ask", path, otherUID); got != "foreign" {
		t.Errorf("client side, Ask of uid %d to root's tray: %q; want errForeignPeer", otherUID, got)
	}
	if n := f.calls.Load(); n != calls {
		t.Errorf("the handler ran %d times for another user", n-calls)
	}
}

// copyTestBinary puts a copy of this test binary where another user can run it.
func copyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "tray.test")
	if err := os.WriteFile(helper, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return helper
}

func runHelper(t *testing.T, helper, mode, path string, uid uint32) string {
	t.Helper()
	cmd := exec.Command(helper, "-test.run=^TestPeerHelper$")
	cmd.Dir = filepath.Dir(helper)
	cmd.Env = []string{"HOMEYTRAY_PEER_HELPER=" + mode + ":" + path}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper %s as uid %d: %v\n%s", mode, uid, err, out)
	}
	for line := range strings.Lines(string(out)) {
		if s, ok := strings.CutPrefix(line, "helper: "); ok {
			return strings.TrimSpace(s)
		}
	}
	t.Fatalf("helper %s as uid %d said nothing:\n%s", mode, uid, out)
	return ""
}

// TestPeerHelper is the other user's side of TestPeerOfAnotherUser; it does nothing otherwise.
func TestPeerHelper(t *testing.T) {
	mode, path, ok := strings.Cut(os.Getenv("HOMEYTRAY_PEER_HELPER"), ":")
	if !ok {
		return
	}
	switch mode {
	case "raw": // no client-side check: what does the server do?
		c, err := net.Dial("unix", path)
		if err != nil {
			fmt.Println("helper: dial:", err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(`{"op":"token"}` + "\n"))
		got, err := io.ReadAll(c)
		switch {
		case len(got) > 0:
			fmt.Println("helper: answer:" + string(bytes.TrimSpace(got)))
		case err != nil && !errors.Is(err, syscall.ECONNRESET): // closed with our request unread

			fmt.Println("helper: read:", err)
		default:
			fmt.Println("helper: closed")
		}
	case "ask":
		_, err := ask(t, path, Request{Op: "token"})
		if errors.Is(err, errForeignPeer) {
			fmt.Println("helper: foreign")
		} else {
			fmt.Println("helper: Ask:", err)
		}
	}
}

// BenchmarkAsk is the cost of one `homeytray token` answered by the tray, process start aside.
func BenchmarkAsk(b *testing.B) {
	path := filepath.Join(b.TempDir(), "homeytray.sock")
	l, err := Listen(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, l, (&fakeTray{}).handle)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Ask(ctx, path, Request{Op: "token", Homey: "h"}); err != nil {
			b.Fatal(err)
		}
	}
}
