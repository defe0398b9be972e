package fsutil

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Readers of a file that another writer keeps replacing always get one whole version, never an
// error: on Windows (and Wine) an open that meets a replace in progress is refused with a
// sharing violation, which ReadFile waits out (TestCrossProcessRefreshOnce failed that way once
// in a dozen runs under Wine before).
func TestReadFileWhileReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	version := func(i int) []byte { return []byte(fmt.Sprintf("{\"version\": %d}\n", i)) }
	if err := WriteFileAtomic(path, version(0)); err != nil {
		t.Fatal(err)
	}
	const writes = 300
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for i := 1; i <= writes; i++ {
			if err := WriteFileAtomic(path, version(i)); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	})
	for reader := 0; reader < 4; reader++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := ReadFile(path)
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				if !bytes.HasPrefix(b, []byte("{\"version\": ")) || !bytes.HasSuffix(b, []byte("}\n")) {
					t.Errorf("read a partial file: %q", b)
					return
				}
				// Readers as busy as a crowd of homeytray processes, not a tight loop: four
				// goroutines that never let go of the file at all would starve the writer on
				// Windows, which waits for a moment with no reader (fsutil.replaceFile).
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if b, err := ReadFile(path); err != nil || !bytes.Equal(b, version(writes)) {
		t.Fatalf("final content %q, %v", b, err)
	}
}
