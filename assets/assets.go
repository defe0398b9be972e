// Package assets holds the files homeytray embeds: its icon, in SVG (the source the tray's PNG
// and ICO renderings are made from).
package assets

import _ "embed"

// IconSVG is the application icon.
//
//go:embed icon.svg
var IconSVG []byte
