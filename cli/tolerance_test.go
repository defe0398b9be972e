package cli

import (
	"testing"

	"github.com/homeytray/homeytray/homey/emulator"
)

// TestDemoToleranceFlags: `demo emulator`'s tolerance flags reach the emulator's options; bad
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
		if err := demoTolerance(&o, bad[0], bad[1], bad[2], vs); quietFactory(nil).exit(err) != exitUsage {
			t.Errorf("demoTolerance(%q): %v; want a usage error", bad, err)
		}
	}
}
