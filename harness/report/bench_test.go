package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// benchCall is an open-loop call: placed wait after its intended start,
// answered total after it was placed.
func benchCall(model string, at time.Time, wait, total time.Duration) CallResult {
	placed := at.Add(wait)
	st := map[latency.Stage]time.Time{
		latency.Placed:       placed,
		latency.PushReceived: placed.Add(total / 4),
		latency.LaunchCalled: placed.Add(total / 2),
		latency.PageShown:    placed.Add(3 * total / 4),
		latency.Answered:     placed.Add(total),
	}
	obs := map[latency.Stage]time.Time{latency.PushReceived: st[latency.PushReceived].Add(300 * time.Microsecond)}
	return CallResult{Call: latency.Call{Model: model, Start: "warm", Stamps: st, Intended: at, Observed: obs}}
}

func TestBenchFromResults(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	res := &Results{Run: &RunInfo{ID: "r1"}}
	for i := range 100 {
		res.Calls = append(res.Calls, benchCall("A", t0.Add(time.Duration(i)*time.Second), time.Duration(i)*time.Millisecond, time.Second))
	}
	res.Calls = append(res.Calls, CallResult{Call: latency.Call{Model: "A", Stamps: map[latency.Stage]time.Time{latency.Placed: t0}}})
	f := BenchFromResults(res)
	if f.Calls != 100 || f.Run != "r1" {
		t.Fatalf("calls %d run %q; want 100 open-loop calls of r1", f.Calls, f.Run)
	}
	tot := f.Figures["total"]["A"]
	if tot.N != 100 || tot.P50 < 999 || tot.P50 > 1001 {
		t.Errorf("total: %+v", tot)
	}
	// total-intended = queue + total: p99 of queue is 98 ms.
	if ti := f.Figures[latency.TotalIntended][AllModels]; ti.P99 < 1097 || ti.P99 > 1099 {
		t.Errorf("total-intended p99 %.1f, want about 1098", ti.P99)
	}
	if _, ok := f.Figures[latency.Observe]; ok {
		t.Errorf("observe is the harness's overhead, not a device figure")
	}
	if o := f.Overhead[latency.Observe]; o.N != 100 || o.P50 < 0.29 || o.P50 > 0.31 {
		t.Errorf("observe overhead %+v", o)
	}
	dir := t.TempDir()
	if err := WriteBench(dir, f); err != nil {
		t.Fatal(err)
	}
	back, err := ReadBench(dir)
	if err != nil || back.Figures["total"]["A"].P99 != tot.P99 {
		t.Errorf("read back: %v, %+v", err, back.Figures["total"])
	}
	var sb strings.Builder
	WriteBenchTable(&sb, f)
	for _, want := range []string{"total-intended", "harness overhead", "0.30 ms"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestReadBenchErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bench.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "none"): "no such file",
		bad:                        "not a bench.json file",
		t.TempDir():                "neither bench.json nor results",
	} {
		if _, err := ReadBench(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadBench(%s): %v, want %q", path, err, want)
		}
	}
}

func TestGateCompare(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	run := func(total time.Duration, n int) BenchFigures {
		res := &Results{}
		for i := range n {
			res.Calls = append(res.Calls, benchCall("A", t0.Add(time.Duration(i)*time.Second), 0, total))
		}
		return BenchFromResults(res)
	}
	g := Gate{Tolerance: 0.10, Slack: 20 * time.Millisecond, MinTail: 5}
	if g.MinCallsFor(0.5) != 10 || g.MinCallsFor(0.99) != 500 {
		t.Errorf("MinTail 5: p50 from %d calls, p99 from %d; want 10 and 500", g.MinCallsFor(0.5), g.MinCallsFor(0.99))
	}
	verdicts := func(base, now BenchFigures) map[string]int {
		out := map[string]int{}
		for _, c := range g.Compare(base, now) {
			out[c.Verdict]++
		}
		return out
	}
	base := run(time.Second, 500)
	if v := verdicts(base, run(1050*time.Millisecond, 500)); v[CompareRegression] != 0 || v[CompareOK] == 0 {
		t.Errorf("5%% slower: %v, want all ok", v)
	}
	slow := g.Compare(base, run(1300*time.Millisecond, 500))
	found := false
	for _, c := range slow {
		if c.Figure == "total" && c.Model == "A" && c.Stat == "p99" {
			found = c.Verdict == CompareRegression && c.Limit > 1119 && c.Limit < 1121
		}
	}
	if !found {
		t.Errorf("30%% slower: total p99 not a regression with limit 1120 ms: %+v", slow)
	}
	if v := verdicts(base, run(500*time.Millisecond, 500)); v[CompareBetter] == 0 || v[CompareRegression] != 0 {
		t.Errorf("twice as fast: %v", v)
	}
	if v := verdicts(base, run(2*time.Second, 9)); v[CompareTooFew] == 0 || v[CompareRegression] != 0 {
		t.Errorf("9 calls: %v, want too few calls to judge", v)
	}
	// 50 calls: p50 is judged, p99 (the slowest call, nearly) is not.
	for _, c := range g.Compare(base, run(2*time.Second, 50)) {
		if want := map[string]string{"p50": CompareRegression, "p99": CompareTooFew}[c.Stat]; c.Verdict != want {
			t.Errorf("50 calls, twice as slow: %s %s %s is %s, want %s", c.Figure, c.Model, c.Stat, c.Verdict, want)
		}
	}
}

func TestBenchSectionOnThePage(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	res := &Results{Specs: []SpecResult{{State: StatePassed}}}
	page := renderString(t, res)
	if strings.Contains(page, `id="benchmark"`) {
		t.Errorf("a benchmark section without open-loop calls")
	}
	for i := range 30 {
		res.Calls = append(res.Calls, benchCall("Panel<X>", t0.Add(time.Duration(i)*time.Second), 5*time.Millisecond, time.Second))
	}
	page = renderString(t, res)
	checkPage(t, page)
	for _, want := range []string{`id="benchmark"`, "30 calls placed on a schedule", "<strong>total-intended</strong>", "Panel&lt;X&gt;", "1005.0", "0.30 ms"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
