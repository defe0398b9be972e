package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/homeytray/homeytray/internal/fsutil"
)

// FileStore is a Store in a plain JSON file (an object of key to value),
// readable by anyone who can read the file. It exists only as an explicit
// opt-in for machines without a keychain.
//
// The file is written with mode 0600 in a directory created with mode 0700,
// atomically (a temporary file renamed over it), under a lock file next to it
// (Path + ".lock") so that processes do not lose each other's writes. A file
// that is not such a JSON object is an error and is never rewritten.
type FileStore struct {
	Path string
}

// fileLockWait bounds the wait for another process's write.
const fileLockWait = 10 * time.Second

// Name returns "insecure file <path>".
func (f *FileStore) Name() string { return "insecure file " + f.Path }

// Get returns the value stored under key, or ErrNotFound.
func (f *FileStore) Get(key string) (string, error) {
	m, err := f.read()
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

// Set stores value under key.
func (f *FileStore) Set(key, value string) error {
	return f.update(func(m map[string]string) bool {
		m[key] = value
		return true
	})
}

// Delete removes key; an absent key is not an error.
func (f *FileStore) Delete(key string) error {
	return f.update(func(m map[string]string) bool {
		if _, ok := m[key]; !ok {
			return false
		}
		delete(m, key)
		return true
	})
}

// read returns the stored map; a missing or empty file is an empty map.
func (f *FileStore) read() (map[string]string, error) {
	if f.Path == "" {
		return nil, errors.New("insecure file store: no path")
	}
	data, err := fsutil.ReadFile(f.Path) // not os.ReadFile: Windows refuses an open during another process's replace
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("insecure file store: %w", err)
	}
	m := map[string]string{}
	if len(bytes.TrimSpace(data)) == 0 {
		return m, nil
	}
	// The json error is left out: it may quote a byte of a secret.
	if json.Unmarshal(data, &m) != nil || m == nil {
		return nil, fmt.Errorf("insecure file store %s is corrupt (not a JSON object of strings): repair or delete it", f.Path)
	}
	return m, nil
}

// update runs change on the stored map under the locks and writes the result
// if change reports a change.
func (f *FileStore) update(change func(map[string]string) bool) error {
	if f.Path == "" {
		return errors.New("insecure file store: no path")
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return fmt.Errorf("insecure file store: %w", err)
	}
	// The lock file serialises writers across processes and, as every update opens it anew,
	// between goroutines too: flock(2) on Linux and macOS and LockFileEx on Windows lock per open
	// file (gofrs/flock uses fcntl's per-process locks only on Solaris-like systems, where
	// homeytray does not run).
	lock := flock.New(f.Path + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), fileLockWait)
	defer cancel()
	if _, err := lock.TryLockContext(ctx, 5*time.Millisecond); err != nil {
		return fmt.Errorf("insecure file store: lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	m, err := f.read()
	if err != nil {
		return err
	}
	if !change(m) {
		return nil
	}
	return f.write(m)
}

// write replaces the file atomically.
func (f *FileStore) write(m map[string]string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("insecure file store: %w", err)
	}
	// Under the lock no other writer is in flight: every temp file beside the store is
	// from a writer that was killed, and holds secrets that must not outlive a logout.
	if err := fsutil.WriteFileAtomicLocked(f.Path, append(data, '\n')); err != nil {
		return fmt.Errorf("insecure file store: %w", err)
	}
	return nil
}
