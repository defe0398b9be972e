//go:build !windows

package assets

import _ "embed"

// The tray icons as PNG: what fyne.io/systray wants outside Windows.
var (
	okIcon = okPNG
	//go:embed tray-attention.png
	attentionIcon []byte
	//go:embed tray-signedout.png
	signedOutIcon []byte
)
