package adb

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Screencap takes a screenshot: `screencap -p` through the exec service (as
// `adb exec-out screencap -p`), so the PNG arrives unaltered. What comes
// back is checked to be a whole PNG (signature, a valid IHDR, IEND at the
// end); anything else is an error quoting it, e.g. `/system/bin/sh:
// screencap: not found`.
func (d *Device) Screencap(ctx context.Context) ([]byte, error) {
	out, err := d.ExecOut(ctx, "screencap -p")
	if err != nil {
		return nil, err
	}
	if err := CheckPNG(out); err != nil {
		return nil, &Error{Op: "screencap", Serial: d.serial, Err: err}
	}
	return out, nil
}

var (
	pngSignature = []byte("\x89PNG\r\n\x1a\n")
	pngIEND      = []byte("\x00\x00\x00\x00IEND\xae\x42\x60\x82")
)

// CheckPNG checks that data is one whole PNG image: the signature, an IHDR
// chunk with a correct CRC, a non-zero size and a valid colour type and bit
// depth, and the IEND chunk at the very end (so a cut stream is caught).
// The error quotes the start of data when it is not a PNG at all.
func CheckPNG(data []byte) error {
	if !bytes.HasPrefix(data, pngSignature) {
		return fmt.Errorf("not a PNG (%d bytes): %s", len(data), quote(data, 200))
	}
	rest := data[len(pngSignature):]
	if len(rest) < 25 {
		return fmt.Errorf("PNG cut short: %d bytes, no whole IHDR", len(data))
	}
	length := binary.BigEndian.Uint32(rest)
	if string(rest[4:8]) != "IHDR" || length != 13 {
		return fmt.Errorf("PNG without IHDR first: chunk %q of %d bytes", rest[4:8], length)
	}
	if got, want := binary.BigEndian.Uint32(rest[21:25]), crc32.ChecksumIEEE(rest[4:21]); got != want {
		return fmt.Errorf("PNG IHDR CRC %08x, want %08x", got, want)
	}
	w, h := binary.BigEndian.Uint32(rest[8:]), binary.BigEndian.Uint32(rest[12:])
	depth, colour := rest[16], rest[17]
	if w == 0 || h == 0 || w > 1<<31-1 || h > 1<<31-1 {
		return fmt.Errorf("PNG of %d×%d pixels", w, h)
	}
	allowed := map[byte][]byte{0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
	depths, ok := allowed[colour]
	if !ok || !bytes.Contains(depths, []byte{depth}) {
		return fmt.Errorf("PNG with colour type %d and bit depth %d", colour, depth)
	}
	if !bytes.HasSuffix(data, pngIEND) {
		return fmt.Errorf("PNG of %d×%d cut short: %d bytes and no IEND at the end", w, h, len(data))
	}
	return nil
}

// quote shows at most n bytes of data as a Go string.
func quote(data []byte, n int) string {
	if len(data) <= n {
		return fmt.Sprintf("%q", data)
	}
	return fmt.Sprintf("%q…", data[:n])
}
