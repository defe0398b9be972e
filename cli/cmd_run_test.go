//go:build !windows

package cli

import (
	"strings"
	"testing"
)

// TestRun: the environment, stdio and exit codes of `run` (signals: e2e/run_test.go, with the
// real binary).
func TestRun(t *testing.T) {
	u := signedIn(t)
	home := u.srv.Homeys()[0]
	tok := strings.TrimSpace(u.must("", "token"))
	t.Setenv("HOMEY_TOKEN", "stale") // run's own values win over the caller's
	out, stderr, code := u.run("input\n", "run", "--", "sh", "-c",
		`read line; echo "$line|$HOMEY_URL|$HOMEY_ID"; echo "to stderr" >&2; test "$HOMEY_TOKEN" = "$1"`, "sh", tok)
	if code != exitOK || out != "input|"+home.LocalURL+"|"+home.ID+"\n" || stderr != "to stderr\n" {
		t.Errorf("run: exit %d, %q %q", code, out, stderr)
	}
	for _, c := range []struct {
		argv []string
		code int
		err  string
	}{
		{[]string{"run", "--", "sh", "-c", "exit 3"}, 3, ""},
		{[]string{"run", "sh", "-c", "exit 0"}, 0, ""},
		{[]string{"run", "--", "sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{[]string{"run", "--", "/nonexistent/command"}, exitNotFound, "command not found"},
		{[]string{"run", "--", "no-such-command-here"}, exitNotFound, "command not found"},
		{[]string{"run", "--", t.TempDir()}, exitCannotExec, "cannot run it"},
		{[]string{"run"}, exitUsage, "a COMMAND is required"},
		{[]string{"run", "--homey", "Nowhere", "--", "true"}, exitError, "Nowhere"},
	} {
		out, stderr, code := u.run("", c.argv...)
		if code != c.code || !strings.Contains(stderr, c.err) || c.err == "" && stderr != "" || out != "" {
			t.Errorf("%v: exit %d (want %d), %q %q", c.argv, code, c.code, out, stderr)
		}
		u.noSecret(strings.Join(c.argv, " "), out+stderr)
	}
	if _, _, code := u.run("", "logout"); code != exitOK {
		t.Fatal("logout")
	}
	if _, stderr, code := u.run("", "run", "--", "true"); code != exitAuth || !strings.Contains(stderr, "login") {
		t.Errorf("run signed out: exit %d, %q", code, stderr)
	}
}
