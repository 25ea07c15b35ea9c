package gate

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// raw is a stratum of the values themselves (not their logarithms), for
// checking the rank statistics against published examples.
func raw(base, now []float64) stratum {
	return stratum{base: sorted(base), now: sorted(now)}
}

// Hollander & Wolfe (1973, p. 69), the example of R's ?wilcox.test:
// permeability constants of the human chorioamnion, x at term, y between
// 12 and 26 weeks. R gives W = 35, exact one-sided p = 0.1272, and with
// exact = FALSE, correct = FALSE (Hollander & Wolfe's large-sample
// approximation) p = 0.1103. The Hodges–Lehmann estimate (median of the 50
// pairwise differences) 0.305 and the normal-approximation 95% interval
// [-0.15, 0.76] were computed by brute force over the pairwise differences
// (Python, outside this package).
var (
	hwX = []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	hwY = []float64{1.15, 0.88, 0.90, 0.74, 1.21}
)

func TestRankTestOnAPublishedExample(t *testing.T) {
	s := []stratum{raw(hwY, hwX)}
	if u, _ := uStat(s[0].base, s[0].now, 0); u != 35 {
		t.Errorf("U = %v, want 35 (R: W = 35)", u)
	}
	z := zShift(s, 0)
	if p := 0.5 * math.Erfc(z/math.Sqrt2); !near(p, 0.1103, 5e-5) {
		t.Errorf("normal approximation: one-sided p %.4f, want 0.1103 (z %.4f)", p, z)
	}
	// benchmath's exact test, two-sided: twice R's one-sided exact p.
	res, err := Compare(DefaultConfig(), Samples{"x": {"m": hwY}}, Samples{"x": {"m": hwX}})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Comparisons[0]; !near(c.P, 2*0.1272, 1e-4) {
		t.Errorf("exact two-sided p %.4f, want %.4f", c.P, 2*0.1272)
	}
	est, lo, hi := shiftEstimate(s, zTwoSided(0.05))
	if !near(est, 0.305, 1e-6) || !near(lo, -0.15, 1e-6) || !near(hi, 0.76, 1e-6) {
		t.Errorf("shift %.4f [%.4f, %.4f], want 0.305 [-0.15, 0.76]", est, lo, hi)
	}
}

// With one stratum the estimate is the median of all pairwise
// differences, computed here by brute force.
func TestShiftEstimateIsTheMedianOfPairwiseDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		n, m := 3+r.IntN(30), 3+r.IntN(30)
		var x, y, d []float64
		for range n {
			x = append(x, r.NormFloat64()+0.3)
		}
		for range m {
			y = append(y, r.NormFloat64())
		}
		for _, a := range x {
			for _, b := range y {
				d = append(d, a-b)
			}
		}
		sort.Float64s(d)
		est, _, _ := shiftEstimate([]stratum{raw(y, x)}, 1.96)
		if want := median(d); !near(est, want, 1e-7) {
			t.Errorf("trial %d (n %d, m %d): estimate %.12f, median of differences %.12f", trial, n, m, est, want)
		}
	}
}

// The van Elteren statistic, from its textbook form: in each stratum the
// rank sum of the new values (mid-ranks for ties), centred, weighted by
// 1/(N+1), over the square root of the weighted variances.
func TestVanElterenFromRankSums(t *testing.T) {
	strata := []stratum{
		raw([]float64{1, 2, 2, 5, 7}, []float64{2, 3, 8, 9}),
		raw([]float64{10, 11, 14, 20, 21, 30}, []float64{12, 25, 31}),
	}
	var num, den float64
	for _, s := range strata {
		type v struct {
			x   float64
			new bool
		}
		var all []v
		for _, x := range s.base {
			all = append(all, v{x, false})
		}
		for _, x := range s.now {
			all = append(all, v{x, true})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].x < all[j].x })
		N, n, m := float64(len(all)), float64(len(s.now)), float64(len(s.base))
		w, ties := 0.0, 0.0
		for i := 0; i < len(all); {
			j := i
			for j < len(all) && all[j].x == all[i].x {
				j++
			}
			rank := float64(i+1+j) / 2
			for k := i; k < j; k++ {
				if all[k].new {
					w += rank
				}
			}
			t := float64(j - i)
			ties += t*t*t - t
			i = j
		}
		num += (w - n*(N+1)/2) / (N + 1)
		den += n * m / 12 * ((N + 1) - ties/(N*(N-1))) / ((N + 1) * (N + 1))
	}
	want := num / math.Sqrt(den)
	if got := zShift(strata, 0); !near(got, want, 1e-12) {
		t.Errorf("z %.12f, want %.12f from rank sums", got, want)
	}
}

