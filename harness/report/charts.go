package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// The SVG charts of report.html: per segment, a histogram and a CDF of the
// calls' durations per device model, on a shared log scale, with the
// budget maxima as dashed lines. Built as text: every label is escaped.

// cdfMaxPoints bounds the points of one CDF curve; larger samples are drawn
// from their quantiles.
const cdfMaxPoints = 200

type chartSeries struct {
	Name, Colour string
	Sorted       []time.Duration
	Hist         []latency.Bucket
}

type vline struct {
	Label string
	Ms    float64
}

const (
	chartW     = 560.0
	chartPadL  = 52.0
	chartPadR  = 34.0
	chartPlotH = 170.0
	chartPadB  = 40.0
	budgetRed  = "#cf222e"
	sqrt10     = 3.1622776601683795
	// bucket0Lo is where the first histogram bucket, [0, 100 µs), is drawn
	// from on the log axis: one bucket width below 100 µs.
	bucket0Lo = 0.1 / 1.0905077326652577
)

func bucketLoMs(b latency.Bucket) float64 {
	if b.Lo <= 0 {
		return bucket0Lo
	}
	return durMs(b.Lo)
}

func bucketRange(b latency.Bucket) string {
	if b.Lo <= 0 {
		return "under 0.1 ms"
	}
	return fmtSig(durMs(b.Lo)) + "–" + fmtSig(durMs(b.Hi)) + " ms"
}

// chartDomain is the x range, in ms, shared by a segment's charts: every
// bucket and budget line, widened to round figures and at least a decade.
func chartDomain(ss []chartSeries, lines []vline) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, s := range ss {
		if len(s.Hist) == 0 {
			continue
		}
		lo = math.Min(lo, bucketLoMs(s.Hist[0]))
		hi = math.Max(hi, durMs(s.Hist[len(s.Hist)-1].Hi))
	}
	for _, l := range lines {
		if l.Ms > 0 && !math.IsInf(l.Ms, 0) {
			lo = math.Min(lo, l.Ms)
			hi = math.Max(hi, l.Ms)
		}
	}
	if math.IsInf(lo, 1) || !(hi > 0) || !(lo > 0) {
		return 1, 10
	}
	lo, hi = niceFloor(lo), niceCeil(hi)
	if hi/lo < 10 {
		g := math.Sqrt(lo * hi)
		lo, hi = niceFloor(g/sqrt10), niceCeil(g*sqrt10)
	}
	return lo, hi
}

// niceFloor is the largest 1, 2 or 5 × 10^k not above v.
func niceFloor(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*e <= v*(1+1e-9) {
			return m * e
		}
	}
	return e / 2
}

// niceCeil is the smallest 1, 2 or 5 × 10^k not below v.
func niceCeil(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v*(1-1e-9) {
			return m * e
		}
	}
	return 10 * e
}

// niceLinCeil rounds a percentage up for a linear axis.
func niceLinCeil(v float64) float64 {
	if !(v > 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v*(1-1e-9) {
			return math.Min(m*e, 100)
		}
	}
	return 100
}

