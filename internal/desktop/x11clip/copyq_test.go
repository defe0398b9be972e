//go:build linux

package x11clip

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
	"github.com/jezek/xgb/xproto"
)

// copyq is a CopyQ server of the test's own: its own HOME and XDG folders, on the test's X
// display, no D-Bus.
type copyq struct {
	t   *testing.T
	env []string
}

func startCopyQ(t *testing.T, display string) *copyq {
	t.Helper()
	desktoptest.Require(t, "copyq")
	home := t.TempDir()
	run := filepath.Join(home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &copyq{t: t, env: desktoptest.Env(
		"DISPLAY="+display, "HOME="+home, "XDG_RUNTIME_DIR="+run,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"QT_QPA_PLATFORM=xcb")}
	// `copyq` alone is the server, in the foreground; it starts its clipboard monitor as a
	// child process (same process group, so it is stopped with it).
	cmd := exec.Command("copyq")
	cmd.Env = c.env
	server := desktoptest.Start(t, "copyq", cmd)
	desktoptest.WaitFor(t, "the CopyQ server to answer", func() bool {
		if server.Exited() {
			t.Fatalf("copyq ended:\n%s", server.Output())
		}
		_, err := c.try("count")
		return err == nil
	})
	return c
}

func (c *copyq) try(args ...string) (string, error) {
	return desktoptest.Run(c.t, c.env, "", "copyq", args...)
}

func (c *copyq) run(args ...string) string {
	c.t.Helper()
	out, err := c.try(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// items lists the text of every item in a CopyQ tab ("" is the clipboard tab).
func (c *copyq) items(tab string) []string {
	c.t.Helper()
	script := `for (var i = 0; i < count(); i++) print(str(read(i)) + "\n")`
	if tab != "" {
		script = `tab(` + strconv.Quote(tab) + `); ` + script
	}
	out := c.run("eval", "--", script)
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func randomText(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// CopyQ 6.4 keeps marked secrets unless told not to; the automatic command from its FAQ makes
// it skip content whose x-kde-passwordManagerHint is "secret" (CopyQ 8 does so by itself).
//
// The second, a script command, is the test's: once CopyQ has handled a clipboard change
// (kept or skipped it), it notes the text's first word in the tab "handled". CopyQ drops the
// handling of a change that is replaced quickly, so the test waits for that note before it
// looks at the history or copies again.
const copyqCommands = `setCommands([
  {name: "Ignore password manager secrets", automatic: true,
   input: "x-kde-passwordManagerHint",
   cmd: "copyq: if (str(input()) == \"secret\") ignore()"},
  {name: "Note handled changes", isScript: true,
   cmd: "var handle = global.onClipboardChanged; global.onClipboardChanged = function() { handle(); var word = str(data(mimeText)).split('-')[0]; tab('handled'); add(word) }"}
])`

func TestCopyQKeepsPlainTextButNotSecrets(t *testing.T) {
	o, display := open(t)
	var mu sync.Mutex
	served := map[xproto.Atom]int{}
	o.mu.Lock()
	o.served = func(target xproto.Atom) {
		mu.Lock()
		served[target]++
		mu.Unlock()
	}
	o.mu.Unlock()
	servedCount := func(target xproto.Atom) int {
		mu.Lock()
		defer mu.Unlock()
		return served[target]
	}

	cq := startCopyQ(t, display)
	cq.run("eval", "--", copyqCommands)
	handled := func(word string) bool { return slices.Contains(cq.items("handled"), word) }

	// The monitor works only about a second after the server answers: copy until a change is
	// handled.
	n := 0
	desktoptest.WaitFor(t, "CopyQ's clipboard monitor to handle a copy", func() bool {
		n++
		if err := o.Copy("warmup-"+strconv.Itoa(n), false); err != nil {
			t.Fatal(err)
		}
		return handled("warmup")
	})

	plain := randomText("plain")
	if err := o.Copy(plain, false); err != nil {
		t.Fatal(err)
	}
	desktoptest.WaitFor(t, "CopyQ to handle the plain text", func() bool { return handled("plain") })
	if h := cq.items(""); !slices.Contains(h, plain) {
		t.Fatalf("CopyQ did not keep the plain text: history %q", h)
	}

	secret := randomText("secret")
	if err := o.Copy(secret, true); err != nil {
		t.Fatal(err)
	}
	desktoptest.WaitFor(t, "CopyQ to handle the secret", func() bool { return handled("secret") })
	if servedCount(o.atom.hint) == 0 {
		t.Errorf("CopyQ never read the %s target", PasswordHint)
	}
	if h := cq.items(""); slices.Contains(h, secret) {
		t.Fatalf("CopyQ kept the marked secret: history %q", h)
	}
	if h := cq.items(""); !slices.Contains(h, plain) {
		t.Fatalf("CopyQ lost the plain text: history %q", h)
	}
}
