package gate

import (
	"math"
	"sort"

	"github.com/aclements/go-moremath/mathx"
	"github.com/aclements/go-moremath/stats"
)

// stratum is one device model's figures in both runs, as sorted natural
// logarithms: a shift δ of the logarithms is a change of exp(δ)−1.
type stratum struct {
	base, now []float64
}

// newStratum takes the logarithms of two samples of positive durations
// (values ≤ 0 are counted as 1 µs: a stage cannot take less).
func newStratum(base, now []float64) stratum {
	return stratum{base: sortedLogs(base), now: sortedLogs(now)}
}

func sortedLogs(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Log(max(x, 1e-3))
	}
	sort.Float64s(out)
	return out
}

// uStat is the Mann–Whitney U of now shifted down by delta against base
// (pairs with now−δ above base count 1, ties ½), with the sum of t³−t over
// the groups of tied values for the variance. Both slices are sorted, so
// one merge does it.
func uStat(base, now []float64, delta float64) (u, ties float64) {
	i, j := 0, 0
	for i < len(base) || j < len(now) {
		var v float64
		switch {
		case i == len(base):
			v = now[j] - delta
		case j == len(now):
			v = base[i]
		default:
			v = min(base[i], now[j]-delta)
		}
		if math.IsNaN(v) {
			break
		}
		cb, cn := 0, 0
		for i+cb < len(base) && base[i+cb] == v {
			cb++
		}
		for j+cn < len(now) && now[j+cn]-delta == v {
			cn++
		}
		u += float64(cn) * (float64(i) + 0.5*float64(cb))
		if t := float64(cb + cn); t > 1 {
			ties += t*t*t - t
		}
		i += cb
		j += cn
	}
	return u, ties
}

// zShift is the standardized van Elteren statistic for the hypothesis that
// now is base shifted by delta (in logarithms), in every stratum: each
// stratum's U weighted by 1/(N+1), N its number of values, and the sum's
// normal approximation with the tie correction. With one stratum it is
// the Mann–Whitney test's normal approximation (without continuity
// correction). Positive: now is slower than base·exp(delta).
func zShift(strata []stratum, delta float64) float64 {
	var num, den float64
	for _, s := range strata {
		n, m := float64(len(s.now)), float64(len(s.base))
		if n == 0 || m == 0 {
			continue
		}
		N := n + m
		u, ties := uStat(s.base, s.now, delta)
		w := 1 / (N + 1)
		num += w * (u - n*m/2)
		den += w * w * n * m / 12 * ((N + 1) - ties/(N*(N-1)))
	}
	if den <= 0 {
		return 0
	}
	return num / math.Sqrt(den)
}

// sizes are the strata's numbers of values: base, now.
func sizes(strata []stratum) [][2]int {
	out := make([][2]int, len(strata))
	for i, s := range strata {
		out[i] = [2]int{len(s.base), len(s.now)}
	}
	return out
}

// zMax is the largest |z| the strata's sizes allow: every value of one run
// above every value of the other, in every stratum.
func zMax(strata []stratum) float64 { return zMaxN(sizes(strata)) }

func zMaxN(ns [][2]int) float64 {
	var num, den float64
	for _, s := range ns {
		m, n := float64(s[0]), float64(s[1])
		if n == 0 || m == 0 {
			continue
		}
		N := n + m
		w := 1 / (N + 1)
		num += w * n * m / 2
		den += w * w * n * m * (N + 1) / 12
	}
	if den <= 0 {
		return 0
	}
	return num / math.Sqrt(den)
}

// minRankP is the smallest two-sided p-value the rank test can give with
// these sizes, whatever the values: for one stratum of at most 50 a side
// (where the test's p is exact) 2/C(n+m, n), else the normal
// approximation's at zMax.
func minRankP(strata []stratum) float64 { return minRankPN(sizes(strata)) }

func minRankPN(ns [][2]int) float64 {
	if len(ns) == 1 {
		m, n := ns[0][0], ns[0][1]
		if n == 0 || m == 0 {
			return 1
		}
		if n <= exactLimit && m <= exactLimit {
			return min(1, 2*math.Exp(-mathx.Lchoose(n+m, n)))
		}
	}
	return min(1, 2*stats.StdNormal.CDF(-zMaxN(ns)))
}

// exactLimit is the size up to which the Mann–Whitney test of
// golang.org/x/perf/benchmath gives exact p-values (without ties).
const exactLimit = 50

// shiftBounds is the range of shifts in which z goes from its largest to
// its smallest value.
func shiftBounds(strata []stratum) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range strata {
		if len(s.now) == 0 || len(s.base) == 0 {
			continue
		}
		lo = min(lo, s.now[0]-s.base[len(s.base)-1])
		hi = max(hi, s.now[len(s.now)-1]-s.base[0])
	}
	return lo - 1, hi + 1
}

// firstShift returns the smallest shift δ in [lo, hi] with below(zShift(δ))
// true, z being non-increasing in δ, by bisection: lo if it holds there
// already, +Inf if it does not hold at hi.
func firstShift(strata []stratum, lo, hi float64, below func(z float64) bool) float64 {
	if below(zShift(strata, lo)) {
		return lo
	}
	if !below(zShift(strata, hi)) {
		return math.Inf(1)
	}
	// 1e-8 in logarithms is a change of 1e-6 %: far below any figure's
	// precision.
	for hi-lo > 1e-8 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if below(zShift(strata, mid)) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// shiftEstimate is the Hodges–Lehmann estimate of the shift of the
// logarithms (the point where the rank statistic crosses its expected
// value; with one stratum, the median of all pairwise differences) and the
// interval of shifts the test does not reject at two-sided level 2(1−Φ(zc)),
// by inverting it (Moses' interval, by the normal approximation). A bound
// the sizes cannot give is infinite.
func shiftEstimate(strata []stratum, zc float64) (est, lo, hi float64) {
	a, b := shiftBounds(strata)
	if math.IsInf(a, 0) || math.IsInf(b, 0) || zMax(strata) == 0 {
		return math.NaN(), math.Inf(-1), math.Inf(1)
	}
	zc = math.Abs(zc)
	// z(a) is the largest z, z(b) the smallest: −z(a).
	d1 := firstShift(strata, a, b, func(z float64) bool { return z <= 0 })
	d2 := firstShift(strata, d1, b, func(z float64) bool { return z < 0 })
	est = (d1 + d2) / 2
	lo, hi = math.Inf(-1), math.Inf(1)
	if zShift(strata, a) > zc {
		lo = firstShift(strata, a, d1, func(z float64) bool { return z <= zc })
	}
	if zShift(strata, b) < -zc {
		hi = firstShift(strata, d2, b, func(z float64) bool { return z < -zc })
	}
	return est, lo, hi
}

// rankP is the two-sided p-value of the stratified rank test of no shift.
func rankP(strata []stratum) float64 {
	return 2 * stats.StdNormal.CDF(-math.Abs(zShift(strata, 0)))
}

// zTwoSided is the critical value of a two-sided test at level a.
func zTwoSided(a float64) float64 {
	return stats.StdNormal.InvCDF(1 - a/2)
}
