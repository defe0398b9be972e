package fsutil

import (
	"errors"
	"io"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// ReadFile reads path as os.ReadFile does, for a file that other processes replace with
// [WriteFileAtomic]. Windows refuses to open a file while another process's MoveFileEx is
// replacing it (ERROR_SHARING_VIOLATION, or ERROR_ACCESS_DENIED while the old file is pending
// deletion); the replace takes microseconds, so the open is retried for a bounded time. The file
// is opened with FILE_SHARE_DELETE, so that a reader never makes a writer's replace wait in turn.
func ReadFile(path string) ([]byte, error) {
	const giveUpAfter = 5 * time.Second
	deadline := time.Now().Add(giveUpAfter)
	wait := time.Millisecond
	for {
		b, err := readShared(path)
		if err == nil || !transientOpenError(err) || time.Now().After(deadline) {
			return b, err
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

func transientOpenError(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// readShared opens path for reading, sharing read, write and delete, and reads all of it.
func readShared(path string) ([]byte, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			err = os.ErrNotExist
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(h), path)
	defer f.Close()
	return io.ReadAll(f)
}
