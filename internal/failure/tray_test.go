package failure

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// A token-shaped secret that no text may contain.
const secretToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"

func TestNeedsUser(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", auth.ErrSignInGone), true},
		{auth.ErrNotSignedIn, true},
		{fmt.Errorf("x: %w", &auth.KeychainError{Kind: auth.Timeout}), true},
		{&url.Error{Op: "Get", URL: "u", Err: errors.New("x")}, false},
		{&homey.APIError{StatusCode: 500}, false},
		{errors.New("anything else"), false},
	}
	for _, tt := range tests {
		if got := Of(tt.err).NeedsUser(); got != tt.want {
			t.Errorf("NeedsUser of %v = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	id := "5f4c1e2a9b8d7c6e5f4a3b2c"                                // a Homey id: 24 hex digits
	uuid := "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"                  // a device id
	long := strings.Repeat("A", 39) + " " + strings.Repeat("b", 40) // 39 stays, 40 goes
	tests := []struct{ in, want string }{
		{"homey " + id, "homey " + id},
		{"device " + uuid + ".", "device " + uuid + "."},
		{long, strings.Repeat("A", 39) + " …"},
		{secretToken, "…"},
		{"Bearer " + secretToken + ", then", "Bearer …, then"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45 s", time.Minute: "60 s", 2 * time.Minute: "2 min", 90 * time.Minute: "90 min", 3 * time.Hour: "3 h",
	} {
		if got := ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
