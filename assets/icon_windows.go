package assets

import _ "embed"

var (
	//go:embed tray-ok.ico
	okICO []byte
	//go:embed tray-attention.ico
	attentionICO []byte
	//go:embed tray-signedout.ico
	signedOutICO []byte
)

func icon(s State) []byte {
	switch s {
	case Attention:
		return attentionICO
	case SignedOut:
		return signedOutICO
	}
	return okICO
}
