package adbwire

import (
	"encoding/binary"
	"fmt"
)

// Shell protocol v2 packet ids.
const (
	ShellStdin            byte = 0
	ShellStdout           byte = 1
	ShellStderr           byte = 2
	ShellExit             byte = 3
	ShellCloseStdin       byte = 4
	ShellWindowSizeChange byte = 5
)

// ShellHeaderSize is the size of a shell v2 packet header: id byte + u32 length.
const ShellHeaderSize = 5

// MaxShellPacket bounds the payload of one shell v2 packet accepted by
// PacketDecoder. adbd never sends more than its buffer (about 32 KiB); the
// bound is generous and keeps a hostile length from allocating gigabytes.
const MaxShellPacket = 1 << 20

// Packet is one shell protocol v2 packet.
type Packet struct {
	ID   byte
	Data []byte
}

// AppendPacket appends an encoded shell v2 packet to buf.
func AppendPacket(buf []byte, id byte, data []byte) []byte {
	var h [ShellHeaderSize]byte
	h[0] = id
	binary.LittleEndian.PutUint32(h[1:], uint32(len(data)))
	buf = append(buf, h[:]...)
	return append(buf, data...)
}

// PacketDecoder reassembles shell v2 packets from a byte stream whose chunk
// boundaries (WRTE payloads, socket reads) need not match packet boundaries.
type PacketDecoder struct {
	buf []byte
	max int
}

// NewPacketDecoder returns a decoder that refuses packets larger than max
// bytes (MaxShellPacket when max <= 0).
func NewPacketDecoder(max int) *PacketDecoder {
	if max <= 0 {
		max = MaxShellPacket
	}
	return &PacketDecoder{max: max}
}

// Write feeds bytes to the decoder. It never fails.
func (d *PacketDecoder) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// Buffered reports how many bytes wait for the rest of their packet.
func (d *PacketDecoder) Buffered() int { return len(d.buf) }

// Next returns the next complete packet. ok is false when more bytes are
// needed. An error means the stream is malformed and must be dropped.
// The packet's Data is only valid until the next call to Write.
func (d *PacketDecoder) Next() (p Packet, ok bool, err error) {
	if len(d.buf) < ShellHeaderSize {
		return Packet{}, false, nil
	}
	id := d.buf[0]
	if id > ShellWindowSizeChange {
		return Packet{}, false, fmt.Errorf("adbwire: unknown shell packet id %d", id)
	}
	n := binary.LittleEndian.Uint32(d.buf[1:ShellHeaderSize])
	if uint64(n) > uint64(d.max) {
		return Packet{}, false, fmt.Errorf("adbwire: shell packet of %d bytes, limit %d", n, d.max)
	}
	end := ShellHeaderSize + int(n)
	if len(d.buf) < end {
		return Packet{}, false, nil
	}
	p = Packet{ID: id, Data: d.buf[ShellHeaderSize:end:end]}
	d.buf = d.buf[end:]
	if len(d.buf) == 0 {
		d.buf = d.buf[:0:0]
	}
	return p, true, nil
}
