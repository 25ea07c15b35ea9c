package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// Ms is a duration in milliseconds, the unit of results.jsonl.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// NewCallResult is a measured call's record: its durations per segment
// (ms), and on simulated devices each figure's error against ground truth.
func NewCallResult(spec, device string, lc latency.Call) *CallResult {
	res := &CallResult{Spec: spec, Device: device, Call: lc, Durations: map[string]float64{}}
	for _, seg := range latency.Segments {
		if v, ok := lc.Duration(seg); ok {
			res.Durations[seg.Name] = Ms(v)
			if t, ok := lc.TruthDuration(seg); ok {
				if res.TruthErrors == nil {
					res.TruthErrors = map[string]float64{}
				}
				res.TruthErrors[seg.Name] = Ms(v - t)
			}
		}
	}
	for k, v := range lc.OpenLoop() {
		res.Durations[k] = Ms(v)
	}
	return res
}

// Summary is the call's durations in one line, in segment order.
func (c *CallResult) Summary() string {
	var parts []string
	for _, seg := range latency.Segments {
		if v, ok := c.Durations[seg.Name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f ms", seg.Name, v))
		}
	}
	for _, k := range []string{latency.Queue, latency.TotalIntended} {
		if v, ok := c.Durations[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f ms", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

// BudgetsOf are budgets as a run record keeps them.
func BudgetsOf(b *latency.Budgets) map[string]latency.SegmentBudget {
	if b == nil {
		return nil
	}
	out := map[string]latency.SegmentBudget{}
	for k, v := range b.Segments {
		out[k] = v
	}
	return out
}
