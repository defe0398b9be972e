package desktop

import (
	"fmt"
	"sync"
	"time"

	"github.com/atotto/clipboard"

	"github.com/homeytray/homeytray/internal/failure"
)

// The clipboard, through github.com/atotto/clipboard: xclip, xsel or wl-clipboard on Linux
// (picked when the process starts, so the tool must be on PATH by then), pbcopy/pbpaste on
// macOS, the Win32 API on Windows. Where the platform has a convention for it, a copied secret
// is marked so that clipboard managers and histories skip it (writeSecret, per OS).

// Access is the desktop's clipboard: the platform's by default; tests give one of their own.
type Access struct {
	Write func(text string, secret bool) error
	Read  func() (string, error)
	Clear func() error
}

// System is the platform's clipboard.
func System() Access {
	return Access{Write: writeClipboard, Read: readClipboard, Clear: clearClipboard}
}

func writeClipboard(text string, secret bool) error {
	if clipboard.Unsupported {
		return failure.ErrNoClipboard
	}
	if secret {
		return writeSecret(text)
	}
	if err := clipboard.WriteAll(text); err != nil {
		return fmt.Errorf("write the clipboard: %w", err)
	}
	return nil
}

func readClipboard() (string, error) {
	if clipboard.Unsupported {
		return "", failure.ErrNoClipboard
	}
	return clipboard.ReadAll()
}

// ClipboardMissing reports whether there is no clipboard tool at all (Linux without xclip,
// xsel or wl-clipboard).
func ClipboardMissing() bool { return clipboard.Unsupported }

// Clipboard is what the tray puts on the clipboard. It remembers the secret it copied, so that
// it is cleared after a while and when the tray quits — but only while the clipboard still holds
// exactly that secret: whatever the user copied since is left alone.
type Clipboard struct {
	sys   Access
	after time.Duration // 0 = never clear on a timer

	mu    sync.Mutex
	held  string // the secret we put there, until cleared or replaced ("" = none)
	timer *time.Timer
}

// NewClipboard is the tray's clipboard over sys, clearing a copied secret after clearAfter (0 =
// only on Clear).
func NewClipboard(sys Access, clearAfter time.Duration) *Clipboard {
	return &Clipboard{sys: sys, after: clearAfter}
}

// CopySecret puts s on the clipboard, marked as secret where possible, and arms the clear.
func (c *Clipboard) CopySecret(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sys.Write(s, true); err != nil {
		return err
	}
	c.stop()
	c.held = s
	if c.after > 0 {
		c.timer = time.AfterFunc(c.after, func() { c.clearIf(s) })
	}
	return nil
}

// CopyText puts plain text (a device id) on the clipboard; it replaces any secret we held.
func (c *Clipboard) CopyText(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sys.Write(s, false); err != nil {
		return err
	}
	c.stop()
	c.held = ""
	return nil
}

// clearIf clears the clipboard if s is still our secret and still on the clipboard.
func (c *Clipboard) clearIf(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == s {
		c.clearLocked()
	}
}

// Clear clears our secret, if the clipboard still holds it (sign-out, quit).
func (c *Clipboard) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *Clipboard) clearLocked() {
	c.stop()
	s := c.held
	c.held = ""
	if s == "" {
		return
	}
	if cur, err := c.sys.Read(); err == nil && cur == s {
		_ = c.sys.Clear() // best effort: nothing better to do if the tool fails now
	}
}

func (c *Clipboard) stop() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// ClearWithin clears like Clear but gives up waiting after d (a clipboard tool that hangs must
// not keep the tray from quitting).
func (c *Clipboard) ClearWithin(d time.Duration) {
	done := make(chan struct{})
	go func() {
		c.Clear()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
