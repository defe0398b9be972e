package fsutil

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// replaceFile renames from over to, as os.Rename does, and retries for a bounded time while
// Windows refuses because another process has it open. os.Rename is MoveFileEx with
// MOVEFILE_REPLACE_EXISTING, but Windows will not replace a file that anyone holds open without
// FILE_SHARE_DELETE, and Go's os.Open/os.ReadFile (in every other homeytray process reading the
// same --insecure-file-store or config file) open without it: the rename fails with
// ERROR_ACCESS_DENIED or ERROR_SHARING_VIOLATION. A reader holds the file for microseconds, so
// waiting a little is enough; on Linux and macOS rename(2) replaces an open file (rename_other.go).
func replaceFile(from, to string) error {
	const giveUpAfter = 5 * time.Second
	deadline := time.Now().Add(giveUpAfter)
	wait := time.Millisecond
	for {
		err := os.Rename(from, to)
		if err == nil || !errors.Is(err, windows.ERROR_ACCESS_DENIED) && !errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
			time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}
