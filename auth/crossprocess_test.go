package auth

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crossSetup is a FileStore with an expired token, a lock file and a start
// file shared by helper processes.
type crossSetup struct {
	srv                    *tokenServer
	store, lock, startFile string
	reject                 bool // children Reject the stored access token first
}

func newCrossSetup(t *testing.T) *crossSetup {
	dir := t.TempDir()
	c := &crossSetup{srv: newTokenServer(t), store: filepath.Join(dir, "secrets.json"),
		lock: filepath.Join(dir, "refresh.lock"), startFile: filepath.Join(dir, "go")}
	c.srv.addRefresh("rt-shared")
	c.srv.set(func(s *tokenServer) { s.delay = 50 * time.Millisecond }) // widen the race window
	putToken(t, &FileStore{Path: c.store}, expired("access-old", "rt-shared"))
	return c
}

func (c *crossSetup) refreshCmd() *exec.Cmd {
	cmd := helperCommand("refresh", "AUTH_TEST_START="+c.startFile, "AUTH_TEST_TOKEN_URL="+c.srv.URL+"/token",
		"AUTH_TEST_STORE="+c.store, "AUTH_TEST_LOCK="+c.lock)
	if c.reject {
		cmd.Env = append(cmd.Env, "AUTH_TEST_REJECT=access-old")
	}
	return cmd
}

// runRefreshers starts n refresh helpers, lets them go at once, and returns
// their outputs.
func (c *crossSetup) runRefreshers(t *testing.T, n int, beforeGo func()) []string {
	t.Helper()
	outs := make([]bytes.Buffer, n)
	errs := make([]bytes.Buffer, n)
	cmds := make([]*exec.Cmd, n)
	for i := range n {
		cmds[i] = c.refreshCmd()
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &errs[i]
		startHelper(t, cmds[i])
	}
	if beforeGo != nil {
		beforeGo()
	}
	if err := os.WriteFile(c.startFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := range n {
		wg.Go(func() {
			if err := cmds[i].Wait(); err != nil {
				t.Errorf("child %d: %v: %s", i, err, strings.TrimSpace(errs[i].String()))
			}
			results[i] = strings.TrimSpace(outs[i].String())
		})
	}
	wg.Wait()
	return results
}

func TestCrossProcessRefreshOnce(t *testing.T) {
	c := newCrossSetup(t)
	start := time.Now()
	results := c.runRefreshers(t, 16, nil)
	t.Logf("16 processes done in %s", time.Since(start).Round(time.Millisecond))
	checkOneRefresh(t, c, results)
}

// 16 processes all got a 401 for the same access token, which has not
// expired locally: still exactly one refresh.
func TestCrossProcessRejectRefreshOnce(t *testing.T) {
	c := newCrossSetup(t)
	c.reject = true
	putToken(t, &FileStore{Path: c.store}, storedToken{AccessToken: "access-old", RefreshToken: "rt-shared",
		Expiry: time.Now().Add(time.Hour)})
	checkOneRefresh(t, c, c.runRefreshers(t, 16, nil))
}

func checkOneRefresh(t *testing.T, c *crossSetup, results []string) {
	t.Helper()
	for i, r := range results {
		if r == "" || r == "access-old" || r != results[0] {
			t.Errorf("child %d printed a different or old access token", i) // values not logged
		}
	}
	if g := c.srv.grantCount("refresh_token"); g != 1 {
		t.Errorf("refresh grants = %d, want exactly 1", g)
	}
	got := stored(t, &FileStore{Path: c.store})
	if got.AccessToken != results[0] || got.RefreshToken == "rt-shared" {
		t.Error("the store does not hold the one refreshed token")
	}
}

// A holder killed with SIGKILL cannot unlock; the kernel releases its flock.
func TestCrossProcessKilledHolderDoesNotBlock(t *testing.T) {
	c := newCrossSetup(t)
	holder := helperCommand("holdlock", "AUTH_TEST_LOCK="+c.lock)
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	holder.Stdout = w
	startHelper(t, holder)
	w.Close()
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("holder did not take the lock: %q %v", line, err)
	}
	results := c.runRefreshers(t, 4, func() {
		go func() {
			time.Sleep(300 * time.Millisecond) // the children are now waiting for the lock
			if c.srv.grantCount("refresh_token") != 0 {
				t.Error("a child refreshed while the lock was held")
			}
			_ = holder.Process.Kill() // SIGKILL: no chance to unlock
		}()
	})
	// Had the lock outlived its holder, the children would have failed waiting for it.
	checkOneRefresh(t, c, results)
}
