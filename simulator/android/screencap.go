package android

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// screencap: the screen rendered from the resumed activity's view tree
// (boxes for views, filled for clickable ones, and their text), with the
// status bar on top. Text uses the host's fonts when there are any (a CJK
// font such as WenQuanYi or Noto CJK for Chinese text); a character no font
// has is drawn as an outlined box.

// Raw screencap header values (frameworks/base/cmds/screencap).
const (
	pixelFormatRGBA8888 = 1 // PIXEL_FORMAT_RGBA_8888
	colorspaceSRGB      = 1 // COLORSPACE_SRGB
)

var (
	colBackground = color.RGBA{0xfa, 0xfa, 0xfa, 0xff}
	colStatusBar  = color.RGBA{0x20, 0x20, 0x20, 0xff}
	colBorder     = color.RGBA{0xc8, 0xc8, 0xc8, 0xff}
	colClickable  = color.RGBA{0xd6, 0xe4, 0xff, 0xff}
	colClickEdge  = color.RGBA{0x33, 0x66, 0xcc, 0xff}
	colText       = color.RGBA{0x10, 0x10, 0x10, 0xff}
	colStatusText = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}
)

// fontCandidates are host font files tried in order; the first that has a
// character draws it.
var fontCandidates = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// glyphFont is one font of the chain.
type glyphFont struct {
	sf  *sfnt.Font
	buf sfnt.Buffer
}

var (
	fontsOnce sync.Once
	hostFonts []*sfnt.Font
)

// loadFonts parses the candidate fonts that exist on the host.
func loadFonts() []*sfnt.Font {
	fontsOnce.Do(func() {
		for _, p := range fontCandidates {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if strings.HasSuffix(p, ".ttc") {
				c, err := opentype.ParseCollection(data)
				if err != nil || c.NumFonts() == 0 {
					continue
				}
				f, err := c.Font(0)
				if err == nil {
					hostFonts = append(hostFonts, f)
				}
				continue
			}
			if f, err := opentype.Parse(data); err == nil {
				hostFonts = append(hostFonts, f)
			}
		}
	})
	return hostFonts
}

// textPainter draws text with a chain of faces.
type textPainter struct {
	fonts []*glyphFont
	faces []font.Face
	size  int
}

func newTextPainter(fonts []*sfnt.Font, px int) *textPainter {
	tp := &textPainter{size: px}
	for _, f := range fonts {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			continue
		}
		tp.fonts = append(tp.fonts, &glyphFont{sf: f})
		tp.faces = append(tp.faces, face)
	}
	return tp
}

func (tp *textPainter) close() {
	for _, f := range tp.faces {
		f.Close()
	}
}

// faceFor returns the face that has r, or nil.
func (tp *textPainter) faceFor(r rune) font.Face {
	for i, g := range tp.fonts {
		if idx, err := g.sf.GlyphIndex(&g.buf, r); err == nil && idx != 0 {
			return tp.faces[i]
		}
	}
	if len(tp.fonts) == 0 && r >= 0x20 && r < 0x7f {
		return basicfont.Face7x13
	}
	return nil
}

// draw writes s on dst from (x, baseline y), clipped to dst's bounds.
func (tp *textPainter) draw(dst draw.Image, x, y int, s string, col color.Color) {
	dot := fixed.P(x, y)
	src := image.NewUniform(col)
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		face := tp.faceFor(r)
		if face == nil {
			// No font has it: an outlined box, as a missing glyph looks.
			w := tp.size * 6 / 10
			box := image.Rect(dot.X.Round()+1, y-tp.size*8/10, dot.X.Round()+w, y)
			outline(dst, box, col, 1)
			dot.X += fixed.I(w + 2)
			continue
		}
		d := font.Drawer{Dst: dst, Src: src, Face: face, Dot: dot}
		d.DrawString(string(r))
		dot = d.Dot
		if dot.X.Round() > dst.Bounds().Max.X {
			return
		}
	}
}

func outline(dst draw.Image, r image.Rectangle, col color.Color, w int) {
	src := image.NewUniform(col)
	for _, e := range []image.Rectangle{
		{r.Min, image.Pt(r.Max.X, r.Min.Y+w)}, {image.Pt(r.Min.X, r.Max.Y-w), r.Max},
		{r.Min, image.Pt(r.Min.X+w, r.Max.Y)}, {image.Pt(r.Max.X-w, r.Min.Y), r.Max},
	} {
		draw.Draw(dst, e.Intersect(dst.Bounds()), src, image.Point{}, draw.Src)
	}
}

