package assets

import (
	"encoding/xml"
	"testing"
)

// The icon must stay well-formed SVG: the tray's PNG/ICO are rendered from it.
func TestIconSVGIsWellFormed(t *testing.T) {
	var root struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
	}
	if err := xml.Unmarshal(IconSVG, &root); err != nil || root.XMLName.Local != "svg" || root.ViewBox == "" {
		t.Fatalf("icon.svg: %v, root %q, viewBox %q", err, root.XMLName.Local, root.ViewBox)
	}
}
