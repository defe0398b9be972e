//go:build linux || freebsd || netbsd || openbsd || dragonfly

package desktoptest

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Sway starts a headless sway 1.7 (wlroots, with data control) of the test's own and returns
// the absolute path of its socket. It has no XWayland, so no X11 window exists on it. sway
// refuses to run as root, so as root it runs as nobody, in folders of nobody's; root's clients
// reach the socket by its absolute path (WAYLAND_DISPLAY may be one).
func Sway(t testing.TB) (socket string, d *Daemon) {
	t.Helper()
	Require(t, "sway")
	// Not t.TempDir: its parent is root's and closed to others.
	dir, err := os.MkdirTemp("", "desktoptest-sway-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run, home := filepath.Join(dir, "run"), filepath.Join(dir, "home")
	for _, d := range []string{run, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The config's exec runs once sway is up, with WAYLAND_DISPLAY set to its socket's name.
	config := filepath.Join(dir, "config")
	conf := "xwayland disable\nexec sh -c 'echo \"$WAYLAND_DISPLAY\" > " + filepath.Join(run, "display") + "'\n"
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman"}
	var cmd *exec.Cmd
	if os.Getuid() == 0 {
		Require(t, "setpriv")
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("sway cannot run as root, and there is no user nobody: %v", err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		for _, d := range []string{run, home} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		cmd = exec.Command("setpriv", append([]string{"--reuid=" + nobody.Uid, "--regid=" + nobody.Gid,
			"--clear-groups", "env", "-i"}, append(env, "sway", "-c", config)...)...)
	} else {
		cmd = exec.Command("sway", "-c", config)
		cmd.Env = env
	}
	d = Start(t, "sway", cmd)
	var name string
	WaitFor(t, "sway to start", func() bool {
		if d.Exited() {
			t.Fatalf("sway ended:\n%s", d.Output())
		}
		b, err := os.ReadFile(filepath.Join(run, "display"))
		name = strings.TrimSpace(string(b))
		return err == nil && name != ""
	})
	return filepath.Join(run, name), d
}

// Weston starts a headless weston 10, a compositor without data control (as GNOME's Mutter
// has none), and returns the absolute path of its socket once it takes connections. Nothing
// can be copied on it (its headless backend has no seat): it shows what a compositor without
// data control answers.
func Weston(t testing.TB) (socket string, d *Daemon) {
	t.Helper()
	Require(t, "weston")
	run := t.TempDir()
	cmd := exec.Command("weston", "--backend=headless-backend.so", "--socket=desktoptest", "--idle-time=0")
	cmd.Env = Env("HOME="+t.TempDir(), "XDG_RUNTIME_DIR="+run)
	d = Start(t, "weston", cmd)
	socket = filepath.Join(run, "desktoptest")
	WaitFor(t, "weston to take connections", func() bool {
		if d.Exited() {
			t.Fatalf("weston ended:\n%s", d.Output())
		}
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return socket, d
}

// CopyQ is a CopyQ server of the test's own: its own HOME and XDG folders, on an X display, no
// D-Bus. Debian's CopyQ 6.4 keeps content marked x-kde-passwordManagerHint: secret unless told
// not to; NewCopyQ gives it the automatic command from CopyQ's FAQ that skips it (CopyQ 8 does
// so by itself).
//
// A second command is the test's: once CopyQ has handled a clipboard change (kept or skipped
// it), it notes the SHA-256 of the text in the tab "handled", so that a test can wait for the
// change it made (CopyQ drops the handling of a change that is replaced quickly) without the
// text itself, a secret perhaps, landing anywhere.
type CopyQ struct {
	t   testing.TB
	env []string
}

// The FAQ's command, as CopyQ's documentation gives it, and the test's note.
const copyqCommands = `setCommands([
  {name: "Ignore password manager secrets", automatic: true,
   input: "x-kde-passwordManagerHint",
   cmd: "copyq: if (str(input()) == \"secret\") ignore()"},
  {name: "Note handled changes", isScript: true,
   cmd: "var handle = global.onClipboardChanged; global.onClipboardChanged = function() { handle(); var sum = str(sha256sum(data(mimeText))); tab('handled'); add(sum) }"}
])`

// NewCopyQ starts CopyQ on display with the FAQ's command and the test's note. Its clipboard
// monitor only works a moment after the server answers: see Warm.
func NewCopyQ(t testing.TB, display string) *CopyQ {
	t.Helper()
	Require(t, "copyq")
	home := t.TempDir()
	run := filepath.Join(home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &CopyQ{t: t, env: Env(
		"DISPLAY="+display, "HOME="+home, "XDG_RUNTIME_DIR="+run,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"QT_QPA_PLATFORM=xcb")}
	// `copyq` alone is the server, in the foreground; it starts its clipboard monitor as a
	// child process (same process group, so it is stopped with it).
	cmd := exec.Command("copyq")
	cmd.Env = c.env
	server := Start(t, "copyq", cmd)
	WaitFor(t, "the CopyQ server to answer", func() bool {
		if server.Exited() {
			t.Fatalf("copyq ended:\n%s", server.Output())
		}
		_, err := c.Try("count")
		return err == nil
	})
	c.Run("eval", "--", copyqCommands)
	return c
}

// Warm copies with copy (a fresh text each time: "warmup-N") until CopyQ has handled one: its
// monitor stores nothing for about a second after the server answers.
func (c *CopyQ) Warm(copy func(text string) error) {
	c.t.Helper()
	n := 0
	var texts []string
	WaitFor(c.t, "CopyQ's clipboard monitor to handle a copy", func() bool {
		n++
		text := "warmup-" + strconv.Itoa(n)
		if err := copy(text); err != nil {
			c.t.Fatal(err)
		}
		texts = append(texts, text)
		return slices.ContainsFunc(texts, c.Handled)
	})
}

// Try runs a copyq command and returns its output.
func (c *CopyQ) Try(args ...string) (string, error) {
	return Run(c.t, c.env, "", "copyq", args...)
}

// Run is Try for a command that must work.
func (c *CopyQ) Run(args ...string) string {
	c.t.Helper()
	out, err := c.Try(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// Items lists the text of every item in a CopyQ tab ("" is the clipboard tab, its history).
func (c *CopyQ) Items(tab string) []string {
	c.t.Helper()
	script := `for (var i = 0; i < count(); i++) print(str(read(i)) + "\n")`
	if tab != "" {
		script = `tab(` + strconv.Quote(tab) + `); ` + script
	}
	out := c.Run("eval", "--", script)
	if out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// Handled reports whether CopyQ has handled a clipboard change to text (kept or skipped it).
func (c *CopyQ) Handled(text string) bool {
	c.t.Helper()
	sum := sha256.Sum256([]byte(text))
	return slices.Contains(c.Items("handled"), hex.EncodeToString(sum[:]))
}

// Kept reports whether text is in CopyQ's clipboard history.
func (c *CopyQ) Kept(text string) bool {
	c.t.Helper()
	return slices.Contains(c.Items(""), text)
}
