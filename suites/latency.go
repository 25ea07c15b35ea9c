package suites

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

var _ = framework.Describe("Answer latency", Label("latency"), func() {
	It("answers calls within budget, stage by stage, on the host clock", func(ctx SpecContext) {
		measureLatency(ctx, framework.Lease(ctx))
	}, SpecTimeout(framework.DefaultTimeouts.LongSpec))
})

// measureLatency places the farm's number of calls to a device, measures
// each stage, and checks them against the budgets.
func measureLatency(ctx SpecContext, d *framework.Device) {
	GinkgoHelper()
	// Accepted on the app's notification at once, so the call page
	// answers on entry: the figures are the device's, not a tapper's.
	_, err := d.Configure(ctx, framework.Settings{EndMode: contract.EndBackground, Notification: contract.NotifyCustom, AutoAccept: true})
	d.Must(err)
	n := framework.F.Farm.Run.LatencyCalls
	budgets := framework.F.Budgets
	var calls []latency.Call
	var over []string
	for i := range n {
		if i%3 == 0 {
			By(fmt.Sprintf("call %d/%d, Mini Program stopped first (cold start)", i+1, n))
			d.StopMiniProgram(ctx)
		} else {
			By(fmt.Sprintf("call %d/%d", i+1, n))
		}
		// A fresh clock estimate right before each call: stamps taken
		// seconds later are off by drift × seconds at most (0.3 ms at 150 ppm).
		_, err := d.RefreshClock(ctx, 0)
		d.Must(err)
		lc, viol := answeredCall(ctx, d, framework.CallOptions{Caller: fmt.Sprintf("latency %d", i+1)})
		for _, v := range viol {
			over = append(over, fmt.Sprintf("call %d (%s start): %s", i+1, lc.Start, v))
		}
		calls = append(calls, lc)
	}
	table := latencyTable(calls, budgets)
	AddReportEntry("latency", table)
	Expect(over).To(BeEmpty(), "calls over their budget:\n%s\n%s", strings.Join(over, "\n"), table)
	// The p90 gate: over fewer calls the nearest-rank p90 is the slowest
	// call, which the per-call budget already bounds.
	for _, seg := range latency.Segments {
		for key, ds := range byKey(calls, seg) {
			if b, ok := budgets.Segments[key]; ok && len(ds) >= p90GateCalls {
				p90 := latency.Summarize(ds).P90
				Expect(p90).To(BeNumerically("<=", b.P90), "%s p90 %v over its budget %v\n%s", key, p90, b.P90, table)
			}
		}
	}
}

// answeredCall places a call that the device answers on its own (the
// settings say so), measures and records it, then hangs up and waits for
// the device to end it. It returns the call and its stages over budget.
func answeredCall(ctx SpecContext, d *framework.Device, o framework.CallOptions) (latency.Call, []latency.Violation) {
	GinkgoHelper()
	call := d.PlaceCall(ctx, o)
	lc := call.Measure(ctx, framework.DefaultTimeouts.Answered)
	viol := d.RecordCall(lc)
	Expect(call.EndCall(ctx)).To(Succeed())
	call.Await(ctx, framework.EvCallEnded, framework.DefaultTimeouts.CallEnd)
	return lc, viol
}

// p90GateCalls is the fewest calls of a kind the p90 gate judges.
const p90GateCalls = 20

// latencyTable renders per-segment figures of a device's calls.
func latencyTable(calls []latency.Call, b *latency.Budgets) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-10s %4s %9s %9s %9s %9s\n", "segment", "n", "p50", "p90", "max", "budget")
	for _, seg := range latency.Segments {
		for key, ds := range byKey(calls, seg) {
			s := latency.Summarize(ds)
			fmt.Fprintf(&sb, "%-12s %4d %9.1f %9.1f %9.1f %9.1f ms\n", key, s.N, msf(s.P50), msf(s.P90), msf(s.Max), msf(b.Segments[key].Max))
		}
	}
	return sb.String()
}

// byKey groups the calls' durations of a segment by figure (the segment,
// or its cold and warm kinds).
func byKey(calls []latency.Call, seg latency.Segment) map[string][]time.Duration {
	out := map[string][]time.Duration{}
	for _, c := range calls {
		if v, ok := c.Duration(seg); ok {
			out[c.Key(seg)] = append(out[c.Key(seg)], v)
		}
	}
	return out
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
