package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"sort"
)

// The application icon as assets/gen draws it, in the files of build/: every size of the
// hicolor theme that they hold (the ICO's 20 and 40 px are Windows sizes, not hicolor ones).
const (
	iconPNG  = "build/linux/homeytray.png"   // 256 px
	iconICO  = "build/windows/homeytray.ico" // PNG entries of 16…64 and 256 px
	iconICNS = "build/darwin/homeytray.icns" // PNG entries of 128, 256 and 512 px
)

var hicolorSizes = map[int]bool{16: true, 22: true, 24: true, 32: true, 48: true, 64: true, 128: true, 256: true, 512: true}

// stageIcons writes one PNG per hicolor size found in build/ for
// /usr/share/icons/hicolor/NxN/apps/homeytray.png. Each image's size is read from the PNG
// itself, so a file can never land in the wrong folder.
func stageIcons(dir string) ([]file, error) {
	found := map[int][]byte{}
	add := func(data []byte) error {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return err
		}
		if cfg.Width != cfg.Height {
			return fmt.Errorf("icon of %d×%d px is not square", cfg.Width, cfg.Height)
		}
		if hicolorSizes[cfg.Width] && found[cfg.Width] == nil {
			found[cfg.Width] = data
		}
		return nil
	}
	for _, src := range []struct {
		path  string
		split func([]byte) ([][]byte, error)
	}{
		{iconPNG, func(b []byte) ([][]byte, error) { return [][]byte{b}, nil }},
		{iconICO, icoImages},
		{iconICNS, icnsImages},
	} {
		data, err := os.ReadFile(src.path)
		if err != nil {
			return nil, err
		}
		images, err := src.split(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.path, err)
		}
		for _, img := range images {
			if err := add(img); err != nil {
				return nil, fmt.Errorf("%s: %w", src.path, err)
			}
		}
	}
	sizes := make([]int, 0, len(found))
	for n := range found {
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	var fs []file
	for _, n := range sizes {
		name := fmt.Sprintf("%dx%d", n, n)
		src := filepath.Join(dir, name+".png")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(src, found[n], 0o644); err != nil {
			return nil, err
		}
		fs = append(fs, file{src: src, dst: "/usr/share/icons/hicolor/" + name + "/apps/homeytray.png", mode: 0o644})
	}
	return fs, nil
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// icoImages are the PNG images of an ICO file (BMP entries are skipped).
func icoImages(b []byte) ([][]byte, error) {
	if len(b) < 6 || binary.LittleEndian.Uint16(b[2:]) != 1 {
		return nil, fmt.Errorf("not an ICO file")
	}
	n := int(binary.LittleEndian.Uint16(b[4:]))
	var out [][]byte
	for i := range n {
		e := 6 + 16*i
		if e+16 > len(b) {
			return nil, fmt.Errorf("truncated ICO directory")
		}
		size, off := int(binary.LittleEndian.Uint32(b[e+8:])), int(binary.LittleEndian.Uint32(b[e+12:]))
		if off < 0 || size < 0 || off+size > len(b) || off+size < off {
			return nil, fmt.Errorf("ICO entry %d out of the file", i)
		}
		if img := b[off : off+size]; bytes.HasPrefix(img, pngMagic) {
			out = append(out, img)
		}
	}
	return out, nil
}

// icnsImages are the PNG images of an Apple icns file.
func icnsImages(b []byte) ([][]byte, error) {
	if len(b) < 8 || string(b[:4]) != "icns" {
		return nil, fmt.Errorf("not an icns file")
	}
	var out [][]byte
	for p := 8; p+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p+4:]))
		if n < 8 || p+n > len(b) {
			return nil, fmt.Errorf("icns entry at %d out of the file", p)
		}
		if img := b[p+8 : p+n]; bytes.HasPrefix(img, pngMagic) {
			out = append(out, img)
		}
		p += n
	}
	return out, nil
}
