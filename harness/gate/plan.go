package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/aclements/go-moremath/stats"
)

// PlanConfig is what a plan is for: detecting a slowdown of Detect with
// the gate's Config, from a baseline of Calls calls.
type PlanConfig struct {
	Gate Config
	// Detect is the slowdown to detect, a fraction (0.1 for 10%); it must
	// be over Gate.MinEffect.
	Detect float64
	// Calls is the number of calls the baseline's samples came from: a
	// figure's share of calls is its number of values over Calls.
	Calls int
	// MaxCalls bounds the search; rows needing more say so.
	MaxCalls int
	// Sims is the number of simulated pairs of runs per size tried (200).
	Sims int
	// Seed makes the plan repeatable.
	Seed uint64
}

// PlanRow is how many calls a run needs to detect the slowdown in one
// figure and model.
type PlanRow struct {
	Figure string `json:"figure"`
	Model  string `json:"model"`
	// Share is the figure's values of this model per call of the run.
	Share float64 `json:"share"`
	// Estimate is the normal approximation's number of calls, from the
	// baseline's noise (0 when the baseline has too few values to read
	// it); Calls the simulation's (0: more than MaxCalls), and Power the
	// simulated power at Calls.
	Estimate int     `json:"estimate"`
	Calls    int     `json:"calls"`
	Power    float64 `json:"power"`
	// TooFew: the baseline has fewer than MinPlanValues values of this
	// figure in some model, too few to read its noise from.
	TooFew bool `json:"tooFew,omitempty"`
}

// MinPlanValues is the fewest values of a figure and model a baseline
// needs for a plan to read its noise.
const MinPlanValues = 8

// Plan is the number of calls each run of a pair needs for the gate to
// find a slowdown of Detect with Gate.Power.
type Plan struct {
	Config PlanConfig `json:"-"`
	Rows   []PlanRow  `json:"rows"`
}

// MakePlan estimates, from a baseline's samples, how many calls each of
// two runs needs for the gate to flag a slowdown of pc.Detect in each
// figure and model with pc.Gate.Power, at the gate's alpha corrected for
// the comparisons a gate of runs that long makes.
//
// Method: for a number of calls C, each figure and model gets its share of
// C values in each run. Sims pairs of runs are simulated by resampling the
// baseline's values (a smoothed bootstrap of the logarithms, shrunk to
// keep their variance, so that resampled runs have no ties a real run
// would not have), the second run's values multiplied by 1+Detect. The
// power at C is the share of pairs in which the rank test (its normal
// approximation) is significant at alpha over the number of comparisons
// and the median-ratio estimate is at least MinEffect. The search starts
// from the normal approximation's estimate (the baseline's noise read from
// the Hodges–Lehmann interval of the baseline against itself) and
// bisects to the smallest C with that power, within 2%.
func MakePlan(pc PlanConfig, base Samples) (*Plan, error) {
	if err := pc.Gate.Validate(); err != nil {
		return nil, err
	}
	switch {
	case !(pc.Detect > pc.Gate.MinEffect && pc.Detect <= 10):
		return nil, fmt.Errorf("gate: plan: detect %g: allowed above the minimum effect %g up to 10 (1000%%)", pc.Detect, pc.Gate.MinEffect)
	case pc.Calls < 1:
		return nil, fmt.Errorf("gate: plan: the baseline has no calls")
	case pc.MaxCalls < pc.Calls && pc.MaxCalls < 10:
		return nil, fmt.Errorf("gate: plan: max calls %d: allowed 10 or more", pc.MaxCalls)
	}
	if pc.Sims == 0 {
		pc.Sims = 200
	}
	rs, err := rows(base, base)
	if err != nil {
		return nil, err
	}
	p := &Plan{Config: pc}
	for i, r := range rs {
		share := float64(len(r.base)) / float64(pc.Calls)
		pr := PlanRow{Figure: r.figure, Model: r.model, Share: share}
		for _, s := range r.strata {
			pr.TooFew = pr.TooFew || len(s.base) < MinPlanValues
		}
		if pr.TooFew {
			p.Rows = append(p.Rows, pr)
			continue
		}
		rng := rand.New(rand.NewPCG(pc.Seed, uint64(i)))
		pr.Estimate, pr.Calls, pr.Power = planRow(pc, rs, r, rng)
		p.Rows = append(p.Rows, pr)
	}
	return p, nil
}

