//go:build !windows

package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// Unix file modes: Windows has none (its files are guarded by ACLs), so this test is not built there.
func TestFileStoreRewritesLooseModeTo0600(t *testing.T) {
	f := &FileStore{Path: filepath.Join(t.TempDir(), "s.json")}
	if err := os.WriteFile(f.Path, []byte(`{"k":"v"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("k2", "v2"); err != nil {
		t.Fatal(err)
	}
	checkMode(t, f.Path, 0o600)
}
