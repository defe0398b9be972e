package auth

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// credentialBlobMax is the Windows Credential Manager's limit on one secret
// (CRED_MAX_CREDENTIAL_BLOB_SIZE, 5*512 bytes); go-keyring refuses anything longer.
const credentialBlobMax = 2560

// The largest item homeytray keeps is the Athom token: it must fit a Credential Manager blob
// with room to spare. Observed tokens are 40 hex characters (docs/protocol.md#token); this stores 1000
// each, 25 times that, with the longest token type and a far-future expiry.
func TestStoredTokenFitsTheCredentialManager(t *testing.T) {
	store := newMemStore()
	s := &Session{Store: store}
	long := strings.Repeat("f", 1000)
	tok := &oauth2.Token{AccessToken: long, RefreshToken: long, TokenType: "bearer",
		Expiry: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -12*3600))}
	if err := s.save(tok); err != nil {
		t.Fatal(err)
	}
	v, err := store.Get(TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) >= credentialBlobMax {
		t.Errorf("the stored token is %d bytes, the Credential Manager takes at most %d", len(v), credentialBlobMax)
	}
	t.Logf("stored token with 1000-byte tokens: %d of %d bytes", len(v), credentialBlobMax)
}
