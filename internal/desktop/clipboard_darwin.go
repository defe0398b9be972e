package desktop

import (
	"fmt"

	"github.com/homeytray/homeytray/internal/desktop/macclip"
)

// System is the general pasteboard, written in process through the Objective-C runtime
// (package macclip, no cgo): a secret also carries org.nspasteboard.ConcealedType, which
// clipboard managers and history tools honour. Whether the pasteboard still holds our copy is
// its changeCount, not a read-back.
func System() Access {
	s := &ownerSession{
		pick: func() (owner, func() (owner, error), error) {
			o, err := openMac()
			if err != nil {
				return nil, nil, err
			}
			return o, openMac, nil
		},
		gone: func(error) bool { return false }, // the pasteboard server does not go away
	}
	a := s.access()
	// The pasteboard keeps a copy after we quit, as every Mac program's: a device id stays
	// there. A secret is cleared before (Clipboard.CloseWithin clears it first).
	a.Close = nil
	return a
}

func openMac() (owner, error) {
	o, err := macclip.Open()
	if err != nil {
		return nil, fmt.Errorf("open the pasteboard: %w", err)
	}
	return o, nil
}

// ClipboardMissing reports whether there is no clipboard: a Mac always has one.
func ClipboardMissing() bool { return false }
