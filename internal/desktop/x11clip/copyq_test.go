//go:build linux

package x11clip

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/homeytray/homeytray/internal/desktop/desktoptest"
	"github.com/jezek/xgb/xproto"
)

func randomText(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// CopyQ 6.4 keeps marked secrets unless told not to; the automatic command from its FAQ makes
// it skip content whose x-kde-passwordManagerHint is "secret" (CopyQ 8 does so by itself).
func TestCopyQKeepsPlainTextButNotSecrets(t *testing.T) {
	o, display := open(t)
	var mu sync.Mutex
	served := map[xproto.Atom]int{}
	o.mu.Lock()
	o.served = func(target xproto.Atom) {
		mu.Lock()
		served[target]++
		mu.Unlock()
	}
	o.mu.Unlock()
	servedCount := func(target xproto.Atom) int {
		mu.Lock()
		defer mu.Unlock()
		return served[target]
	}

	// CopyQ 6.4 with the automatic command from its FAQ (desktoptest.NewCopyQ).
	cq := desktoptest.NewCopyQ(t, display)
	cq.Warm(func(text string) error { return o.Copy(text, false) })

	plain := randomText("plain")
	if err := o.Copy(plain, false); err != nil {
		t.Fatal(err)
	}
	desktoptest.WaitFor(t, "CopyQ to handle the plain text", func() bool { return cq.Handled(plain) })
	if !cq.Kept(plain) {
		t.Fatalf("CopyQ did not keep the plain text: history %q", cq.Items(""))
	}

	secret := randomText("secret")
	if err := o.Copy(secret, true); err != nil {
		t.Fatal(err)
	}
	desktoptest.WaitFor(t, "CopyQ to handle the secret", func() bool { return cq.Handled(secret) })
	if servedCount(o.atom.hint) == 0 {
		t.Errorf("CopyQ never read the %s target", PasswordHint)
	}
	if cq.Kept(secret) {
		t.Fatalf("CopyQ kept the marked secret: history %q", cq.Items(""))
	}
	if !cq.Kept(plain) {
		t.Fatalf("CopyQ lost the plain text: history %q", cq.Items(""))
	}
}
