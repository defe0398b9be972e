package assets

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"os"
	"runtime"
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

func decodePNG(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// checkIcon: size×size, transparent corners (it sits on any panel), an opaque middle.
func checkIcon(t *testing.T, name string, img image.Image, size int) {
	t.Helper()
	if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
		t.Errorf("%s: %v; want %d×%d", name, b, size, size)
	}
	if _, _, _, a := img.At(0, size-1).RGBA(); a != 0 {
		t.Errorf("%s: corner not transparent", name)
	}
	if _, _, _, a := img.At(size/2, size*3/4).RGBA(); a != 0xffff {
		t.Errorf("%s: middle not opaque", name)
	}
}

func TestTrayPNGs(t *testing.T) {
	for _, name := range []string{"tray-ok.png", "tray-attention.png", "tray-signedout.png"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		checkIcon(t, name, decodePNG(t, name, b), 64)
	}
	checkIcon(t, "NotificationIcon", decodePNG(t, "NotificationIcon", NotificationIcon()), 64)
}

// An ICO of PNG images: ICONDIR, one ICONDIRENTRY per image, then the images.
func TestTrayICOs(t *testing.T) {
	for _, name := range []string{"tray-ok.ico", "tray-attention.ico", "tray-signedout.ico"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		checkICO(t, name, b, []int{16, 20, 24, 32, 40, 48, 64})
	}
}

func checkICO(t *testing.T, name string, b []byte, sizes []int) {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 6 || le.Uint16(b) != 0 || le.Uint16(b[2:]) != 1 || int(le.Uint16(b[4:])) != len(sizes) {
		t.Fatalf("%s: bad ICONDIR % x", name, b[:min(6, len(b))])
	}
	for i, size := range sizes {
		e := b[6+16*i:]
		w, h := int(e[0]), int(e[1])
		if w == 0 {
			w = 256
		}
		if h == 0 {
			h = 256
		}
		n, off := le.Uint32(e[8:]), le.Uint32(e[12:])
		if w != size || h != size || le.Uint16(e[6:]) != 32 || int(off+n) > len(b) {
			t.Fatalf("%s: entry %d: %d×%d, %d bits, %d bytes at %d", name, i, w, h, le.Uint16(e[6:]), n, off)
		}
		checkIcon(t, fmt.Sprintf("%s[%d]", name, size), decodePNG(t, name, b[off:off+n]), size)
	}
}

func TestIcon(t *testing.T) {
	seen := map[string]State{}
	for _, s := range []State{OK, Attention, SignedOut} {
		b := Icon(s)
		if prev, dup := seen[string(b)]; dup {
			t.Errorf("states %d and %d have the same icon", prev, s)
		}
		seen[string(b)] = s
		if runtime.GOOS == "windows" {
			checkICO(t, fmt.Sprint("Icon ", s), b, []int{16, 20, 24, 32, 40, 48, 64})
		} else {
			checkIcon(t, fmt.Sprint("Icon ", s), decodePNG(t, "Icon", b), 64)
		}
	}
	if !bytes.Equal(Icon(State(42)), Icon(OK)) {
		t.Error("an unknown state does not get the OK icon")
	}
}

// The application icons of build/ come from the same generator.
func TestBuildIcons(t *testing.T) {
	b, err := os.ReadFile("../build/linux/homeytray.png")
	if err != nil {
		t.Fatal(err)
	}
	checkIcon(t, "build/linux/homeytray.png", decodePNG(t, "homeytray.png", b), 256)
	if b, err = os.ReadFile("../build/windows/homeytray.ico"); err != nil {
		t.Fatal(err)
	}
	checkICO(t, "build/windows/homeytray.ico", b, []int{16, 20, 24, 32, 40, 48, 64, 256})

	if b, err = os.ReadFile("../build/darwin/homeytray.icns"); err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	if string(b[:4]) != "icns" || int(be.Uint32(b[4:])) != len(b) {
		t.Fatalf("homeytray.icns: bad header % x", b[:8])
	}
	for rest, want := b[8:], []int{128, 256, 512}; len(want) > 0; want = want[1:] {
		n := int(be.Uint32(rest[4:]))
		checkIcon(t, "homeytray.icns "+string(rest[:4]), decodePNG(t, "homeytray.icns", rest[8:n]), want[0])
		rest = rest[n:]
	}
}
