package homey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The realtime wire format of a Homey: Socket.IO 2 (its protocol revision 4) framed in
// Engine.IO 3 packets, one packet per WebSocket text message. This file is the codec only: no
// I/O, no state.
//
// An Engine.IO packet is one type digit and its data: 0 open ({"sid", "upgrades",
// "pingInterval", "pingTimeout"}), 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop. In
// Engine.IO 3 the client pings every pingInterval and the server answers with a pong.
//
// A message carries one Socket.IO packet: a type digit (0 connect, 1 disconnect, 2 event,
// 3 ack, 4 error, 5 binary event, 6 binary ack), for the binary types the number of
// attachments and "-", then the namespace and "," unless it is "/", then the ack id in decimal
// digits, then JSON data: "42/api,7[\"subscribe\",\"homey:manager:devices\"]" is event
// "subscribe" on namespace /api, asking for ack 7; "43/api,7[null]" is that ack.

// Engine.IO 3 packet types.
const (
	eioOpen    byte = '0'
	eioClose   byte = '1'
	eioPing    byte = '2'
	eioPong    byte = '3'
	eioMessage byte = '4'
	eioUpgrade byte = '5'
	eioNoop    byte = '6'
)

// Socket.IO 2 packet types.
const (
	sioConnect     = 0
	sioDisconnect  = 1
	sioEvent       = 2
	sioAck         = 3
	sioError       = 4
	sioBinaryEvent = 5
	sioBinaryAck   = 6
)

// noAck is the ack id of a packet that asks for none.
const noAck = -1

// maxAckDigits bounds an ack id: JavaScript peers count in doubles, exact up to 2^53.
const maxAckDigits = 15

// errPacket is a packet that breaks the protocol.
var errPacket = errors.New("malformed realtime packet")

// eioHandshake is the data of an Engine.IO open packet.
type eioHandshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"` // milliseconds
	PingTimeout  int64    `json:"pingTimeout"`  // milliseconds
}

// parseOpen reads the data of an open packet. The ping interval and timeout must be positive
// and at most a day: a client's liveness check depends on them.
func parseOpen(data []byte) (eioHandshake, error) {
	var h eioHandshake
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("%w: open packet: %s", errPacket, jsonReason(err))
	}
	const day = 24 * 60 * 60 * 1000
	if h.PingInterval <= 0 || h.PingInterval > day || h.PingTimeout <= 0 || h.PingTimeout > day {
		return h, fmt.Errorf("%w: open packet: ping interval or timeout out of range", errPacket)
	}
	return h, nil
}

// sioPacket is one Socket.IO packet.
type sioPacket struct {
	Type        int
	Attachments int             // binary types only
	NSP         string          // the namespace; "/" when the packet names none
	ID          int64           // the ack id, or noAck
	Data        json.RawMessage // nil when the packet has none
}

// encodeMessage is p as the text of an Engine.IO message packet ("4" and the Socket.IO
// packet), with the data as it is in p.Data.
func encodeMessage(p sioPacket) []byte {
	var b bytes.Buffer
	b.WriteByte(eioMessage)
	b.WriteByte(byte('0' + p.Type))
	if p.Type == sioBinaryEvent || p.Type == sioBinaryAck {
		b.WriteString(strconv.Itoa(p.Attachments) + "-")
	}
	if p.NSP != "" && p.NSP != "/" {
		b.WriteString(p.NSP + ",")
	}
	if p.ID >= 0 {
		b.WriteString(strconv.FormatInt(p.ID, 10))
	}
	b.Write(p.Data)
	return b.Bytes()
}

