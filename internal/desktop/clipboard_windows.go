package desktop

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows: the clipboard through the Win32 API, so that a secret copy can carry, within the
// same OpenClipboard, the formats that keep it out of clipboard monitors, the clipboard history
// (Win+V) and the cloud clipboard:
// https://learn.microsoft.com/windows/win32/dataxchg/clipboard-formats#cloud-clipboard-and-clipboard-history-formats
// The clipboard outlives the programs that write it, so whether it still holds our copy is
// read back.

const (
	cbUnicodeText = 13     // CF_UNICODETEXT
	cbMoveable    = 0x0002 // GMEM_MOVEABLE
)

var (
	cbUser32   = windows.NewLazySystemDLL("user32.dll")
	cbKernel32 = windows.NewLazySystemDLL("kernel32.dll")

	cbOpenClipboard  = cbUser32.NewProc("OpenClipboard")
	cbCloseClipboard = cbUser32.NewProc("CloseClipboard")
	cbEmptyClipboard = cbUser32.NewProc("EmptyClipboard")
	cbSetData        = cbUser32.NewProc("SetClipboardData")
	cbGetData        = cbUser32.NewProc("GetClipboardData")
	cbRegisterFormat = cbUser32.NewProc("RegisterClipboardFormatW")
	cbGlobalAlloc    = cbKernel32.NewProc("GlobalAlloc")
	cbGlobalFree     = cbKernel32.NewProc("GlobalFree")
	cbGlobalLock     = cbKernel32.NewProc("GlobalLock")
	cbGlobalUnlock   = cbKernel32.NewProc("GlobalUnlock")
	cbGlobalSize     = cbKernel32.NewProc("GlobalSize")
	cbMoveMemory     = cbKernel32.NewProc("RtlMoveMemory")
)

// System is the Windows clipboard.
func System() Access {
	return Access{
		Write: writeClipboard,
		Holds: func(text string) bool {
			cur, err := readClipboard()
			return err == nil && cur == text
		},
		Clear: clearClipboard,
	}
}

// ClipboardMissing reports whether there is no clipboard: Windows always has one.
func ClipboardMissing() bool { return false }

// writeClipboard puts s on the clipboard as text (CF_UNICODETEXT). A secret is marked:
// ExcludeClipboardContentFromMonitorProcessing (any data) and CanIncludeInClipboardHistory /
// CanUploadToCloudClipboard (DWORD 0).
func writeClipboard(s string, secret bool) error {
	text, err := windows.UTF16FromString(s)
	if err != nil {
		return fmt.Errorf("write the clipboard: %w", err)
	}
	return withEmptyClipboard(func() error {
		if err := cbSet(cbUnicodeText, unsafe.Pointer(&text[0]), uintptr(len(text))*2); err != nil {
			return fmt.Errorf("write the clipboard: %w", err)
		}
		if !secret {
			return nil
		}
		var zero uint32
		for _, name := range []string{"ExcludeClipboardContentFromMonitorProcessing",
			"CanIncludeInClipboardHistory", "CanUploadToCloudClipboard"} {
			// Best effort: the text is on the clipboard already, and these formats only exist
			// for the history and cloud features (Windows 10 1809 and later).
			if f, err := cbFormat(name); err == nil {
				_ = cbSet(f, unsafe.Pointer(&zero), 4)
			}
		}
		return nil
	})
}

// readClipboard returns the clipboard's text (CF_UNICODETEXT), up to its first NUL.
func readClipboard() (string, error) {
	// OpenClipboard and CloseClipboard must run on the same thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cbOpen(); err != nil {
		return "", fmt.Errorf("open the clipboard: %w", err)
	}
	defer cbCloseClipboard.Call()
	h, _, err := cbGetData.Call(cbUnicodeText)
	if h == 0 {
		return "", fmt.Errorf("read the clipboard: %w", err) // no text on it
	}
	size, _, _ := cbGlobalSize.Call(h)
	p, _, err := cbGlobalLock.Call(h)
	if p == 0 {
		return "", fmt.Errorf("read the clipboard: %w", err)
	}
	defer cbGlobalUnlock.Call(h)
	// Copied out while locked; the clipboard keeps owning h.
	buf := make([]uint16, size/2)
	if len(buf) > 0 {
		cbMoveMemory.Call(uintptr(unsafe.Pointer(&buf[0])), p, uintptr(len(buf))*2)
	}
	return windows.UTF16ToString(buf), nil
}

// clearClipboard empties the clipboard.
func clearClipboard() error { return withEmptyClipboard(func() error { return nil }) }

// withEmptyClipboard opens and empties the clipboard, runs fill, and closes it again.
func withEmptyClipboard(fill func() error) error {
	// OpenClipboard and CloseClipboard must run on the same thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cbOpen(); err != nil {
		return fmt.Errorf("open the clipboard: %w", err)
	}
	defer cbCloseClipboard.Call()
	if r, _, err := cbEmptyClipboard.Call(); r == 0 {
		return fmt.Errorf("empty the clipboard: %w", err)
	}
	return fill()
}

// cbOpen opens the clipboard, waiting up to a second for another program to close it.
func cbOpen() error {
	deadline := time.Now().Add(time.Second)
	for {
		r, _, err := cbOpenClipboard.Call(0)
		if r != 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cbSet copies n bytes at src into global memory and hands it to the open clipboard.
func cbSet(format uint32, src unsafe.Pointer, n uintptr) error {
	h, _, err := cbGlobalAlloc.Call(cbMoveable, n)
	if h == 0 {
		return err
	}
	p, _, err := cbGlobalLock.Call(h)
	if p == 0 {
		cbGlobalFree.Call(h)
		return err
	}
	cbMoveMemory.Call(p, uintptr(src), n)
	cbGlobalUnlock.Call(h)
	if r, _, err := cbSetData.Call(uintptr(format), h); r == 0 {
		cbGlobalFree.Call(h)
		return err
	}
	return nil // the clipboard owns h now
}

func cbFormat(name string) (uint32, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	r, _, err := cbRegisterFormat.Call(uintptr(unsafe.Pointer(p)))
	if r == 0 {
		return 0, err
	}
	return uint32(r), nil
}
