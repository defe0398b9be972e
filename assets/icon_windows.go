package assets

import _ "embed"

// The tray icons as ICO: what fyne.io/systray wants on Windows.
var (
	//go:embed tray-ok.ico
	okIcon []byte
	//go:embed tray-attention.ico
	attentionIcon []byte
	//go:embed tray-signedout.ico
	signedOutIcon []byte
)