// decodePacket reads a Socket.IO packet (the data of an Engine.IO message, without the "4"),
// as the reference parser (socket.io-parser 3.x) reads it: the namespace runs from a leading
// "/" to the first "," or the end; the ack id is the digits that follow; the rest is JSON that
// must suit the type (an event is an array that starts with its name, an ack an array, an
// error a string or an object, a connect an object, a disconnect nothing).
func decodePacket(s []byte) (sioPacket, error) {
	p := sioPacket{NSP: "/", ID: noAck}
	if len(s) == 0 || s[0] < '0' || s[0] > '6' {
		return p, fmt.Errorf("%w: unknown packet type", errPacket)
	}
	p.Type = int(s[0] - '0')
	i := 1
	if p.Type == sioBinaryEvent || p.Type == sioBinaryAck {
		j := bytes.IndexByte(s[i:], '-')
		if j < 1 || j > 4 {
			return p, fmt.Errorf("%w: attachments", errPacket)
		}
		n, err := strconv.Atoi(string(s[i : i+j]))
		if err != nil || n < 1 {
			return p, fmt.Errorf("%w: attachments", errPacket)
		}
		p.Attachments, i = n, i+j+1
	}
	if i < len(s) && s[i] == '/' {
		j := bytes.IndexByte(s[i:], ',')
		if j < 0 {
			p.NSP, i = string(s[i:]), len(s)
		} else {
			p.NSP, i = string(s[i:i+j]), i+j+1
		}
	}
	if j := digits(s[i:]); j > 0 {
		if j > maxAckDigits {
			return p, fmt.Errorf("%w: ack id too long", errPacket)
		}
		p.ID, _ = strconv.ParseInt(string(s[i:i+j]), 10, 64)
		i += j
	}
	if i < len(s) {
		p.Data = json.RawMessage(s[i:])
		if !json.Valid(p.Data) {
			return p, fmt.Errorf("%w: data is not JSON", errPacket)
		}
	}
	if !payloadFits(p) {
		return p, fmt.Errorf("%w: data does not suit packet type %d", errPacket, p.Type)
	}
	return p, nil
}

// digits counts the leading ASCII digits of s.
func digits(s []byte) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// payloadFits checks p.Data against p.Type, as the reference parser does.
func payloadFits(p sioPacket) bool {
	if p.Data == nil {
		return p.Type != sioEvent && p.Type != sioBinaryEvent && p.Type != sioAck && p.Type != sioBinaryAck
	}
	first := firstByte(p.Data)
	switch p.Type {
	case sioConnect:
		return first == '{' || first == '[' || first == 'n' // a JavaScript "object": null counts
	case sioDisconnect:
		return false
	case sioError:
		return first == '"' || first == '{' || first == '[' || first == 'n'
	case sioEvent, sioBinaryEvent:
		var args []json.RawMessage
		if json.Unmarshal(p.Data, &args) != nil || len(args) == 0 {
			return false
		}
		f := firstByte(args[0])
		return f == '"' || f == '-' || (f >= '0' && f <= '9')
	}
	return first == '[' // ack
}

// firstByte is the first byte of JSON text after white space, 0 if none.
func firstByte(b []byte) byte {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

// eventMessage is an Engine.IO message with the Socket.IO event name(args...) on nsp, asking
// for ack id (noAck: none). Arguments that cannot be encoded make an error.
func eventMessage(nsp string, id int64, name string, args ...any) ([]byte, error) {
	data, err := json.Marshal(append([]any{name}, args...))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return encodeMessage(sioPacket{Type: sioEvent, NSP: nsp, ID: id, Data: data}), nil
}

// eventArgs splits an event packet's data into its name and its arguments. A numeric name
// (allowed by the protocol) comes back as its digits.
func eventArgs(data json.RawMessage) (string, []json.RawMessage, error) {
	var all []json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil || len(all) == 0 {
		return "", nil, fmt.Errorf("%w: event without a name", errPacket)
	}
	var name string
	if f := firstByte(all[0]); f != '"' && f != '-' && (f < '0' || f > '9') {
		return "", nil, fmt.Errorf("%w: event name", errPacket)
	}
	if json.Unmarshal(all[0], &name) != nil {
		var n json.Number
		if json.Unmarshal(all[0], &n) != nil {
			return "", nil, fmt.Errorf("%w: event name", errPacket)
		}
		name = n.String()
	}
	return name, all[1:], nil
}
