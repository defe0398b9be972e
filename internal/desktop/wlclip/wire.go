//go:build linux || freebsd || netbsd || openbsd || dragonfly

package wlclip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The Wayland wire format (the "Wire Format" section of the Wayland protocol documentation,
// which libwayland implements): every message is a header of two 32-bit words in the host's
// byte order — the object id, then the message size in bytes (header included) in the upper
// 16 bits and the opcode in the lower 16 — followed by the arguments, each a multiple of 4
// bytes. int, uint, fixed, object and new_id are one word; a string is its length in bytes
// with the terminating NUL (0 for a null string), its bytes, the NUL and padding to a
// multiple of 4; an array is its length and its bytes, padded. File descriptors take no
// bytes: they travel beside the message as SCM_RIGHTS ancillary data.

const (
	headerSize = 8
	// maxMessage is libwayland's limit on one message (WL_MAX_MESSAGE_SIZE); longer ones are
	// a protocol error on either side.
	maxMessage = 4096
)

var (
	errShort     = errors.New("message shorter than its arguments")
	errBadString = errors.New("string argument without its terminating NUL")
)

// request is one outgoing message being built.
type request struct {
	obj    uint32
	opcode uint16
	body   []byte
	err    error
}

func newRequest(obj uint32, opcode uint16) *request {
	return &request{obj: obj, opcode: opcode}
}

func (r *request) uint(v uint32) *request {
	r.body = binary.NativeEndian.AppendUint32(r.body, v)
	return r
}

// string appends a non-null string. Strings are NUL-terminated on the wire, so s must not
// contain NUL (encode reports it).
func (r *request) string(s string) *request {
	r.uint(uint32(len(s) + 1))
	r.body = append(r.body, s...)
	r.body = append(r.body, 0)
	for len(r.body)%4 != 0 {
		r.body = append(r.body, 0)
	}
	if strings.IndexByte(s, 0) >= 0 {
		r.err = errors.New("a string argument contains a NUL byte")
	}
	return r
}

// encode returns the message's bytes.
func (r *request) encode() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	size := headerSize + len(r.body)
	if size > maxMessage {
		return nil, fmt.Errorf("a message of %d bytes is longer than %d", size, maxMessage)
	}
	b := make([]byte, 0, size)
	b = binary.NativeEndian.AppendUint32(b, r.obj)
	b = binary.NativeEndian.AppendUint32(b, uint32(size)<<16|uint32(r.opcode))
	return append(b, r.body...), nil
}

// event is one incoming message.
type event struct {
	obj    uint32
	opcode uint16
	body   []byte
}

// nextEvent splits the first complete message off buf. It returns n == 0 when buf does not
// hold a whole message yet, and an error for a header no message can have.
func nextEvent(buf []byte) (ev event, n int, err error) {
	if len(buf) < headerSize {
		return event{}, 0, nil
	}
	obj := binary.NativeEndian.Uint32(buf)
	word := binary.NativeEndian.Uint32(buf[4:])
	size := int(word >> 16)
	if size < headerSize || size%4 != 0 {
		return event{}, 0, fmt.Errorf("message of object %d with size %d", obj, size)
	}
	if len(buf) < size {
		return event{}, 0, nil
	}
	return event{obj: obj, opcode: uint16(word), body: buf[headerSize:size]}, size, nil
}

// args reads an event's arguments in order; the first error sticks and later reads return
// zero values.
type args struct {
	b   []byte
	err error
}

func (a *args) uint() uint32 {
	if a.err != nil {
		return 0
	}
	if len(a.b) < 4 {
		a.err = errShort
		return 0
	}
	v := binary.NativeEndian.Uint32(a.b)
	a.b = a.b[4:]
	return v
}

// string reads a string argument; a null string reads as "".
func (a *args) string() string {
	n := a.uint()
	if a.err != nil || n == 0 {
		return ""
	}
	// Compared as uint64 first: a huge length must not wrap around in a 32-bit int.
	if uint64(n) > uint64(len(a.b)) || (int(n)+3)&^3 > len(a.b) {
		a.err = errShort
		return ""
	}
	padded := (int(n) + 3) &^ 3
	if a.b[n-1] != 0 {
		a.err = errBadString
		return ""
	}
	s := string(a.b[:n-1])
	a.b = a.b[padded:]
	return s
}
