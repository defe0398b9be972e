//go:build !windows

package desktop

import (
	"fmt"

	"github.com/atotto/clipboard"
)

// writeSecret writes s like any text: these platforms give us no way to mark it.
//
//   - Linux/BSD: atotto runs xclip, xsel or wl-copy, each of which offers the selection under
//     text targets only; the KDE/Klipper hint (an extra "x-kde-passwordManagerHint: secret"
//     target) needs a second target on the same selection, which none of them can add
//     (wl-copy --sensitive exists only in newer wl-clipboard releases, and atotto passes no
//     flags). Clearing after Options.ClipboardClear is what we can do.
//   - macOS: the convention is an extra pasteboard type, org.nspasteboard.ConcealedType. pbcopy
//     cannot add one; NSPasteboard can, but only from Objective-C (cgo, which we keep out of this
//     package's own files) or an osascript/JXA bridge that costs more than the whole click budget
//     of 100 ms and cannot be tested off a Mac.
func writeSecret(s string) error {
	if err := clipboard.WriteAll(s); err != nil {
		return fmt.Errorf("write the clipboard: %w", err)
	}
	return nil
}

// clearClipboard empties the clipboard. (With xclip this starts one more xclip that owns an
// empty selection; the one that held the token exits.)
func clearClipboard() error {
	if err := clipboard.WriteAll(""); err != nil {
		return fmt.Errorf("clear the clipboard: %w", err)
	}
	return nil
}
