package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	f := &FileStore{Path: filepath.Join(dir, "secrets.json")}
	if _, err := f.Get("token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on a missing file: %v, want ErrNotFound", err)
	}
	if err := f.Delete("token"); err != nil {
		t.Fatalf("Delete on a missing file: %v", err)
	}
	for _, kv := range [][2]string{{"token", `{"a":"b"}`}, {"client-secret", "s\n✓"}, {"token", "v2"}} {
		if err := f.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for key, want := range map[string]string{"token": "v2", "client-secret": "s\n✓"} {
		if got, err := f.Get(key); err != nil || got != want {
			t.Errorf("Get(%q): err %v, right value %v", key, err, got == want)
		}
	}
	if err := f.Delete("token"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get("token"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if got := f.Name(); got != "insecure file "+f.Path {
		t.Errorf("Name() = %q", got)
	}
	if runtime.GOOS == "windows" {
		return
	}
	checkMode(t, f.Path, 0o600)
	checkMode(t, dir, 0o700)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".secrets.json.tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

func TestFileStoreCorruptFileIsNeverRewritten(t *testing.T) {
	for _, content := range []string{`{"token": "abc`, `["a"]`, `{"n": 1}`, "null", "garbage"} {
		f := &FileStore{Path: filepath.Join(t.TempDir(), "secrets.json")}
		if err := os.WriteFile(f.Path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		for op, call := range map[string]func() error{
			"get":    func() error { _, err := f.Get("token"); return err },
			"set":    func() error { return f.Set("token", "new") },
			"delete": func() error { return f.Delete("token") },
		} {
			err := call()
			if err == nil || errors.Is(err, ErrNotFound) {
				t.Fatalf("%s on %q: %v, want a corruption error", op, content, err)
			}
			if !strings.Contains(err.Error(), f.Path) || strings.Contains(err.Error(), "abc") {
				t.Errorf("%s on %q: %q should name the file and quote nothing", op, content, err)
			}
		}
		if got, _ := os.ReadFile(f.Path); string(got) != content {
			t.Errorf("the corrupt file %q was rewritten", content)
		}
	}
}

func TestFileStoreEmptyFileIsEmpty(t *testing.T) {
	f := &FileStore{Path: filepath.Join(t.TempDir(), "s.json")}
	if err := os.WriteFile(f.Path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get on an empty file: %v", err)
	}
	if err := f.Set("x", "y"); err != nil {
		t.Error(err)
	}
}

// Concurrent writers of different keys must not lose each other's writes.
func TestFileStoreConcurrentWriters(t *testing.T) {
	f := &FileStore{Path: filepath.Join(t.TempDir(), "s.json")}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := f.Set(fmt.Sprintf("k%d", i), "v"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range 20 {
		if _, err := f.Get(fmt.Sprintf("k%d", i)); err != nil {
			t.Errorf("k%d: %v", i, err)
		}
	}
}

// A writer killed between creating its temp file and renaming it leaves the temp file behind.
// The file store's writers hold a lock, so every temp file beside the store is abandoned: the
// next write removes them all, whatever their age (they hold secrets).
func TestFileStoreRemovesAllAbandonedTemps(t *testing.T) {
	dir := t.TempDir()
	f := &FileStore{Path: filepath.Join(dir, "secrets.json")}
	for name, age := range map[string]time.Duration{".secrets.json.tmp-1": 0, ".secrets.json.tmp-2": time.Hour} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, time.Now().Add(-age), time.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Set("token", "v"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range entries {
		got = append(got, de.Name())
	}
	slices.Sort(got)
	if want := []string{"secrets.json", "secrets.json.lock"}; !slices.Equal(got, want) {
		t.Errorf("folder after the write = %q, want %q", got, want)
	}
}
