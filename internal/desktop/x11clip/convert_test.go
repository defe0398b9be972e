//go:build linux || freebsd || netbsd || openbsd || dragonfly

package x11clip

import (
	"slices"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// The conversions themselves, without a server: made-up atom numbers.
func TestConvert(t *testing.T) {
	a := atoms{clipboard: 100, targets: 101, timestamp: 102, multiple: 103, utf8: 104,
		textPlain: 105, text: 106, hint: 107, stamp: 108}
	list := func(atoms ...xproto.Atom) []byte {
		b := make([]byte, 4*len(atoms))
		for i, x := range atoms {
			xgb.Put32(b[4*i:], uint32(x))
		}
		return b
	}
	base := []xproto.Atom{a.targets, a.timestamp, a.multiple, a.utf8, a.textPlain, a.text}
	tests := []struct {
		name   string
		target xproto.Atom
		c      content
		typ    xproto.Atom
		format byte
		data   []byte
		ok     bool
	}{
		{"targets, ascii", a.targets, content{text: "abc"}, xproto.AtomAtom, 32,
			list(append(slices.Clone(base), xproto.AtomString)...), true},
		{"targets, secret", a.targets, content{text: "abc", secret: true}, xproto.AtomAtom, 32,
			list(append(slices.Clone(base), xproto.AtomString, a.hint)...), true},
		{"targets, outside Latin-1", a.targets, content{text: "€"}, xproto.AtomAtom, 32, list(base...), true},
		{"timestamp", a.timestamp, content{since: 0x01020304}, xproto.AtomInteger, 32, []byte{4, 3, 2, 1}, true},
		{"utf8", a.utf8, content{text: "ü€"}, a.utf8, 8, []byte("ü€"), true},
		{"text/plain", a.textPlain, content{text: "ü€"}, a.textPlain, 8, []byte("ü€"), true},
		{"TEXT in Latin-1", a.text, content{text: "ü"}, xproto.AtomString, 8, []byte{0xfc}, true},
		{"TEXT outside Latin-1", a.text, content{text: "€"}, a.utf8, 8, []byte("€"), true},
		{"STRING in Latin-1", xproto.AtomString, content{text: "ü"}, xproto.AtomString, 8, []byte{0xfc}, true},
		{"STRING outside Latin-1", xproto.AtomString, content{text: "€"}, 0, 0, nil, false},
		{"hint of a secret", a.hint, content{text: "x", secret: true}, a.hint, 8, []byte("secret"), true},
		{"hint of plain text", a.hint, content{text: "x"}, 0, 0, nil, false},
		{"unknown", 999, content{text: "x", secret: true}, 0, 0, nil, false},
		{"MULTIPLE is not a conversion", a.multiple, content{text: "x"}, 0, 0, nil, false},
	}
	for _, tt := range tests {
		typ, format, data, ok := a.convert(tt.target, tt.c)
		if typ != tt.typ || format != tt.format || !slices.Equal(data, tt.data) || ok != tt.ok {
			t.Errorf("%s: got %d %d %v %v, want %d %d %v %v", tt.name, typ, format, data, ok,
				tt.typ, tt.format, tt.data, tt.ok)
		}
	}
}

func TestWrapAround(t *testing.T) {
	if !timeBefore(0xfffffff0, 5) || timeBefore(5, 0xfffffff0) || timeBefore(7, 7) {
		t.Error("timeBefore does not wrap around")
	}
	if !seqBefore(0xfff0, 3) || seqBefore(3, 0xfff0) || seqBefore(9, 9) {
		t.Error("seqBefore does not wrap around")
	}
}
