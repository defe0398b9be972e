// Package assets holds the files homeytray embeds: its icon in SVG (the design, see gen/) and
// the tray icons drawn from it, one per state, as PNG (Linux, macOS) or ICO (Windows).
// `go run assets/gen/main.go` redraws the PNG and ICO files.
package assets

import _ "embed"

// IconSVG is the application icon.
//
//go:embed icon.svg
var IconSVG []byte

// State is what the tray icon shows.
type State int

const (
	OK        State = iota // signed in, tokens fresh
	Attention              // the sign-in needs the user (gone, keychain locked, ...)
	SignedOut              // not signed in
)

//go:embed tray-ok.png
var okPNG []byte

// Icon is the tray icon for s, in the format fyne.io/systray wants on this system: PNG, or
// ICO on Windows. An unknown state gets the OK icon.
func Icon(s State) []byte {
	switch s {
	case Attention:
		return attentionIcon
	case SignedOut:
		return signedOutIcon
	}
	return okIcon
}

// NotificationIcon is the application icon as a 64×64 PNG, for desktop notifications.
func NotificationIcon() []byte { return okPNG }
