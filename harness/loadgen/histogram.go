package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, as HdrHistogram
// does: values are kept in microseconds with 2^subBits sub-buckets per
// power of two, so any recorded value is known to within 1/2^(subBits-1)
// (0.1%) of itself, from 1 µs to about 2^40 µs, in constant memory.
type Histogram struct {
	counts []uint64
	n      uint64
	sum    float64 // µs
	min    uint64
	max    uint64
}

const (
	subBits  = 11
	subCount = 1 << subBits
	halfSub  = subCount / 2
	// buckets: values below subCount map one to one; each further power
	// of two adds halfSub buckets.
	maxExp     = 40
	numBuckets = subCount + (maxExp-subBits+1)*halfSub
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxUint64}
}

func micros(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d / time.Microsecond)
}

func index(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits
	if shift > maxExp-subBits+1 {
		return numBuckets - 1
	}
	return subCount + (shift-1)*halfSub + int(v>>shift) - halfSub
}

// lowest is the smallest value of bucket i.
func lowest(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	j := i - subCount
	shift := j/halfSub + 1
	return uint64(j%halfSub+halfSub) << shift
}

// width of bucket i.
func width(i int) uint64 {
	if i < subCount {
		return 1
	}
	return 1 << ((i-subCount)/halfSub + 1)
}

// Record adds one duration (negative ones count as 0).
func (h *Histogram) Record(d time.Duration) {
	v := micros(d)
	h.counts[index(v)]++
	h.n++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds another histogram's counts.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() int { return int(h.n) }

// Max is the largest value recorded (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Min is the smallest value recorded (exact); 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.min) * time.Microsecond
}

// Mean of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/float64(h.n)) * time.Microsecond
}

// Quantile returns the value at quantile q (0..1) by nearest rank: the
// smallest recorded value with at least q of all values at or below it,
// to within the bucket's precision (reported as the bucket's midpoint,
// clamped to the exact min and max).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	if rank >= h.n {
		return h.Max()
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == numBuckets-1 {
				return h.Max()
			}
			v := lowest(i) + width(i)/2
			v = min(max(v, h.min), h.max)
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}

// Summary is a histogram's figures, in milliseconds for reading.
type Summary struct {
	N     int     `json:"n"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	Units string  `json:"units"`
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summarize gives the histogram's percentiles.
func (h *Histogram) Summarize() Summary {
	return Summary{N: h.Count(), P50: msOf(h.Quantile(0.5)), P90: msOf(h.Quantile(0.9)), P99: msOf(h.Quantile(0.99)),
		P999: msOf(h.Quantile(0.999)), Max: msOf(h.Max()), Mean: msOf(h.Mean()), Min: msOf(h.Min()), Units: "ms"}
}

// String is a one-line summary.
func (s Summary) String() string {
	return fmt.Sprintf("n=%d p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f ms", s.N, s.P50, s.P90, s.P99, s.P999, s.Max)
}

// MarshalJSON writes the summary (the buckets stay in memory).
func (h *Histogram) MarshalJSON() ([]byte, error) { return json.Marshal(h.Summarize()) }
