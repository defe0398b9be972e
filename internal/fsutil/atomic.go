package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFileAtomic replaces path with data, mode 0600: a temporary file in the same folder,
// synced, then renamed over path. A reader (or a crash) sees the old or the new content, never
// a part of it.
//
// A writer killed between the two steps leaves its temp file; the next write removes those older
// than [StaleTempAge] (a write takes milliseconds, so they are not another process's write in
// flight).
func WriteFileAtomic(path string, data []byte) error {
	return writeFileAtomic(path, data, StaleTempAge)
}

// WriteFileAtomicLocked is [WriteFileAtomic] for a caller that holds a lock excluding every
// other writer of path: every temp file beside path is then from a writer that was killed, and
// all of them are removed, whatever their age (a file store's temp files hold secrets that must
// not outlive a logout).
func WriteFileAtomicLocked(path string, data []byte) error {
	return writeFileAtomic(path, data, 0)
}

// StaleTempAge is the age from which a temp file of [WriteFileAtomic] counts as abandoned.
const StaleTempAge = time.Minute

// writeFileAtomic is WriteFileAtomic removing the abandoned temp files of path that are at least
// staleAfter old (0: all of them, for callers that exclude concurrent writers by a lock).
func writeFileAtomic(path string, data []byte, staleAfter time.Duration) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replaceFile(tmp.Name(), path) // not os.Rename: Windows refuses while a reader has path open
	}
	if err == nil {
		removeStaleTemps(path, staleAfter)
	}
	return err
}

// RemoveFile deletes path and every temp file a killed [WriteFileAtomic] left beside it (a file
// store's temp files hold secrets). A missing path is no error.
func RemoveFile(path string) error {
	removeStaleTemps(path, 0)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// removeStaleTemps deletes the temp files that killed writers of path left behind (best effort):
// they pile up otherwise, and a file store's copy would keep secrets after a logout.
func removeStaleTemps(path string, staleAfter time.Duration) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range entries {
		if !de.Type().IsRegular() || !strings.HasPrefix(de.Name(), prefix) {
			continue
		}
		if fi, err := de.Info(); err != nil || staleAfter > 0 && time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		_ = os.Remove(filepath.Join(dir, de.Name()))
	}
}
