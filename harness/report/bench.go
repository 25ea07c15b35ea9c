package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/gate"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
)

// BenchFile is the release benchmark's figures in a run directory.
const BenchFile = "bench.json"

// AllModels is the model key of the figures over every model.
const AllModels = gate.AllModels

// BenchFormat is the version of bench.json written now: 2 keeps every
// call's figures (Samples); 1 (no field) had percentiles only.
const BenchFormat = 2

// BenchFigures are a release benchmark's figures: for each figure — a
// segment as budgets name it (launch-cold, …), "total-intended" (answer
// latency from the scheduled start) and "queue" — and each device model
// (and "all"), the histogram's percentiles; and every call's figures, which
// the release gate tests. "observe", how late the harness read the
// device's lines, is its own overhead, kept apart.
type BenchFigures struct {
	Format   int       `json:"format,omitempty"`
	Run      string    `json:"run"`
	Arrival  string    `json:"arrival,omitempty"`
	Duration string    `json:"duration,omitempty"`
	Written  time.Time `json:"written"`
	Calls    int       `json:"calls"`
	// Figures by figure, then model.
	Figures map[string]map[string]loadgen.Summary `json:"figures"`
	// Overhead is the harness's own: observe, over all models.
	Overhead map[string]loadgen.Summary `json:"overhead"`
	// Samples are every open-loop call's figures.
	Samples []CallSample `json:"samples,omitempty"`
	// Sources are where the figures were read from (not written).
	Sources []string `json:"-"`
}

