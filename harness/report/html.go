package report

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// clockErrorTarget is the accuracy the harness's timing aims for on
// simulated devices: the p99 of |harness figure − ground truth| per segment.
const clockErrorTarget = 2 * time.Millisecond

// cdfMaxPoints bounds the points of one CDF curve; larger samples are drawn
// from their quantiles.
const cdfMaxPoints = 200

// maxAbsMs bounds a duration read from the results (about 11.6 days): a
// figure beyond it is absurd and is clamped, so the charts and the
// nanosecond conversion stay finite.
const maxAbsMs = 1e9

// unknownModel names the model of a call that gives none.
const unknownModel = "(model unknown)"

// palette colours the device models, in the order they sort; green and red
// come last as they also mean pass and fail.
var palette = []string{"#4e79a7", "#f28e2b", "#b07aa1", "#76b7b2", "#9c755f", "#edc948", "#ff9da7", "#17becf", "#59a14f", "#e15759"}

// WriteHTML writes report.html for a run: a single page, readable offline,
// with the verdict, the devices, latency statistics, histograms and CDFs per
// segment and device model against the budgets, the accuracy of the
// harness's timing on simulated devices, WMPF restarts and every spec with
// its failure and evidence. A run without an end record is summarised from
// the specs recorded so far and marked as not finished.
func WriteHTML(w io.Writer, r *Results) error {
	return writeHTML(w, r, time.Time{})
}