// Stratified by model, the test does not see a change where each model is
// as fast as before but the runs had different shares of the models;
// pooled, it does.
func TestStrataKeepModelSharesApart(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	draw := func(n int, median float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = median * math.Exp(0.2*r.NormFloat64())
		}
		return out
	}
	base := Samples{"launch": {"fast": draw(150, 300), "slow": draw(50, 900)}}
	now := Samples{"launch": {"fast": draw(50, 300), "slow": draw(150, 900)}}
	res, err := Compare(DefaultConfig(), base, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Comparisons {
		if c.Verdict == Regression || c.Verdict == Improvement {
			t.Errorf("%s %s %s: %s (change %+.1f%%, p %.2g)", c.Figure, c.Model, c.Stat, c.Verdict, 100*c.Change, c.P)
		}
	}
	pooled := []stratum{newStratum(append(base["launch"]["fast"], base["launch"]["slow"]...), append(now["launch"]["fast"], now["launch"]["slow"]...))}
	if p := rankP(pooled); p > 1e-6 {
		t.Errorf("pooled over models the shares look like a change only at p %.2g; the example shows nothing", p)
	}
}

// Holm (1979), the example of the Holm–Bonferroni method's Wikipedia
// article: p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05 rejects the first
// and the last; R's p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") gives
// 0.03 0.06 0.06 0.02.
func TestHolm(t *testing.T) {
	got := holm([]float64{0.01, 0.04, 0.03, 0.005})
	for i, want := range []float64{0.03, 0.06, 0.06, 0.02} {
		if !near(got[i], want, 1e-12) {
			t.Errorf("adjusted p %v, want 0.03 0.06 0.06 0.02", got)
			break
		}
	}
}

// Tarone (1990): K = 1 would take 3 comparisons at 0.05, K = 2 three at
// 0.025, K = 3 two at 0.0167: K = 3, and the two that can reach 0.0167.
func TestFamilyLeavesOutWhatCannotBeSignificant(t *testing.T) {
	in, level := family([]float64{1e-5, 0.02, 1e-5, 0.3}, 0.05)
	if want := []bool{true, false, true, false}; !equalBools(in, want) || !near(level, 0.05/3, 1e-15) {
		t.Errorf("family %v at %.4f, want %v at 0.0167", in, level, want)
	}
	if in, _ := family([]float64{0.5, 0.2}, 0.05); in[0] || in[1] {
		t.Errorf("nothing can be significant, yet %v", in)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Order-statistic intervals. The median's 95% intervals for n = 10 and 20
// are the classic table values (X(2), X(9)) with 97.85% and (X(6), X(15))
// with 95.86% (e.g. Conover, Practical Nonparametric Statistics, the
// quantile test's table). The others were computed with exact binomial
// sums (Python's math.comb) under the same equal-tailed rule.
func TestOrderCI(t *testing.T) {
	for _, tc := range []struct {
		n       int
		q, c    float64
		l, u    int
		covered float64
	}{
		{10, 0.5, 0.95, 2, 9, 0.978515625},
		{20, 0.5, 0.95, 6, 15, 0.9586105346679688},
		{100, 0.9, 0.95, 84, 96, 0.955690107191223},
		{100, 0.99, 0.95, 97, 101, 0.9816259635553503},
		{600, 0.99, 0.99, 587, 600, 0.9941463709085798},
		{50, 0.9, 0.9, 41, 49, 0.9416762046029767},
	} {
		l, u := orderCI(tc.n, tc.q, tc.c)
		if l != tc.l || u != tc.u {
			t.Errorf("n %d q %g at %g: (X(%d), X(%d)), want (X(%d), X(%d))", tc.n, tc.q, tc.c, l, u, tc.l, tc.u)
		}
		if got := orderConfidence(tc.n, tc.q, tc.l, tc.u); !near(got, tc.covered, 1e-9) {
			t.Errorf("n %d q %g: confidence %.10f, want %.10f", tc.n, tc.q, got, tc.covered)
		}
	}
}

// Two runs of one build: the tail test's p is at most a with probability
// at most a; a p99 30% higher in runs of 3000 is found.
func TestTailTest(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	draw := func(n int, scale float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = scale * 400 * math.Exp(0.4*r.NormFloat64())
		}
		sort.Float64s(out)
		return out
	}
	low := 0
	const trials = 300
	for range trials {
		if _, _, _, p := tail(draw(200, 1), draw(200, 1), 0.9, 0.99); p <= 0.05 {
			low++
		}
	}
	if low > trials*5/100+10 {
		t.Errorf("same distribution: p90 test p ≤ 0.05 in %d of %d pairs", low, trials)
	}
	ratio, lo, hi, p := tail(draw(3000, 1), draw(3000, 1.3), 0.99, 0.999)
	if p > 1e-4 || lo > 1.3 || hi < 1.3 || !near(ratio, 1.3, 0.15) {
		t.Errorf("p99 ×1.3: ratio %.3f [%.3f, %.3f], p %.2g", ratio, lo, hi, p)
	}
	if mp := minTailP(100, 100, 0.99); mp < 0.5 {
		t.Errorf("p99 of 100 calls: the test could reach p %.2g; it cannot bound the quantile", mp)
	}
}

func TestQuantileStat(t *testing.T) {
	for q, want := range map[float64]Stat{0.9: "p90", 0.99: "p99", 0.999: "p99.9", 0.75: "p75"} {
		if got := QuantileStat(q); got != want {
			t.Errorf("QuantileStat(%g) = %q, want %q", q, got, want)
		}
	}
}