// sizesAt are row r's strata sizes in two runs of k times the baseline's
// calls each.
func sizesAt(r row, k float64) [][2]int {
	out := make([][2]int, len(r.strata))
	for i, s := range r.strata {
		n := int(math.Round(float64(len(s.base)) * k))
		out[i] = [2]int{n, n}
	}
	return out
}

// levelAt is the level a single comparison must reach in a gate of two
// runs of k times the baseline's calls each: alpha over the comparisons
// such a gate tests. The rows' strata hold the baseline in base.
func levelAt(cfg Config, rs []row, k float64) float64 {
	var minP []float64
	for _, r := range rs {
		ns := sizesAt(r, k)
		minP = append(minP, minRankPN(ns))
		if r.model != AllModels {
			for _, q := range cfg.Tails {
				minP = append(minP, minTailP(ns[0][0], ns[0][1], q))
			}
		}
	}
	in, _ := family(minP, cfg.Alpha)
	m := 0
	for _, ok := range in {
		if ok {
			m++
		}
	}
	return cfg.Alpha / float64(max(m, 1))
}

// planRow finds the calls row r needs: the normal approximation's
// estimate, the simulated number and its power.
func planRow(pc PlanConfig, rs []row, r row, rng *rand.Rand) (estimate, calls int, power float64) {
	target := pc.Gate.Power
	zp := stats.StdNormal.InvCDF(target)
	dl, ml := math.Log1p(pc.Detect), math.Log1p(pc.Gate.MinEffect)
	se := runSE(r.strata, rng)
	c := pc.Calls
	known := se > 0 && !math.IsInf(se, 0) && !math.IsNaN(se)
	if known {
		for range 4 {
			zc := zTwoSided(levelAt(pc.Gate, rs, float64(c)/float64(pc.Calls)))
			// se·√(calls/C)·(zc+zp) ≤ dl and ml + zp·se·√(calls/C) ≤ dl.
			k := max(se*(zc+zp)/dl, se*zp/(dl-ml))
			c = max(2, int(math.Ceil(float64(pc.Calls)*k*k)))
			if c > pc.MaxCalls {
				break
			}
		}
	}
	if known {
		estimate = c
	}
	sim := newSimulator(r, pc, rng)
	powerAt := func(c int) float64 {
		k := float64(c) / float64(pc.Calls)
		return sim.power(sizesAt(r, k), levelAt(pc.Gate, rs, k), dl, ml)
	}
	// Bracket: lo fails, hi passes.
	loC, hiC := 0, 0
	c = min(max(c, 2), pc.MaxCalls)
	if pw := powerAt(c); pw >= target {
		hiC, power = c, pw
		for loC == 0 {
			next := c * 4 / 5
			if next < 2 || next == c {
				break
			}
			if pw := powerAt(next); pw >= target {
				hiC, power, c = next, pw, next
			} else {
				loC = next
			}
		}
	} else {
		loC = c
		for hiC == 0 {
			if c >= pc.MaxCalls {
				return estimate, 0, pw
			}
			next := min(pc.MaxCalls, c*5/4+1)
			if pw = powerAt(next); pw >= target {
				hiC, power = next, pw
			} else {
				loC, c = next, next
			}
		}
	}
	for hiC-loC > max(1, hiC/50) {
		mid := (loC + hiC) / 2
		if pw := powerAt(mid); pw >= target {
			hiC, power = mid, pw
		} else {
			loC = mid
		}
	}
	return estimate, hiC, power
}

