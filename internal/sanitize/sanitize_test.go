package sanitize

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, c := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Desk lamp", 0, "Desk lamp"},
		{"newline and tab", "Desk\nlamp\tnow", 0, "Desk lamp now"},
		{"escape sequence", "evil\x1b[2J\x1b]0;title\x07name", 0, "evil [2J ]0;title name"},
		{"C1 controls", "a\u0085b\u009bc", 0, "a b c"},
		{"line and paragraph separators", "a\u2028b\u2029c", 0, "a b c"},
		{"right-to-left override", "Kitchen \u202egnp.exe", 0, "Kitchen gnp.exe"},
		{"isolates and marks", "\u2066a\u2069\u200eb\u200f", 0, "ab"},
		{"zero-width joiner and space", "Li\u200dving\u200broom", 0, "Livingroom"},
		{"byte-order mark", "\ufeffHome", 0, "Home"},
		{"invalid UTF-8", "a\xffb", 0, "a b"},
		{"runs of space", "  a   b  ", 0, "a b"},
		{"only controls", "\x00\x01\u202e", 0, ""},
		{"cut", "abcdefghij", 5, "abcd…"},
		{"fits exactly", "abcde", 5, "abcde"},
		{"cut before a space", "abc defgh", 5, "abc…"},
		{"cut counts runes", "äöüßéèà", 4, "äöü…"},
		{"format characters are not counted", "ab\u202ecd", 4, "abcd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Line(c.in, c.max); got != c.want {
				t.Errorf("Line(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
		})
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"Desk lamp", "a\u202eb", "\x1b[31mred", "a\u2028b", "\xff\xfe"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max % 200
		got := Line(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) || r != ' ' && unicode.IsSpace(r) {
				t.Fatalf("Line(%q) = %q holds %U", s, got, r)
			}
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("Line(%q) = %q: untrimmed or uncollapsed", s, got)
		}
		if max > 0 && utf8.RuneCountInString(got) > max {
			t.Fatalf("Line(%q, %d) = %q: too long", s, max, got)
		}
	})
}
