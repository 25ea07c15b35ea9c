package android

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"testing"

	"golang.org/x/image/font/sfnt"
)

func decodePNG(t *testing.T, data string) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader([]byte(data)))
	if err != nil {
		t.Fatalf("not a PNG (%d bytes): %v", len(data), err)
	}
	return img
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

func TestScreencapRendersTheScreen(t *testing.T) {
	s := newSys(t, Config{Screen: Size{1080, 1920}})
	home := decodePNG(t, mustRun(t, s, "screencap -p"))
	if b := home.Bounds(); b.Dx() != 1080 || b.Dy() != 1920 {
		t.Fatalf("size %v", b)
	}
	installFake(t, s)
	start(t, s, "com.example.app.Main")
	app := decodePNG(t, mustRun(t, s, "screencap -p"))
	if samePixels(home, app) {
		t.Fatal("the launcher and an app's screen give the same pixels")
	}
	// A file argument: PNG by -p or by the .png suffix.
	mustRun(t, s, "screencap -p /sdcard/a.bin && screencap /data/local/tmp/b.png")
	for _, f := range []string{"/sdcard/a.bin", "/data/local/tmp/b.png"} {
		data, err := s.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		decodePNG(t, string(data))
	}
	// Without -p: the raw header (w, h, format, color space) and RGBA rows.
	raw := mustRun(t, s, "screencap")
	if len(raw) != 16+1080*1920*4 {
		t.Fatalf("raw screencap: %d bytes", len(raw))
	}
	hdr := []byte(raw[:16])
	if w, h, f := binary.LittleEndian.Uint32(hdr), binary.LittleEndian.Uint32(hdr[4:]), binary.LittleEndian.Uint32(hdr[8:]); w != 1080 || h != 1920 || f != 1 {
		t.Fatalf("raw header %d %d %d", w, h, f)
	}
	_, errs, st := run(t, s, "screencap /system/x.png")
	if st != 1 || errs != "Error opening file: /system/x.png (Read-only file system)\n" {
		t.Fatalf("screencap to /system: %d %q", st, errs)
	}
	_, errs, st = run(t, s, "screencap -x")
	if st != 1 || !bytes.HasPrefix([]byte(errs), []byte("usage: screencap")) {
		t.Fatalf("screencap -x: %d %q", st, errs)
	}
}

func TestScreencapTextWithAndWithoutFonts(t *testing.T) {
	img := func(fonts bool, text string) *image.RGBA {
		dst := image.NewRGBA(image.Rect(0, 0, 400, 80))
		var tp *textPainter
		if fonts {
			tp = newTextPainter(loadFonts(), 36)
		} else {
			tp = newTextPainter(nil, 36)
		}
		defer tp.close()
		tp.draw(dst, 4, 50, text, colText)
		return dst
	}
	blank := image.NewRGBA(image.Rect(0, 0, 400, 80))
	for _, fonts := range []bool{true, false} {
		for _, text := range []string{"Answer", "接听来电"} {
			if samePixels(img(fonts, text), blank) {
				t.Errorf("fonts=%v: %q drew nothing", fonts, text)
			}
		}
		if samePixels(img(fonts, "接听"), img(fonts, "挂断")) && fonts && hasCJKFont() {
			t.Errorf("two different CJK words look the same with a CJK font")
		}
	}
}

func hasCJKFont() bool {
	for _, f := range loadFonts() {
		var buf sfnt.Buffer
		if idx, err := f.GlyphIndex(&buf, '接'); err == nil && idx != 0 {
			return true
		}
	}
	return false
}