// CallSample is one open-loop call's figures, in ms, by figure name
// (delivery, launch-warm, total, queue, total-intended, observe, …).
type CallSample struct {
	Device string             `json:"device,omitempty"`
	Model  string             `json:"model"`
	Ms     map[string]float64 `json:"ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchFromResults computes the figures of the open-loop calls (those with
// an intended start) of a run.
func BenchFromResults(res *Results) BenchFigures {
	f := BenchFigures{Format: BenchFormat, Written: time.Now()}
	if res.Run != nil {
		f.Run = res.Run.ID
	}
	for _, c := range res.Calls {
		lc := c.Call
		if lc.Intended.IsZero() {
			continue
		}
		model := lc.Model
		if model == "" {
			model = "unknown"
		}
		s := CallSample{Device: lc.Device, Model: model, Ms: map[string]float64{}}
		for _, seg := range latency.Segments {
			if v, ok := lc.Duration(seg); ok {
				s.Ms[lc.Key(seg)] = ms(v)
			}
		}
		for k, v := range lc.OpenLoop() {
			s.Ms[k] = ms(v)
		}
		f.Samples = append(f.Samples, s)
	}
	f.summarize()
	return f
}

// summarize computes Calls, Figures and Overhead from the samples.
func (f *BenchFigures) summarize() {
	hists := map[string]map[string]*loadgen.Histogram{}
	for _, s := range f.Samples {
		for fig, v := range s.Ms {
			for _, m := range []string{s.Model, AllModels} {
				if hists[fig] == nil {
					hists[fig] = map[string]*loadgen.Histogram{}
				}
				if hists[fig][m] == nil {
					hists[fig][m] = loadgen.NewHistogram()
				}
				hists[fig][m].Record(time.Duration(math.Round(v * float64(time.Millisecond))))
			}
		}
	}
	f.Calls = len(f.Samples)
	f.Figures = map[string]map[string]loadgen.Summary{}
	f.Overhead = map[string]loadgen.Summary{}
	for fig, byModel := range hists {
		for m, h := range byModel {
			if fig == latency.Observe {
				if m == AllModels {
					f.Overhead[fig] = h.Summarize()
				}
				continue
			}
			if f.Figures[fig] == nil {
				f.Figures[fig] = map[string]loadgen.Summary{}
			}
			f.Figures[fig][m] = h.Summarize()
		}
	}
}

// MergeBench puts runs together — shards of one run, or several runs of
// one build — as one: their calls concatenated, the figures computed again.
func MergeBench(parts ...BenchFigures) BenchFigures {
	if len(parts) == 1 {
		return parts[0]
	}
	out := BenchFigures{Format: BenchFormat, Written: time.Now()}
	var runs []string
	for i, p := range parts {
		runs = append(runs, p.Run)
		out.Sources = append(out.Sources, p.Sources...)
		out.Samples = append(out.Samples, p.Samples...)
		if i == 0 || p.Arrival == out.Arrival {
			out.Arrival = p.Arrival
		} else {
			out.Arrival = "mixed"
		}
	}
	out.Run = strings.Join(runs, "+")
	out.summarize()
	return out
}

// WriteBench writes dir/bench.json.
func WriteBench(dir string, f BenchFigures) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("report: bench figures: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, BenchFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// ReadBench reads a benchmark's figures: a bench.json file, or a run
// directory — its bench.json when that keeps every call's figures, else
// the figures computed again from its results.jsonl.
func ReadBench(path string) (BenchFigures, error) {
	var f BenchFigures
	st, err := os.Stat(path)
	if err != nil {
		return f, fmt.Errorf("benchmark: %w", err)
	}
	file := path
	if st.IsDir() {
		file = filepath.Join(path, BenchFile)
		bf, ferr := readBenchFile(file)
		if ferr == nil && (len(bf.Samples) > 0 || bf.Calls == 0) {
			return bf, nil
		}
		res, rerr := ReadDir(path)
		switch {
		case rerr == nil:
			f = BenchFromResults(res)
			f.Sources = []string{path}
			if ferr == nil {
				f.Arrival, f.Duration = bf.Arrival, bf.Duration
			}
			if f.Calls == 0 {
				return f, fmt.Errorf("benchmark %s: the run placed no open-loop (benchmark) calls", path)
			}
			return f, nil
		case ferr == nil:
			return bf, nil // percentiles only: GateSamples says what that means
		case errors.Is(ferr, os.ErrNotExist):
			return f, fmt.Errorf("benchmark %s: neither %s nor results: %w", path, BenchFile, rerr)
		default:
			return f, ferr
		}
	}
	return readBenchFile(file)
}

func readBenchFile(file string) (BenchFigures, error) {
	var f BenchFigures
	b, err := os.ReadFile(file)
	if err != nil {
		return f, fmt.Errorf("benchmark: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("benchmark %s: not a %s file: %w", file, BenchFile, err)
	}
	if len(f.Figures) == 0 && len(f.Samples) == 0 {
		return f, fmt.Errorf("benchmark %s: no figures in it", file)
	}
	if f.Format > BenchFormat {
		return f, fmt.Errorf("benchmark %s: format %d is newer than this wmpf-hil reads (%d)", file, f.Format, BenchFormat)
	}
	if len(f.Samples) > 0 {
		f.summarize()
	}
	f.Sources = []string{file}
	return f, nil
}

// ReadBenchSet reads a comma-separated list of run directories and
// bench.json files as one benchmark: shards of a run, or runs of one build
// put together (MergeBench).
func ReadBenchSet(list string) (BenchFigures, error) {
	paths := strings.Split(list, ",")
	for i, p := range paths {
		if paths[i] = strings.TrimSpace(p); paths[i] == "" {
			return BenchFigures{}, fmt.Errorf("benchmark %q: an empty path in the list", list)
		}
	}
	var parts []BenchFigures
	for _, p := range paths {
		f, err := ReadBench(p)
		if err != nil {
			return BenchFigures{}, err
		}
		parts = append(parts, f)
	}
	if len(parts) > 1 {
		for _, f := range parts {
			if len(f.Samples) == 0 {
				_, err := f.GateSamples()
				return BenchFigures{}, fmt.Errorf("cannot put runs together: %w", err)
			}
		}
	}
	return MergeBench(parts...), nil
}

// gateSkips are figures the gate does not test: the queue is in
// total-intended already, observe is the harness's own overhead.
var gateSkips = map[string]bool{latency.Queue: true, latency.Observe: true}

// GateSamples are the figures the gate tests: by figure and model, every
// call's value. A bench.json written before the gate kept the calls has
// percentiles only, which cannot be tested statistically: that is an
// error saying so.
func (f BenchFigures) GateSamples() (gate.Samples, error) {
	if len(f.Samples) == 0 {
		where := strings.Join(f.Sources, ", ")
		if where == "" {
			where = "run " + f.Run
		}
		if f.Calls == 0 {
			return nil, fmt.Errorf("%s: no benchmark calls", where)
		}
		return nil, fmt.Errorf("%s (run %s, %d calls): written before bench.json kept every call's figures; its percentiles cannot be tested statistically. Compare the run directory if it still has %s, or run the benchmark again", where, f.Run, f.Calls, ResultsFile)
	}
	out := gate.Samples{}
	for _, s := range f.Samples {
		for fig, v := range s.Ms {
			if gateSkips[fig] {
				continue
			}
			if out[fig] == nil {
				out[fig] = map[string][]float64{}
			}
			out[fig][s.Model] = append(out[fig][s.Model], v)
		}
	}
	return out, nil
}

// figureKey is one row of the figures: a figure and a model.
type figureKey struct{ Figure, Model string }

// figureOrder is the order of figures in tables: by stage.
var figureOrder = func() map[string]int {
	o := map[string]int{}
	for i, k := range []string{"delivery", "handling", "launch-cold", "launch-warm", "answer", "total", latency.Queue, latency.TotalIntended} {
		o[k] = i + 1
	}
	return o
}()

func figureLess(a, b string) bool {
	oa, ob := figureOrder[a], figureOrder[b]
	if oa == 0 {
		oa = len(figureOrder) + 1
	}
	if ob == 0 {
		ob = len(figureOrder) + 1
	}
	if oa != ob {
		return oa < ob
	}
	return a < b
}

func modelLess(a, b string) bool {
	if (a == AllModels) != (b == AllModels) {
		return b == AllModels
	}
	return a < b
}

// rows orders the figures by stage, and each figure's models by name with
// "all" last.
func (f BenchFigures) rows() []figureKey {
	figs := make([]string, 0, len(f.Figures))
	for k := range f.Figures {
		figs = append(figs, k)
	}
	sort.Slice(figs, func(i, j int) bool { return figureLess(figs[i], figs[j]) })
	var out []figureKey
	for _, fig := range figs {
		models := make([]string, 0, len(f.Figures[fig]))
		for m := range f.Figures[fig] {
			models = append(models, m)
		}
		sort.Slice(models, func(i, j int) bool { return modelLess(models[i], models[j]) })
		for _, m := range models {
			out = append(out, figureKey{fig, m})
		}
	}
	return out
}

// RowLess orders rows of figures as the tables do: by stage (delivery …
// total, queue, total-intended), then by model with "all" last.
func RowLess(figureA, modelA, figureB, modelB string) bool {
	if figureA != figureB {
		return figureLess(figureA, figureB)
	}
	return modelLess(modelA, modelB)
}

// WriteBenchTable prints the figures: p50 … p99.9 per figure and model;
// with the calls kept, the change a gate of this run against another like
// it would detect (cfg's alpha and power); then the harness's overhead.
func WriteBenchTable(w io.Writer, f BenchFigures, cfg gate.Config) {
	var detect map[string]map[string]float64
	if s, err := f.GateSamples(); err == nil {
		detect, _ = gate.Detectable(cfg, s)
	}
	fmt.Fprintf(w, "%-15s %-12s %5s %9s %9s %9s %9s %9s    %s\n", "figure", "model", "n", "p50", "p90", "p99", "p99.9", "max", "detect")
	for _, k := range f.rows() {
		s := f.Figures[k.Figure][k.Model]
		d := "-"
		if v, ok := detect[k.Figure][k.Model]; ok {
			d = pct(v, false)
		}
		fmt.Fprintf(w, "%-15s %-12s %5d %9.1f %9.1f %9.1f %9.1f %9.1f ms %s\n", k.Figure, k.Model, s.N, s.P50, s.P90, s.P99, s.P999, s.Max, d)
	}
	if detect != nil {
		fmt.Fprintf(w, "detect: the smallest slowdown a gate of this run against another like it finds %.0f%% of the time (alpha %g for the whole gate, at least the %.3g%% minimum effect); n too small: ∞\n",
			100*cfg.Power, cfg.Alpha, 100*cfg.MinEffect)
	}
	if s, ok := f.Overhead[latency.Observe]; ok {
		fmt.Fprintf(w, "harness overhead, apart from the figures above: a device's line reached the harness %.2f ms after it was logged at p50, %.2f ms at p99 (max %.2f)\n", s.P50, s.P99, s.Max)
	}
}

// GateFile is the release gate's judgement in a run directory, when the
// benchmark was gated on a baseline.
const GateFile = "gate.json"

// GateReport is a run judged against its baseline.
type GateReport struct {
	// Baseline is what the baseline was given as (run directories or
	// bench.json files, comma-separated).
	Baseline      string       `json:"baseline"`
	BaselineRun   string       `json:"baselineRun"`
	BaselineCalls int          `json:"baselineCalls"`
	Run           string       `json:"run"`
	Calls         int          `json:"calls"`
	Result        *gate.Result `json:"result"`
}

// CompareBench judges the run now against base with the gate's
// statistics; the comparisons in table order (by stage, models by name
// with "all" last, the centre before the tails).
func CompareBench(cfg gate.Config, base, now BenchFigures) (*gate.Result, error) {
	bs, err := base.GateSamples()
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	ns, err := now.GateSamples()
	if err != nil {
		return nil, err
	}
	res, err := gate.Compare(cfg, bs, ns)
	if err != nil {
		return nil, err
	}
	statRank := func(s gate.Stat) string {
		if s == gate.Centre {
			return ""
		}
		return string(s)
	}
	sort.SliceStable(res.Comparisons, func(i, j int) bool {
		a, b := res.Comparisons[i], res.Comparisons[j]
		if a.Figure != b.Figure {
			return figureLess(a.Figure, b.Figure)
		}
		if a.Model != b.Model {
			return modelLess(a.Model, b.Model)
		}
		return statRank(a.Stat) < statRank(b.Stat)
	})
	return res, nil
}

// WriteGate writes dir/gate.json.
func WriteGate(dir string, g GateReport) error {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return fmt.Errorf("report: gate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, GateFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// ReadGate reads dir/gate.json; os.ErrNotExist when the run was not gated.
func ReadGate(dir string) (*GateReport, error) {
	b, err := os.ReadFile(filepath.Join(dir, GateFile))
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var g GateReport
	if err := json.Unmarshal(b, &g); err != nil || g.Result == nil {
		return nil, fmt.Errorf("report: %s: not a gate file: %v", filepath.Join(dir, GateFile), err)
	}
	return &g, nil
}

// GateRow is one comparison of the gate, as text for a table or a page.
type GateRow struct {
	Figure, Model, Stat string
	// N is "baseline→now" calls.
	N string
	// Base and New: the median (centre) or quantile, ms.
	Base, New string
	// Change and its interval ("+30.1%", "[+12.0%, +51.3%]").
	Change, Interval string
	P, PHolm         string
	// MDE: the smallest slowdown this comparison finds with the gate's
	// power ("-" for tails, "∞" when the runs are too small).
	MDE     string
	Verdict gate.Verdict
	Why     string
	// Regression, Improvement, CantTell: the verdict, for styling.
	Regression, Improvement, CantTell bool
}

// pct formats a fraction as a signed percentage; ±Inf as ∞, NaN as -.
func pct(v float64, sign bool) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "-∞"
	case sign:
		return fmt.Sprintf("%+.1f%%", 100*v)
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func pval(p float64) string {
	switch {
	case math.IsNaN(p):
		return "-"
	case p >= 0.01:
		return fmt.Sprintf("%.2f", p)
	}
	return fmt.Sprintf("%.1e", p)
}

func msText(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

// GateRows are the gate's comparisons as text, in the result's order.
func GateRows(res *gate.Result) []GateRow {
	var out []GateRow
	for _, c := range res.Comparisons {
		r := GateRow{Figure: c.Figure, Model: c.Model, Stat: string(c.Stat), N: fmt.Sprintf("%d→%d", c.NBase, c.NNew),
			Base: msText(c.Base), New: msText(c.New), Change: pct(c.Change, true), P: pval(c.P), PHolm: pval(c.PHolm),
			MDE: "-", Verdict: c.Verdict, Why: c.Why,
			Regression: c.Verdict == gate.Regression, Improvement: c.Verdict == gate.Improvement, CantTell: c.Verdict == gate.CantTell}
		if !math.IsNaN(c.Lo) || !math.IsNaN(c.Hi) {
			r.Interval = "[" + pct(c.Lo, true) + ", " + pct(c.Hi, true) + "]"
		}
		if c.Stat == gate.Centre {
			r.MDE = pct(c.MDE, false)
		}
		out = append(out, r)
	}
	return out
}

// WriteGateTable prints a gate's judgement: every comparison with its
// change, interval, p-values, minimum detectable effect and verdict, then
// the count of each verdict.
func WriteGateTable(w io.Writer, g GateReport) {
	res := g.Result
	fmt.Fprintf(w, "against baseline %s (run %s, %d calls), this run %s (%d calls)\n", g.Baseline, g.BaselineRun, g.BaselineCalls, g.Run, g.Calls)
	fmt.Fprintf(w, "gate: false-alarm rate %g for the whole gate, Holm-corrected over the %d comparisons the runs are large enough to test; a regression is significant and at least %.3g%% slower; intervals hold together at %.4g%%; MDE at %.0f%% power\n",
		res.Alpha, res.Tested, 100*res.MinEffect, 100*res.Confidence, 100*res.Power)
	fmt.Fprintf(w, "%-15s %-12s %-6s %11s %9s %9s %8s %-20s %8s %8s %7s  %s\n", "figure", "model", "stat", "n base→now", "baseline", "now", "change", "interval", "p", "p Holm", "MDE", "verdict")
	for _, r := range GateRows(res) {
		fmt.Fprintf(w, "%-15s %-12s %-6s %11s %9s %9s %8s %-20s %8s %8s %7s  %s\n", r.Figure, r.Model, r.Stat, r.N, r.Base, r.New, r.Change, r.Interval, r.P, r.PHolm, r.MDE, r.Verdict)
	}
	reg, imp, no, cant := res.Count(gate.Regression), res.Count(gate.Improvement), res.Count(gate.NoChange), res.Count(gate.CantTell)
	switch {
	case reg > 0:
		fmt.Fprintf(w, "REGRESSION: %d of %d tested comparisons (%d improvements, %d no change, %d can't tell)\n", reg, res.Tested, imp, no, cant)
	case res.Tested == 0:
		fmt.Fprintf(w, "NOT JUDGED: the runs are too small for any comparison to be significant; see how many calls a run needs with wmpf-hil bench -plan\n")
	default:
		fmt.Fprintf(w, "no regression: %d comparisons tested (%d improvements, %d no change); %d can't tell with these calls\n", res.Tested, imp, no, cant)
	}
}

// gateView is the gate's judgement as report.html shows it.
type gateView struct {
	Baseline, BaselineRun        string
	BaselineCalls, Calls         int
	Alpha, MinEffect, Confidence string
	Power                        string
	Tested                       int
	Regressions, Improvements    int
	NoChange, CantTell           int
	Verdict, VerdictClass        string
	Rows                         []GateRow
}

func gateViewOf(g *GateReport) *gateView {
	if g == nil || g.Result == nil {
		return nil
	}
	res := g.Result
	v := &gateView{Baseline: g.Baseline, BaselineRun: g.BaselineRun, BaselineCalls: g.BaselineCalls, Calls: g.Calls,
		Alpha: fmt.Sprintf("%g", res.Alpha), MinEffect: pct(res.MinEffect, false), Confidence: fmt.Sprintf("%.4g%%", 100*res.Confidence),
		Power: pct(res.Power, false), Tested: res.Tested,
		Regressions: res.Count(gate.Regression), Improvements: res.Count(gate.Improvement),
		NoChange: res.Count(gate.NoChange), CantTell: res.Count(gate.CantTell), Rows: GateRows(res)}
	switch {
	case v.Regressions > 0:
		v.Verdict, v.VerdictClass = fmt.Sprintf("REGRESSION: %d of %d tested comparisons", v.Regressions, v.Tested), "bad"
	case v.Tested == 0:
		v.Verdict, v.VerdictClass = "NOT JUDGED: the runs are too small for any comparison to be significant", "warn"
	default:
		v.Verdict, v.VerdictClass = fmt.Sprintf("no regression in %d tested comparisons", v.Tested), "ok"
	}
	return v
}
