package auth

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The real Credential Manager through the real Keyring (go-keyring's CredWriteW, CredReadW,
// CredDeleteW): under Wine in make test-wine, or on a Windows machine. The service name is
// this test process's own, and every item is deleted again.
func TestCredentialManagerRoundTrip(t *testing.T) {
	k := &Keyring{Service: fmt.Sprintf("homeytray-test-%d", os.Getpid())}
	if k.Name() != "Windows Credential Manager" {
		t.Fatalf("Name = %q", k.Name())
	}
	t.Cleanup(func() { _ = k.Delete("token"); _ = k.Delete("big") })

	if _, err := k.Get("token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set: %v; want ErrNotFound", err)
	}
	if err := k.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	const value = `{"access_token":"x","refresh_token":"é✓"}` // not ASCII: stored as bytes, read back the same
	if err := k.Set("token", value); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := k.Get("token"); err != nil || got != value {
		t.Fatalf("Get after Set: a value of %d bytes, %v; want the %d bytes stored", len(got), err, len(value))
	}
	if err := k.Set("token", value+"2"); err != nil {
		t.Fatalf("Set over an item: %v", err)
	}
	if got, err := k.Get("token"); err != nil || got != value+"2" {
		t.Fatalf("Get after the second Set: %d bytes, %v", len(got), err)
	}
	// The blob limit: what we store is far below it (blobsize_test.go); right at it, it works.
	big := strings.Repeat("b", credentialBlobMax)
	if err := k.Set("big", big); err != nil {
		t.Fatalf("Set of %d bytes: %v", len(big), err)
	}
	if got, err := k.Get("big"); err != nil || got != big {
		t.Fatalf("Get of the %d-byte item: %d bytes, %v", len(big), len(got), err)
	}
	if err := k.Set("big", big+"b"); err == nil {
		t.Errorf("Set of %d bytes worked; the Credential Manager limit is %d", len(big)+1, credentialBlobMax)
	} else if strings.Contains(err.Error(), "bbbb") {
		t.Error("the error quotes the value")
	}
	if err := k.Delete("token"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := k.Get("token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v; want ErrNotFound", err)
	}
	if err := k.Delete("token"); err != nil {
		t.Fatalf("Delete of an absent item: %v; want nil", err)
	}
}