// logTicks are the ms ticks of a log axis.
func logTicks(lo, hi float64) []float64 {
	decades := math.Log10(hi / lo)
	mults := []float64{1, 2, 5}
	if decades > 3.5 {
		mults = []float64{1}
	}
	step := 1
	if decades > 8 {
		step = int(math.Ceil(decades / 8))
	}
	var out []float64
	e0 := int(math.Floor(math.Log10(lo)))
	for e := e0; e <= int(math.Ceil(math.Log10(hi))); e++ {
		if (e-e0)%step != 0 {
			continue
		}
		for _, m := range mults {
			v := m * math.Pow(10, float64(e))
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

func fmtTick(v float64) string {
	prec := 0
	if e := int(math.Floor(math.Log10(v) + 1e-9)); e < 0 {
		prec = -e
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func fmtPct(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }

type logScale struct{ lo, hi, x0, x1 float64 }

func (s logScale) x(v float64) float64 {
	if !(v > s.lo) {
		v = s.lo
	}
	if v > s.hi {
		v = s.hi
	}
	x := s.x0 + (math.Log10(v)-math.Log10(s.lo))/(math.Log10(s.hi)-math.Log10(s.lo))*(s.x1-s.x0)
	if math.IsNaN(x) {
		return s.x0
	}
	return x
}

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// esc escapes text for SVG (XML) and HTML alike.
func esc(s string) string { return html.EscapeString(s) }

// legendMaxRunes shortens long model names in a legend (the full name is
// its tooltip).
const legendMaxRunes = 60

type legendItem struct {
	label, colour string
	dashed        bool
}

// chartFrame lays out a chart: the legend on top (wrapped to the width),
// room for the budget labels, the plot, the x axis below.
type chartFrame struct {
	items       []legendItem
	pos         [][2]float64
	height      float64
	top, bottom float64
	left, right float64
	sc          logScale
}

func newFrame(ss []chartSeries, lines []vline, lo, hi float64) *chartFrame {
	f := &chartFrame{left: chartPadL, right: chartW - chartPadR}
	for _, s := range ss {
		f.items = append(f.items, legendItem{label: s.Name + " (n=" + strconv.Itoa(len(s.Sorted)) + ")", colour: s.Colour})
	}
	if len(lines) > 0 {
		f.items = append(f.items, legendItem{label: "budget max", colour: budgetRed, dashed: true})
	}
	x, y := f.left, 8.0
	for _, it := range f.items {
		w := 20 + 6.2*float64(min(len([]rune(it.label)), legendMaxRunes)) + 16
		if x > f.left && x+w > chartW-4 {
			x, y = f.left, y+16
		}
		f.pos = append(f.pos, [2]float64{x, y})
		x += w
	}
	f.top = y + 16 + 24
	f.bottom = f.top + chartPlotH
	f.height = f.bottom + chartPadB
	f.sc = logScale{lo: lo, hi: hi, x0: f.left, x1: f.right}
	return f
}

func (f *chartFrame) open(b *svgBuf, label string) {
	b.f(`<svg class="chart" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s" font-family="sans-serif" font-size="11">`, chartW, f.height, chartW, f.height, esc(label))
	b.f(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`, chartW, f.height)
}

func (f *chartFrame) legend(b *svgBuf) {
	for i, it := range f.items {
		x, y := f.pos[i][0], f.pos[i][1]
		if it.dashed {
			b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`, x, y+6, x+16, y+6, it.colour)
		} else {
			b.f(`<rect x="%.1f" y="%.1f" width="14" height="11" fill="%s"/>`, x, y, it.colour)
		}
		label := it.label
		if r := []rune(label); len(r) > legendMaxRunes {
			label = string(r[:legendMaxRunes-1]) + "…"
		}
		b.f(`<text x="%.1f" y="%.1f">%s<title>%s</title></text>`, x+20, y+10, esc(label), esc(it.label))
	}
}

// xAxis draws the ms ticks and grid, the frame and the axis title.
func (f *chartFrame) xAxis(b *svgBuf) {
	for _, t := range logTicks(f.sc.lo, f.sc.hi) {
		x := f.sc.x(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, x, f.top, x, f.bottom)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#57606a"/>`, x, f.bottom, x, f.bottom+4)
		b.f(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, f.bottom+15, fmtTick(t))
	}
	b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#8c959f"/>`, f.left, f.top, f.right-f.left, f.bottom-f.top)
	b.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#57606a">ms (log scale)</text>`, (f.left+f.right)/2, f.bottom+32)
}

func (f *chartFrame) yTitle(b *svgBuf, title string) {
	cy := (f.top + f.bottom) / 2
	b.f(`<text x="12" y="%.1f" text-anchor="middle" fill="#57606a" transform="rotate(-90 12 %.1f)">%s</text>`, cy, cy, esc(title))
}

// budgetLines draws the budget maxima as dashed verticals, labels staggered.
func (f *chartFrame) budgetLines(b *svgBuf, lines []vline) {
	for i, l := range lines {
		x := f.sc.x(l.Ms)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"><title>%s</title></line>`, x, f.top-2, x, f.bottom, budgetRed, esc(l.Label))
		y := f.top - 6 - 12*float64(i%2)
		anchor, tx := "start", x+3
		if x > f.right-90 {
			anchor, tx = "end", x-3
		}
		b.f(`<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-size="10">%s</text>`, tx, y, anchor, budgetRed, esc(l.Label))
	}
}

// histogramSVG draws the share of each model's calls per log bucket; with
// up to three models the bars stand side by side, beyond they overlay.
func histogramSVG(seg string, ss []chartSeries, lines []vline, lo, hi float64) string {
	f := newFrame(ss, lines, lo, hi)
	maxShare := 0.0
	for _, s := range ss {
		for _, bk := range s.Hist {
			maxShare = math.Max(maxShare, 100*float64(bk.Count)/float64(len(s.Sorted)))
		}
	}
	yMax := niceLinCeil(maxShare)
	y := func(share float64) float64 { return f.bottom - share/yMax*(f.bottom-f.top) }

	var b svgBuf
	f.open(&b, seg+": histogram of call durations per device model")
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, f.left, y(v), f.right, y(v))
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, f.left-4, y(v)+4, fmtPct(math.Round(v*100)/100))
	}
	f.xAxis(&b)
	f.yTitle(&b, "% of the model's calls")
	side := len(ss) <= 3
	opacity := `fill-opacity="0.85"`
	if !side {
		opacity = `fill-opacity="0.45"`
	}
	for i, s := range ss {
		n := len(s.Sorted)
		for _, bk := range s.Hist {
			if bk.Count == 0 {
				continue
			}
			x0, x1 := f.sc.x(bucketLoMs(bk)), f.sc.x(durMs(bk.Hi))
			w := x1 - x0
			if side {
				w /= float64(len(ss))
				x0 += float64(i) * w
			}
			share := 100 * float64(bk.Count) / float64(n)
			h := math.Max(f.bottom-y(share), 1)
			tip := fmt.Sprintf("%s: %d of %d calls (%.1f%%), %s", s.Name, bk.Count, n, share, bucketRange(bk))
			b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" %s><title>%s</title></rect>`, x0, f.bottom-h, math.Max(w-0.3, 0.6), h, s.Colour, opacity, esc(tip))
		}
	}
	f.budgetLines(&b, lines)
	f.legend(&b)
	b.f(`</svg>`)
	return b.String()
}