// writeHTML is WriteHTML with the time of the last record of an unfinished
// run (zero: estimated from the calls).
func writeHTML(w io.Writer, r *Results, lastRecord time.Time) error {
	if r == nil {
		r = &Results{}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, buildPage(r, lastRecord)); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// page is what the template shows.
type page struct {
	Title        string
	RunID        string
	FarmFile     string
	Started      string
	Finished     string
	Elapsed      string
	Procs        string
	Host         string
	GoVersion    string
	Labels       string
	Verdict      string
	VerdictClass string
	Passed       int
	Failed       int
	Lost         int
	Skipped      int
	SpecCount    int
	Unfinished   bool
	LastRecord   string
	Damaged      int

	Devices []deviceRow

	CallCount int
	Models    []modelInfo
	Segments  []segView
	// The latency gate: p90 against the budget p90, per segment and model.
	GateRows     int
	GateFailures []string

	Clock     []clockRow
	ClockNote string

	Restarts       []restartRow
	RestartSummary string

	Incidents []incidentRow

	// Open-loop (release benchmark) figures, when the run placed such calls.
	Bench         []benchRow
	BenchCalls    int
	BenchOverhead string

	Specs []specRow

	RunDirHint string
}

type modelInfo struct {
	Name  string
	Class string // colour class, c0…c9
	Calls int
	idx   int
}

func (m modelInfo) colour() string { return palette[m.idx%len(palette)] }

type deviceRow struct {
	Name, Serial, Model, SN string
	Simulated               bool
	Profile                 string
	Defects                 []string
	Status, StatusClass     string
	Reason                  string
	OffsetSet, OffsetEst    string
	OffsetDelta             string
	Drift                   string
}

type cell struct {
	Text string
	Over bool
}

type statRow struct {
	Model, Class string
	Start        string // cold or warm, for launch
	N, Missing   int
	P50, P90     cell
	P99, P999    cell
	Max          cell
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

type restartRow struct {
	Spec, Device, Model, Kill string
	Restarted                 bool
	RestartMs                 string
	Push, PushClass, PushMs   string
	Detail                    string
}

type specRow struct {
	State, StateClass string
	Name              string
	Labels            []string
	Device, Model     string
	Duration          string
	Attempts          int
	Detail            bool
	Failure           string
	Location          string
	Evidence          []evidenceLink
}

type evidenceLink struct {
	Href string // relative URL; empty when the path cannot be linked
	Text string
}

func buildPage(r *Results, lastRecord time.Time) *page {
	p := &page{RunID: "(unknown: no run record)", FarmFile: "—", Started: "—", Finished: "—", Procs: "—", Host: "—", RunDirHint: "<run dir>", Damaged: r.Damaged}
	var budgets map[string]latency.SegmentBudget
	if r.Run != nil {
		if r.Run.ID != "" {
			p.RunID = r.Run.ID
			p.RunDirHint = "reports/" + r.Run.ID
		}
		p.FarmFile = orDash(r.Run.FarmFile)
		p.Started = fmtTime(r.Run.Started)
		if r.Run.Procs > 0 {
			p.Procs = strconv.Itoa(r.Run.Procs)
		}
		p.Host = orDash(r.Run.Host)
		p.GoVersion = r.Run.GoVersion
		p.Labels = r.Run.Labels
		budgets = r.Run.Budgets
	}

	end := r.End
	if end == nil {
		s := r.Summarize(SummaryOptions{})
		end = &s
		p.Unfinished = true
		p.Finished = "— (did not finish)"
		if lastRecord.IsZero() {
			lastRecord = estimateLastRecord(r)
		}
		if lastRecord.IsZero() {
			p.LastRecord = "the last record written"
		} else {
			p.LastRecord = fmtTime(lastRecord)
		}
	} else {
		p.Finished = fmtTime(end.Finished)
		if r.Run != nil && !r.Run.Started.IsZero() && !end.Finished.IsZero() && !end.Finished.Before(r.Run.Started) {
			p.Elapsed = end.Finished.Sub(r.Run.Started).Round(time.Second).String()
		}
	}
	p.Verdict = end.Verdict
	if p.Verdict == "" {
		p.Verdict = "NO VERDICT"
	}
	p.VerdictClass = verdictClass(p.Verdict)
	p.Passed, p.Failed, p.Lost = end.Passed, end.Failed, end.Lost
	for _, s := range r.Specs {
		if s.State == StateSkipped {
			p.Skipped++
		}
	}
	p.SpecCount = len(r.Specs)
	p.Title = "wmpf-hil " + p.RunID + " — " + p.Verdict
	if p.Unfinished {
		p.Title += " (did not finish)"
	}

	p.Devices = deviceRows(r.Devices)

	models, callModel := callModels(r)
	p.Models = models
	p.CallCount = len(r.Calls)
	for _, seg := range latency.Segments {
		v := buildSegment(seg, r.Calls, models, callModel, budgets)
		for _, row := range v.Rows {
			if row.Gate == "" {
				continue
			}
			p.GateRows++
			if row.Gate == "fail" {
				what := seg.Name
				if row.Start != "" {
					what += " (" + row.Start + ")"
				}
				p.GateFailures = append(p.GateFailures, fmt.Sprintf("%s on %s: p90 %s ms over %s ms", what, row.Model, row.P90.Text, row.BudgetP90))
			}
		}
		p.Segments = append(p.Segments, v)
	}
	p.Clock = clockRows(r.Calls, models, callModel)
	p.Restarts, p.RestartSummary = restartRows(r.Restarts)
	p.Incidents = incidentRows(r.Incidents)
	p.Bench, p.BenchCalls, p.BenchOverhead = benchRows(r)
	p.Specs = specRows(r.Specs)
	return p
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

// incidentRow is an incident of the run's infrastructure, for the page.
type incidentRow struct {
	What, Server, Exit, Took, Devices string
	Bad                               bool
}

func incidentRows(in []IncidentInfo) []incidentRow {
	var rows []incidentRow
	for _, i := range in {
		r := incidentRow{What: i.What, Server: i.Server + " (" + i.Addr + ")", Exit: i.Exit, Bad: i.What != IncidentADBServerRestarted}
		if i.TookMs > 0 {
			r.Took = fmt.Sprintf("%.0f ms", i.TookMs)
		}
		var parts []string
		if len(i.Reconnected) > 0 {
			parts = append(parts, fmt.Sprintf("%d reconnected", len(i.Reconnected)))
		}
		names := make([]string, 0, len(i.NotBack))
		for n := range i.NotBack {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			parts = append(parts, n+" not back: "+i.NotBack[n])
		}
		if i.Detail != "" {
			parts = append(parts, i.Detail)
		}
		r.Devices = strings.Join(parts, "; ")
		rows = append(rows, r)
	}
	return rows
}

// estimateLastRecord is the latest time the results show when the records'
// own times are not at hand: the run's start or a call's last stamp.
func estimateLastRecord(r *Results) time.Time {
	var t time.Time
	if r.Run != nil {
		t = r.Run.Started
	}
	for _, c := range r.Calls {
		for _, s := range c.Call.Stamps {
			if s.After(t) {
				t = s
			}
		}
	}
	return t
}

func verdictClass(v string) string {
	switch {
	case v == "PASS":
		return "pass"
	case strings.HasPrefix(v, "PASS"):
		return "warn"
	case strings.HasPrefix(v, "FAIL"):
		return "fail"
	default:
		return "none"
	}
}

// deviceRows lists the devices, one row per device: a later record of the
// same device (lost mid-run) updates the fields it sets.
func deviceRows(devs []DeviceInfo) []deviceRow {
	var merged []DeviceInfo
	at := map[string]int{}
	for _, d := range devs {
		key := d.Name + "\x00" + d.Serial
		i, ok := at[key]
		if !ok {
			at[key] = len(merged)
			merged = append(merged, d)
			continue
		}
		merged[i] = mergeDevice(merged[i], d)
	}
	rows := make([]deviceRow, 0, len(merged))
	for _, d := range merged {
		row := deviceRow{
			Name: orDash(d.Name), Serial: orDash(d.Serial), Model: orDash(d.Model), SN: orDash(d.SN),
			Simulated: d.Simulated, Profile: orDash(d.Profile), Defects: d.Defects,
			Status: orDash(d.Status), StatusClass: deviceStatusClass(d.Status), Reason: d.Reason,
			OffsetSet: "—", OffsetEst: "—", OffsetDelta: "—", Drift: "—",
		}
		// Zero is what a record without the figure reads as.
		if d.Simulated || d.ClockOffsetSet != 0 {
			row.OffsetSet = fmtDurMs(d.ClockOffsetSet)
		}
		if d.ClockOffsetEstimated != 0 {
			row.OffsetEst = fmtDurMs(d.ClockOffsetEstimated)
			if row.OffsetSet != "—" {
				row.OffsetDelta = fmtDurMs(d.ClockOffsetEstimated - d.ClockOffsetSet)
			}
		}
		if d.ClockDriftPPM != 0 {
			row.Drift = fmtFloat(d.ClockDriftPPM, 1)
		}
		rows = append(rows, row)
	}
	return rows
}

// mergeDevice updates a device's record with the fields a later one sets.
func mergeDevice(old, d DeviceInfo) DeviceInfo {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&old.Model, d.Model)
	set(&old.SN, d.SN)
	set(&old.Profile, d.Profile)
	set(&old.Status, d.Status)
	if d.Status != "" {
		old.Reason = d.Reason
	}
	old.Simulated = old.Simulated || d.Simulated
	if len(d.Defects) > 0 {
		old.Defects = d.Defects
	}
	if d.ClockOffsetEstimated != 0 {
		old.ClockOffsetEstimated = d.ClockOffsetEstimated
	}
	if d.ClockOffsetSet != 0 {
		old.ClockOffsetSet = d.ClockOffsetSet
	}
	if d.ClockDriftPPM != 0 {
		old.ClockDriftPPM = d.ClockDriftPPM
	}
	return old
}

func deviceStatusClass(s string) string {
	switch s {
	case "healthy":
		return "st-passed"
	case "excluded":
		return "st-skipped"
	case "lost":
		return "st-failed"
	default:
		return "st-other"
	}
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
		dash := cell{Text: "—"}
		row.P50, row.P90, row.P99, row.P999, row.Max = dash, dash, dash, dash, dash
		return row
	}
	st := latency.Summarize(ds)
	row.P50 = cell{fmtDurMs(st.P50), overMax(st.P50)}
	row.P90 = cell{fmtDurMs(st.P90), overMax(st.P90) || (hasB && b.P90 > 0 && st.P90 > b.P90)}
	row.P99 = cell{fmtDurMs(st.P99), overMax(st.P99)}
	row.P999 = cell{fmtDurMs(st.P999), overMax(st.P999)}
	row.Max = cell{fmtDurMs(st.Max), overMax(st.Max)}
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

func restartRows(rs []RestartInfo) ([]restartRow, string) {
	var rows []restartRow
	restarted, delivered, lost := 0, 0, 0
	for _, x := range rs {
		row := restartRow{Spec: x.Spec, Device: orDash(x.Device), Model: orDash(x.Model), Kill: orDash(x.Kill), Restarted: x.Restarted, RestartMs: "—", Push: "—", PushClass: "muted", PushMs: "—", Detail: x.Detail}
		if x.Restarted {
			restarted++
			row.RestartMs = fmtFloat(x.RestartMs, 1)
		}
		switch x.PushVerdict {
		case "":
		case "delivered":
			delivered++
			row.Push, row.PushClass = x.PushVerdict, "ok"
		case "lost":
			lost++
			row.Push, row.PushClass = x.PushVerdict, "bad"
		default:
			row.Push, row.PushClass = x.PushVerdict, "warn"
		}
		if x.PushVerdict != "" && x.PushMs != 0 {
			row.PushMs = fmtFloat(x.PushMs, 1)
		}
		rows = append(rows, row)
	}
	if len(rs) == 0 {
		return nil, ""
	}
	return rows, fmt.Sprintf("%d kills, %d restarted; pushes sent while WMPF was down: %d delivered, %d lost.", len(rs), restarted, delivered, lost)
}

// specRank orders the specs table: failures first, then lost devices,
// skipped and passed specs; the run's order is kept within a rank.
func specRank(state string) int {
	switch state {
	case StatePassed:
		return 3
	case StateSkipped:
		return 2
	case StateDeviceLost:
		return 1
	default:
		return 0
	}
}

func specStateClass(state string) string {
	switch state {
	case StatePassed, StateFailed, StateDeviceLost, StateSkipped, StateInterrupted, StatePanicked:
		return "st-" + state
	default:
		return "st-other"
	}
}

func specRows(specs []SpecResult) []specRow {
	idx := make([]int, len(specs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return specRank(specs[idx[a]].State) < specRank(specs[idx[b]].State) })
	rows := make([]specRow, 0, len(specs))
	for _, i := range idx {
		s := specs[i]
		row := specRow{
			State: orDash(s.State), StateClass: specStateClass(s.State), Name: orDash(s.Name), Labels: s.Labels,
			Device: s.Device, Model: s.Model, Duration: fmtSpecDuration(s.Duration()), Attempts: max(1, len(s.Attempts)),
		}
		if s.State != StatePassed {
			row.Failure = s.Failure
			row.Location = s.Location
			for _, e := range s.Evidence {
				row.Evidence = append(row.Evidence, evidenceLink{Href: evidenceHref(e), Text: e})
			}
			row.Detail = row.Failure != "" || row.Location != "" || len(row.Evidence) > 0
		}
		rows = append(rows, row)
	}
	return rows
}

// evidenceHref links an evidence path relative to the run directory, so the
// page works wherever the directory is copied. Absolute paths are not
// linked.
func evidenceHref(p string) string {
	p = strings.ReplaceAll(strings.TrimSpace(p), `\`, "/")
	if p == "" || strings.HasPrefix(p, "/") || (len(p) >= 2 && p[1] == ':' && isLetter(p[0])) {
		return ""
	}
	segs := strings.Split(path.Clean(p), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	href := strings.Join(segs, "/")
	if strings.Contains(segs[0], ":") {
		// Not a scheme: a file name with a colon.
		href = "./" + href
	}
	return href
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

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

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtDurMs(d time.Duration) string { return strconv.FormatFloat(durMs(d), 'f', 1, 64) }

func fmtMs2(d time.Duration) string { return strconv.FormatFloat(durMs(d), 'f', 2, 64) }

func fmtFloat(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// fmtSig formats ms with about three significant digits.
func fmtSig(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func fmtSpecDuration(d time.Duration) string {
	if d < time.Second && d > -time.Second {
		return strconv.FormatFloat(durMs(d), 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if _, off := t.Zone(); off == 0 {
		return t.Format("2006-01-02 15:04:05") + " UTC"
	}
	return t.Format("2006-01-02 15:04:05 -07:00")
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// Charts.

type chartSeries struct {
	Name, Colour string
	Sorted       []time.Duration
	Hist         []latency.Bucket
}

type vline struct {
	Label string
	Ms    float64
}

const (
	chartW     = 560.0
	chartPadL  = 52.0
	chartPadR  = 34.0
	chartPlotH = 170.0
	chartPadB  = 40.0
	budgetRed  = "#cf222e"
	sqrt10     = 3.1622776601683795
	// bucket0Lo is where the first histogram bucket, [0, 100 µs), is drawn
	// from on the log axis: one bucket width below 100 µs.
	bucket0Lo = 0.1 / 1.0905077326652577
)

func bucketLoMs(b latency.Bucket) float64 {
	if b.Lo <= 0 {
		return bucket0Lo
	}
	return durMs(b.Lo)
}

func bucketRange(b latency.Bucket) string {
	if b.Lo <= 0 {
		return "under 0.1 ms"
	}
	return fmtSig(durMs(b.Lo)) + "–" + fmtSig(durMs(b.Hi)) + " ms"
}

// chartDomain is the x range, in ms, shared by a segment's charts: every
// bucket and budget line, widened to round figures and at least a decade.
func chartDomain(ss []chartSeries, lines []vline) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, s := range ss {
		if len(s.Hist) == 0 {
			continue
		}
		lo = math.Min(lo, bucketLoMs(s.Hist[0]))
		hi = math.Max(hi, durMs(s.Hist[len(s.Hist)-1].Hi))
	}
	for _, l := range lines {
		if l.Ms > 0 && !math.IsInf(l.Ms, 0) {
			lo = math.Min(lo, l.Ms)
			hi = math.Max(hi, l.Ms)
		}
	}
	if math.IsInf(lo, 1) || !(hi > 0) || !(lo > 0) {
		return 1, 10
	}
	lo, hi = niceFloor(lo), niceCeil(hi)
	if hi/lo < 10 {
		g := math.Sqrt(lo * hi)
		lo, hi = niceFloor(g/sqrt10), niceCeil(g*sqrt10)
	}
	return lo, hi
}

// niceFloor is the largest 1, 2 or 5 × 10^k not above v.
func niceFloor(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*e <= v*(1+1e-9) {
			return m * e
		}
	}
	return e / 2
}

// niceCeil is the smallest 1, 2 or 5 × 10^k not below v.
func niceCeil(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v*(1-1e-9) {
			return m * e
		}
	}
	return 10 * e
}

// niceLinCeil rounds a percentage up for a linear axis.
func niceLinCeil(v float64) float64 {
	if !(v > 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v*(1-1e-9) {
			return math.Min(m*e, 100)
		}
	}
	return 100
}

// logTicks are the ms ticks of a log axis.
func logTicks(lo, hi float64) []float64 {
	decades := math.Log10(hi / lo)
	mults := []float64{1, 2, 5}
	if decades > 3.5 {
		mults = []float64{1}
	}
	step := 1
	if decades > 8 {
		step = int(math.Ceil(decades / 8))
	}
	var out []float64
	e0 := int(math.Floor(math.Log10(lo)))
	for e := e0; e <= int(math.Ceil(math.Log10(hi))); e++ {
		if (e-e0)%step != 0 {
			continue
		}
		for _, m := range mults {
			v := m * math.Pow(10, float64(e))
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

func fmtTick(v float64) string {
	prec := 0
	if e := int(math.Floor(math.Log10(v) + 1e-9)); e < 0 {
		prec = -e
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func fmtPct(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }

type logScale struct{ lo, hi, x0, x1 float64 }

func (s logScale) x(v float64) float64 {
	if !(v > s.lo) {
		v = s.lo
	}
	if v > s.hi {
		v = s.hi
	}
	x := s.x0 + (math.Log10(v)-math.Log10(s.lo))/(math.Log10(s.hi)-math.Log10(s.lo))*(s.x1-s.x0)
	if math.IsNaN(x) {
		return s.x0
	}
	return x
}

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// esc escapes text for SVG (XML) and HTML alike.
func esc(s string) string { return html.EscapeString(s) }

// legendMaxRunes shortens long model names in a legend (the full name is
// its tooltip).
const legendMaxRunes = 60

type legendItem struct {
	label, colour string
	dashed        bool
}

// chartFrame lays out a chart: the legend on top (wrapped to the width),
// room for the budget labels, the plot, the x axis below.
type chartFrame struct {
	items       []legendItem
	pos         [][2]float64
	height      float64
	top, bottom float64
	left, right float64
	sc          logScale
}

func newFrame(ss []chartSeries, lines []vline, lo, hi float64) *chartFrame {
	f := &chartFrame{left: chartPadL, right: chartW - chartPadR}
	for _, s := range ss {
		f.items = append(f.items, legendItem{label: s.Name + " (n=" + strconv.Itoa(len(s.Sorted)) + ")", colour: s.Colour})
	}
	if len(lines) > 0 {
		f.items = append(f.items, legendItem{label: "budget max", colour: budgetRed, dashed: true})
	}
	x, y := f.left, 8.0
	for _, it := range f.items {
		w := 20 + 6.2*float64(min(len([]rune(it.label)), legendMaxRunes)) + 16
		if x > f.left && x+w > chartW-4 {
			x, y = f.left, y+16
		}
		f.pos = append(f.pos, [2]float64{x, y})
		x += w
	}
	f.top = y + 16 + 24
	f.bottom = f.top + chartPlotH
	f.height = f.bottom + chartPadB
	f.sc = logScale{lo: lo, hi: hi, x0: f.left, x1: f.right}
	return f
}

func (f *chartFrame) open(b *svgBuf, label string) {
	b.f(`<svg class="chart" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s" font-family="sans-serif" font-size="11">`, chartW, f.height, chartW, f.height, esc(label))
	b.f(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`, chartW, f.height)
}

func (f *chartFrame) legend(b *svgBuf) {
	for i, it := range f.items {
		x, y := f.pos[i][0], f.pos[i][1]
		if it.dashed {
			b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`, x, y+6, x+16, y+6, it.colour)
		} else {
			b.f(`<rect x="%.1f" y="%.1f" width="14" height="11" fill="%s"/>`, x, y, it.colour)
		}
		label := it.label
		if r := []rune(label); len(r) > legendMaxRunes {
			label = string(r[:legendMaxRunes-1]) + "…"
		}
		b.f(`<text x="%.1f" y="%.1f">%s<title>%s</title></text>`, x+20, y+10, esc(label), esc(it.label))
	}
}

// xAxis draws the ms ticks and grid, the frame and the axis title.
func (f *chartFrame) xAxis(b *svgBuf) {
	for _, t := range logTicks(f.sc.lo, f.sc.hi) {
		x := f.sc.x(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, x, f.top, x, f.bottom)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#57606a"/>`, x, f.bottom, x, f.bottom+4)
		b.f(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, f.bottom+15, fmtTick(t))
	}
	b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#8c959f"/>`, f.left, f.top, f.right-f.left, f.bottom-f.top)
	b.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#57606a">ms (log scale)</text>`, (f.left+f.right)/2, f.bottom+32)
}

func (f *chartFrame) yTitle(b *svgBuf, title string) {
	cy := (f.top + f.bottom) / 2
	b.f(`<text x="12" y="%.1f" text-anchor="middle" fill="#57606a" transform="rotate(-90 12 %.1f)">%s</text>`, cy, cy, esc(title))
}

// budgetLines draws the budget maxima as dashed verticals, labels staggered.
func (f *chartFrame) budgetLines(b *svgBuf, lines []vline) {
	for i, l := range lines {
		x := f.sc.x(l.Ms)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"><title>%s</title></line>`, x, f.top-2, x, f.bottom, budgetRed, esc(l.Label))
		y := f.top - 6 - 12*float64(i%2)
		anchor, tx := "start", x+3
		if x > f.right-90 {
			anchor, tx = "end", x-3
		}
		b.f(`<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-size="10">%s</text>`, tx, y, anchor, budgetRed, esc(l.Label))
	}
}

// histogramSVG draws the share of each model's calls per log bucket; with
// up to three models the bars stand side by side, beyond they overlay.
func histogramSVG(seg string, ss []chartSeries, lines []vline, lo, hi float64) string {
	f := newFrame(ss, lines, lo, hi)
	maxShare := 0.0
	for _, s := range ss {
		for _, bk := range s.Hist {
			maxShare = math.Max(maxShare, 100*float64(bk.Count)/float64(len(s.Sorted)))
		}
	}
	yMax := niceLinCeil(maxShare)
	y := func(share float64) float64 { return f.bottom - share/yMax*(f.bottom-f.top) }

	var b svgBuf
	f.open(&b, seg+": histogram of call durations per device model")
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, f.left, y(v), f.right, y(v))
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, f.left-4, y(v)+4, fmtPct(math.Round(v*100)/100))
	}
	f.xAxis(&b)
	f.yTitle(&b, "% of the model's calls")
	side := len(ss) <= 3
	opacity := `fill-opacity="0.85"`
	if !side {
		opacity = `fill-opacity="0.45"`
	}
	for i, s := range ss {
		n := len(s.Sorted)
		for _, bk := range s.Hist {
			if bk.Count == 0 {
				continue
			}
			x0, x1 := f.sc.x(bucketLoMs(bk)), f.sc.x(durMs(bk.Hi))
			w := x1 - x0
			if side {
				w /= float64(len(ss))
				x0 += float64(i) * w
			}
			share := 100 * float64(bk.Count) / float64(n)
			h := math.Max(f.bottom-y(share), 1)
			tip := fmt.Sprintf("%s: %d of %d calls (%.1f%%), %s", s.Name, bk.Count, n, share, bucketRange(bk))
			b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" %s><title>%s</title></rect>`, x0, f.bottom-h, math.Max(w-0.3, 0.6), h, s.Colour, opacity, esc(tip))
		}
	}
	f.budgetLines(&b, lines)
	f.legend(&b)
	b.f(`</svg>`)
	return b.String()
}

