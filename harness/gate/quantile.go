package gate

import (
	"math"
	"sort"

	"github.com/aclements/go-moremath/stats"
)

// orderCI returns the order statistics (1-based) that bound quantile q of a
// continuous distribution, from a sample of n, with confidence at least c,
// equal-tailed: the number B of values below the quantile is Binomial(n, q),
// X(l) is above it with P(B ≤ l−1) ≤ (1−c)/2, X(u) below it with
// P(B ≥ u) ≤ (1−c)/2. l = 0 means no lower bound (−∞), u = n+1 no upper
// bound (+∞): the sample is too small for that confidence.
func orderCI(n int, q, c float64) (l, u int) {
	if n < 1 {
		return 0, n + 1
	}
	g := (1 - c) / 2
	b := stats.BinomialDist{N: n, P: q}
	// l: the largest l in 1..n with CDF(l−1) ≤ g (CDF rises with l).
	l = sort.Search(n, func(i int) bool { return b.CDF(float64(i)) > g }) // first i with CDF(i) > g
	// so CDF(l−1) ≤ g for l = i; i = 0 means even CDF(0) > g.
	// u: the smallest u in 1..n with 1−CDF(u−1) ≤ g.
	u = 1 + sort.Search(n, func(i int) bool { return 1-b.CDF(float64(i)) <= g })
	return l, u
}

// orderConfidence is the exact confidence of the interval (X(l), X(u)) for
// quantile q of a sample of n: P(l ≤ B < u).
func orderConfidence(n int, q float64, l, u int) float64 {
	b := stats.BinomialDist{N: n, P: q}
	return b.CDF(float64(u-1)) - b.CDF(float64(l-1))
}

// at returns X(k) of a sorted sample, ±Inf outside it.
func at(sorted []float64, k int) float64 {
	switch {
	case k < 1:
		return math.Inf(-1)
	case k > len(sorted):
		return math.Inf(1)
	}
	return sorted[k-1]
}

// sampleQuantile is the nearest-rank quantile: the smallest value with at
// least q of the sample at or below it (as the run's histograms report).
func sampleQuantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	k := int(math.Ceil(q*float64(len(sorted)) - 1e-9))
	return sorted[min(max(k, 1), len(sorted))-1]
}

// quantileCI is quantile q of a sorted sample with its order-statistic
// interval at confidence c.
func quantileCI(sorted []float64, q, c float64) (lo, hi float64) {
	l, u := orderCI(len(sorted), q, c)
	return at(sorted, l), at(sorted, u)
}

// tail compares quantile q of two sorted samples (ms): the ratio of the
// quantiles, now over base, with the interval that holds with confidence
// conf — each run's quantile in its order-statistic interval at √conf,
// the runs being independent — and the p-value of the test that goes
// with it: the smallest a at which the two runs' intervals at √(1−a) do
// not overlap. Under no change both intervals hold the one true quantile
// with probability 1−a, so they overlap: the test's false-alarm rate is at
// most a.
func tail(base, now []float64, q, conf float64) (ratio, lo, hi, p float64) {
	ratio = sampleQuantile(now, q) / sampleQuantile(base, q)
	c := math.Sqrt(conf)
	bl, bh := quantileCI(base, q, c)
	nl, nh := quantileCI(now, q, c)
	lo, hi = nl/bh, nh/bl
	if math.IsInf(nl, -1) || math.IsInf(bh, 1) || math.IsNaN(lo) {
		lo = 0
	}
	if math.IsInf(bl, -1) || bl <= 0 || math.IsNaN(hi) {
		hi = math.Inf(1)
	}
	apart := func(a float64) bool {
		c := math.Sqrt(1 - a)
		bl, bh := quantileCI(base, q, c)
		nl, nh := quantileCI(now, q, c)
		return nl > bh || nh < bl
	}
	if !apart(1) {
		return ratio, lo, hi, 1
	}
	// Bisect on log a: apart holds from some a up to 1.
	la, lb := math.Log(1e-300), 0.0
	if apart(math.Exp(la)) {
		return ratio, lo, hi, math.Exp(la)
	}
	for lb-la > 1e-6 {
		mid := (la + lb) / 2
		if apart(math.Exp(mid)) {
			lb = mid
		} else {
			la = mid
		}
	}
	return ratio, lo, hi, math.Exp(lb)
}

// minTailP is the smallest p-value tail can give for quantile q with
// samples of nb and nn, whatever the values: the smallest a at which, in
// one direction, the interval of one run has its lower bound and the
// other's its upper bound.
func minTailP(nb, nn int, q float64) float64 {
	if nb < 1 || nn < 1 {
		return 1
	}
	// The lower bound of a sample of n exists when P(B ≤ 0) = (1−q)^n ≤ g,
	// the upper when P(B ≥ n) = q^n ≤ g; g = (1−√(1−a))/2.
	need := func(lowerOf, upperOf int) float64 {
		g := max(math.Pow(1-q, float64(lowerOf)), math.Pow(q, float64(upperOf)))
		if 2*g >= 1 {
			return 1
		}
		c := 1 - 2*g
		return 1 - c*c
	}
	return min(need(nn, nb), need(nb, nn))
}