type cdfPt struct{ v, p float64 }

// cdfPoints are the steps of a sorted sample's CDF: every value for a small
// sample, else the minimum and cdfMaxPoints quantiles.
func cdfPoints(sorted []time.Duration) []cdfPt {
	n := len(sorted)
	var pts []cdfPt
	add := func(d time.Duration, p float64) {
		v := durMs(d)
		if k := len(pts); k > 0 && pts[k-1].v == v {
			pts[k-1].p = math.Max(pts[k-1].p, p)
			return
		}
		pts = append(pts, cdfPt{v, p})
	}
	if n <= cdfMaxPoints {
		for i, d := range sorted {
			add(d, float64(i+1)/float64(n))
		}
		return pts
	}
	add(sorted[0], 1/float64(n))
	for k := 1; k <= cdfMaxPoints; k++ {
		p := float64(k) / cdfMaxPoints
		add(latency.Percentile(sorted, p*100), p)
	}
	return pts
}

// cdfSVG draws each model's CDF as a step curve with its p50, p90 and p99
// marked.
func cdfSVG(seg string, ss []chartSeries, lines []vline, lo, hi float64) string {
	f := newFrame(ss, lines, lo, hi)
	y := func(p float64) float64 { return f.bottom - p*(f.bottom-f.top) }

	var b svgBuf
	f.open(&b, seg+": cumulative distribution of call durations per device model")
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 1} {
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, f.left, y(p), f.right, y(p))
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, f.left-4, y(p)+4, fmtPct(p*100))
	}
	f.xAxis(&b)
	f.yTitle(&b, "calls at or below (%)")
	for _, q := range []float64{50, 90, 99} {
		yy := y(q / 100)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#8c959f" stroke-dasharray="3 3"/>`, f.left, yy, f.right, yy)
		b.f(`<text x="%.1f" y="%.1f" fill="#57606a" font-size="10">p%.0f</text>`, f.right+3, yy+3, q)
	}
	for _, s := range ss {
		pts := cdfPoints(s.Sorted)
		var d strings.Builder
		fmt.Fprintf(&d, "M%.1f %.1f", f.left, y(0))
		for _, pt := range pts {
			fmt.Fprintf(&d, "H%.1fV%.1f", f.sc.x(pt.v), y(pt.p))
		}
		fmt.Fprintf(&d, "H%.1f", f.right)
		b.f(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6"><title>%s</title></path>`, d.String(), s.Colour, esc(fmt.Sprintf("%s: %d calls", s.Name, len(s.Sorted))))
		for _, q := range []float64{50, 90, 99} {
			v := latency.Percentile(s.Sorted, q)
			tip := fmt.Sprintf("%s p%.0f = %s ms", s.Name, q, fmtDurMs(v))
			b.f(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s" stroke="#fff"><title>%s</title></circle>`, f.sc.x(durMs(v)), y(q/100), s.Colour, esc(tip))
		}
	}
	f.budgetLines(&b, lines)
	f.legend(&b)
	b.f(`</svg>`)
	return b.String()
}
