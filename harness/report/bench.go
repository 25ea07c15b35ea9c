package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
)

// BenchFile is the release benchmark's figures in a run directory.
const BenchFile = "bench.json"

// AllModels is the model key of the figures over every model.
const AllModels = "all"

// BenchFigures are a release benchmark's figures: for each figure — a
// segment as budgets name it (launch-cold, …), "total-intended" (answer
// latency from the scheduled start) and "queue" — and each device model
// (and "all"), the histogram's percentiles. "observe", how late the
// harness read the device's lines, is its own overhead, kept apart.
type BenchFigures struct {
	Run      string    `json:"run"`
	Arrival  string    `json:"arrival,omitempty"`
	Duration string    `json:"duration,omitempty"`
	Written  time.Time `json:"written"`
	Calls    int       `json:"calls"`
	// Figures by figure, then model.
	Figures map[string]map[string]loadgen.Summary `json:"figures"`
	// Overhead is the harness's own: observe, over all models.
	Overhead map[string]loadgen.Summary `json:"overhead"`
}

// BenchFromResults computes the figures of the open-loop calls (those with
// an intended start) of a run.
func BenchFromResults(res *Results) BenchFigures {
	hists := map[string]map[string]*loadgen.Histogram{}
	rec := func(fig, model string, v time.Duration) {
		for _, m := range []string{model, AllModels} {
			if hists[fig] == nil {
				hists[fig] = map[string]*loadgen.Histogram{}
			}
			if hists[fig][m] == nil {
				hists[fig][m] = loadgen.NewHistogram()
			}
			hists[fig][m].Record(v)
		}
	}
	f := BenchFigures{Figures: map[string]map[string]loadgen.Summary{}, Overhead: map[string]loadgen.Summary{}, Written: time.Now()}
	if res.Run != nil {
		f.Run = res.Run.ID
	}
	for _, c := range res.Calls {
		lc := c.Call
		if lc.Intended.IsZero() {
			continue
		}
		f.Calls++
		model := lc.Model
		if model == "" {
			model = "unknown"
		}
		for _, seg := range latency.Segments {
			if v, ok := lc.Duration(seg); ok {
				rec(lc.Key(seg), model, v)
			}
		}
		for k, v := range lc.OpenLoop() {
			rec(k, model, v)
		}
	}
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
	return f
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

// ReadBench reads a baseline: a bench.json file, or a run directory (its
// bench.json, else figures computed from its results.jsonl).
func ReadBench(path string) (BenchFigures, error) {
	var f BenchFigures
	st, err := os.Stat(path)
	if err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	file := path
	if st.IsDir() {
		file = filepath.Join(path, BenchFile)
		if _, err := os.Stat(file); err != nil {
			res, rerr := ReadDir(path)
			if rerr != nil {
				return f, fmt.Errorf("baseline %s: neither %s nor results: %w", path, BenchFile, rerr)
			}
			f = BenchFromResults(res)
			if f.Calls == 0 {
				return f, fmt.Errorf("baseline %s: the run has no benchmark calls", path)
			}
			return f, nil
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("baseline %s: not a %s file: %w", file, BenchFile, err)
	}
	if len(f.Figures) == 0 {
		return f, fmt.Errorf("baseline %s: no figures in it", file)
	}
	return f, nil
}

// Gate is how a benchmark is judged against its baseline: a percentile is
// a regression when it is over the baseline's by more than Tolerance (a
// fraction) plus Slack. A percentile q is judged only where both runs have
// at least MinTail calls above it (n·(1−q) ≥ MinTail): with fewer, p99 is
// little more than the slowest call, and two runs of the same build differ
// by far more than any tolerance (seen: 60 calls a model, 4 of 36
// percentiles "regressed" at 10%, all of them p99).
type Gate struct {
	Tolerance float64
	Slack     time.Duration
	MinTail   int
}

// judged reports whether n calls are enough to judge quantile q.
func (g Gate) judged(n int, q float64) bool {
	return float64(n)*(1-q) >= float64(g.MinTail)-1e-9
}

// MinCallsFor is the fewest calls with which quantile q is judged.
func (g Gate) MinCallsFor(q float64) int {
	return int(math.Ceil(float64(g.MinTail)/(1-q) - 1e-9))
}

// Comparison is one percentile of one figure and model, now and then.
type Comparison struct {
	Figure, Model, Stat string
	Base, Now           float64 // ms
	Limit               float64 // ms
	// Verdict: "ok", "regression", "better", or "too few calls".
	Verdict string
}

// Verdicts of a Comparison.
const (
	CompareOK         = "ok"
	CompareRegression = "regression"
	CompareBetter     = "better"
	CompareTooFew     = "too few calls"
)

// Compare judges now against base, p50 and p99 of every figure and model
// both have (the harness's overhead is not judged).
func (g Gate) Compare(base, now BenchFigures) []Comparison {
	var out []Comparison
	for fig, byModel := range now.Figures {
		if fig == latency.Queue {
			continue // in total-intended already
		}
		for m, s := range byModel {
			b, ok := base.Figures[fig][m]
			if !ok {
				continue
			}
			for _, st := range []struct {
				name    string
				q       float64
				bv, now float64
			}{{"p50", 0.5, b.P50, s.P50}, {"p99", 0.99, b.P99, s.P99}} {
				c := Comparison{Figure: fig, Model: m, Stat: st.name, Base: st.bv, Now: st.now,
					Limit: st.bv*(1+g.Tolerance) + float64(g.Slack)/float64(time.Millisecond)}
				switch {
				case !g.judged(s.N, st.q) || !g.judged(b.N, st.q):
					c.Verdict = CompareTooFew
				case c.Now > c.Limit:
					c.Verdict = CompareRegression
				case c.Now < st.bv*(1-g.Tolerance):
					c.Verdict = CompareBetter
				default:
					c.Verdict = CompareOK
				}
				out = append(out, c)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Figure != b.Figure {
			return a.Figure < b.Figure
		}
		if a.Model != b.Model {
			return a.Model < b.Model
		}
		return a.Stat < b.Stat
	})
	return out
}

// figureKey is one row of the figures: a figure and a model.
type figureKey struct{ Figure, Model string }

// rows orders the figures by stage, and each figure's models by name with
// "all" last.
func (f BenchFigures) rows() []figureKey {
	figs := make([]string, 0, len(f.Figures))
	for k := range f.Figures {
		figs = append(figs, k)
	}
	order := map[string]int{}
	for i, k := range []string{"delivery", "handling", "launch-cold", "launch-warm", "answer", "total", latency.Queue, latency.TotalIntended} {
		order[k] = i + 1
	}
	sort.Slice(figs, func(i, j int) bool {
		oi, oj := order[figs[i]], order[figs[j]]
		if oi != oj {
			return oi < oj
		}
		return figs[i] < figs[j]
	})
	var out []figureKey
	for _, fig := range figs {
		models := make([]string, 0, len(f.Figures[fig]))
		for m := range f.Figures[fig] {
			models = append(models, m)
		}
		sort.Slice(models, func(i, j int) bool {
			if (models[i] == AllModels) != (models[j] == AllModels) {
				return models[j] == AllModels
			}
			return models[i] < models[j]
		})
		for _, m := range models {
			out = append(out, figureKey{fig, m})
		}
	}
	return out
}

// WriteBenchTable prints the figures: p50 … p99.9 per figure and model,
// then the harness's overhead.
func WriteBenchTable(w io.Writer, f BenchFigures) {
	fmt.Fprintf(w, "%-15s %-12s %5s %9s %9s %9s %9s %9s\n", "figure", "model", "n", "p50", "p90", "p99", "p99.9", "max")
	for _, k := range f.rows() {
		s := f.Figures[k.Figure][k.Model]
		fmt.Fprintf(w, "%-15s %-12s %5d %9.1f %9.1f %9.1f %9.1f %9.1f ms\n", k.Figure, k.Model, s.N, s.P50, s.P90, s.P99, s.P999, s.Max)
	}
	if s, ok := f.Overhead[latency.Observe]; ok {
		fmt.Fprintf(w, "harness overhead, apart from the figures above: a device's line reached the harness %.2f ms after it was logged at p50, %.2f ms at p99 (max %.2f)\n", s.P50, s.P99, s.Max)
	}
}
