package fsutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A reader holding the file open (another homeytray process in os.ReadFile) must not make
// the atomic replace fail on Windows: it waits until the reader lets go. Before replaceFile the
// rename failed at once with "Access denied" (and TestCrossProcessRefreshOnce failed 4 runs of 6
// under Wine).
func TestWriteFileAtomicWhileAReaderHasItOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.json")
	if err := WriteFileAtomic(path, []byte("old\n")); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(path) // as os.ReadFile opens it: no FILE_SHARE_DELETE
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- WriteFileAtomic(path, []byte("new\n")) }()
	select {
	case err := <-done:
		r.Close()
		t.Fatalf("WriteFileAtomic returned while the reader held the file: %v", err)
	case <-time.After(200 * time.Millisecond): // still waiting for the reader, as it should
	}
	r.Close()
	if err := <-done; err != nil {
		t.Fatalf("WriteFileAtomic after the reader closed: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "new\n" {
		t.Fatalf("content %q, %v; want the new one", b, err)
	}
}
