//go:build !windows

package assets

import _ "embed"

var (
	//go:embed tray-attention.png
	attentionPNG []byte
	//go:embed tray-signedout.png
	signedOutPNG []byte
)

func icon(s State) []byte {
	switch s {
	case Attention:
		return attentionPNG
	case SignedOut:
		return signedOutPNG
	}
	return okPNG
}
