// Package adbwire encodes and decodes the two binary framings of ADB that both
// sides of this project speak: transport messages between an adb server and a
// device (CNXN, AUTH, OPEN, OKAY, WRTE, CLSE), and shell protocol v2 packets
// carried inside a stream.
//
// Decoders never trust their input: lengths are bounded, the magic is checked,
// and every malformed input is an error, never a panic.
package adbwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Transport commands (little-endian ASCII).
const (
	CmdSYNC uint32 = 0x434e5953
	CmdCNXN uint32 = 0x4e584e43
	CmdAUTH uint32 = 0x48545541
	CmdOPEN uint32 = 0x4e45504f
	CmdOKAY uint32 = 0x59414b4f
	CmdCLSE uint32 = 0x45534c43
	CmdWRTE uint32 = 0x45545257
	CmdSTLS uint32 = 0x534c5453
)

// Protocol versions and payload limits.
const (
	// VersionMin is the first protocol version; it checksums payloads.
	VersionMin uint32 = 0x01000000
	// VersionSkipChecksum is the version from which the data check is not verified.
	VersionSkipChecksum uint32 = 0x01000001
	// MaxPayloadV1 is the payload limit of the first protocol version.
	MaxPayloadV1 uint32 = 4 * 1024
	// MaxPayload is the largest payload either side offers (1 MiB).
	MaxPayload uint32 = 1024 * 1024
	// HeaderSize is the size of a transport message header.
	HeaderSize = 24
)

// AUTH message types.
const (
	AuthToken        uint32 = 1
	AuthSignature    uint32 = 2
	AuthRSAPublicKey uint32 = 3
)

// Errors returned by the decoders.
var (
	ErrBadMagic       = errors.New("adbwire: bad magic")
	ErrUnknownCommand = errors.New("adbwire: unknown command")
	ErrTooLarge       = errors.New("adbwire: payload too large")
	ErrTruncated      = errors.New("adbwire: truncated message")
)

// Message is one transport message.
type Message struct {
	Command uint32
	Arg0    uint32
	Arg1    uint32
	Data    []byte
}

// CommandName returns the four-letter name of a command, or its hex value.
func CommandName(cmd uint32) string {
	switch cmd {
	case CmdSYNC, CmdCNXN, CmdAUTH, CmdOPEN, CmdOKAY, CmdCLSE, CmdWRTE, CmdSTLS:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], cmd)
		return string(b[:])
	}
	return fmt.Sprintf("0x%08x", cmd)
}

func (m Message) String() string {
	return fmt.Sprintf("%s(%d, %d, %d bytes)", CommandName(m.Command), m.Arg0, m.Arg1, len(m.Data))
}

// Checksum is the byte sum used as data check by protocol versions below
// VersionSkipChecksum.
func Checksum(data []byte) uint32 {
	var sum uint32
	for _, b := range data {
		sum += uint32(b)
	}
	return sum
}

// AppendMessage appends the encoded message (header and payload) to buf.
// The data check is always filled in, so the message is valid for every
// protocol version.
func AppendMessage(buf []byte, m Message) []byte {
	var h [HeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], m.Command)
	binary.LittleEndian.PutUint32(h[4:], m.Arg0)
	binary.LittleEndian.PutUint32(h[8:], m.Arg1)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(m.Data)))
	binary.LittleEndian.PutUint32(h[16:], Checksum(m.Data))
	binary.LittleEndian.PutUint32(h[20:], m.Command^0xffffffff)
	buf = append(buf, h[:]...)
	return append(buf, m.Data...)
}

// Header is a decoded transport message header.
type Header struct {
	Command, Arg0, Arg1, DataLength, DataCheck uint32
}

// DecodeHeader checks and decodes a 24-byte header. maxData bounds the
// payload length it accepts.
func DecodeHeader(b []byte, maxData uint32) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrTruncated
	}
	h := Header{
		Command:    binary.LittleEndian.Uint32(b[0:]),
		Arg0:       binary.LittleEndian.Uint32(b[4:]),
		Arg1:       binary.LittleEndian.Uint32(b[8:]),
		DataLength: binary.LittleEndian.Uint32(b[12:]),
		DataCheck:  binary.LittleEndian.Uint32(b[16:]),
	}
	magic := binary.LittleEndian.Uint32(b[20:])
	if magic != h.Command^0xffffffff {
		return Header{}, fmt.Errorf("%w: command 0x%08x magic 0x%08x", ErrBadMagic, h.Command, magic)
	}
	switch h.Command {
	case CmdSYNC, CmdCNXN, CmdAUTH, CmdOPEN, CmdOKAY, CmdCLSE, CmdWRTE, CmdSTLS:
	default:
		return Header{}, fmt.Errorf("%w: 0x%08x", ErrUnknownCommand, h.Command)
	}
	if h.DataLength > maxData {
		return Header{}, fmt.Errorf("%w: %s carries %d bytes, limit %d", ErrTooLarge, CommandName(h.Command), h.DataLength, maxData)
	}
	return h, nil
}

// ReadMessage reads one message from r. Payloads longer than maxData are
// refused before any of their bytes is read.
func ReadMessage(r io.Reader, maxData uint32) (Message, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Message{}, ErrTruncated
		}
		return Message{}, err
	}
	h, err := DecodeHeader(hb[:], maxData)
	if err != nil {
		return Message{}, err
	}
	m := Message{Command: h.Command, Arg0: h.Arg0, Arg1: h.Arg1}
	if h.DataLength > 0 {
		m.Data = make([]byte, h.DataLength)
		if _, err := io.ReadFull(r, m.Data); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return Message{}, ErrTruncated
			}
			return Message{}, err
		}
	}
	return m, nil
}
