package tray

import (
	"fmt"
	"sync"
	"time"

	"github.com/atotto/clipboard"
)

// The clipboard, through github.com/atotto/clipboard: xclip, xsel or wl-clipboard on Linux
// (picked when the process starts, so the tool must be on PATH by then), pbcopy/pbpaste on
// macOS, the Win32 API on Windows. Where the platform has a convention for it, a copied secret
// is marked so that clipboard managers and histories skip it (writeSecret, per OS).

// Package-level so tests can replace them; the real ones talk to the desktop.
var (
	clipWrite = writeClipboard // (text, secret) → the clipboard
	clipRead  = readClipboard
	clipClear = clearClipboard
)

func writeClipboard(text string, secret bool) error {
	if clipboard.Unsupported {
		return errNoClipboard
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
		return "", errNoClipboard
	}
	return clipboard.ReadAll()
}

// clipboardMissing reports whether there is no clipboard tool at all (Linux without xclip,
// xsel or wl-clipboard).
func clipboardMissing() bool { return clipboard.Unsupported }

// clip remembers the secret the tray put on the clipboard, so that it is cleared after a while
// and when the tray quits — but only while the clipboard still holds exactly that secret:
// whatever the user copied since is left alone.
type clip struct {
	after time.Duration // 0 = never clear on a timer

	mu    sync.Mutex
	held  string // the secret we put there, until cleared or replaced ("" = none)
	timer *time.Timer
}

// copySecret puts s on the clipboard, marked as secret where possible, and arms the clear.
func (c *clip) copySecret(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := clipWrite(s, true); err != nil {
		return err
	}
	c.stop()
	c.held = s
	if c.after > 0 {
		c.timer = time.AfterFunc(c.after, func() { c.clearIf(s) })
	}
	return nil
}

// copyText puts plain text (a device id) on the clipboard; it replaces any secret we held.
func (c *clip) copyText(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := clipWrite(s, false); err != nil {
		return err
	}
	c.stop()
	c.held = ""
	return nil
}

// clearIf clears the clipboard if s is still our secret and still on the clipboard.
func (c *clip) clearIf(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == s {
		c.clearLocked()
	}
}

// clear clears our secret, if the clipboard still holds it (sign-out, quit).
func (c *clip) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *clip) clearLocked() {
	c.stop()
	s := c.held
	c.held = ""
	if s == "" {
		return
	}
	if cur, err := clipRead(); err == nil && cur == s {
		_ = clipClear() // best effort: nothing better to do if the tool fails now
	}
}

func (c *clip) stop() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// clearWithin clears like clear but gives up waiting after d (a clipboard tool that hangs must
// not keep the tray from quitting).
func (c *clip) clearWithin(d time.Duration) {
	done := make(chan struct{})
	go func() {
		c.clear()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
