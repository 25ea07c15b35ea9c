package report

import (
	"html"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/gate"
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
	return CallResult{Spec: "Release benchmark", Device: model + "-1", Call: latency.Call{ID: "g" + at.Format("150405.000"), Device: model + "-1", Model: model, Start: "warm", Stamps: st, Intended: at, Observed: obs}}
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
	if len(back.Samples) != 100 || back.Samples[0].Ms["total"] != 1000 || back.Format != BenchFormat {
		t.Errorf("calls kept: %d samples, first %v, format %d", len(back.Samples), back.Samples[0].Ms, back.Format)
	}
	var sb strings.Builder
	WriteBenchTable(&sb, f, gate.DefaultConfig())
	for _, want := range []string{"total-intended", "harness overhead", "0.30 ms", "detect"} {
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
	if _, err := ReadBenchSet(bad + ","); err == nil || !strings.Contains(err.Error(), "empty path") {
		t.Errorf("a list with an empty path: %v", err)
	}
}

// randomRun is n open-loop calls on models A and B whose answer takes a
// lognormal time around median, times k.
func randomRun(r *rand.Rand, id string, n int, median time.Duration, k float64) *Results {
	t0 := time.Unix(1_800_000_000, 0)
	res := &Results{Run: &RunInfo{ID: id}}
	for i := range n {
		total := time.Duration(k * float64(median) * math.Exp(0.3*r.NormFloat64()))
		model := []string{"A", "B"}[i%2]
		res.Calls = append(res.Calls, benchCall(model, t0.Add(time.Duration(i)*time.Second), time.Duration(r.IntN(20))*time.Millisecond, total))
	}
	return res
}

// A bench.json written before the calls were kept has percentiles only:
// it is read, and the gate says it cannot test it; the run directory's
// results.jsonl, when there, is used instead.
func TestOldBenchFileCannotBeTested(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	f := BenchFromResults(randomRun(r, "old", 40, time.Second, 1))
	f.Samples, f.Format = nil, 0
	dir := t.TempDir()
	if err := WriteBench(dir, f); err != nil {
		t.Fatal(err)
	}
	old, err := ReadBench(filepath.Join(dir, BenchFile))
	if err != nil || old.Calls != 40 {
		t.Fatalf("old bench.json: %v, %d calls", err, old.Calls)
	}
	_, err = CompareBench(gate.DefaultConfig(), old, BenchFromResults(randomRun(r, "new", 40, time.Second, 1)))
	for _, want := range []string{"baseline: ", "bench.json (run old, 40 calls)", "cannot be tested statistically", "results.jsonl"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("comparing with an old bench.json: %v; want it to say %q", err, want)
		}
	}
	if _, err := ReadBenchSet(filepath.Join(dir, BenchFile) + "," + filepath.Join(dir, BenchFile)); err == nil || !strings.Contains(err.Error(), "cannot put runs together") {
		t.Errorf("merging old files: %v", err)
	}
	// The run directory with its results: figures from the calls.
	writeResults(t, dir, randomRun(r, "old", 40, time.Second, 1))
	back, err := ReadBench(dir)
	if err != nil || len(back.Samples) != 40 {
		t.Errorf("run directory with an old bench.json and results: %v, %d samples", err, len(back.Samples))
	}
}