// Detectable is, for every figure and model of one run, the smallest
// slowdown a gate of this run against another like it (as many calls,
// as noisy) finds with cfg.Power: the minimum detectable effect Compare
// would report, the noise read from the run split in halves. +Inf where
// the run is too small.
func Detectable(cfg Config, s Samples) (map[string]map[string]float64, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rs, err := rows(s, s)
	if err != nil {
		return nil, err
	}
	zc := zTwoSided(levelAt(cfg, rs, 1))
	zp := stats.StdNormal.InvCDF(cfg.Power)
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string]map[string]float64{}
	for _, r := range rs {
		if out[r.figure] == nil {
			out[r.figure] = map[string]float64{}
		}
		out[r.figure][r.model] = math.Inf(1)
		if len(r.base) >= 2 && zMax(r.strata) >= zc {
			out[r.figure][r.model] = mdeOf(runSE(r.strata, rng), zc, zp, cfg.MinEffect)
		}
	}
	return out, nil
}

// runSE is the standard error of the shift estimate between two runs
// like the baseline (in logarithms): the baseline split in random halves,
// each pair's ±1 interval (the normal approximation) averaged, then
// scaled from half to whole runs (by 1/√2). Comparing the baseline with
// itself instead would tie every value with itself and understate it.
func runSE(strata []stratum, rng *rand.Rand) float64 {
	const splits = 5
	var sum float64
	for range splits {
		halves := make([]stratum, 0, len(strata))
		for _, s := range strata {
			v := append([]float64(nil), s.base...)
			rng.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
			a, b := v[:len(v)/2], v[len(v)/2:]
			if len(a) == 0 {
				continue
			}
			halves = append(halves, stratum{base: sorted(a), now: sorted(b)})
		}
		_, lo, hi := shiftEstimate(halves, 1)
		sum += (hi - lo) / 2
	}
	return sum / splits / math.Sqrt2
}

// simulator draws runs like the baseline's for one row.
type simulator struct {
	logs        [][]float64 // per stratum: the baseline's logarithms
	mean, sd, h []float64
	sims        int
	seed        uint64
}

func newSimulator(r row, pc PlanConfig, rng *rand.Rand) *simulator {
	s := &simulator{sims: pc.Sims, seed: rng.Uint64()}
	for _, st := range r.strata {
		v := st.base
		s.logs = append(s.logs, v)
		mean := stats.Mean(v)
		sd := stats.StdDev(v)
		if math.IsNaN(sd) {
			sd = 0
		}
		// Silverman's rule of thumb for the bandwidth.
		iqr := v[int(0.75*float64(len(v)-1))] - v[int(0.25*float64(len(v)-1))]
		spread := sd
		if iqr > 0 {
			spread = min(sd, iqr/1.34)
		}
		s.mean = append(s.mean, mean)
		s.sd = append(s.sd, sd)
		s.h = append(s.h, 0.9*spread*math.Pow(float64(len(v)), -0.2))
	}
	return s
}

// draw fills out with n values resampled from stratum i, plus shift.
func (s *simulator) draw(rng *rand.Rand, i, n int, shift float64) []float64 {
	v, mean, sd, h := s.logs[i], s.mean[i], s.sd[i], s.h[i]
	shrink := 1.0
	if sd > 0 {
		shrink = 1 / math.Sqrt(1+h*h/(sd*sd))
	}
	out := make([]float64, n)
	for k := range out {
		x := v[rng.IntN(len(v))]
		out[k] = mean + (x-mean+h*rng.NormFloat64())*shrink + shift
	}
	sort.Float64s(out)
	return out
}

// power is the share of simulated pairs of runs of these sizes in which
// the second, slower by dl (logarithm), is flagged: significant at level
// and estimated at least ml slower. Every size is tried with the same
// random draws, so that power grows smoothly with the size.
func (s *simulator) power(ns [][2]int, level, dl, ml float64) float64 {
	rng := rand.New(rand.NewPCG(s.seed, 1))
	zc := zTwoSided(level)
	hits := 0
	strata := make([]stratum, len(ns))
	for range s.sims {
		usable := false
		for i, n := range ns {
			strata[i] = stratum{}
			if n[0] < 1 || n[1] < 1 {
				continue
			}
			usable = true
			strata[i] = stratum{base: s.draw(rng, i, n[0], 0), now: s.draw(rng, i, n[1], dl)}
		}
		if !usable {
			continue
		}
		if zShift(strata, 0) >= zc && zShift(strata, ml) > 0 {
			hits++
		}
	}
	return float64(hits) / float64(s.sims)
}