// density is the screen density in dpi (ro.sf.lcd_density).
func (s *System) density() int {
	if d, err := strconv.Atoi(s.GetProp("ro.sf.lcd_density")); err == nil && d > 0 {
		return d
	}
	return 420
}

// Screenshot renders the current screen: the resumed activity's window
// under the status bar, at the display size `wm size` reports.
func (s *System) Screenshot() *image.RGBA {
	scr := s.cfg.Screen
	img := image.NewRGBA(image.Rect(0, 0, scr.Width, scr.Height))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBackground), image.Point{}, draw.Src)
	dp := func(v int) int { return v * s.density() / 160 }
	tp := newTextPainter(loadFonts(), dp(14))
	defer tp.close()
	if a := s.ResumedActivity(); a != nil {
		screen := Rect{0, 0, scr.Width, scr.Height}
		drawNode(img, tp, a.Content(), screen, dp(8))
	}
	status := image.Rect(0, 0, scr.Width, dp(24))
	draw.Draw(img, status, image.NewUniform(colStatusBar), image.Point{}, draw.Src)
	small := newTextPainter(loadFonts(), dp(12))
	defer small.close()
	small.draw(img.SubImage(status).(*image.RGBA), dp(16), dp(18), s.clock.Now().In(s.Location()).Format("15:04"), colStatusText)
	return img
}

func drawNode(img *image.RGBA, tp *textPainter, n *Node, parent Rect, pad int) {
	if n == nil {
		return
	}
	b := n.boundsIn(parent).intersect(parent)
	if b.Empty() {
		return
	}
	r := image.Rect(b.Left, b.Top, b.Right, b.Bottom)
	if n.Clickable {
		draw.Draw(img, r, image.NewUniform(colClickable), image.Point{}, draw.Src)
		outline(img, r, colClickEdge, 3)
	} else {
		outline(img, r, colBorder, 1)
	}
	label := n.Text
	if label == "" {
		label = n.ContentDesc
	}
	if label != "" && !n.Password {
		tp.draw(img.SubImage(r.Inset(1)).(*image.RGBA), r.Min.X+pad, r.Min.Y+pad+tp.size, label, colText)
	}
	for _, c := range n.Children {
		drawNode(img, tp, c, b, pad)
	}
}

// rawScreencap is screencap's format without -p: width, height, pixel
// format and color space as little-endian u32, then RGBA rows.
func rawScreencap(img *image.RGBA) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	out := make([]byte, 16, 16+w*h*4)
	binary.LittleEndian.PutUint32(out[0:], uint32(w))
	binary.LittleEndian.PutUint32(out[4:], uint32(h))
	binary.LittleEndian.PutUint32(out[8:], pixelFormatRGBA8888)
	binary.LittleEndian.PutUint32(out[12:], colorspaceSRGB)
	for y := 0; y < h; y++ {
		out = append(out, img.Pix[y*img.Stride:y*img.Stride+w*4]...)
	}
	return out
}

const screencapUsage = `usage: screencap [-hp] [-d display-id] [FILENAME]
   -h: this message
   -p: save the file as a png.
   -d: specify the physical display ID to capture (default: 4619827259835644672)
       see "dumpsys SurfaceFlinger --display-id" for valid display IDs.
If FILENAME ends with .png it will be saved as a png.
If FILENAME is not given, the results will be printed to stdout.
`

// cmdScreencap is `screencap [-p] [-d ID] [FILE]`.
func cmdScreencap(c *cmdCtx) int {
	asPNG := false
	var file string
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-p":
			asPNG = true
		case a == "-h":
			c.errf("%s", screencapUsage)
			return 0
		case a == "-d":
			if i+1 >= len(args) {
				c.errf("%s", screencapUsage)
				return 1
			}
			i++
		case strings.HasPrefix(a, "-") && len(a) > 1:
			c.errf("%s", screencapUsage)
			return 1
		default:
			if file != "" {
				c.errf("%s", screencapUsage)
				return 1
			}
			file = a
		}
	}
	if file != "" && strings.HasSuffix(file, ".png") {
		asPNG = true
	}
	img := c.sys.Screenshot()
	var data []byte
	if asPNG {
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
			c.errf("Error encoding PNG: %v\n", err)
			return 1
		}
		data = buf.Bytes()
	} else {
		data = rawScreencap(img)
	}
	if file == "" {
		if _, err := c.stdout.Write(data); err != nil {
			return 1
		}
		return 0
	}
	if err := c.writeFile(c.abs(file), data, false); err != nil {
		c.errf("Error opening file: %s (%s)\n", filepath.Clean(file), errnoText(err))
		return 1
	}
	return 0
}
