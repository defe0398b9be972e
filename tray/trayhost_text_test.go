package tray

import (
	"strings"
	"testing"
)

// TestNoTrayHostWords: the notice of a desktop without a tray host names the fix on GNOME (the
// extension, by its name in GNOME's Extensions app) and elsewhere, and says that scripts work
// meanwhile; each text is one line.
func TestNoTrayHostWords(t *testing.T) {
	n := noTrayHostNote()
	for _, want := range []string{"AppIndicator and KStatusNotifierItem Support", "GNOME", "system tray", "Scripts"} {
		if !strings.Contains(n.body, want) {
			t.Errorf("the notification's body lacks %q: %q", want, n.body)
		}
	}
	for _, want := range []string{"StatusNotifierWatcher", "AppIndicator and KStatusNotifierItem Support", "script"} {
		if !strings.Contains(noTrayHostText, want) {
			t.Errorf("the stderr line lacks %q: %q", want, noTrayHostText)
		}
	}
	for _, s := range []string{n.title, n.body, noTrayHostText, trayHostRefusedText, trayHostLostText} {
		if s == "" || strings.ContainsAny(s, "\r\n") {
			t.Errorf("not one line: %q", s)
		}
	}
}
