//go:build linux

package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestKeyringConcurrentWritersAndDeleters: many writers, readers and deleters of one item at once
// (16 processes on an expired sign-in do that to the bearer and token items). A delete of an item
// that another one deleted or replaced after the search is a success, and a read of it finds
// it gone or the new value: no call fails with the Secret Service's "No such interface
// org.freedesktop.Secret.Item on object at path …".
func TestKeyringConcurrentWritersAndDeleters(t *testing.T) {
	requireSessionBus(t)
	k := &Keyring{Service: uniqueService(t)}
	t.Cleanup(func() { _ = k.Delete("item") })
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*3)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				if err := k.Set("item", fmt.Sprintf("value %d/%d", w, i)); err != nil {
					errs <- fmt.Errorf("set: %w", err)
				}
				if _, err := k.Get("item"); err != nil && !errors.Is(err, ErrNotFound) {
					errs <- fmt.Errorf("get: %w", err)
				}
				if err := k.Delete("item"); err != nil {
					errs <- fmt.Errorf("delete: %w", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d calls failed", n, workers*rounds*3)
	}
	if err := wantErr(k.Get("item")); err != nil {
		t.Errorf("after the last delete: %v", err)
	}
}
