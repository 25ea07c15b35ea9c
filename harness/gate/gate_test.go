package gate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// farm draws one run's samples: per figure and model, lognormal values
// (median, σ of the logarithm), some figures slowed down by a factor.
type farm struct {
	figures map[string]map[string][2]float64 // figure → model → median, σ
	share   map[string]float64               // model → share of calls
}

var twoModels = farm{
	figures: map[string]map[string][2]float64{
		"handling":    {"panel": {200, 0.25}, "tv": {200, 0.25}},
		"launch-warm": {"panel": {350, 0.35}, "tv": {520, 0.34}},
		"total":       {"panel": {850, 0.25}, "tv": {1100, 0.25}},
	},
	share: map[string]float64{"panel": 0.4, "tv": 0.6},
}

func (f farm) run(r *rand.Rand, calls int, slower map[string]float64) Samples {
	out := Samples{}
	// In a fixed order, so that a seed gives the same samples.
	for _, fig := range sortedKeys(keys(f.figures)) {
		byModel := f.figures[fig]
		out[fig] = map[string][]float64{}
		for _, m := range sortedKeys(keys(byModel)) {
			p := byModel[m]
			k := 1.0
			if s, ok := slower[fig]; ok {
				k = s
			}
			n := int(math.Round(f.share[m] * float64(calls)))
			for range n {
				out[fig][m] = append(out[fig][m], k*p[0]*math.Exp(p[1]*r.NormFloat64()))
			}
		}
	}
	return out
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func flagged(res *Result) (regressions, significant int) {
	return res.Count(Regression), res.Count(Regression) + res.Count(Improvement)
}

// Two runs of one build, many times over: the gate flags at most about
// alpha of the pairs (the whole gate's rate, not each comparison's). Runs
// 30% slower in launch-warm: found in nearly every pair, with intervals
// that hold the true change.
func TestGateFalseAlarmsAndPower(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	cfg := DefaultConfig()
	cfg.Alpha = 0.05
	const pairs = 160
	alarms := 0
	for range pairs {
		res, err := Compare(cfg, twoModels.run(r, 150, nil), twoModels.run(r, 150, nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, s := flagged(res); s > 0 {
			alarms++
		}
	}
	// Binomial(160, 0.05): mean 8, sd 2.8.
	if alarms > 16 {
		t.Errorf("same build: %d of %d pairs flagged at alpha 0.05", alarms, pairs)
	}
	t.Logf("same build: %d of %d pairs flagged at alpha 0.05 (at most 5%% expected)", alarms, pairs)

	cfg = DefaultConfig()
	found, covered, others := 0, 0, 0
	const abPairs = 40
	for range abPairs {
		res, err := Compare(cfg, twoModels.run(r, 150, nil), twoModels.run(r, 150, map[string]float64{"launch-warm": 1.3}))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Comparisons {
			if c.Figure == "launch-warm" && c.Model == AllModels {
				if c.Verdict == Regression {
					found++
				}
				if c.Lo <= 0.3 && c.Hi >= 0.3 {
					covered++
				}
			}
			if c.Figure != "launch-warm" && (c.Verdict == Regression || c.Verdict == Improvement) {
				others++
			}
		}
	}
	if found < abPairs*95/100 || covered < abPairs*95/100 {
		t.Errorf("launch-warm 30%% slower: flagged in %d of %d pairs, interval holding +30%% in %d", found, abPairs, covered)
	}
	// Alpha 0.01 for the whole gate: over 40 pairs, 0.4 false alarms expected.
	if others > 2 {
		t.Errorf("launch-warm 30%% slower: %d changes flagged in figures that did not change", others)
	}
	t.Logf("launch-warm 30%% slower, 150 calls a run: flagged over all models in %d of %d pairs; interval holds +30%% in %d; %d false alarms elsewhere", found, abPairs, covered, others)
}

// The minimum detectable effect a gate reports is what it detects: runs
// slower by it are flagged in about Power of the pairs.
func TestMinimumDetectableEffectIsDetected(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	cfg := DefaultConfig()
	res, err := Compare(cfg, twoModels.run(r, 100, nil), twoModels.run(r, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	var mdeTV float64
	for _, c := range res.Comparisons {
		if c.Figure == "launch-warm" && c.Model == "tv" && c.Stat == Centre {
			mdeTV = c.MDE
		}
	}
	if !(mdeTV > 0.05 && mdeTV < 1) {
		t.Fatalf("launch-warm tv: MDE %v with 60 calls a run", mdeTV)
	}
	// One run alone says about as much of a gate against another like it.
	self, err := Detectable(cfg, twoModels.run(r, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	if d := self["launch-warm"]["tv"]; math.Abs(d-mdeTV) > 0.25*mdeTV {
		t.Errorf("launch-warm tv: one run's detectable change %.1f%%, a pair's %.1f%%", 100*d, 100*mdeTV)
	}
	found := 0
	const pairs = 60
	for range pairs {
		res, err := Compare(cfg, twoModels.run(r, 100, nil), twoModels.run(r, 100, map[string]float64{"launch-warm": 1 + mdeTV}))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Comparisons {
			if c.Figure == "launch-warm" && c.Model == "tv" && c.Stat == Centre && c.Verdict == Regression {
				found++
			}
		}
	}
	// Power 0.95: 57 of 60 expected; the MDE is itself an estimate from
	// one pair, so allow down to 80%.
	if found < pairs*80/100 {
		t.Errorf("slower by the reported MDE %.1f%%: flagged in %d of %d pairs", 100*mdeTV, found, pairs)
	}
	t.Logf("MDE %.1f%% (launch-warm tv, 60 calls a run): flagged in %d of %d pairs", 100*mdeTV, found, pairs)
}

// A plan's number of calls gives the power it promises.
func TestPlanGivesThePowerItPromises(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	launch := farm{figures: map[string]map[string][2]float64{"launch-warm": twoModels.figures["launch-warm"]}, share: twoModels.share}
	base := launch.run(r, 200, nil)
	pc := PlanConfig{Gate: DefaultConfig(), Detect: 0.15, Calls: 200, MaxCalls: 100000, Seed: 1}
	plan, err := MakePlan(pc, base)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, row := range plan.Rows {
		if row.Figure == "launch-warm" && row.Model == AllModels {
			calls = row.Calls
			t.Logf("launch-warm over all models, 15%%: %d calls (normal approximation %d), simulated power %.2f", row.Calls, row.Estimate, row.Power)
		}
	}
	if calls < 50 || calls > 5000 {
		t.Fatalf("plan: %d calls for launch-warm all; rows %+v", calls, plan.Rows)
	}
	found := 0
	const pairs = 60
	for range pairs {
		res, err := Compare(pc.Gate, launch.run(r, calls, nil), launch.run(r, calls, map[string]float64{"launch-warm": 1.15}))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Comparisons {
			if c.Figure == "launch-warm" && c.Model == AllModels && c.Verdict == Regression {
				found++
			}
		}
	}
	if found < pairs*85/100 {
		t.Errorf("runs of the planned %d calls, 15%% slower: flagged in %d of %d pairs, want about 95%%", calls, found, pairs)
	}
	t.Logf("runs of the planned %d calls: flagged in %d of %d pairs", calls, found, pairs)
	if _, err := MakePlan(PlanConfig{Gate: DefaultConfig(), Detect: 0.03, Calls: 200, MaxCalls: 1000}, base); err == nil || !strings.Contains(err.Error(), "minimum effect") {
		t.Errorf("detecting 3%% under a 5%% minimum effect: %v", err)
	}
}

func TestVerdictsAndTooFewCalls(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	few := twoModels.run(r, 8, nil)
	res, err := Compare(DefaultConfig(), few, twoModels.run(r, 8, map[string]float64{"total": 3}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Comparisons {
		if c.Model != AllModels && c.Verdict != CantTell {
			t.Errorf("%s %s %s with %d and %d calls: %s, want %q", c.Figure, c.Model, c.Stat, c.NBase, c.NNew, c.Verdict, CantTell)
		}
		if c.Verdict == CantTell && !strings.Contains(c.Why, "cannot reach") {
			t.Errorf("can't tell without saying why: %+v", c)
		}
	}
	// Faster by half: an improvement; the tails of 1200 and 1800 calls a
	// model are judged too (p99 needs about a thousand).
	res, err = Compare(DefaultConfig(), twoModels.run(r, 3000, nil), twoModels.run(r, 3000, map[string]float64{"handling": 0.5}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Verdict]int{}
	for _, c := range res.Comparisons {
		if c.Figure == "handling" {
			seen[c.Verdict]++
			if c.Verdict != Improvement {
				t.Errorf("handling twice as fast: %s %s %s (n %d, p %.2g)", c.Model, c.Stat, c.Verdict, c.NNew, c.P)
			}
		}
	}
	if seen[Improvement] != 1+2*3 {
		t.Errorf("handling: %v; want centre, p90 and p99 of each model and the centre over all", seen)
	}
	// A significant change under the minimum effect is no change.
	cfg := DefaultConfig()
	cfg.MinEffect = 0.6
	res, _ = Compare(cfg, twoModels.run(r, 1000, nil), twoModels.run(r, 1000, map[string]float64{"handling": 0.5}))
	for _, c := range res.Comparisons {
		if c.Figure == "handling" && c.Stat == Centre && (c.Verdict != NoChange || !strings.Contains(c.Why, "minimum effect")) {
			t.Errorf("50%% faster, minimum effect 60%%: %s %q", c.Verdict, c.Why)
		}
	}
}

func TestConfigAndInputErrors(t *testing.T) {
	s := Samples{"total": {"m": {1, 2, 3}}}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Alpha: 0, MinEffect: 0.05, Power: 0.95}, "alpha 0: allowed above 0, up to 0.5"},
		{Config{Alpha: 0.01, MinEffect: 1, Power: 0.95}, "min effect 1: allowed 0 up to"},
		{Config{Alpha: 0.01, MinEffect: 0.05, Power: 0.2}, "power 0.2"},
		{Config{Alpha: 0.01, MinEffect: 0.05, Power: 0.95, Tails: []float64{0.99, 0.9}}, "ascending"},
	} {
		if _, err := Compare(tc.cfg, s, s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := Compare(DefaultConfig(), Samples{"total": {AllModels: {1}}}, s); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("a model called all: %v", err)
	}
	if _, err := Compare(DefaultConfig(), Samples{}, Samples{}); err == nil {
		t.Errorf("nothing to compare, no error")
	}
}

// A result written as JSON and read back is the same, unbounded
// intervals included.
func TestResultJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	res, err := Compare(DefaultConfig(), twoModels.run(r, 10, nil), twoModels.run(r, 40, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	inf := 0
	for i, c := range res.Comparisons {
		d := back.Comparisons[i]
		same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
		if !same(c.Hi, d.Hi) || !same(c.MDE, d.MDE) || !same(c.P, d.P) || !same(c.Change, d.Change) || c.Verdict != d.Verdict {
			t.Errorf("read back %+v as %+v", c, d)
		}
		if math.IsInf(c.Hi, 1) || math.IsInf(c.MDE, 1) {
			inf++
		}
	}
	if inf == 0 {
		t.Errorf("no unbounded figure in a run of 10 calls to check")
	}
}
