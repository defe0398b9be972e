package auth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The test binary doubles as a helper process: with helperEnv set, TestMain
// runs the named helper instead of the tests. Children are started with
// -test.run=^$ so that, should the dispatch ever fail, they run no tests.
const helperEnv = "AUTH_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	os.Exit(m.Run())
}

func runHelper(name string) int {
	var err error
	switch name {
	case "refresh":
		err = helperRefresh()
	case "holdlock":
		err = helperHoldLock()
	case "keyring":
		err = helperKeyring()
	default:
		err = fmt.Errorf("unknown helper %q", name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperCommand prepares a child running helper name with extra env.
func helperCommand(name string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race, a process sleeps 1 s at exit unless told otherwise.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + name, "GORACE=" + race}, env...)...)
	return cmd
}

// startHelper starts cmd. Wine's process creation fails now and then under load ("fork/exec
// …auth.test.exe: Internal error."), a failure of the emulated OS that real Windows does not
// show: a few more tries. A child that really cannot start fails every try.
func startHelper(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var err error
	for try := 0; try < 5; try++ {
		if err = cmd.Start(); err == nil {
			return
		}
		// exec.Cmd cannot be started twice: the same command again, with a fresh Cmd.
		fresh := exec.Command(cmd.Path, cmd.Args[1:]...)
		fresh.Env, fresh.Dir, fresh.Stdin, fresh.Stdout, fresh.Stderr = cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr
		*cmd = *fresh
	}
	t.Fatalf("start %s: %v", filepath.Base(cmd.Path), err)
}

// helperRefresh waits for the start file, gets a token through a Session on
// a shared FileStore and lock file, and prints the access token.
func helperRefresh() error {
	start := os.Getenv("AUTH_TEST_START")
	// Generous: 16 children start one after another (slowly under Wine on a loaded machine).
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(start); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no start signal")
		}
	}
	s := &Session{
		Config: oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: os.Getenv("AUTH_TEST_TOKEN_URL"), AuthStyle: oauth2.AuthStyleInHeader}},
		Store:    &FileStore{Path: os.Getenv("AUTH_TEST_STORE")},
		LockPath: os.Getenv("AUTH_TEST_LOCK"),
		HTTP:     &http.Client{Timeout: 10 * time.Second},
	}
	if old := os.Getenv("AUTH_TEST_REJECT"); old != "" {
		// Like a process whose request with this token just got a 401
		// invalid_token (it may start after another one refreshed).
		s.Reject(old)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := s.TokenContext(ctx)
	if err != nil {
		return err
	}
	fmt.Println(tok.AccessToken)
	return nil
}

// helperHoldLock takes the refresh lock the way Session does, says so, and
// waits to be killed.
func helperHoldLock() error {
	s := &Session{LockPath: os.Getenv("AUTH_TEST_LOCK")}
	if _, err := s.lock(context.Background()); err != nil {
		return err
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	return fmt.Errorf("not killed")
}
