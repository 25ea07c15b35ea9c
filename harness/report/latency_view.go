package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// The latency sections of report.html: per segment and device model, the
// percentiles against the budgets with their charts; the accuracy of the
// harness's clock correction; the open-loop (benchmark) figures.

// clockErrorTarget is the accuracy the harness's timing aims for on
// simulated devices: the p99 of |harness figure − ground truth| per segment.
const clockErrorTarget = 2 * time.Millisecond

// maxAbsMs bounds a duration read from the results (about 11.6 days): a
// figure beyond it is absurd and is clamped, so the charts and the
// nanosecond conversion stay finite.
const maxAbsMs = 1e9

// unknownModel names the model of a call that gives none.
const unknownModel = "(model unknown)"

// palette colours the device models, in the order they sort; green and red
// come last as they also mean pass and fail.
var palette = []string{"#4e79a7", "#f28e2b", "#b07aa1", "#76b7b2", "#9c755f", "#edc948", "#ff9da7", "#17becf", "#59a14f", "#e15759"}

type modelInfo struct {
	Name  string
	Class string // colour class, c0…c9
	Calls int
	idx   int
}

func (m modelInfo) colour() string { return palette[m.idx%len(palette)] }

type statCell struct {
	Text string
	Over bool
}

type statRow struct {
	Model, Class string
	Start        string // cold or warm, for launch
	N, Missing   int
	P50, P90     statCell
	P99, P999    statCell
	Max          statCell
	BudgetP90    string
	BudgetMax    string
	OverMax      int
	Gate         string // pass, fail or "" (no budget or no data)
}

type segView struct {
	Name, Doc string
	Rows      []statRow
	Hist, CDF template.HTML
}

type clockRow struct {
	Segment, Model, Class string
	N                     int
	Bias, P50, P99, Max   string
	Over, MaxOver         bool
}

// benchRow is one figure and model of the open-loop calls.
type benchRow struct {
	Figure, Model            string
	N                        int
	P50, P90, P99, P999, Max string
	Corrected                bool
}

func benchRows(r *Results) ([]benchRow, int, string) {
	f := BenchFromResults(r)
	if f.Calls == 0 {
		return nil, 0, ""
	}
	var rows []benchRow
	num := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	for _, k := range f.rows() {
		s := f.Figures[k.Figure][k.Model]
		rows = append(rows, benchRow{Figure: k.Figure, Model: k.Model, N: s.N, P50: num(s.P50), P90: num(s.P90), P99: num(s.P99),
			P999: num(s.P999), Max: num(s.Max), Corrected: k.Figure == latency.TotalIntended || k.Figure == latency.Queue})
	}
	over := ""
	if s, ok := f.Overhead[latency.Observe]; ok {
		over = fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, max %.2f ms", s.P50, s.P99, s.Max)
	}
	return rows, f.Calls, over
}

// callModels finds each call's device model (from the call, else from its
// device's record) and lists the models in name order.
func callModels(r *Results) ([]modelInfo, []int) {
	devModel := map[string]string{}
	for _, d := range r.Devices {
		if d.Model == "" {
			continue
		}
		for _, k := range []string{d.Serial, d.Name} {
			if k != "" {
				devModel[k] = d.Model
			}
		}
	}
	names := make([]string, len(r.Calls))
	count := map[string]int{}
	for i, c := range r.Calls {
		m := strings.TrimSpace(c.Call.Model)
		if m == "" {
			m = devModel[c.Device]
		}
		if m == "" {
			m = devModel[c.Call.Device]
		}
		if m == "" {
			m = unknownModel
		}
		names[i] = m
		count[m]++
	}
	sorted := make([]string, 0, len(count))
	for m := range count {
		sorted = append(sorted, m)
	}
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if (a == unknownModel) != (b == unknownModel) {
			return b == unknownModel
		}
		return a < b
	})
	models := make([]modelInfo, len(sorted))
	index := map[string]int{}
	for i, m := range sorted {
		models[i] = modelInfo{Name: m, Class: "c" + strconv.Itoa(i%len(palette)), Calls: count[m], idx: i}
		index[m] = i
	}
	callModel := make([]int, len(r.Calls))
	for i, m := range names {
		callModel[i] = index[m]
	}
	return models, callModel
}

// budgetKeys are the budget keys of a segment.
func budgetKeys(seg latency.Segment) []string {
	if seg.Name == "launch" {
		return []string{"launch-cold", "launch-warm"}
	}
	return []string{seg.Name}
}

