// Package gate is the statistics of a release gate: whether a run of the
// release benchmark is slower than a baseline run, told apart from the
// noise of two runs of one build.
//
// For every figure (a stage of a call, or the whole answer) and device
// model it compares the two runs' samples of that figure:
//
//   - the centre with a rank test (Mann–Whitney U, from
//     golang.org/x/perf/benchmath; over all models together, the van
//     Elteren test, which is Mann–Whitney within each model, so that runs
//     with different shares of each model are not confused with a change),
//     and the change as the Hodges–Lehmann shift of the logarithms — the
//     median ratio between the runs' calls — with Moses' interval;
//   - the tail (p90, p99 where the runs have enough calls) with
//     order-statistic intervals on each run's quantile.
//
// The false-alarm rate is set for the whole gate: comparisons that could
// not be significant at their sample sizes are left out (Tarone), and the
// others are corrected with Holm–Bonferroni. A regression needs a
// significant change and a change at least MinEffect.
package gate

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
)

// AllModels is the model name of the comparisons over every model.
const AllModels = "all"

// Samples are one run's figures in milliseconds: by figure (delivery,
// launch-warm, total, …), then by device model, every call's value.
type Samples map[string]map[string][]float64

// Stat is what a comparison compares.
type Stat string

// Centre compares whole distributions (rank test, median ratio); a
// quantile's Stat is its name, p90 or p99.
const Centre Stat = "centre"

