package fsutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// Lock bounds: how long a caller waits for another holder, and how often it tries.
const (
	lockWait  = 30 * time.Second
	lockRetry = 10 * time.Millisecond
)

// Lock takes an exclusive lock on the file at path (created with its folder, mode 0700, if
// missing), waiting up to 30 s or until ctx ends, and returns its release. The lock is shared by
// every process and, as each call opens the file anew, by every goroutine: one holder at a time.
// The kernel releases it if the process dies, so a killed holder blocks nobody. It guards the
// token refresh, the sign-in to a Homey, and every change of the settings and the cache.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	fl := flock.New(path)
	wctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	if _, err := fl.TryLockContext(wctx, lockRetry); err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("lock %s: another process has held it for over %s", path, lockWait)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = fl.Unlock() }, nil
}
