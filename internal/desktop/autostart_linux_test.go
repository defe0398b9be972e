package desktop

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// needTool finds a program the test needs: missing, the test fails under CI=true (the CI
// installs it, see .ci/deps.sh) and is skipped with a loud message elsewhere.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (Debian package %s); CI must have it", name, pkg)
	}
	t.Skipf("SKIPPED LOUDLY: %s is missing: apt-get install %s", name, pkg)
	return ""
}

func TestXDGAutostart(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	exe := filepath.Join(t.TempDir(), "my apps", "homey$tray")
	args := []string{"tray", `50% "quoted" $HOME \back`}
	a, err := NewAutostart("homeytray", exe, args)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg, "autostart", "homeytray.desktop")
	wantEnabled := func(want bool) {
		t.Helper()
		if on, err := a.Enabled(); on != want || err != nil {
			t.Fatalf("Enabled() = %v, %v; want %v", on, err, want)
		}
	}

	wantEnabled(false)
	for range 2 { // a second "on" rewrites the same entry
		if err := a.SetEnabled(true); err != nil {
			t.Fatal(err)
		}
		wantEnabled(true)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	execValue, ok := desktopKey(b, "Exec")
	if !ok {
		t.Fatalf("no Exec in\n%s", b)
	}
	if argv := parseDesktopExec(t, execValue); !reflect.DeepEqual(argv, append([]string{exe}, args...)) {
		t.Errorf("Exec=%s runs %q", execValue, argv)
	}
	if dir, _ := os.ReadDir(filepath.Dir(path)); len(dir) != 1 {
		t.Errorf("autostart folder holds %d files; want only the entry", len(dir))
	}

	for range 2 { // "off" twice is fine
		if err := a.SetEnabled(false); err != nil {
			t.Fatal(err)
		}
		wantEnabled(false)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("entry after SetEnabled(false): %v; want it removed", err)
	}

	// Turned off in place by the desktop's own settings: off, until the user turns it on here.
	if err := os.WriteFile(path, append(b, "Hidden=true\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	wantEnabled(false)
	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	wantEnabled(true)
}

func TestXDGAutostartDefaultFolder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	a, err := NewAutostart("homeytray-work", "/usr/bin/homeytray", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "autostart", "homeytray-work.desktop")); err != nil {
		t.Error(err)
	}
}

// The entry passes desktop-file-validate, with no error, warning or hint.
func TestXDGAutostartValidates(t *testing.T) {
	validate := needTool(t, "desktop-file-validate", "desktop-file-utils")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	a, err := NewAutostart("homeytray", "/opt/home tray/homeytray", awkwardArgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(validate, filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "autostart", "homeytray.desktop")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("desktop-file-validate: %v\n%s", err, out)
	}
}

// GLib, which GNOME, Xfce and others start autostart entries with, runs exactly our command:
// `gio launch` on the entry runs a script that records the arguments it got.
func TestXDGAutostartLaunches(t *testing.T) {
	gio := needTool(t, "gio", "libglib2.0-bin")
	dir := filepath.Join(t.TempDir(), "my $apps")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "argv")
	exe := filepath.Join(dir, `record "args"`)
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > " + shellQuote(out+".tmp") +
		" && mv " + shellQuote(out+".tmp") + " " + shellQuote(out) + "\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	a, err := NewAutostart("homeytray", exe, awkwardArgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "autostart", "homeytray.desktop")
	if b, err := exec.Command(gio, "launch", entry).CombinedOutput(); err != nil {
		t.Fatalf("gio launch: %v\n%s", err, b)
	}
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got, err = os.ReadFile(out); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the entry's program did not run: %v", err)
	}
	argv := strings.Split(strings.TrimSuffix(string(got), "\x00"), "\x00")
	if !reflect.DeepEqual(argv, awkwardArgs) {
		t.Errorf("the program got %q; want %q", argv, awkwardArgs)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// desktopKey is the raw value of key in a desktop file.
func desktopKey(b []byte, key string) (string, bool) {
	for line := range bytes.Lines(b) {
		if v, ok := strings.CutPrefix(strings.TrimRight(string(line), "\n"), key+"="); ok {
			return v, true
		}
	}
	return "", false
}
