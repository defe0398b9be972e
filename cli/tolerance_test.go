package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/homey/emulator"
)

// TestExplainTolerance: the errors of the tolerated variants (issue 10) say what happened in one
// line, give the fix the command line knows and the right exit code.
func TestExplainTolerance(t *testing.T) {
	for _, c := range []struct {
		err       error
		code      int
		msg, hint string
	}{
		{fmt.Errorf("x: %w: %w", auth.ErrSignInGone, auth.ErrClientRefused), exitAuth, "invalid_client", "homeytray setup"},
		{fmt.Errorf("%w: exchange: %w", errSigningIn, auth.ErrClientRefused), exitAuth, "invalid_client", "homeytray setup"},
		{fmt.Errorf("%w (Athom refused it at the delegation step: 403)", errPATNoHomeys), exitAuth, "cannot sign in to Homeys", "homeytray login"},
		{fmt.Errorf("x: %w", &homey.UnsupportedError{HomeyName: "Old", APIVersion: 1}), exitError, "API version 1", ""},
		{fmt.Errorf("x: %w", homey.ErrInvalidSerial), exitError, "invalid serial number", "Athom support"},
		{fmt.Errorf("x: %w", homey.ErrSubscriptionInactive), exitError, "subscription is inactive", "Renew"},
	} {
		msg, hint, code := explain(c.err, "homeytray")
		if code != c.code || !strings.Contains(msg, c.msg) || !strings.Contains(hint, c.hint) || strings.Contains(msg, "\n") {
			t.Errorf("explain(%v) = %q, %q, %d; want %d, %q, %q", c.err, msg, hint, code, c.code, c.msg, c.hint)
		}
	}
}

// TestDemoToleranceFlags: `demo serve`'s tolerance flags reach the emulator's options; bad
// values are usage errors.
func TestDemoToleranceFlags(t *testing.T) {
	var o emulator.Options
	err := demoTolerance(&o, "relay", "text", "401:invalid_token", []string{"Cabin=pro2019", "Home=cloud,invalid-serial"})
	if err != nil {
		t.Fatal(err)
	}
	if o.NoHomeyID != emulator.ViaRelay || o.TokenBody != emulator.TokenBodyText || o.RefreshErrorStatus != 401 ||
		o.RefreshErrorCode != "invalid_token" || o.Variants["Cabin"].APIVersion != 2 ||
		o.Variants["Home"] != (emulator.Variant{Platform: "cloud", Ping403: emulator.PingInvalidSerial}) {
		t.Errorf("options: %+v", o)
	}
	for _, bad := range [][4]string{{"nowhere", "json", "", ""}, {"", "xml", "", ""}, {"", "json", "401", ""}, {"", "json", "", "Cabin=frob"}} {
		var o emulator.Options
		var vs []string
		if bad[3] != "" {
			vs = []string{bad[3]}
		}
		var ue *usageError
		if err := demoTolerance(&o, bad[0], bad[1], bad[2], vs); !errors.As(err, &ue) {
			t.Errorf("demoTolerance(%q): %v; want a usage error", bad, err)
		}
	}
}
