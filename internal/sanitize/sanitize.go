// Package sanitize makes text that homeytray did not write — Homey, device and zone names, the
// bodies of server errors, messages of the OS — safe to show on one line of a terminal, a menu
// label or a desktop notification. A name is chosen by whoever set up the Homey, and a server may
// answer anything: neither may move the cursor, start a new line, or reorder what is shown around
// it (a right-to-left override in a device name would turn the rest of a table line around).
//
// Data printed as JSON (`--json`, the script socket) keeps the text as it came: there the reader
// is a program, and JSON escapes control characters itself.
package sanitize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s as one line of plain text:
//
//   - C0 and C1 control characters (newlines and tabs included), Unicode's line and paragraph
//     separators and invalid UTF-8 become spaces;
//   - Unicode format characters (category Cf: bidi embeddings, overrides and isolates, the
//     left-to-right and right-to-left marks, zero-width spaces and joiners, the byte-order mark,
//     soft hyphens, …) are dropped;
//   - runs of white space collapse to one space, and the ends are trimmed.
//
// With max > 0 the result is at most max runes, the last one "…" when s was cut.
func Line(s string, max int) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is due before the next rune that shows
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1, unicode.IsControl(r), unicode.IsSpace(r),
			unicode.In(r, unicode.Zl, unicode.Zp):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if max <= 0 || utf8.RuneCountInString(out) <= max {
		return out
	}
	runes := []rune(out)[:max-1]
	return strings.TrimRight(string(runes), " ") + "…"
}