// QuantileStat names quantile q: p90, p99, p99.9.
func QuantileStat(q float64) Stat {
	return Stat("p" + strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", q*100), "0"), "."))
}

// Verdict is the outcome of one comparison.
type Verdict string

// The verdicts.
const (
	Regression  Verdict = "regression"
	Improvement Verdict = "improvement"
	NoChange    Verdict = "no change"
	CantTell    Verdict = "can't tell (n too small)"
)

// Config is how the gate judges.
type Config struct {
	// Alpha is the false-alarm rate of the whole gate: how often two runs
	// of the same build would show any regression or improvement.
	Alpha float64
	// MinEffect is the smallest change (a fraction: 0.05 for 5%) that
	// counts: a significant change under it is "no change".
	MinEffect float64
	// Power is the chance of detecting a change of the minimum detectable
	// effect reported with each comparison (0.95).
	Power float64
	// Tails are the quantiles compared in each model besides the centre.
	Tails []float64
}

// DefaultConfig: alpha 0.01 for the whole gate, 5% minimum effect, 95%
// power, p90 and p99.
func DefaultConfig() Config {
	return Config{Alpha: 0.01, MinEffect: 0.05, Power: 0.95, Tails: []float64{0.9, 0.99}}
}

// Validate reports the first field out of its range.
func (c Config) Validate() error {
	if !(c.Alpha > 0 && c.Alpha <= 0.5) {
		return fmt.Errorf("gate: alpha %g: allowed above 0, up to 0.5", c.Alpha)
	}
	if !(c.MinEffect >= 0 && c.MinEffect < 1) {
		return fmt.Errorf("gate: min effect %g: allowed 0 up to (not including) 1 (100%%)", c.MinEffect)
	}
	if !(c.Power >= 0.5 && c.Power < 1) {
		return fmt.Errorf("gate: power %g: allowed 0.5 up to (not including) 1", c.Power)
	}
	for i, q := range c.Tails {
		if !(q > 0.5 && q < 1) || (i > 0 && q <= c.Tails[i-1]) {
			return fmt.Errorf("gate: tails %v: allowed quantiles above 0.5 and under 1, ascending", c.Tails)
		}
	}
	return nil
}

// Comparison is one figure, model and statistic of the two runs.
type Comparison struct {
	Figure, Model string
	Stat          Stat
	NBase, NNew   int
	// Base and New are the statistic in each run, in ms: the median for
	// the centre (over all models, the pooled median), the quantile for a
	// tail.
	Base, New float64
	// Change is the estimated change as a fraction (+0.3: 30% slower): the
	// Hodges–Lehmann median ratio for the centre, the ratio of the
	// quantiles for a tail; Lo and Hi its interval at Result.Confidence.
	// Hi is +Inf when the runs are too small to bound it.
	Change, Lo, Hi float64
	// P is the test's p-value, PHolm the Holm-adjusted one (NaN for
	// comparisons outside the family).
	P, PHolm float64
	// MDE (centre only) is the smallest slowdown this comparison detects
	// with Config.Power at these sample sizes and this noise; +Inf when it
	// cannot, NaN for tails.
	MDE float64
	// InFamily: the comparison could be significant at its sample sizes,
	// so it is tested and counted in the correction.
	InFamily bool
	Verdict  Verdict
	// Why explains a verdict that needs it.
	Why string
}

// Result is the gate's judgement of a run against a baseline.
type Result struct {
	Alpha     float64 `json:"alpha"`
	MinEffect float64 `json:"minEffect"`
	Power     float64 `json:"power"`
	// Tested is how many comparisons were tested (the correction's m).
	Tested int `json:"tested"`
	// Confidence of the intervals: 1 − Alpha/Tested, so that all of them
	// hold together with probability 1 − Alpha (Bonferroni).
	Confidence  float64      `json:"confidence"`
	Comparisons []Comparison `json:"comparisons"`
}

// Count is how many comparisons have verdict v.
func (r *Result) Count(v Verdict) int {
	n := 0
	for _, c := range r.Comparisons {
		if c.Verdict == v {
			n++
		}
	}
	return n
}

// Regressed reports whether any comparison is a regression.
func (r *Result) Regressed() bool { return r.Count(Regression) > 0 }

// row is one figure and model to compare, with its samples.
type row struct {
	figure, model string
	strata        []stratum
	// per model: the raw samples (ms), sorted.
	base, now []float64
}

// rows collects the rows of two runs: every figure and model either has,
// and the all-models row of every figure with a model in both.
func rows(base, now Samples) ([]row, error) {
	figs := map[string]bool{}
	for _, s := range []Samples{base, now} {
		for f, byModel := range s {
			figs[f] = true
			if _, ok := byModel[AllModels]; ok {
				return nil, fmt.Errorf("gate: figure %s: model name %q is reserved for the comparison over every model", f, AllModels)
			}
		}
	}
	var out []row
	for _, f := range sortedKeys(figs) {
		models := map[string]bool{}
		for m := range base[f] {
			models[m] = true
		}
		for m := range now[f] {
			models[m] = true
		}
		var all []stratum
		var allBase, allNow []float64
		for _, m := range sortedKeys(models) {
			b, n := sorted(base[f][m]), sorted(now[f][m])
			st := newStratum(b, n)
			r := row{figure: f, model: m, base: b, now: n, strata: []stratum{st}}
			out = append(out, r)
			if len(b) > 0 && len(n) > 0 {
				all = append(all, st)
				allBase = append(allBase, b...)
				allNow = append(allNow, n...)
			}
		}
		if len(models) > 1 && len(all) > 0 {
			out = append(out, row{figure: f, model: AllModels, strata: all, base: sorted(allBase), now: sorted(allNow)})
		}
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(v []float64) []float64 {
	out := append([]float64(nil), v...)
	sort.Float64s(out)
	return out
}

// Compare judges the run now against base.
func Compare(cfg Config, base, now Samples) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rs, err := rows(base, now)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("gate: no figures to compare")
	}
	// Every comparison, with the smallest p it could reach.
	var cs []Comparison
	var minP []float64
	type origin struct {
		row int
		q   float64 // 0 for the centre
	}
	var from []origin
	for i, r := range rs {
		c := Comparison{Figure: r.figure, Model: r.model, Stat: Centre, NBase: len(r.base), NNew: len(r.now),
			Base: median(r.base), New: median(r.now), Change: math.NaN(), Lo: math.NaN(), Hi: math.NaN(),
			P: math.NaN(), PHolm: math.NaN(), MDE: math.Inf(1)}
		cs, minP, from = append(cs, c), append(minP, minRankP(r.strata)), append(from, origin{i, 0})
		if r.model == AllModels {
			continue // tails pool models in whatever share each run had: per model only
		}
		for _, q := range cfg.Tails {
			t := c
			t.Stat, t.MDE = QuantileStat(q), math.NaN()
			t.Base, t.New = sampleQuantile(r.base, q), sampleQuantile(r.now, q)
			cs, minP, from = append(cs, t), append(minP, minTailP(len(r.base), len(r.now), q)), append(from, origin{i, q})
		}
	}
	in, reach := family(minP, cfg.Alpha)
	res := &Result{Alpha: cfg.Alpha, MinEffect: cfg.MinEffect, Power: cfg.Power}
	for _, ok := range in {
		if ok {
			res.Tested++
		}
	}
	each := cfg.Alpha / float64(max(res.Tested, 1))
	res.Confidence = 1 - each
	zc := zTwoSided(each)
	zp := stats.StdNormal.InvCDF(cfg.Power)
	var ps []float64
	var tested []int
	for k := range cs {
		c := &cs[k]
		r := rs[from[k].row]
		c.InFamily = in[k]
		if c.NBase == 0 || c.NNew == 0 {
			c.Verdict = CantTell
			c.Why = "no calls in " + map[bool]string{true: "the baseline", false: "this run"}[c.NBase == 0]
			continue
		}
		if q := from[k].q; q == 0 {
			centre(c, r, zc, zp, cfg.MinEffect)
		} else {
			ratio, lo, hi, p := tail(r.base, r.now, q, res.Confidence)
			c.Change, c.Lo, c.Hi, c.P = ratio-1, lo-1, hi-1, p
		}
		if c.InFamily {
			ps = append(ps, c.P)
			tested = append(tested, k)
		} else {
			c.Verdict = CantTell
			c.Why = fmt.Sprintf("with %d and %d calls the test cannot reach p ≤ %.2g (at best %.2g)", c.NBase, c.NNew, reach, minP[k])
		}
	}
	for i, p := range holm(ps) {
		c := &cs[tested[i]]
		c.PHolm = p
		switch {
		case p > cfg.Alpha:
			c.Verdict = NoChange
		case c.Change >= cfg.MinEffect:
			c.Verdict = Regression
		case c.Change <= -cfg.MinEffect:
			c.Verdict = Improvement
		default:
			c.Verdict = NoChange
			c.Why = fmt.Sprintf("significant, but under the minimum effect %.3g%%", 100*cfg.MinEffect)
		}
	}
	res.Comparisons = cs
	return res, nil
}

// centre fills in a centre comparison: the rank test's p (benchmath's
// Mann–Whitney U for one model, van Elteren over all), the median ratio
// with its interval at zc, and the minimum detectable effect.
func centre(c *Comparison, r row, zc, zp, minEffect float64) {
	if len(r.strata) == 1 {
		th := benchmath.DefaultThresholds
		cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(r.base, &th), benchmath.NewSample(r.now, &th))
		c.P = cmp.P
	} else {
		c.P = rankP(r.strata)
	}
	est, lo, hi := shiftEstimate(r.strata, zc)
	c.Change, c.Lo, c.Hi = math.Expm1(est), math.Expm1(lo), math.Expm1(hi)
	c.MDE = mde(r.strata, zc, zp, minEffect)
}

// mde is the smallest slowdown found with power Φ(zp) by a test at zc that
// also needs the estimate over minEffect: the shift estimate's standard
// error se read from its ±1 interval (the normal approximation), then
// max(zc·se, ln(1+minEffect)) + zp·se.
func mde(strata []stratum, zc, zp, minEffect float64) float64 {
	if zMax(strata) < zc {
		return math.Inf(1)
	}
	_, lo, hi := shiftEstimate(strata, 1)
	return mdeOf((hi-lo)/2, zc, zp, minEffect)
}

// mdeOf is the minimum detectable effect of a shift estimate with
// standard error se.
func mdeOf(se, zc, zp, minEffect float64) float64 {
	if math.IsInf(se, 0) || math.IsNaN(se) {
		return math.Inf(1)
	}
	return math.Expm1(max(zc*se, math.Log1p(minEffect)) + zp*se)
}

// median of a sorted sample: the mean of the middle two when even.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
