package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
)

// TestNoteRefresh: a refresh failure is kept for status until a success clears it; a keychain
// that could not be read is not one (nothing was refreshed; status reads the keychain itself),
// and it leaves a kept failure as it was. A keychain that refuses to save is kept.
func TestNoteRefresh(t *testing.T) {
	f := newUser(t).factory(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	last := func() string {
		t.Helper()
		c, err := f.load()
		if err != nil {
			t.Fatal(err)
		}
		return c.LastRefreshError
	}
	unreadable := &auth.KeychainError{Backend: "Secret Service", Op: "get", Kind: auth.Unavailable, Err: errors.New("no session bus")}
	for _, c := range []struct {
		err  error
		want string // in the kept error; "" = nothing kept
	}{
		{unreadable, ""},
		{fmt.Errorf("refresh: %w", auth.ErrSignInGone), "no longer valid"},
		{fmt.Errorf("load the sign-in: %w", unreadable), "no longer valid"},
		{&auth.KeychainError{Backend: "Secret Service", Op: "get", Kind: auth.Locked}, "no longer valid"},
		{auth.ErrNotSignedIn, "no longer valid"},
		{nil, ""},
		{&auth.KeychainError{Backend: "Secret Service", Op: "set", Kind: auth.Refused}, "refused"},
	} {
		f.noteRefresh(c.err)
		if got := last(); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("after %v: last refresh error %q, want %q", c.err, got, c.want)
		}
	}
}

// TestRunClosesKeychain: a run closes the keychain it used before it returns (auth.Keyring.Close
// says why), so a call after it fails at once and never reaches the keychain.
func TestRunClosesKeychain(t *testing.T) {
	u := newUser(t)
	// No Secret Service to reach: status only has to make the keychain and try it.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	var out bytes.Buffer
	f := u.factory(Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := f.run(ctx, []string{"status"})
	k := f.keyring.Load()
	if k == nil {
		t.Fatalf("status (exit %d) did not use the keychain: %s", code, &out)
	}
	if _, err := k.Get(keyClientSecret); err == nil || !strings.Contains(err.Error(), "exiting") {
		t.Errorf("a keychain call after the run: %v; want it refused because the program is exiting", err)
	}
}
