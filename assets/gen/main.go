//go:build ignore

// Command gen draws homeytray's icons: the tray icon in its three states (PNG for Linux and
// macOS, ICO for Windows) and the application icons of build/ (PNG, ICO, ICNS). Run it from the repository root:
//
//	go run assets/gen/main.go
//
// The drawing is assets/icon.svg's (a house with a key, on a 64×64 grid), done by hand: each
// pixel is the average of 16×16 samples (4×4 above 64 px) of the shapes, which gives smooth edges without a
// rasterizer library. A white outline keeps the icon readable on dark panels and a thin dark
// edge outside it on light ones.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

type pt struct{ x, y float64 }

// A layer paints col where in(p) holds, over the layers before it.
type layer struct {
	in  func(p pt) bool
	col color.NRGBA
}

var (
	white = color.NRGBA{255, 255, 255, 255}
	edge  = color.NRGBA{0, 0, 0, 140} // the dark edge for light panels

	blue   = color.NRGBA{0x1f, 0x6f, 0xeb, 255} // icon.svg's fill
	amber  = color.NRGBA{0xc2, 0x6a, 0x00, 255}
	red    = color.NRGBA{0xcf, 0x22, 0x2e, 255}
	grey   = color.NRGBA{0x6e, 0x77, 0x81, 255}
	house  = []pt{{32, 6}, {4, 30}, {12, 30}, {12, 56}, {52, 56}, {52, 30}, {60, 30}}
	badgeC = pt{49, 15}
)

// icon is the layers of one state.
func icon(fill color.NRGBA, badge bool) []layer {
	ls := []layer{
		{func(p pt) bool { return inPolygon(p, house) || nearPolygon(p, house, 3) }, edge},
		{func(p pt) bool { return inPolygon(p, house) }, fill},
		{func(p pt) bool { return nearPolygon(p, house, 1.6) }, white},
		{key, white},
	}
	if badge {
		ls = append(ls,
			layer{func(p pt) bool { return dist(p, badgeC) <= 13 }, edge},
			layer{func(p pt) bool { return dist(p, badgeC) <= 11.6 }, white},
			layer{func(p pt) bool { return dist(p, badgeC) <= 9.6 }, red},
			layer{func(p pt) bool {
				return segDist(p, pt{badgeC.x, badgeC.y - 5.5}, pt{badgeC.x, badgeC.y + 0.5}) <= 1.9 ||
					dist(p, pt{badgeC.x, badgeC.y + 5}) <= 2
			}, white},
		)
	}
	return ls
}

// key is icon.svg's key: a ring and a bit with two teeth, strokes 4 wide with round ends.
func key(p pt) bool {
	if math.Abs(dist(p, pt{26, 40})-7) <= 2 {
		return true
	}
	for _, s := range [][2]pt{{{32, 40}, {46, 40}}, {{41, 40}, {41, 46}}, {{46, 40}, {46, 45}}} {
		if segDist(p, s[0], s[1]) <= 2 {
			return true
		}
	}
	return false
}

func dist(a, b pt) float64 { return math.Hypot(a.x-b.x, a.y-b.y) }

func segDist(p, a, b pt) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	t := ((p.x-a.x)*dx + (p.y-a.y)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return dist(p, pt{a.x + t*dx, a.y + t*dy})
}

// nearPolygon: within half a stroke of the outline (round joins, as stroke-linejoin="round").
func nearPolygon(p pt, poly []pt, half float64) bool {
	for i := range poly {
		if segDist(p, poly[i], poly[(i+1)%len(poly)]) <= half {
			return true
		}
	}
	return false
}

func inPolygon(p pt, poly []pt) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.y > p.y) != (b.y > p.y) && p.x < (b.x-a.x)*(p.y-a.y)/(b.y-a.y)+a.x {
			in = !in
		}
	}
	return in
}

