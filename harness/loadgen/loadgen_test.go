package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArrival(t *testing.T) {
	good := map[string]string{
		"constant:2/s":      "constant:2/s",
		"poisson:30/min":    "poisson:0.5/s",
		"poisson:0.25":      "poisson:0.25/s",
		"ramp:1/s-5/s":      "ramp:1/s-5/s",
		"ramp:0-120/min":    "ramp:0/s-2/s",
		"ramp:4/s-1/s":      "ramp:4/s-1/s",
		"constant:1000/s":   "constant:1000/s",
		"constant:0.001/s":  "constant:0.001/s",
		"poisson:1e-1/s":    "poisson:0.1/s",
		"constant:6/min":    "constant:0.1/s",
		"ramp:0.5/s-0.5/s":  "ramp:0.5/s-0.5/s",
		"constant:2.5/s":    "constant:2.5/s",
		"poisson:2/s":       "poisson:2/s",
		"ramp:30/min-1/s":   "ramp:0.5/s-1/s",
		"constant:1/s":      "constant:1/s",
		"ramp:2/s-0/s":      "ramp:2/s-0/s",
		"poisson:1000/s":    "poisson:1000/s",
		"constant:0.5/min":  "constant:0.008333333333333333/s",
		"ramp:0/s-1000/s":   "ramp:0/s-1000/s",
		"poisson:0.0001/s":  "poisson:0.0001/s",
		"constant:3":        "constant:3/s",
		"poisson:120/min":   "poisson:2/s",
		"ramp:1-2":          "ramp:1/s-2/s",
		"constant:100/s":    "constant:100/s",
		"poisson:0.5/s":     "poisson:0.5/s",
		"ramp:1/min-60/min": "ramp:0.016666666666666666/s-1/s",
	}
	for in, want := range good {
		a, err := ParseArrival(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseArrival(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	bad := map[string]string{
		"":                "want KIND:RATE with KIND one of constant, poisson, ramp",
		"2/s":             "want KIND:RATE",
		"burst:2/s":       `kind "burst": allowed constant, poisson, ramp`,
		"constant:fast":   `rate "fast": want a number`,
		"constant:-1/s":   `rate "-1/s": want a number of calls ≥ 0`,
		"constant:2/h":    `unit "h": allowed s, min`,
		"constant:0/s":    "rate 0 places no call",
		"poisson:NaN":     `rate "NaN"`,
		"poisson:1001/s":  "at most 1000 calls/s",
		"ramp:1/s":        "a ramp wants FROM-TO",
		"ramp:0/s-0/s":    "a ramp from 0 to 0 places no call",
		"ramp:1/s-x":      `rate "x"`,
		"constant:Inf":    `rate "Inf"`,
		"poisson:2/s/min": `unit "s/min"`,
	}
	for in, want := range bad {
		_, err := ParseArrival(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseArrival(%q) error %v; want it to say %q", in, err, want)
		}
	}
}

func TestConstantTimes(t *testing.T) {
	a := Arrival{Kind: Constant, Rate: 4}
	ts := a.Times(10 * time.Second)
	if len(ts) != 40 || ts[0] != 0 || ts[1] != 250*time.Millisecond || ts[39] != 9750*time.Millisecond {
		t.Fatalf("constant 4/s over 10 s: %d times, first %v, last %v", len(ts), ts[0], ts[len(ts)-1])
	}
}

func TestPoissonTimes(t *testing.T) {
	a := Arrival{Kind: Poisson, Rate: 5, Seed: 7}
	ts := a.Times(1000 * time.Second)
	// 5000 expected; the count of a Poisson process has sd sqrt(5000) ≈ 71.
	if n := len(ts); n < 5000-4*71 || n > 5000+4*71 {
		t.Errorf("poisson 5/s over 1000 s: %d calls", n)
	}
	if !slices.IsSorted(ts) {
		t.Errorf("times not in order")
	}
	// Inter-arrival times are exponential: mean 200 ms, and as many
	// shorter than the median ln2/λ as longer.
	var sum time.Duration
	short := 0
	for i := 1; i < len(ts); i++ {
		gap := ts[i] - ts[i-1]
		sum += gap
		if gap.Seconds() < math.Ln2/5 {
			short++
		}
	}
	mean := sum / time.Duration(len(ts)-1)
	if mean < 185*time.Millisecond || mean > 215*time.Millisecond {
		t.Errorf("mean gap %v, want about 200ms", mean)
	}
	if frac := float64(short) / float64(len(ts)-1); frac < 0.47 || frac > 0.53 {
		t.Errorf("%.3f of gaps below the median, want about 0.5", frac)
	}
	if again := a.Times(1000 * time.Second); !slices.Equal(ts, again) {
		t.Errorf("the same seed gave another schedule")
	}
	if other := (Arrival{Kind: Poisson, Rate: 5, Seed: 8}).Times(1000 * time.Second); slices.Equal(ts, other) {
		t.Errorf("another seed gave the same schedule")
	}
}

func TestRampTimes(t *testing.T) {
	a := Arrival{Kind: Ramp, Rate: 1, To: 9}
	ts := a.Times(10 * time.Second)
	// (1+9)/2 × 10 s = 50 calls.
	if n := len(ts); n < 49 || n > 50 {
		t.Fatalf("ramp 1→9/s over 10 s: %d calls, want 50", n)
	}
	firstHalf := 0
	for _, x := range ts {
		if x < 5*time.Second {
			firstHalf++
		}
	}
	// N(5) = 5 + 0.8·25/2 = 15.
	if firstHalf != 15 {
		t.Errorf("%d calls in the first half, want 15", firstHalf)
	}
	down := Arrival{Kind: Ramp, Rate: 9, To: 1}.Times(10 * time.Second)
	if n := len(down); n < 49 || n > 50 || !slices.IsSorted(down) {
		t.Errorf("ramp 9→1/s: %d calls, sorted %v", n, slices.IsSorted(down))
	}
	if n := len(Arrival{Kind: Ramp, Rate: 0, To: 2}.Times(10 * time.Second)); n < 9 || n > 10 {
		t.Errorf("ramp 0→2/s: %d calls, want 10", n)
	}
}

func TestScale(t *testing.T) {
	a, _ := ParseArrival("ramp:2/s-8/s")
	if s := a.Scale(0.25); s.Rate != 0.5 || s.To != 2 || s.Kind != Ramp {
		t.Errorf("Scale: %+v", s)
	}
}

// A device's share of a Poisson arrival is its own and the same in every
// run: it depends on its name, not on the order of the farm.
func TestShareFollowsTheDevice(t *testing.T) {
	a, err := ParseArrival("poisson:4/s")
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := a.Share("panel-1", 4), a.Share("panel-2", 4)
	if p1.Rate != 1 || p1.Seed == p2.Seed {
		t.Fatalf("shares: rate %g, seeds %d and %d; want rate 1 and seeds of their own", p1.Rate, p1.Seed, p2.Seed)
	}
	again := a.Share("panel-1", 4).Times(time.Minute)
	if !slices.Equal(p1.Times(time.Minute), again) {
		t.Errorf("panel-1's schedule differs between two shares")
	}
	if slices.Equal(p1.Times(time.Minute), p2.Times(time.Minute)) {
		t.Errorf("two devices got the same schedule")
	}
	if z := a.Share("x", 0); z.Rate != a.Rate {
		t.Errorf("a share of no devices: rate %g, want the whole %g", z.Rate, a.Rate)
	}
}

func TestMeanRate(t *testing.T) {
	for s, want := range map[string]float64{"ramp:2/s-8/s": 5, "poisson:30/min": 0.5, "constant:3/s": 3} {
		if a, _ := ParseArrival(s); a.MeanRate() != want {
			t.Errorf("%s: mean rate %g, want %g", s, a.MeanRate(), want)
		}
	}
}

// The histogram's quantiles match exact nearest-rank quantiles to within
// its precision (0.1%, and 1 µs below 2 ms).
func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	var vals []time.Duration
	for range 100000 {
		// Log-normal around 300 ms with a long tail, as answer latency.
		v := time.Duration(math.Exp(r.NormFloat64()*0.8+math.Log(300)) * float64(time.Millisecond))
		v = v.Truncate(time.Microsecond)
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(math.Ceil(q*float64(len(vals)))), 1)
		exact := vals[rank-1]
		got := h.Quantile(q)
		if diff := math.Abs(float64(got - exact)); diff > float64(exact)/1000+float64(time.Microsecond) {
			t.Errorf("q %.3f: %v, exact %v (off %.3f%%)", q, got, exact, 100*diff/float64(exact))
		}
	}
	if h.Count() != len(vals) || h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("count %d max %v min %v", h.Count(), h.Max(), h.Min())
	}
	// Merging two halves gives the same quantiles.
	a, b := NewHistogram(), NewHistogram()
	for i, v := range vals {
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if a.Quantile(q) != h.Quantile(q) {
			t.Errorf("merged q %.3f: %v, want %v", q, a.Quantile(q), h.Quantile(q))
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Min() != 0 || h.Max() != 0 {
		t.Errorf("empty histogram: %v %v %v %v", h.Quantile(0.5), h.Mean(), h.Min(), h.Max())
	}
	h.Record(-time.Second)
	h.Record(0)
	h.Record(1000 * time.Hour) // beyond the range: kept as the max
	if h.Count() != 3 || h.Max() != 1000*time.Hour || h.Quantile(0.1) != 0 {
		t.Errorf("edges: count %d max %v q0.1 %v", h.Count(), h.Max(), h.Quantile(0.1))
	}
	if h.Quantile(1) != 1000*time.Hour {
		t.Errorf("q1 = %v", h.Quantile(1))
	}
	// Every bucket's lowest value maps back to it.
	for i := range numBuckets {
		if got := index(lowest(i)); got != i {
			t.Fatalf("bucket %d: lowest %d maps to %d", i, lowest(i), got)
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 4096)
	for i := range vals {
		vals[i] = time.Duration(r.ExpFloat64() * float64(500*time.Millisecond))
	}
	b.ResetTimer()
	for i := range b.N {
		h.Record(vals[i&4095])
	}
	b.ReportMetric(float64(numBuckets*8)/1024, "KiB-per-histogram")
}

func BenchmarkHistogramQuantile(b *testing.B) {
	h := NewHistogram()
	for i := range 100000 {
		h.Record(time.Duration(i) * time.Millisecond / 10)
	}
	b.ResetTimer()
	for range b.N {
		_ = h.Quantile(0.999)
	}
}
