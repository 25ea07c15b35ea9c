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
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
)

// The release benchmark places calls open-loop: their start times are fixed
// before the run from the arrival (-bench-arrival, for the whole farm,
// shared out over its devices), and a call that has to wait for its device
// still counts from when it was meant to start. `wmpf-hil bench` runs it
// alone, longer and harder, and gates a release on a baseline.
var _ = framework.Describe("Release benchmark", Label("benchmark"), func() {
	It("answers open-loop calls within budget, counted from their scheduled start", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		arrival, length, err := framework.BenchPlan()
		Expect(err).NotTo(HaveOccurred())
		// The farm's arrival is shared out over its devices, each with a
		// seed of its own drawn from its stable name, so that a device gets
		// the same schedule in every run, whichever worker runs it.
		openLoop(ctx, d, arrival.Share(d.Spec.Name, len(framework.F.Devices())), length)
	}, SpecTimeout(benchSpecTimeout))
})

// benchSpecTimeout bounds the benchmark spec: wmpf-hil bench runs it for
// as long as -duration says, far longer than any other spec.
const benchSpecTimeout = 30 * time.Minute

// openLoop runs a device's share of the benchmark and checks it: every
// call's stages against their budgets, and the answer latency from the
// scheduled start (queueing included) against the total budget.
func openLoop(ctx SpecContext, d *framework.Device, a loadgen.Arrival, length time.Duration) {
	GinkgoHelper()
	_, err := d.Configure(ctx, framework.Settings{EndMode: contract.EndBackground, Notification: contract.NotifyCustom, AutoAccept: true})
	d.Must(err)
	times := a.Times(length)
	By(fmt.Sprintf("%d calls, %s over %v", len(times), a, length))
	hists := map[string]*loadgen.Histogram{}
	rec := func(key string, v time.Duration) {
		if hists[key] == nil {
			hists[key] = loadgen.NewHistogram()
		}
		hists[key].Record(v)
	}
	var over []string
	// A fresh clock model for the first call; between calls it is kept
	// under 2 s old (drift × 2 s: 0.3 ms at 150 ppm).
	_, err = d.RefreshClock(ctx, 0)
	d.Must(err)
	start := time.Now()
	for k, off := range times {
		intended := start.Add(off)
		// The schedule, not the device, says when the next call starts.
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(intended)):
		}
		lc, viol := answeredCall(ctx, d, framework.CallOptions{Caller: fmt.Sprintf("bench %d", k+1), Intended: intended})
		for _, v := range viol {
			over = append(over, fmt.Sprintf("call %d (%s start): %s", k+1, lc.Start, v))
		}
		for _, seg := range latency.Segments {
			if v, ok := lc.Duration(seg); ok {
				rec(lc.Key(seg), v)
			}
		}
		for key, v := range lc.OpenLoop() {
			rec(key, v)
		}
		// Between calls, so that measuring the clock never delays one.
		_, err := d.RefreshClock(ctx, 2*time.Second)
		d.Must(err)
	}
	table := benchTable(hists)
	AddReportEntry("benchmark", table)
	Expect(over).To(BeEmpty(), "calls over their budget:\n%s\n%s", strings.Join(over, "\n"), table)
	if h := hists[latency.TotalIntended]; h != nil {
		budget := framework.F.Budgets.Segments["total"].Max
		p99 := h.Quantile(0.99)
		Expect(p99).To(BeNumerically("<=", budget),
			"the device fell behind the schedule: p99 answer latency from the scheduled start %v, over the total budget %v (queue p99 %v)\n%s",
			p99, budget, hists[latency.Queue].Quantile(0.99), table)
	}
}

// benchTable renders the histograms: p50 … p99.9 per figure.
func benchTable(h map[string]*loadgen.Histogram) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-15s %5s %9s %9s %9s %9s %9s\n", "figure", "n", "p50", "p90", "p99", "p99.9", "max")
	keys := []string{}
	for _, seg := range latency.Segments {
		for _, k := range []string{seg.Name, seg.Name + "-cold", seg.Name + "-warm"} {
			if h[k] != nil {
				keys = append(keys, k)
			}
		}
	}
	keys = append(keys, latency.Queue, latency.TotalIntended, latency.Observe)
	for _, k := range keys {
		if h[k] == nil {
			continue
		}
		s := h[k].Summarize()
		fmt.Fprintf(&sb, "%-15s %5d %9.1f %9.1f %9.1f %9.1f %9.1f ms\n", k, s.N, s.P50, s.P90, s.P99, s.P999, s.Max)
	}
	return sb.String()
}
