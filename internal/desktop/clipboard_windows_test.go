package desktop

import "testing"

// The Win32 clipboard for real (under Wine in make test-wine): plain text and a marked secret
// are read back, Holds follows what is on it, and Clear empties it.
func TestWindowsClipboard(t *testing.T) {
	a := System()
	if err := a.Write("device-0b1c2d3e ünïcødé", false); err != nil {
		t.Fatal(err)
	}
	if got, err := readClipboard(); err != nil || got != "device-0b1c2d3e ünïcødé" {
		t.Fatalf("read back %q, %v", got, err)
	}
	const secret = "secret-0123456789abcdef"
	if err := a.Write(secret, true); err != nil {
		t.Fatal(err)
	}
	if got, err := readClipboard(); err != nil || got != secret {
		t.Fatalf("read back %d bytes, %v; want the secret", len(got), err)
	}
	if !a.Holds(secret) || a.Holds("device-0b1c2d3e ünïcødé") {
		t.Error("Holds does not follow the clipboard")
	}
	for _, name := range []string{"ExcludeClipboardContentFromMonitorProcessing", "CanIncludeInClipboardHistory"} {
		if !hasFormat(t, name) {
			t.Errorf("the secret lacks the format %s", name)
		}
	}
	if err := a.Write("plain again", false); err != nil {
		t.Fatal(err)
	}
	if hasFormat(t, "CanIncludeInClipboardHistory") {
		t.Error("plain text carries the secret's formats")
	}
	if err := a.Clear(); err != nil {
		t.Fatal(err)
	}
	if got, err := readClipboard(); err == nil {
		t.Errorf("after Clear the clipboard holds %q", got)
	}
	if a.Holds("plain again") {
		t.Error("Holds after Clear")
	}
}

var cbIsFormatAvailable = cbUser32.NewProc("IsClipboardFormatAvailable")

// hasFormat reports whether the clipboard has the registered format name.
func hasFormat(t *testing.T, name string) bool {
	t.Helper()
	f, err := cbFormat(name)
	if err != nil {
		t.Fatal(err)
	}
	r, _, _ := cbIsFormatAvailable.Call(uintptr(f))
	return r != 0
}
