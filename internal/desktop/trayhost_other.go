//go:build !linux && !freebsd && !openbsd && !netbsd

package desktop

import "context"

// Run returns at once: on Windows the notification area and on macOS the menu bar are always
// there, and fyne.io/systray puts the icon into them directly, with no tray host to register
// with.
func (h *TrayHost) Run(ctx context.Context) error { return nil }
