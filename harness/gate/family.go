package gate

import "sort"

// family chooses the comparisons the gate tests, from the smallest
// p-value each could reach at its sample sizes (Tarone 1990): the smallest
// K with at most K comparisons able to reach alpha/K, and those. The others
// could not be significant whatever their figures and would only make the
// correction stricter; they are "can't tell". The choice depends on the
// sample sizes alone, not on the figures, so Holm's correction over the
// chosen ones keeps the false-alarm rate of the whole gate at alpha.
// It returns the choice and the level alpha/K a comparison must be able to
// reach to be in it.
func family(minP []float64, alpha float64) ([]bool, float64) {
	in := make([]bool, len(minP))
	for k := 1; k <= len(minP); k++ {
		n := 0
		for _, p := range minP {
			if p <= alpha/float64(k) {
				n++
			}
		}
		if n <= k {
			for i, p := range minP {
				in[i] = p <= alpha/float64(k)
			}
			return in, alpha / float64(k)
		}
	}
	return in, alpha
}

// holm returns the Holm–Bonferroni adjusted p-values of ps (Holm 1979):
// sorted ascending, the i-th (from 0) is multiplied by m−i, and each
// adjusted value is at least the one before. A comparison is significant
// at family-wise level alpha when its adjusted p is at most alpha.
func holm(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	out := make([]float64, m)
	run := 0.0
	for r, i := range idx {
		run = max(run, min(1, float64(m-r)*ps[i]))
		out[i] = run
	}
	return out
}
