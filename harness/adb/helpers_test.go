package adb_test

import (
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func newImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 40), G: uint8(y * 40), B: 90, A: 255})
		}
	}
	return img
}

// fixCRC recomputes the CRC of the IHDR chunk after a test changed it.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	return b
}