// writeResults writes the calls of res as dir/results.jsonl.
func writeResults(t *testing.T, dir string, res *Results) {
	t.Helper()
	w, err := OpenWriter(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, c := range res.Calls {
		if err := w.Write(Record{Kind: KindCall, Call: &c}); err != nil {
			t.Fatal(err)
		}
	}
}

// Runs compared by the gate: the same build is no regression, one 30%
// slower is, in every figure and model it is large enough to test; the
// judgement survives gate.json; runs put together are one benchmark.
func TestCompareBench(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	base := BenchFromResults(randomRun(r, "base", 300, time.Second, 1))
	same, err := CompareBench(gate.DefaultConfig(), base, BenchFromResults(randomRun(r, "same", 300, time.Second, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if same.Regressed() || same.Tested == 0 {
		t.Errorf("same build: regressed %v, %d tested", same.Regressed(), same.Tested)
	}
	slow := BenchFromResults(randomRun(r, "slow", 300, time.Second, 1.3))
	res, err := CompareBench(gate.DefaultConfig(), base, slow)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range res.Comparisons {
		if c.Figure == latency.Queue {
			t.Errorf("the queue is judged; it is in total-intended already")
		}
		if c.Figure == "total" && c.Stat == gate.Centre && (c.Verdict != gate.Regression || c.Lo > 0.3 || c.Hi < 0.3) {
			t.Errorf("total 30%% slower, model %s: %s, change %+.1f%% [%+.1f%%, %+.1f%%]", c.Model, c.Verdict, 100*c.Change, 100*c.Lo, 100*c.Hi)
		}
		if c.Figure == "total" {
			order = append(order, c.Model+" "+string(c.Stat))
		}
	}
	if got := strings.Join(order, ", "); got != "A centre, A p90, A p99, B centre, B p90, B p99, all centre" {
		t.Errorf("order of total's comparisons: %s", got)
	}
	dir := t.TempDir()
	g := GateReport{Baseline: "reports/base", BaselineRun: "base", BaselineCalls: 300, Run: "slow", Calls: 300, Result: res}
	if err := WriteGate(dir, g); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGate(dir)
	if err != nil || !back.Result.Regressed() || len(back.Result.Comparisons) != len(res.Comparisons) {
		t.Fatalf("gate.json read back: %v", err)
	}
	var sb strings.Builder
	WriteGateTable(&sb, *back)
	for _, want := range []string{"against baseline reports/base (run base, 300 calls)", "REGRESSION:", "total-intended", "p Holm", "regression", "can't tell (n too small)", "→"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, sb.String())
		}
	}
	rows := GateRows(res)
	if rows[0].Interval == "" || rows[0].N != "150→150" {
		t.Errorf("first row %+v", rows[0])
	}
	// Runs put together.
	d1, d2 := t.TempDir(), t.TempDir()
	WriteBench(d1, base)
	WriteBench(d2, slow)
	both, err := ReadBenchSet(d1 + "," + filepath.Join(d2, BenchFile))
	if err != nil || both.Calls != 600 || both.Figures["total"][AllModels].N != 600 || both.Run != "base+slow" {
		t.Errorf("merged: %v, %d calls, run %q", err, both.Calls, both.Run)
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

// A gated run's page shows the gate's table: every tested comparison with
// its change, interval and verdict, regressions marked, the comparisons
// too small to test folded away; a run without gate.json has no table.
func TestGateTableOnThePage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	base := BenchFromResults(randomRun(r, "base", 300, time.Second, 1))
	slow := randomRun(r, "slow", 300, time.Second, 1.3)
	dir := t.TempDir()
	writeResults(t, dir, slow)
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), `id="gate"`) {
		t.Errorf("a gate table on a run that was not gated")
	}
	res, err := CompareBench(gate.DefaultConfig(), base, BenchFromResults(slow))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteGate(dir, GateReport{Baseline: "reports/base", BaselineRun: "base", BaselineCalls: 300, Run: "slow", Calls: 300, Result: res}); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page, err = os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, string(page))
	var total GateRow
	for _, row := range GateRows(res) {
		if row.Figure == "total" && row.Model == AllModels && row.Stat == string(gate.Centre) {
			total = row
		}
	}
	if !total.Regression {
		t.Fatalf("total over all models 30%% slower: %+v", total)
	}
	for _, want := range []string{`id="gate"`, "REGRESSION:", "reports/base", "p Holm", `class="bad-row"`, "✗ regression",
		htmlText(total.Change), htmlText(total.Interval), "can’t tell with these calls"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// htmlText is s as html/template writes it in text: + is &#43;.
func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "+", "&#43;")
}
