package desktop

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// The clipboard, with no helper program to install. On Linux and the BSDs this process owns
// the selection itself (clipboard_unix.go: X11, or Wayland's data control); on macOS it writes
// the general pasteboard (package macclip); on Windows the Win32 clipboard. Where the platform
// has a convention for it, a copied secret is marked so that clipboard managers and histories
// skip it: x-kde-passwordManagerHint on X11 and Wayland, org.nspasteboard.ConcealedType on
// macOS, the clipboard-history formats on Windows.

// Access is the desktop's clipboard: the platform's by default; tests give one of their own.
type Access struct {
	// Write puts text on the clipboard; a secret is marked where the platform can.
	Write func(text string, secret bool) error
	// Holds reports whether the clipboard still has exactly text from our last Write: nobody
	// has copied anything since.
	Holds func(text string) bool
	// Clear takes our content off the clipboard.
	Clear func() error
	// Close lets the clipboard go for good (the tray quits); nil = nothing to let go.
	Close func() error
}

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
	if c.sys.Holds != nil && c.sys.Holds(s) {
		_ = c.sys.Clear() // best effort: nothing better to do if the desktop fails now
	}
}

func (c *Clipboard) stop() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// CloseWithin clears our secret like Clear and lets the clipboard go (the tray quits), giving
// up waiting after d: a display server that does not answer must not keep the tray from
// quitting.
func (c *Clipboard) CloseWithin(d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Clear()
		if c.sys.Close != nil {
			_ = c.sys.Close() // best effort, as in Clear
		}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// owner is a clipboard this process holds itself: x11clip.Owner, wlclip.Owner, macclip.Owner,
// or a wl-copy of ours.
type owner interface {
	// Copy takes the clipboard with text, marked if secret.
	Copy(text string, secret bool) error
	// Holds reports whether the clipboard still has our copy of exactly text.
	Holds(text string) bool
	// Clear gives the clipboard up if it still has our copy.
	Clear() error
	// Close gives it up and lets go of the display.
	Close() error
}

// errClosed is what a copy gets once the tray has let the clipboard go.
var errClosed = errors.New("the clipboard was closed")

// ownerSession is an Access over an owner that is opened at the first copy and kept: the way
// to the clipboard is picked once, when it is first needed, so that a tray that never copies
// never connects to anything.
type ownerSession struct {
	// pick opens the owner at the first copy and returns how to open one of its kind again.
	pick func() (owner, func() (owner, error), error)
	// gone reports whether a Copy failed because the display server went away (it was
	// restarted, say): the owner is then opened again, once.
	gone func(error) bool

	mu     sync.Mutex
	cur    owner                 // nil until the first copy, or after the server went away
	reopen func() (owner, error) // set by the first successful pick
	closed bool
}

func (s *ownerSession) access() Access {
	return Access{Write: s.write, Holds: s.holds, Clear: s.clear, Close: s.close}
}

func (s *ownerSession) write(text string, secret bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if err := s.openLocked(); err != nil {
		return err
	}
	err := s.cur.Copy(text, secret)
	if err != nil && s.gone(err) {
		_ = s.cur.Close() // its connection is gone already
		s.cur = nil
		if err := s.openLocked(); err != nil {
			return err
		}
		err = s.cur.Copy(text, secret)
	}
	if err != nil {
		return fmt.Errorf("copy to the clipboard: %w", err)
	}
	return nil
}

// openLocked opens the owner if there is none. s.mu must be held.
func (s *ownerSession) openLocked() error {
	if s.cur != nil {
		return nil
	}
	if s.reopen != nil {
		o, err := s.reopen()
		if err != nil {
			return fmt.Errorf("open the clipboard again: %w", err)
		}
		s.cur = o
		return nil
	}
	o, reopen, err := s.pick()
	if err != nil {
		return err // it says which way failed
	}
	s.cur, s.reopen = o, reopen
	return nil
}

func (s *ownerSession) holds(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil && s.cur.Holds(text)
}

func (s *ownerSession) clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	return s.cur.Clear()
}

func (s *ownerSession) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.cur == nil {
		return nil
	}
	o := s.cur
	s.cur = nil
	return o.Close()
}
