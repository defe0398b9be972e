package homey

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The Homey bearer cache item (the JSON of a Bearer, as the CLI stores it per Homey) must fit a
// Windows Credential Manager blob: 2560 bytes (CRED_MAX_CREDENTIAL_BLOB_SIZE). Observed session
// bearers are "<uuid>:<uuid>:<40 hex>", 114 bytes (docs/protocol.md#homey-login); this uses 1000, and a
// 500-byte base URL.
func TestBearerFitsTheCredentialManager(t *testing.T) {
	const credentialBlobMax = 2560
	far := time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -12*3600))
	b := Bearer{Token: strings.Repeat("f", 1000), HomeyID: strings.Repeat("a", 24),
		BaseURL: "https://" + strings.Repeat("h", 492), Strategy: "localSecure", IssuedAt: far, ConfirmedAt: far}
	v, err := json.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) >= credentialBlobMax {
		t.Errorf("the bearer item is %d bytes, the Credential Manager takes at most %d", len(v), credentialBlobMax)
	}
	t.Logf("bearer item: %d of %d bytes", len(v), credentialBlobMax)
}
