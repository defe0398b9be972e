package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// The emulator's own reading of the realtime wire format (Socket.IO 2 packets inside Engine.IO 3
// message packets), deliberately not homey's codec: a mistake shared by both would pass both
// sides of the tests.

// ioPacket is one Socket.IO packet as the emulator reads it.
type ioPacket struct {
	kind int    // 0 connect, 1 disconnect, 2 event, 3 ack, 4 error (binary 5 and 6 are refused)
	nsp  string // "/" when none is named
	id   int    // the ack id asked for; -1 when none
	data []byte // JSON; nil when none
}

var errBadPacket = errors.New("bad packet")

// parseIO reads a Socket.IO packet (an Engine.IO message's data).
func parseIO(s []byte) (ioPacket, error) {
	p := ioPacket{nsp: "/", id: -1}
	if len(s) == 0 || s[0] < '0' || s[0] > '4' {
		return p, errBadPacket
	}
	p.kind, s = int(s[0]-'0'), s[1:]
	if len(s) > 0 && s[0] == '/' {
		end := bytes.IndexByte(s, ',')
		if end < 0 {
			end = len(s)
		}
		p.nsp = string(s[:end])
		s = s[min(end+1, len(s)):]
	}
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n > 0 {
		p.id, _ = strconv.Atoi(string(s[:n]))
		s = s[n:]
	}
	if len(s) > 0 {
		if !json.Valid(s) {
			return p, errBadPacket
		}
		p.data = s
	}
	return p, nil
}

// ioMessage is the Engine.IO message text of a Socket.IO packet of kind on nsp with ack id
// (-1: none) and JSON data (nil: none).
func ioMessage(kind int, nsp string, id int, data []byte) []byte {
	b := []byte{'4', byte('0' + kind)}
	if nsp != "/" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if id >= 0 {
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, data...)
}

// mustJSON encodes v, which the emulator builds itself and which always encodes.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`null`)
	}
	return b
}

// ackError is the error argument of a refused ack or handshake: the shape of the Homey's HTTP
// errors plus the statusCode that the official client checks.
func ackError(status int, code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc, "statusCode": status}
}
