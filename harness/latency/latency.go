// Package latency records the stages of each call, computes per-segment
// durations and their statistics (percentiles, histograms), and checks them
// against budgets.
package latency

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Stage is a moment in a call, stamped where it happens.
type Stage string

// The stages of an answered call, in order.
const (
	Placed       Stage = "placed"        // callWMPF sent (host clock)
	PushReceived Stage = "push_received" // the host app's push listener ran (device)
	LaunchCalled Stage = "launch_called" // launchMiniProgram called (device)
	PageShown    Stage = "page_shown"    // call page shown: callPageOnShow (device)
	Answered     Stage = "answered"      // answered: hangOnVoip (device)
)

// Stages lists the stages in order.
var Stages = []Stage{Placed, PushReceived, LaunchCalled, PageShown, Answered}

// Segment is the time between two stages.
type Segment struct {
	Name     string
	From, To Stage
	Doc      string
}

// Segments are the figures reported for every call.
var Segments = []Segment{
	{"delivery", Placed, PushReceived, "call placed → push received by the host app"},
	{"handling", PushReceived, LaunchCalled, "push received → launchMiniProgram called"},
	{"launch", LaunchCalled, PageShown, "launchMiniProgram → call page shown"},
	{"answer", PageShown, Answered, "call page shown → answered"},
	{"total", Placed, Answered, "call placed → answered"},
}

// SegmentByName finds a segment.
func SegmentByName(name string) (Segment, bool) {
	for _, s := range Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// Call is one measured call.
type Call struct {
	ID     string `json:"id,omitempty"` // the call's groupId
	RoomID string `json:"roomId,omitempty"`
	Device string `json:"device,omitempty"` // adb serial
	Model  string `json:"model,omitempty"`
	// Start is "cold" or "warm": whether the Mini Program process was running.
	Start string `json:"start,omitempty"`
	// Stamps are host-clock times (device stamps converted with the clock model).
	Stamps map[Stage]time.Time `json:"stamps,omitempty"`
	// Truth, on simulated devices, is when each stage really happened.
	Truth map[Stage]time.Time `json:"truth,omitempty"`
	// ClockUncertainty is the clock model's ± bound when the call was converted.
	ClockUncertainty time.Duration `json:"clockUncertainty,omitempty"`
	// Intended is when an open-loop schedule meant the call to be placed
	// (zero for calls placed one after another). Latency from it counts
	// the time the call waited for the device: no coordinated omission.
	Intended time.Time `json:"intended,omitzero"`
	// Observed is when the harness read each device stage's line: what
	// it adds to the figures is reported apart from the device's latency.
	Observed map[Stage]time.Time `json:"observed,omitempty"`
}

// Open-loop figures of a call with an Intended time.
const (
	// Queue is intended → placed: the call waited for its device (or the
	// generator lagged).
	Queue = "queue"
	// TotalIntended is intended → answered: the answer latency a caller
	// arriving on schedule saw.
	TotalIntended = "total-intended"
	// Observe is the longest a device stage's line took to reach the
	// harness after the device logged it: the harness's own overhead.
	Observe = "observe"
)

// OpenLoop returns a call's open-loop figures (queue, total-intended) and
// its harness overhead (observe), those that it has.
func (c Call) OpenLoop() map[string]time.Duration {
	out := map[string]time.Duration{}
	if !c.Intended.IsZero() {
		if p, ok := c.Stamps[Placed]; ok {
			out[Queue] = p.Sub(c.Intended)
		}
		if a, ok := c.Stamps[Answered]; ok {
			out[TotalIntended] = a.Sub(c.Intended)
		}
	}
	var worst time.Duration
	seen := false
	for st, at := range c.Observed {
		if s, ok := c.Stamps[st]; ok {
			worst = max(worst, at.Sub(s))
			seen = true
		}
	}
	if seen {
		out[Observe] = worst
	}
	return out
}

// Duration of a segment, and whether both ends were stamped.
func (c Call) Duration(seg Segment) (time.Duration, bool) {
	return span(c.Stamps, seg)
}

// TruthDuration of a segment from the simulator's ground truth.
func (c Call) TruthDuration(seg Segment) (time.Duration, bool) {
	if seg.From == Placed {
		// The placing is stamped on the host clock; there is no other truth for it.
		to, ok := c.Truth[seg.To]
		from, ok2 := c.Stamps[Placed]
		if !ok || !ok2 {
			return 0, false
		}
		return to.Sub(from), true
	}
	return span(c.Truth, seg)
}

func span(m map[Stage]time.Time, seg Segment) (time.Duration, bool) {
	from, ok := m[seg.From]
	to, ok2 := m[seg.To]
	if !ok || !ok2 {
		return 0, false
	}
	return to.Sub(from), true
}

// Stats summarises a set of durations.
type Stats struct {
	N    int           `json:"n"`
	Min  time.Duration `json:"min"`
	Mean time.Duration `json:"mean"`
	P50  time.Duration `json:"p50"`
	P90  time.Duration `json:"p90"`
	P99  time.Duration `json:"p99"`
	P999 time.Duration `json:"p999"`
	Max  time.Duration `json:"max"`
}

// Summarize computes Stats (nearest-rank percentiles).
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	return Stats{N: len(s), Min: s[0], Max: s[len(s)-1], Mean: time.Duration(sum / float64(len(s))),
		P50: Percentile(s, 50), P90: Percentile(s, 90), P99: Percentile(s, 99), P999: Percentile(s, 99.9)}
}

// Percentile of sorted durations by nearest rank, p in 0..100.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p*float64(len(sorted))/100-1e-9)) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func (s Stats) String() string {
	if s.N == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v max=%v", s.N, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// Bucket is one histogram bucket: durations in [Lo, Hi).
type Bucket struct {
	Lo, Hi time.Duration
	Count  int
}

// Histogram buckets durations on a log scale, 8 buckets per doubling from
// 100 µs up, so every bucket is about 9% wide.
func Histogram(ds []time.Duration) []Bucket {
	if len(ds) == 0 {
		return nil
	}
	idx := func(d time.Duration) int {
		if d < 100*time.Microsecond {
			return 0
		}
		return int(math.Floor(8*math.Log2(float64(d)/float64(100*time.Microsecond)))) + 1
	}
	bound := func(i int) time.Duration {
		if i == 0 {
			return 0
		}
		return time.Duration(float64(100*time.Microsecond) * math.Pow(2, float64(i-1)/8))
	}
	counts := map[int]int{}
	lo, hi := math.MaxInt, 0
	for _, d := range ds {
		i := idx(d)
		counts[i]++
		lo, hi = min(lo, i), max(hi, i)
	}
	out := make([]Bucket, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		out = append(out, Bucket{Lo: bound(i), Hi: bound(i + 1), Count: counts[i]})
	}
	return out
}