// render draws the layers at size×size pixels.
func render(ls []layer, size int) *image.NRGBA {
	ss := 16
	if size > 64 {
		ss = 4 // plenty at this size, and 16 times faster
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	scale := 64 / float64(size)
	for y := range size {
		for x := range size {
			var r, g, b, a float64 // premultiplied sums
			for sy := range ss {
				for sx := range ss {
					p := pt{(float64(x) + (float64(sx)+0.5)/float64(ss)) * scale, (float64(y) + (float64(sy)+0.5)/float64(ss)) * scale}
					var cr, cg, cb, ca float64
					for _, l := range ls {
						if l.in(p) {
							la := float64(l.col.A) / 255
							cr = float64(l.col.R)/255*la + cr*(1-la)
							cg = float64(l.col.G)/255*la + cg*(1-la)
							cb = float64(l.col.B)/255*la + cb*(1-la)
							ca = la + ca*(1-la)
						}
					}
					r, g, b, a = r+cr, g+cg, b+cb, a+ca
				}
			}
			n := float64(ss * ss)
			if a == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{
				R: uint8(math.Round(r / a * 255)), G: uint8(math.Round(g / a * 255)),
				B: uint8(math.Round(b / a * 255)), A: uint8(math.Round(a / n * 255)),
			})
		}
	}
	return img
}

func pngBytes(img image.Image) []byte {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// ico is an ICO file of PNG images (Windows Vista and later read PNG entries at any size).
func ico(ls []layer, sizes []int) []byte {
	var head, body bytes.Buffer
	binary.Write(&head, binary.LittleEndian, [3]uint16{0, 1, uint16(len(sizes))})
	offset := 6 + 16*len(sizes)
	for _, s := range sizes {
		data := pngBytes(render(ls, s))
		dim := uint8(s % 256) // 0 means 256
		binary.Write(&head, binary.LittleEndian, struct {
			W, H, Colors, Reserved uint8
			Planes, Bits           uint16
			Size, Offset           uint32
		}{dim, dim, 0, 0, 1, 32, uint32(len(data)), uint32(offset)})
		body.Write(data)
		offset += len(data)
	}
	return append(head.Bytes(), body.Bytes()...)
}

// icns is an Apple icon file of PNG images: "icns", the file length, then per image its type,
// length (header included) and data, all lengths big-endian.
func icns(ls []layer) []byte {
	var body bytes.Buffer
	for _, e := range []struct {
		typ  string
		size int
	}{{"ic07", 128}, {"ic08", 256}, {"ic09", 512}} {
		data := pngBytes(render(ls, e.size))
		body.WriteString(e.typ)
		binary.Write(&body, binary.BigEndian, uint32(8+len(data)))
		body.Write(data)
	}
	var out bytes.Buffer
	out.WriteString("icns")
	binary.Write(&out, binary.BigEndian, uint32(8+body.Len()))
	return append(out.Bytes(), body.Bytes()...)
}

func write(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (%d bytes)", path, len(data))
}

func main() {
	assets := flag.String("assets", "assets", "folder of the embedded icons")
	build := flag.String("build", "build", "folder of the packaging inputs")
	preview := flag.String("preview", "", "also write preview PNGs (all sizes) to this folder")
	flag.Parse()

	states := []struct {
		name   string
		layers []layer
	}{
		{"ok", icon(blue, false)},
		{"attention", icon(amber, true)},
		{"signedout", icon(grey, false)},
	}
	trayICO := []int{16, 20, 24, 32, 40, 48, 64}
	for _, s := range states {
		write(filepath.Join(*assets, "tray-"+s.name+".png"), pngBytes(render(s.layers, 64)))
		write(filepath.Join(*assets, "tray-"+s.name+".ico"), ico(s.layers, trayICO))
		if *preview != "" {
			for _, n := range []int{16, 22, 24, 32} {
				write(filepath.Join(*preview, s.name+"-"+strconv.Itoa(n)+".png"), pngBytes(render(s.layers, n)))
			}
		}
	}
	app := states[0].layers
	write(filepath.Join(*build, "linux", "homeytray.png"), pngBytes(render(app, 256)))
	write(filepath.Join(*build, "windows", "homeytray.ico"), ico(app, []int{16, 20, 24, 32, 40, 48, 64, 256}))
	write(filepath.Join(*build, "darwin", "homeytray.icns"), icns(app))
}
