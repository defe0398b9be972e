//go:build !darwin && !windows

package auth

import (
	"testing"
	"time"
)

// TestKeyringSecretService runs round trips against the real Secret Service
// on the session bus.
func TestKeyringSecretService(t *testing.T) {
	requireSessionBus(t)
	k := &Keyring{Service: uniqueService(t)}
	t.Cleanup(func() {
		for _, key := range []string{"token", "client-secret", checkKey} {
			_ = k.Delete(key)
		}
	})
	timed := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%-22s %6.1f ms", what, float64(time.Since(start).Microseconds())/1000)
	}
	timed("Check", k.Check)
	timed("Get (absent)", func() error { return wantErr(k.Get("token")) })
	timed("Set", func() error { return k.Set("token", `{"access_token":"a"}`) })
	timed("Set (overwrite)", func() error { return k.Set("token", "second value ✓ with\nnewline") })
	timed("Get", func() error { return wantValue(k.Get("token"))("second value ✓ with\nnewline") })
	timed("Set (other key)", func() error { return k.Set("client-secret", "s3") })
	timed("Get (other key)", func() error { return wantValue(k.Get("client-secret"))("s3") })
	timed("Get (first key again)", func() error { return wantValue(k.Get("token"))("second value ✓ with\nnewline") })
	timed("Delete", func() error { return k.Delete("token") })
	timed("Get (deleted)", func() error { return wantErr(k.Get("token")) })
	timed("Delete (absent)", func() error { return k.Delete("token") })
	timed("Check leaves nothing", func() error { return wantErr(k.Get(checkKey)) })
	if got := k.Name(); got != "Secret Service" {
		t.Errorf("Name() = %q", got)
	}
}
