package ipc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/homeytray/homeytray/internal/failure"
)

// The named pipe of socket_windows.go, for real (under Wine in make test-wine, or on Windows).

// pipeTray answers ping and token requests and counts the calls.
type pipeTray struct{ calls atomic.Int32 }

func (f *pipeTray) handle(_ context.Context, r Request) Answer {
	f.calls.Add(1)
	switch r.Op {
	case "ping":
		return Answer{PID: os.Getpid()}
	case "token":
		return Answer{Token: "fake-bearer-" + r.Homey, HomeyID: r.Homey}
	}
	return Answer{Failure: failure.Of(errors.New("unknown request"))}
}

var pipeSeq atomic.Int32

// testSocket is a socket path of the test's own: on Windows a pipe name, which needs the
// \\.\pipe\ prefix (a file path is an invalid pipe name).
func testSocket(t *testing.T) string { return testPipe(t) }

// testPipe is a pipe name of this test process alone (pipe names are machine-wide).
func testPipe(t *testing.T) string {
	return fmt.Sprintf(`\\.\pipe\homeytray-test-%d-%d`, os.Getpid(), pipeSeq.Add(1))
}

// askOnce asks with a short deadline: an answer, or the reason there was none.
func askOnce(path string, r Request) (Answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return Ask(ctx, path, r)
}

func TestSocketPathIsAPipeOfThisUser(t *testing.T) {
	p, err := SocketPath("homeytray")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := userSID()
	if err != nil {
		t.Fatal(err)
	}
	if want := `\\.\pipe\homeytray-` + sid.String(); p != want {
		t.Errorf("SocketPath = %q, want %q", p, want)
	}
}

// The first client after each start of a tray is answered: go-winio's placeholder pipe
// instance (socket_windows.go) must not be the one it reaches. Before the fix this client
// reached the placeholder on Wine (and Windows 7), which nobody serves, and got no answer.
func TestPipeFirstClientAfterStartIsAnswered(t *testing.T) {
	path := testPipe(t)
	for start := 1; start <= 3; start++ {
		f := &pipeTray{}
		stop := serveAt(t, path, f.handle)
		a, err := askOnce(path, Request{Op: "token", Homey: "Kitchen"})
		if err != nil || a.Token != "fake-bearer-Kitchen" {
			t.Fatalf("start %d: the first request got %+v, %v; want the tray's answer", start, a, err)
		}
		if a, err := askOnce(path, Request{Op: "ping"}); err != nil || a.PID != os.Getpid() {
			t.Fatalf("start %d: the second request got %+v, %v", start, a, err)
		}
		if n := f.calls.Load(); n != 2 {
			t.Errorf("start %d: the tray handled %d requests, want 2", start, n)
		}
		stop()
		if _, err := askOnce(path, Request{Op: "ping"}); !errors.Is(err, ErrNoTray) {
			t.Fatalf("start %d: Ask after the tray stopped: %v; want ErrNoTray", start, err)
		}
	}
}

func TestPipeManyClients(t *testing.T) {
	path := testPipe(t)
	f := &pipeTray{}
	serveAt(t, path, f.handle)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			homey := fmt.Sprint("h", i)
			a, err := askOnce(path, Request{Op: "token", Homey: homey})
			if err == nil && a.Token != "fake-bearer-"+homey {
				err = fmt.Errorf("answer %+v", a)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := f.calls.Load(); got != n {
		t.Errorf("the tray handled %d requests, want %d", got, n)
	}
}

func TestPipeSecondListenIsAlreadyRunning(t *testing.T) {
	path := testPipe(t)
	f := &pipeTray{}
	serveAt(t, path, f.handle)
	if l, err := Listen(path); !errors.Is(err, ErrAlreadyRunning) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("second Listen: %v; want ErrAlreadyRunning", err)
	}
	if a, err := askOnce(path, Request{Op: "ping"}); err != nil || a.PID == 0 {
		t.Fatalf("the first tray stopped answering: %+v, %v", a, err)
	}
}

func TestPipeNoTray(t *testing.T) {
	if _, err := askOnce(testPipe(t), Request{Op: "token"}); !errors.Is(err, ErrNoTray) {
		t.Fatalf("Ask: %v; want ErrNoTray", err)
	}
}

func TestPipeBadRequestIsAnswered(t *testing.T) {
	path := testPipe(t)
	f := &pipeTray{}
	serveAt(t, path, f.handle)
	c, err := dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("not json\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	if !strings.Contains(string(buf[:n]), errBadRequest.Error()) {
		t.Errorf("answer %q, want an error naming a bad request", buf[:n])
	}
	if f.calls.Load() != 0 {
		t.Error("the handler saw a malformed request")
	}
}