func buildSegment(seg latency.Segment, calls []CallResult, models []modelInfo, callModel []int, budgets map[string]latency.SegmentBudget) segView {
	v := segView{Name: seg.Name, Doc: seg.Doc}
	keys := budgetKeys(seg)
	type group struct {
		ds      []time.Duration
		missing int
	}
	groups := make([]map[string]*group, len(models))
	perModel := make([][]time.Duration, len(models))
	keyUsed := map[string]bool{}
	for i, c := range calls {
		mi := callModel[i]
		key := c.Call.Key(seg)
		if groups[mi] == nil {
			groups[mi] = map[string]*group{}
		}
		g := groups[mi][key]
		if g == nil {
			g = &group{}
			groups[mi][key] = g
		}
		keyUsed[key] = true
		d, ok := msDuration(c.Durations, seg.Name)
		if !ok {
			g.missing++
			continue
		}
		g.ds = append(g.ds, d)
		perModel[mi] = append(perModel[mi], d)
	}
	for mi, m := range models {
		for _, key := range keys {
			g := groups[mi][key]
			if g == nil {
				continue
			}
			v.Rows = append(v.Rows, statRowFor(m, seg, key, g.ds, g.missing, budgets))
		}
	}

	var series []chartSeries
	for mi, m := range models {
		ds := perModel[mi]
		if len(ds) == 0 {
			continue
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		series = append(series, chartSeries{Name: m.Name, Colour: m.colour(), Sorted: ds, Hist: latency.Histogram(ds)})
	}
	if len(series) == 0 {
		return v
	}
	var lines []vline
	for _, key := range keys {
		b, ok := budgets[key]
		if !ok || b.Max <= 0 || !keyUsed[key] {
			continue
		}
		label := "budget max " + fmtSig(durMs(b.Max)) + " ms"
		if seg.Name == "launch" {
			label = strings.TrimPrefix(key, "launch-") + " max " + fmtSig(durMs(b.Max)) + " ms"
		}
		lines = append(lines, vline{Label: label, Ms: durMs(b.Max)})
	}
	lo, hi := chartDomain(series, lines)
	v.Hist = template.HTML(histogramSVG(seg.Name, series, lines, lo, hi))
	v.CDF = template.HTML(cdfSVG(seg.Name, series, lines, lo, hi))
	return v
}

func statRowFor(m modelInfo, seg latency.Segment, key string, ds []time.Duration, missing int, budgets map[string]latency.SegmentBudget) statRow {
	row := statRow{Model: m.Name, Class: m.Class, N: len(ds), Missing: missing, BudgetP90: "—", BudgetMax: "—"}
	if seg.Name == "launch" {
		row.Start = strings.TrimPrefix(key, "launch-")
	}
	b, hasB := budgets[key]
	if hasB && b.P90 > 0 {
		row.BudgetP90 = fmtDurMs(b.P90)
	}
	if hasB && b.Max > 0 {
		row.BudgetMax = fmtDurMs(b.Max)
	}
	overMax := func(d time.Duration) bool { return hasB && b.Max > 0 && d > b.Max }
	if len(ds) == 0 {
		dash := statCell{Text: "—"}
		row.P50, row.P90, row.P99, row.P999, row.Max = dash, dash, dash, dash, dash
		return row
	}
	st := latency.Summarize(ds)
	row.P50 = statCell{fmtDurMs(st.P50), overMax(st.P50)}
	row.P90 = statCell{fmtDurMs(st.P90), overMax(st.P90) || (hasB && b.P90 > 0 && st.P90 > b.P90)}
	row.P99 = statCell{fmtDurMs(st.P99), overMax(st.P99)}
	row.P999 = statCell{fmtDurMs(st.P999), overMax(st.P999)}
	row.Max = statCell{fmtDurMs(st.Max), overMax(st.Max)}
	for _, d := range ds {
		if overMax(d) {
			row.OverMax++
		}
	}
	if hasB && b.P90 > 0 {
		row.Gate = "pass"
		if st.P90 > b.P90 {
			row.Gate = "fail"
		}
	}
	return row
}

func clockRows(calls []CallResult, models []modelInfo, callModel []int) []clockRow {
	var rows []clockRow
	for _, seg := range latency.Segments {
		abs := make([][]time.Duration, len(models))
		sum := make([]float64, len(models))
		for i, c := range calls {
			d, ok := msDuration(c.TruthErrors, seg.Name)
			if !ok {
				continue
			}
			mi := callModel[i]
			sum[mi] += durMs(d)
			abs[mi] = append(abs[mi], d.Abs())
		}
		for mi, m := range models {
			if len(abs[mi]) == 0 {
				continue
			}
			st := latency.Summarize(abs[mi])
			rows = append(rows, clockRow{
				Segment: seg.Name, Model: m.Name, Class: m.Class, N: st.N,
				Bias: fmtFloat(sum[mi]/float64(st.N), 2),
				P50:  fmtMs2(st.P50), P99: fmtMs2(st.P99), Max: fmtMs2(st.Max),
				Over: st.P99 > clockErrorTarget, MaxOver: st.Max > clockErrorTarget,
			})
		}
	}
	return rows
}

// msDuration reads a figure in ms from m; a missing or non-finite one is
// absent.
func msDuration(m map[string]float64, key string) (time.Duration, bool) {
	v, ok := m[key]
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	v = math.Max(-maxAbsMs, math.Min(maxAbsMs, v))
	return time.Duration(math.Round(v * float64(time.Millisecond))), true
}
