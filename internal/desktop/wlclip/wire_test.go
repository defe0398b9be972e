//go:build linux || freebsd || netbsd || openbsd || dragonfly

package wlclip

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// words builds wire bytes from 32-bit words in the host's byte order, and raw byte strings.
func words(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b = binary.NativeEndian.AppendUint32(b, uint32(v))
		case string:
			b = append(b, v...)
		}
	}
	return b
}

func TestEncode(t *testing.T) {
	// wl_registry (object 2) bind(name 7, "wl_seat", version 1, new id 5): 8 header bytes,
	// 4 + 4 + 8 ("wl_seat\0") + 4 + 4.
	got, err := newRequest(2, reqRegistryBind).uint(7).string("wl_seat").uint(1).uint(5).encode()
	if err != nil {
		t.Fatal(err)
	}
	want := words(2, 32<<16|0, 7, 8, "wl_seat\x00", 1, 5)
	if !slices.Equal(got, want) {
		t.Errorf("bind = % x\nwant   % x", got, want)
	}
	// Padding: "TEXT" takes 5 bytes with its NUL, 8 on the wire.
	got, err = newRequest(9, reqSourceOffer).string("TEXT").encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := words(9, 20<<16|0, 5, "TEXT\x00\x00\x00\x00"); !slices.Equal(got, want) {
		t.Errorf("offer = % x\nwant    % x", got, want)
	}
	// No arguments.
	got, _ = newRequest(11, reqSourceDestroy).encode()
	if want := words(11, 8<<16|1); !slices.Equal(got, want) {
		t.Errorf("destroy = % x, want % x", got, want)
	}
	if _, err := newRequest(9, reqSourceOffer).string("a\x00b").encode(); err == nil {
		t.Error("a string with a NUL was encoded")
	}
	if _, err := newRequest(9, reqSourceOffer).string(strings.Repeat("x", maxMessage)).encode(); err == nil {
		t.Error("a message longer than 4096 bytes was encoded")
	}
}

func TestDecode(t *testing.T) {
	// wl_display.error(object 3, code 1, "bad") then the start of a second message.
	two := append(words(1, 24<<16|0, 3, 1, 4, "bad\x00"), words(1, 12<<16|1)...)
	ev, n, err := nextEvent(two)
	if err != nil || n != 24 || ev.obj != 1 || ev.opcode != 0 {
		t.Fatalf("first: %+v %d %v", ev, n, err)
	}
	a := &args{b: ev.body}
	if obj, code, msg := a.uint(), a.uint(), a.string(); obj != 3 || code != 1 || msg != "bad" || a.err != nil {
		t.Errorf("args: %d %d %q %v", obj, code, msg, a.err)
	}
	if _, n, err := nextEvent(two[24:]); n != 0 || err != nil {
		t.Errorf("incomplete second message: n %d, %v", n, err)
	}

	tests := []struct {
		name    string
		buf     []byte
		n       int
		badHead bool
	}{
		{"empty", nil, 0, false},
		{"half a header", words(1), 0, false},
		{"size below the header", words(1, 4<<16), 0, true},
		{"size not a multiple of 4", words(1, 10<<16, 0), 0, true},
		{"body not there yet", words(1, 16<<16, 0), 0, false},
		{"header only", words(5, 8<<16|3), 8, false},
	}
	for _, tt := range tests {
		_, n, err := nextEvent(tt.buf)
		if n != tt.n || (err != nil) != tt.badHead {
			t.Errorf("%s: n %d, err %v", tt.name, n, err)
		}
	}

	strs := []struct {
		name string
		body []byte
		want string
		ok   bool
	}{
		{"null string", words(0), "", true},
		{"empty string", words(1, "\x00\x00\x00\x00"), "", true},
		{"no NUL", words(4, "abcd"), "", false},
		{"longer than the body", words(9, "abcd"), "", false},
		{"huge length", words(-1, "abcd"), "", false},
		{"padding missing", words(6, "abcde\x00"), "", false},
		{"no length", nil, "", false},
	}
	for _, tt := range strs {
		a := &args{b: tt.body}
		got := a.string()
		if got != tt.want || (a.err == nil) != tt.ok {
			t.Errorf("%s: %q, %v", tt.name, got, a.err)
		}
	}
}

// Whatever the compositor sends, reading it never panics or reads past a message.
func FuzzEvent(f *testing.F) {
	f.Add(words(1, 24<<16|0, 3, 1, 4, "bad\x00"))
	f.Add(words(7, 28<<16|0, 24, "text/plain;charset=utf-8"))
	f.Add(words(2, 20<<16, 1, 8, "wl_seat\x00"))
	f.Add(words(1, 8<<16|1))
	f.Fuzz(func(t *testing.T, buf []byte) {
		for len(buf) > 0 {
			ev, n, err := nextEvent(buf)
			if err != nil || n == 0 {
				return
			}
			if n < headerSize || n > len(buf) || n%4 != 0 || len(ev.body) != n-headerSize {
				t.Fatalf("message of %d bytes from %d: body %d", n, len(buf), len(ev.body))
			}
			a := &args{b: ev.body}
			for a.err == nil && len(a.b) > 0 {
				a.uint()
				_ = a.string()
			}
			buf = buf[n:]
		}
	})
}

// What we encode reads back the same.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint32(2), uint16(0), "wl_seat", uint32(1))
	f.Add(uint32(0xfeffffff), uint16(1), "", uint32(0))
	f.Add(uint32(9), uint16(0), "x-kde-passwordManagerHint", uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, obj uint32, opcode uint16, s string, v uint32) {
		b, err := newRequest(obj, opcode).uint(v).string(s).uint(v).encode()
		if strings.IndexByte(s, 0) >= 0 || headerSize+12+len(s)+1 > maxMessage {
			if err == nil {
				t.Fatalf("encoded %q without an error", s)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		ev, n, err := nextEvent(b)
		if err != nil || n != len(b) || ev.obj != obj || ev.opcode != opcode {
			t.Fatalf("read back %+v %d %v", ev, n, err)
		}
		a := &args{b: ev.body}
		if v1, got, v2 := a.uint(), a.string(), a.uint(); v1 != v || got != s || v2 != v || a.err != nil || len(a.b) != 0 {
			t.Fatalf("read back %d %q %d (%v, %d left)", v1, got, v2, a.err, len(a.b))
		}
	})
}
