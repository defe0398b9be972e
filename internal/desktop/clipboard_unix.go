//go:build linux || freebsd || netbsd || openbsd || dragonfly

package desktop

// Linux and the BSDs share their desktops (X11, Wayland), so they share this file: the
// clipboard is owned by this process itself, with nothing to install.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/homeytray/homeytray/internal/desktop/wlclip"
	"github.com/homeytray/homeytray/internal/desktop/x11clip"
	"github.com/homeytray/homeytray/internal/failure"
)

// System is the desktop's clipboard, owned by this process: no xclip, xsel or wl-clipboard
// is needed. The way to it is picked at the first copy (picker.pick) and kept for the
// process's life; should the display server go away, it is opened once more.
func System() Access {
	p := systemPicker()
	s := &ownerSession{pick: p.pick, gone: displayGone}
	return s.access()
}

// systemPicker picks among this process's environment and the real owners.
func systemPicker() picker {
	return picker{
		getenv:   os.Getenv,
		lookPath: exec.LookPath,
		wayland: func() (owner, error) {
			o, err := wlclip.Open("")
			if err != nil {
				return nil, err
			}
			return o, nil
		},
		x11: func() (owner, error) {
			o, err := x11clip.Open("")
			if err != nil {
				return nil, err
			}
			return o, nil
		},
		wlCopy: openWlCopy,
	}
}

// ClipboardMissing reports whether there is no display to own a clipboard on: neither
// WAYLAND_DISPLAY nor DISPLAY is set (a text console, SSH, a service).
func ClipboardMissing() bool {
	return os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("DISPLAY") == ""
}

// displayGone reports whether err means that the X server or the compositor went away.
func displayGone(err error) bool {
	return errors.Is(err, x11clip.ErrClosed) || errors.Is(err, wlclip.ErrClosed)
}

// picker picks the way to own the clipboard. Its fields are the environment and the owners;
// tests give their own.
type picker struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
	wayland  func() (owner, error)            // data control on $WAYLAND_DISPLAY
	x11      func() (owner, error)            // the CLIPBOARD selection on $DISPLAY
	wlCopy   func(path string) (owner, error) // wl-copy at path
}

// pick opens an owner and returns how to open one of its kind again:
//
//   - WAYLAND_DISPLAY set: the compositor's data control (wlroots compositors, KDE). A
//     compositor without it (GNOME's Mutter) lets no program without a window set the
//     clipboard; wl-copy gets around that with a window of its own for a moment, so it is
//     used when installed.
//   - Else, or when that fails, DISPLAY set: the X11 selection. Under a Wayland compositor that
//     is XWayland's, which passes it on to Wayland programs only in part: wlroots' does so only
//     while an X11 window has the keyboard focus, and passes no x-kde-passwordManagerHint.
//   - Neither: failure.ErrNoClipboard.
func (p picker) pick() (owner, func() (owner, error), error) {
	var wlErr error
	if p.getenv("WAYLAND_DISPLAY") != "" {
		o, open, err := p.pickWayland()
		if err == nil {
			return o, open, nil
		}
		wlErr = err
	}
	if p.getenv("DISPLAY") != "" {
		o, err := p.x11()
		if err != nil {
			return nil, nil, fmt.Errorf("open the X11 clipboard: %w", err)
		}
		return o, p.x11, nil
	}
	if wlErr != nil {
		return nil, nil, wlErr
	}
	return nil, nil, failure.ErrNoClipboard
}

func (p picker) pickWayland() (owner, func() (owner, error), error) {
	o, err := p.wayland()
	if err == nil {
		return o, p.wayland, nil
	}
	if !errors.Is(err, wlclip.ErrNoDataControl) {
		return nil, nil, fmt.Errorf("open the Wayland clipboard: %w", err)
	}
	path, lookErr := p.lookPath("wl-copy")
	if lookErr != nil {
		return nil, nil, fmt.Errorf("%w: the Wayland compositor has no data control and wl-copy is not installed",
			failure.ErrNoClipboard)
	}
	open := func() (owner, error) { return p.wlCopy(path) }
	if o, err = open(); err != nil {
		return nil, nil, fmt.Errorf("open the Wayland clipboard with %s: %w", path, err)
	}
	return o, open, nil
}