type cdfPt struct{ v, p float64 }

// cdfPoints are the steps of a sorted sample's CDF: every value for a small
// sample, else the minimum and cdfMaxPoints quantiles.
func cdfPoints(sorted []time.Duration) []cdfPt {
	n := len(sorted)
	var pts []cdfPt
	add := func(d time.Duration, p float64) {
		v := durMs(d)
		if k := len(pts); k > 0 && pts[k-1].v == v {
			pts[k-1].p = math.Max(pts[k-1].p, p)
			return
		}
		pts = append(pts, cdfPt{v, p})
	}
	if n <= cdfMaxPoints {
		for i, d := range sorted {
			add(d, float64(i+1)/float64(n))
		}
		return pts
	}
	add(sorted[0], 1/float64(n))
	for k := 1; k <= cdfMaxPoints; k++ {
		p := float64(k) / cdfMaxPoints
		add(latency.Percentile(sorted, p*100), p)
	}
	return pts
}

// cdfSVG draws each model's CDF as a step curve with its p50, p90 and p99
// marked.
func cdfSVG(seg string, ss []chartSeries, lines []vline, lo, hi float64) string {
	f := newFrame(ss, lines, lo, hi)
	y := func(p float64) float64 { return f.bottom - p*(f.bottom-f.top) }

	var b svgBuf
	f.open(&b, seg+": cumulative distribution of call durations per device model")
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 1} {
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, f.left, y(p), f.right, y(p))
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, f.left-4, y(p)+4, fmtPct(p*100))
	}
	f.xAxis(&b)
	f.yTitle(&b, "calls at or below (%)")
	for _, q := range []float64{50, 90, 99} {
		yy := y(q / 100)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#8c959f" stroke-dasharray="3 3"/>`, f.left, yy, f.right, yy)
		b.f(`<text x="%.1f" y="%.1f" fill="#57606a" font-size="10">p%.0f</text>`, f.right+3, yy+3, q)
	}
	for _, s := range ss {
		pts := cdfPoints(s.Sorted)
		var d strings.Builder
		fmt.Fprintf(&d, "M%.1f %.1f", f.left, y(0))
		for _, pt := range pts {
			fmt.Fprintf(&d, "H%.1fV%.1f", f.sc.x(pt.v), y(pt.p))
		}
		fmt.Fprintf(&d, "H%.1f", f.right)
		b.f(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6"><title>%s</title></path>`, d.String(), s.Colour, esc(fmt.Sprintf("%s: %d calls", s.Name, len(s.Sorted))))
		for _, q := range []float64{50, 90, 99} {
			v := latency.Percentile(s.Sorted, q)
			tip := fmt.Sprintf("%s p%.0f = %s ms", s.Name, q, fmtDurMs(v))
			b.f(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s" stroke="#fff"><title>%s</title></circle>`, f.sc.x(durMs(v)), y(q/100), s.Colour, esc(tip))
		}
	}
	f.budgetLines(&b, lines)
	f.legend(&b)
	b.f(`</svg>`)
	return b.String()
}

var pageTemplate = template.Must(template.New("report").Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root{--pass:#1a7f37;--fail:#cf222e;--amber:#d4a72c;--muted:#57606a;--line:#d0d7de;--bg2:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;margin:0;background:#fff}
main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px;margin:32px 0 8px}
h3{font-size:15px;margin:24px 0 6px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.hdr{display:flex;flex-wrap:wrap;justify-content:space-between;gap:16px;align-items:flex-start}
.vbox{text-align:right}
.verdict{font-size:44px;line-height:1.1;font-weight:700;padding:6px 18px;border-radius:8px;display:inline-block;color:#fff}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}.v-warn{background:var(--amber);color:#1f2328}.v-none{background:#6e7781}
.counts{margin-top:8px;font-size:16px}.counts span{margin-left:14px;white-space:nowrap}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.banner{border:1px solid;padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}
.banner.unfinished{background:#fff8c5;border-color:var(--amber)}
.banner.damaged{background:#f6f8fa;border-color:var(--line);font-weight:400}
nav.toc{margin:12px 0;padding:6px 0;border-top:1px solid var(--line);border-bottom:1px solid var(--line)}
nav.toc a{margin-right:14px}
a{color:#0969da}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg2);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.over{background:#ffebe9;color:var(--fail);font-weight:700}
td.warncell{background:#fff8c5}
.ok{color:var(--pass);font-weight:600}.bad{color:var(--fail);font-weight:600}.warn{color:#9a6700;font-weight:600}.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.st-passed{background:var(--pass)}.st-failed{background:var(--fail)}.st-device-lost{background:var(--amber);color:#1f2328}
.st-skipped{background:#8c959f}.st-interrupted{background:#8250df}.st-panicked{background:#82071e}.st-other{background:#6e7781}
.tag{display:inline-block;padding:0 6px;border:1px solid var(--line);border-radius:8px;font-size:11px;color:var(--muted);margin:0 2px 2px 0}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.c0{background:#4e79a7}.c1{background:#f28e2b}.c2{background:#b07aa1}.c3{background:#76b7b2}.c4{background:#9c755f}
.c5{background:#edc948}.c6{background:#ff9da7}.c7{background:#17becf}.c8{background:#59a14f}.c9{background:#e15759}
pre{white-space:pre-wrap;word-break:break-word;background:var(--bg2);border:1px solid var(--line);border-radius:4px;padding:8px;margin:4px 0;max-height:28em;overflow:auto;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
tr.detail td{border-top:0;background:#fcfcfd}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
figure{margin:0}figcaption{font-size:12px;color:var(--muted)}
svg.chart{max-width:100%;height:auto;display:block}
#spec-filter{margin:6px 0}#spec-filter input[type=search]{width:22em;padding:3px 6px}
footer{margin-top:40px;padding-top:10px;border-top:1px solid var(--line);color:var(--muted);font-size:13px}
@media print{pre{max-height:none}nav.toc,#spec-filter{display:none}}
</style>
</head>
<body>
<main>
<header>
<div class="hdr">
<div>
<h1>wmpf-hil run <code>{{.RunID}}</code></h1>
<dl class="meta">
<dt>farm file</dt><dd>{{.FarmFile}}</dd>
<dt>started</dt><dd>{{.Started}}</dd>
<dt>finished</dt><dd>{{.Finished}}</dd>
{{- if .Elapsed}}
<dt>took</dt><dd>{{.Elapsed}}</dd>
{{- end}}
<dt>procs</dt><dd>{{.Procs}}</dd>
<dt>host</dt><dd>{{.Host}}</dd>
{{- if .GoVersion}}
<dt>Go</dt><dd>{{.GoVersion}}</dd>
{{- end}}
{{- if .Labels}}
<dt>label filter</dt><dd><code>{{.Labels}}</code></dd>
{{- end}}
</dl>
</div>
<div class="vbox">
<div class="verdict v-{{.VerdictClass}}" id="verdict">{{.Verdict}}</div>
<div class="counts"><span class="ok">{{.Passed}} passed</span><span class="bad">{{.Failed}} failed</span><span class="warn">{{.Lost}} device-lost</span>{{if .Skipped}}<span class="muted">{{.Skipped}} skipped</span>{{end}}</div>
<div class="muted">{{.SpecCount}} specs · {{.CallCount}} calls</div>
{{- if .GateRows}}
<div><a href="#latency">latency gate</a>: {{if .GateFailures}}<span class="bad">{{len .GateFailures}} of {{.GateRows}} over budget p90</span>{{else}}<span class="ok">all {{.GateRows}} within budget p90</span>{{end}}</div>
{{- end}}
</div>
</div>
{{- if .Unfinished}}
<div class="banner unfinished" id="unfinished">Run did not finish: results up to {{.LastRecord}}. The verdict and the counts are those of the specs recorded so far.</div>
{{- end}}
{{- if .Damaged}}
<div class="banner damaged" id="damaged">{{.Damaged}} damaged line{{if gt .Damaged 1}}s{{end}} in results.jsonl could not be read and {{if gt .Damaged 1}}were{{else}}was{{end}} left out.</div>
{{- end}}
</header>
<nav class="toc"><a href="#devices">Devices</a><a href="#latency">Latency</a>{{range .Segments}}<a href="#seg-{{.Name}}">{{.Name}}</a>{{end}}{{if .Bench}}<a href="#benchmark">Open loop</a>{{end}}<a href="#clock">Clock accuracy</a><a href="#restarts">Restarts</a>{{if .Incidents}}<a href="#incidents">Incidents</a>{{end}}<a href="#specs">Specs</a></nav>

<section id="devices">
<h2>Devices</h2>
{{- if .Devices}}
<table>
<thead><tr><th>name</th><th>serial</th><th>model</th><th>sn</th><th>simulated</th><th>profile</th><th>defects</th><th>status</th><th class="num">clock offset set (ms)</th><th class="num">estimated (ms)</th><th class="num">est. − set (ms)</th><th class="num">drift (ppm)</th></tr></thead>
<tbody>
{{- range .Devices}}
<tr><td>{{.Name}}</td><td><code>{{.Serial}}</code></td><td>{{.Model}}</td><td><code>{{.SN}}</code></td><td>{{if .Simulated}}simulated{{else}}real{{end}}</td><td>{{.Profile}}</td><td>{{range .Defects}}<span class="tag">{{.}}</span>{{else}}<span class="muted">—</span>{{end}}</td><td><span class="badge {{.StatusClass}}">{{.Status}}</span>{{if .Reason}}<br><span class="muted">{{.Reason}}</span>{{end}}</td><td class="num">{{.OffsetSet}}</td><td class="num">{{.OffsetEst}}</td><td class="num">{{.OffsetDelta}}</td><td class="num">{{.Drift}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="muted">No device records.</p>
{{- end}}
</section>

<section id="latency">
<h2>Answer latency</h2>
{{- if .CallCount}}
<p>{{.CallCount}} calls on {{len .Models}} device model{{if gt (len .Models) 1}}s{{end}}:{{range .Models}} <span class="sw {{.Class}}"></span>{{.Name}} ({{.Calls}}){{end}}.</p>
{{- if .GateFailures}}
<p class="bad">Latency gate failed:</p>
<ul>{{range .GateFailures}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
<p class="muted">Durations in ms on the host clock, nearest-rank percentiles, per device model. A cell is red when it exceeds the budget max (p90: also when it exceeds the budget p90); the gate passes when p90 ≤ budget p90. “missing” counts calls lacking a stage of the segment. Launch is budgeted separately for cold and warm starts.</p>
{{- else}}
<p class="muted">No call was measured in this run.</p>
{{- end}}
{{- range .Segments}}
<h3 id="seg-{{.Name}}">{{.Name}} <span class="muted">— {{.Doc}}</span></h3>
{{- if .Rows}}
<table class="stats">
<thead><tr><th>model</th><th class="num">n</th><th class="num">missing</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th><th class="num">budget p90</th><th class="num">budget max</th><th class="num">over max</th><th>gate</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td><span class="sw {{.Class}}"></span>{{.Model}}{{if .Start}} <span class="tag">{{.Start}}</span>{{end}}</td><td class="num">{{.N}}</td><td class="num">{{if .Missing}}{{.Missing}}{{else}}<span class="muted">0</span>{{end}}</td><td class="num{{if .P50.Over}} over{{end}}">{{.P50.Text}}</td><td class="num{{if .P90.Over}} over{{end}}">{{.P90.Text}}</td><td class="num{{if .P99.Over}} over{{end}}">{{.P99.Text}}</td><td class="num{{if .P999.Over}} over{{end}}">{{.P999.Text}}</td><td class="num{{if .Max.Over}} over{{end}}">{{.Max.Text}}</td><td class="num">{{.BudgetP90}}</td><td class="num">{{.BudgetMax}}</td><td class="num">{{if .OverMax}}<span class="bad">{{.OverMax}}</span>{{else}}0{{end}}</td><td>{{if eq .Gate "pass"}}<span class="ok">✓ pass</span>{{else if eq .Gate "fail"}}<span class="bad">✗ fail</span>{{else}}<span class="muted">—</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .Hist}}
<div class="charts">
<figure>{{.Hist}}<figcaption>{{.Name}}: share of each model’s calls per bucket (log buckets, about 9% wide); dashed red: budget max.</figcaption></figure>
<figure>{{.CDF}}<figcaption>{{.Name}}: cumulative distribution per model, p50/p90/p99 marked; same x scale.</figcaption></figure>
</div>
{{- else}}
<p class="muted">No call measured this segment.</p>
{{- end}}
{{- end}}
</section>

{{- if .Bench}}
<section id="benchmark">
<h2>Open-loop calls (release benchmark)</h2>
<p>{{.BenchCalls}} calls placed on a schedule fixed before the run. <code>total-intended</code> counts from each call’s scheduled start, so the time a call waited for its device (<code>queue</code>) is in it, as a caller would see it; <code>total</code> counts from when it was placed. Durations in ms, from histograms with 0.1% precision.</p>
<table class="stats">
<thead><tr><th>figure</th><th>model</th><th class="num">n</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th></tr></thead>
<tbody>
{{- range .Bench}}
<tr><td>{{if .Corrected}}<strong>{{.Figure}}</strong>{{else}}{{.Figure}}{{end}}</td><td>{{.Model}}</td><td class="num">{{.N}}</td><td class="num">{{.P50}}</td><td class="num">{{.P90}}</td><td class="num">{{.P99}}</td><td class="num">{{.P999}}</td><td class="num">{{.Max}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .BenchOverhead}}
<p class="muted">Harness overhead, not in the figures above: a device’s line reached the harness {{.BenchOverhead}} after the device logged it.</p>
{{- end}}
</section>
{{- end}}

<section id="clock">
<h2>Clock accuracy (simulated devices)</h2>
<p class="muted">The simulator records when each stage really happened; the error is the harness’s figure for a segment minus that ground truth, so it measures how well device timestamps are converted to the host clock (offset and drift) and stages are detected. Target: p99 |error| ≤ 2 ms. Bias is the mean signed error.</p>
{{- if .Clock}}
<table>
<thead><tr><th>segment</th><th>model</th><th class="num">n</th><th class="num">bias (ms)</th><th class="num">p50 |error| (ms)</th><th class="num">p99 |error| (ms)</th><th class="num">max |error| (ms)</th><th class="num">target (ms)</th><th>verdict</th></tr></thead>
<tbody>
{{- range .Clock}}
<tr><td>{{.Segment}}</td><td><span class="sw {{.Class}}"></span>{{.Model}}</td><td class="num">{{.N}}</td><td class="num">{{.Bias}}</td><td class="num">{{.P50}}</td><td class="num{{if .Over}} over{{end}}">{{.P99}}</td><td class="num{{if .MaxOver}} warncell{{end}}">{{.Max}}</td><td class="num">2.00</td><td>{{if .Over}}<span class="bad">✗ over</span>{{else}}<span class="ok">✓ within</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="muted">No call carried ground truth (no simulated device measured a call).</p>
{{- end}}
</section>

<section id="restarts">
<h2>WMPF restarts</h2>
{{- if .Restarts}}
<p>{{.RestartSummary}}</p>
<table>
<thead><tr><th>device</th><th>model</th><th>kill</th><th>restarted</th><th class="num">restart (ms)</th><th>push</th><th class="num">push (ms)</th><th>detail</th><th>spec</th></tr></thead>
<tbody>
{{- range .Restarts}}
<tr><td>{{.Device}}</td><td>{{.Model}}</td><td><code>{{.Kill}}</code></td><td>{{if .Restarted}}<span class="ok">yes</span>{{else}}<span class="bad">no</span>{{end}}</td><td class="num">{{.RestartMs}}</td><td><span class="{{.PushClass}}">{{.Push}}</span></td><td class="num">{{.PushMs}}</td><td>{{.Detail}}</td><td class="muted">{{.Spec}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="muted">No WMPF kill in this run.</p>
{{- end}}
</section>

{{- if .Incidents}}
<section id="incidents">
<h2>Incidents</h2>
<p class="muted">Failures of the run's own infrastructure, not of the devices under test. Specs running at the time are reported as device-lost.</p>
<table>
<thead><tr><th>what</th><th>adb server</th><th>exit</th><th class="num">back in</th><th>devices</th></tr></thead>
<tbody>
{{- range .Incidents}}
<tr><td><span class="{{if .Bad}}bad{{else}}warn{{end}}">{{.What}}</span></td><td>{{.Server}}</td><td><code>{{.Exit}}</code></td><td class="num">{{.Took}}</td><td>{{.Devices}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}

<section id="specs">
<h2>Specs</h2>
{{- if .Specs}}
<p class="muted">Failures first, then lost devices, skipped and passed specs. Evidence links are relative to the run directory.</p>
<div id="spec-filter"></div>
<table id="specs-table">
<thead><tr><th>state</th><th>spec</th><th>labels</th><th>device</th><th class="num">duration</th></tr></thead>
{{- range .Specs}}
<tbody data-state="{{.State}}">
<tr><td><span class="badge {{.StateClass}}">{{.State}}</span></td><td>{{.Name}}{{if gt .Attempts 1}} <span class="muted">(attempts: {{.Attempts}})</span>{{end}}</td><td>{{range .Labels}}<span class="tag">{{.}}</span>{{end}}</td><td>{{.Device}}{{if .Model}}<br><span class="muted">{{.Model}}</span>{{end}}</td><td class="num">{{.Duration}}</td></tr>
{{- if .Detail}}
<tr class="detail"><td></td><td colspan="4">
{{- if .Failure}}<pre>{{.Failure}}</pre>{{end}}
{{- if .Location}}<div class="muted">at <code>{{.Location}}</code></div>{{end}}
{{- if .Evidence}}<div>evidence:{{range .Evidence}} {{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}<code>{{.Text}}</code>{{end}}{{end}}</div>{{end}}
</td></tr>
{{- end}}
</tbody>
{{- end}}
</table>
{{- else}}
<p class="muted">No spec finished.</p>
{{- end}}
</section>

<footer>
Re-render this page and junit.xml from the results: <code>wmpf-hil report {{.RunDirHint}}</code>.
Source: <a href="results.jsonl">results.jsonl</a> · <a href="junit.xml">junit.xml</a>
</footer>
</main>
<script>
(function () {
  var table = document.getElementById("specs-table");
  var host = document.getElementById("spec-filter");
  if (!table || !host) { return; }
  var box = document.createElement("input");
  box.type = "search";
  box.placeholder = "filter: name, label, device, state";
  var only = document.createElement("input");
  only.type = "checkbox";
  var label = document.createElement("label");
  label.appendChild(only);
  label.appendChild(document.createTextNode(" not passed only "));
  var count = document.createElement("span");
  count.className = "muted";
  host.appendChild(box);
  host.appendChild(document.createTextNode(" "));
  host.appendChild(label);
  host.appendChild(count);
  function apply() {
    var q = box.value.toLowerCase(), shown = 0, bodies = table.tBodies;
    for (var i = 0; i < bodies.length; i++) {
      var b = bodies[i];
      var ok = (!q || b.textContent.toLowerCase().indexOf(q) >= 0) &&
        (!only.checked || b.getAttribute("data-state") !== "passed");
      b.style.display = ok ? "" : "none";
      if (ok) { shown++; }
    }
    count.textContent = shown + " of " + bodies.length + " shown";
  }
  box.addEventListener("input", apply);
  only.addEventListener("change", apply);
  apply();
})();
</script>
</body>
</html>
`
