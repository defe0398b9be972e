package fsutil

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// A writer killed between creating its temp file and renaming it leaves the temp file behind.
// The next write removes such files once they are old enough not to be another process's write
// in flight; a writer that holds a lock removes them all (a file store's hold secrets).

func writeFiles(t *testing.T, dir string, age time.Duration, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range entries {
		names = append(names, de.Name())
	}
	slices.Sort(names)
	return names
}

func TestWriteFileAtomicRemovesAbandonedTemps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 2*time.Minute, ".config.json.tmp-1", ".other.json.tmp-2", "config.json.tmp-3")
	writeFiles(t, dir, 0, ".config.json.tmp-4") // maybe another process's write in flight
	if err := WriteFileAtomic(filepath.Join(dir, "config.json"), []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	want := []string{".config.json.tmp-4", ".other.json.tmp-2", "config.json", "config.json.tmp-3"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("folder after the write = %q, want %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "config.json"))
	// Windows has no permission bits (Go reports 0666 for any writable file): the folder's ACL
	// is what protects it there.
	if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json: %v, %v; want mode 0600", fi, err)
	}
}

func TestWriteFileAtomicLockedRemovesAllTemps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 0, ".secrets.json.tmp-1", ".config.json.tmp-2")
	writeFiles(t, dir, time.Hour, ".secrets.json.tmp-3")
	if err := WriteFileAtomicLocked(filepath.Join(dir, "secrets.json"), []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, dir), []string{".config.json.tmp-2", "secrets.json"}; !slices.Equal(got, want) {
		t.Errorf("folder after the write = %q, want %q", got, want)
	}
}

func TestRemoveFileTakesItsTemps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, 0, "secrets.json", ".secrets.json.tmp-1", ".config.json.tmp-2")
	if err := RemoveFile(filepath.Join(dir, "secrets.json")); err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, dir), []string{".config.json.tmp-2"}; !slices.Equal(got, want) {
		t.Errorf("folder after RemoveFile = %q, want %q", got, want)
	}
	if err := RemoveFile(filepath.Join(dir, "secrets.json")); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
}
