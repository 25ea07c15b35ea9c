package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/gate"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// wmpf runs the built command in the source tree; its exit status and
// output.
func wmpf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = root(t)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String()
}

// oldBench writes a bench.json as it was before the calls were kept:
// percentiles only.
func oldBench(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	body := `{"run": "rel-1.3", "calls": 120, "figures": {"total": {"all": {"n": 120, "p50": 850, "p99": 2100}}}, "overhead": {}}`
	if err := os.WriteFile(filepath.Join(dir, report.BenchFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, report.BenchFile)
}

// Bad input is a usage error (exit 2) naming the flag and what is allowed,
// before anything runs; the removed flags say what replaces them.
func TestBenchAndCompareRefuseBadInput(t *testing.T) {
	old := oldBench(t)
	for args, want := range map[string]string{
		"bench -arrival burst:2/s":                   `-arrival: "burst:2/s": kind "burst": allowed constant, poisson, ramp`,
		"bench -duration 0s":                         "-duration 0s: allowed 1s..24h",
		"bench -tolerance 10":                        "removed: the gate is a statistical test now: -alpha sets its false-alarm rate and -min-effect the smallest change that counts",
		"bench -min-tail 5":                          "removed: the gate is a statistical test now",
		"bench -min-effect 0.05":                     `"0.05": write a percentage like 5%`,
		"bench -min-effect 100%":                     "100%: allowed 0% up to (not including) 100%",
		"bench -alpha 0.7":                           "-alpha 0.7: allowed above 0, up to 0.5",
		"bench -detect 20%":                          "-detect is for -plan",
		"bench -plan":                                "-plan needs -baseline",
		"bench -baseline /nope":                      "-baseline: benchmark: stat /nope",
		"bench -baseline " + old:                     "(run rel-1.3, 120 calls): written before bench.json kept every call's figures; its percentiles cannot be tested statistically",
		"bench -plan -detect 4% -baseline " + old:    "-detect 4%: allowed above -min-effect (5%)",
		"compare " + old:                             "want 2 argument(s), got 1",
		"compare /nope " + old:                       "OLD: benchmark: stat /nope",
		"compare " + filepath.Dir(old) + " " + old:   "OLD: " + old + " (run rel-1.3, 120 calls): written before bench.json kept every call's figures",
		"compare -alpha 0 " + old + " " + old:        "-alpha 0: allowed above 0, up to 0.5",
		"compare " + old + "," + old + " " + old:     "cannot put runs together",
		"compare " + old + ",," + old + " " + old:    "an empty path in the list",
		"compare -slack 20ms " + old + " " + old:     "removed: the gate is a statistical test now",
		"compare -min-effect -1% " + old + " " + old: "-1%: allowed 0% up to",
	} {
		code, out := wmpf(t, strings.Fields(args)...)
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, %s\nwant exit 2 saying %q", args, code, out, want)
		}
	}
}

// The release benchmark on the default farm keeps every call's figures in
// bench.json; gated on a baseline three times faster it exits 4 and
// writes gate.json, and compare on the two kept runs gives the same
// verdicts; the same run against itself is no regression; the plan reads
// a run's noise.
func TestBenchGatesAndCompareAgrees(t *testing.T) {
	reports := t.TempDir()
	// 1 call/s: what the default farm sustains (docs/release-gate.md); at
	// 2/s a TV box's cold starts can put it behind the schedule.
	bench := func(runID string, extra ...string) (int, string) {
		return wmpf(t, append([]string{"bench", "-arrival", "constant:1/s", "-duration", "20s", "-reports", reports, "-run-id", runID}, extra...)...)
	}
	code, out := bench("base")
	baseDir := filepath.Join(reports, "base")
	if code != 0 {
		t.Fatalf("bench on the default farm: exit %d\n%s", code, failures(baseDir, out))
	}
	figs, err := report.ReadBench(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	if figs.Calls != 20 || len(figs.Samples) != 20 || figs.Arrival != "constant:1/s" || figs.Figures[latency.TotalIntended][report.AllModels].N != 20 {
		t.Errorf("bench.json: %d calls, %d samples, arrival %q; want 20 calls of constant:1/s, each kept", figs.Calls, len(figs.Samples), figs.Arrival)
	}
	for _, want := range []string{"release benchmark: 20 calls", "total-intended", "harness overhead", "detect: the smallest slowdown"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, tail(out))
		}
	}

	// A baseline three times faster than this farm can be.
	fast := figs
	fast.Samples = nil
	for _, s := range figs.Samples {
		f := report.CallSample{Device: s.Device, Model: s.Model, Ms: map[string]float64{}}
		for k, v := range s.Ms {
			f.Ms[k] = v / 3
		}
		fast.Samples = append(fast.Samples, f)
	}
	fastDir := t.TempDir()
	if err := report.WriteBench(fastDir, fast); err != nil {
		t.Fatal(err)
	}
	code, out = bench("gated", "-baseline", filepath.Join(fastDir, report.BenchFile))
	if code != exitRegression || !strings.Contains(out, "REGRESSION:") || !strings.Contains(out, "regression") || !strings.Contains(out, "p Holm") {
		t.Fatalf("against a baseline 3× faster: exit %d, want %d with the regressions named\n%s", code, exitRegression, tail(out))
	}
	gated, err := report.ReadGate(filepath.Join(reports, "gated"))
	if err != nil || !gated.Result.Regressed() {
		t.Fatalf("gate.json: %v", err)
	}
	if page, err := os.ReadFile(filepath.Join(reports, "gated", report.HTMLFile)); err != nil ||
		!strings.Contains(string(page), `id="gate"`) || !strings.Contains(string(page), "✗ regression") {
		t.Errorf("the gated run's report.html does not show the gate's table (%v)", err)
	}
	// compare on the kept runs: the same verdicts, exit 4.
	js := filepath.Join(t.TempDir(), "gate.json")
	code, out = wmpf(t, "compare", "-json", js, fastDir, filepath.Join(reports, "gated"))
	if code != exitRegression {
		t.Errorf("compare: exit %d, want %d\n%s", code, exitRegression, out)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var again report.GateReport
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if d := verdictDiff(gated.Result, again.Result); d != "" {
		t.Errorf("compare and bench disagree: %s", d)
	}
	// The same run twice, and put together with itself: no regression.
	if code, out := wmpf(t, "compare", baseDir, baseDir+","+filepath.Join(reports, "gated")); code != 0 || !strings.Contains(out, "no regression") {
		t.Errorf("compare with itself: exit %d\n%s", code, out)
	}
	code, out = wmpf(t, "bench", "-plan", "-detect", "50%", "-baseline", baseDir, "-arrival", "poisson:2/s")
	if code != 0 || !strings.Contains(out, "plan: calls each of two runs needs") || !strings.Contains(out, "calls a run") {
		t.Errorf("plan: exit %d\n%s", code, out)
	}
	t.Logf("%s", out)
}

// verdictDiff names the comparisons two judgements see differently.
func verdictDiff(a, b *gate.Result) string {
	if len(a.Comparisons) != len(b.Comparisons) {
		return "different comparisons"
	}
	var d []string
	for i, c := range a.Comparisons {
		o := b.Comparisons[i]
		if c.Figure != o.Figure || c.Model != o.Model || c.Stat != o.Stat || c.Verdict != o.Verdict {
			d = append(d, c.Figure+" "+c.Model+" "+string(c.Stat)+": "+string(c.Verdict)+" vs "+string(o.Verdict))
		}
	}
	return strings.Join(d, "; ")
}
