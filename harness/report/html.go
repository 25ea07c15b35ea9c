package report

import (
	"bytes"
	"embed"
	"fmt"
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

// The page's template, style and script are embedded files; this file
// gathers the data they show.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/report.css
var pageCSS string

//go:embed assets/report.js
var pageJS string

var pageTemplate = template.Must(template.New("page.html").ParseFS(templateFS, "templates/*.html"))

// WriteHTML writes report.html for a run: a single page, readable offline,
// that opens with the verdict and the spec × device matrix, then the
// summary per device model, the devices, latency statistics, histograms
// and CDFs per segment and model against the budgets, the benchmark
// figures, the accuracy of the harness's timing on simulated devices, WMPF
// restarts, incidents, and every cell that did not simply pass with its
// failure, attempts, evidence and screenshot. A run without an end record
// is summarised from the cells recorded so far and marked as not finished.
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
	Title      string
	RunID      string
	FarmFile   string
	Started    string
	Finished   string
	Elapsed    string
	Workers    string
	Host       string
	GoVersion  string
	Tool       string
	Labels     string
	MatrixMode string
	Shard      string
	Merged     []MergedShard

	Verdict      string
	VerdictClass string
	ExitCode     string
	Counts       Counts
	NotRun       int
	CellCount    int
	Unfinished   bool
	LastRecord   string
	Damaged      int
	// ShardProblems are the shard-missing and shard-crashed incidents.
	ShardProblems []string

	Matrix matrixView
	Models []modelRow

	Devices []deviceRow

	CallCount  int
	CallModels []modelInfo
	Segments   []segView
	// The latency gate: p90 against the budget p90, per segment and model.
	GateRows     int
	GateFailures []string

	Clock []clockRow

	Restarts       []restartRow
	RestartSummary string

	Incidents []incidentRow

	// Open-loop (release benchmark) figures, when the run placed such calls.
	Bench         []benchRow
	BenchCalls    int
	BenchOverhead string
	// Gate is the release gate's judgement against a baseline, if any.
	Gate *gateView

	Details []cellRow
	Specs   []specRow

	RunDirHint string
	CSS        template.CSS
	JS         template.JS
}

type deviceRow struct {
	Name, Serial, Model, SN string
	Android, HostApp        string
	Install                 string
	Simulated               bool
	Profile                 string
	Defects                 []string
	Status, StatusClass     string
	Reason                  string
	OffsetSet, OffsetEst    string
	OffsetDelta             string
	Drift                   string
	Shard                   int
}

type restartRow struct {
	Spec, Device, Model, Kill string
	Restarted                 bool
	RestartMs                 string
	Push, PushClass, PushMs   string
	Detail                    string
}

func buildPage(r *Results, lastRecord time.Time) *page {
	p := &page{RunID: "(unknown: no run record)", FarmFile: "—", Started: "—", Finished: "—", Workers: "—", Host: "—",
		RunDirHint: "<run dir>", Damaged: r.Damaged, CSS: template.CSS(pageCSS), JS: template.JS(pageJS)}
	var budgets map[string]latency.SegmentBudget
	if run := r.Run; run != nil {
		if run.ID != "" {
			p.RunID = run.ID
			p.RunDirHint = "reports/" + run.ID
		}
		p.FarmFile = orDash(run.FarmFile)
		p.Started = fmtTime(run.Started)
		if run.Workers > 0 {
			p.Workers = strconv.Itoa(run.Workers)
		}
		p.Host = orDash(run.Host)
		p.GoVersion = run.GoVersion
		p.Tool = strings.TrimSpace(run.Tool.Name + " " + run.Tool.Version)
		p.Labels = run.Labels
		p.MatrixMode = string(run.Matrix)
		if s := run.Shard; s != nil {
			p.Shard = fmt.Sprintf("%d of %d", s.Index, s.Count)
		}
		p.Merged = run.Merged
		budgets = run.Budgets
	}

	end := r.End
	if end == nil {
		s := r.Summarize()
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
	p.Verdict = string(end.Verdict)
	if p.Verdict == "" {
		p.Verdict = "NO VERDICT"
	}
	p.VerdictClass = verdictClass(p.Verdict)
	if r.End == nil || r.Schema >= 1 {
		p.ExitCode = strconv.Itoa(end.ExitCode)
		if end.Signal != "" {
			p.ExitCode += " (" + end.Signal + ")"
		}
	}
	cells := r.Cells()
	p.Counts = CountCells(cells)
	p.CellCount = len(cells)
	p.Title = "wmpf-hil " + p.RunID + " — " + p.Verdict
	if p.Unfinished {
		p.Title += " (did not finish)"
	}
	for _, in := range r.Incidents {
		if in.What == IncidentShardMissing || in.What == IncidentShardCrashed {
			p.ShardProblems = append(p.ShardProblems, string(in.What)+": "+in.Detail)
		}
	}

	groups := groupByDevice(r)
	cv := buildCells(groups, r)
	p.Matrix, p.NotRun, p.Details, p.Specs = cv.Matrix, cv.NotRun, cv.Details, cv.Specs
	p.Models = modelRows(groups, r.Options())
	p.Devices = deviceRows(r.MergedDevices())

	models, callModel := callModels(r)
	p.CallModels = models
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
	p.Gate = gateViewOf(r.Gate)
	return p
}

// incidentRow is an incident of the run's infrastructure, for the page.
type incidentRow struct {
	What, Where, Exit, Took, Detail string
	Bad                             bool
}

func incidentRows(in []IncidentInfo) []incidentRow {
	var rows []incidentRow
	for _, i := range in {
		r := incidentRow{What: string(i.What), Exit: i.Exit, Bad: !i.What.benign()}
		var where []string
		switch {
		case i.Server != "" && i.Addr != "":
			where = append(where, i.Server+" ("+i.Addr+")")
		case i.Server != "" || i.Addr != "":
			where = append(where, i.Server+i.Addr)
		}
		if i.Device != "" {
			where = append(where, "device "+i.Device)
		}
		if i.Shard != nil {
			where = append(where, fmt.Sprintf("shard %d of %d", i.Shard.Index, i.Shard.Count))
		}
		r.Where = strings.Join(where, "; ")
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
		r.Detail = strings.Join(parts, "; ")
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
	case v == string(VerdictPass):
		return "pass"
	case v == string(VerdictIncomplete), strings.HasPrefix(v, "PASS"):
		return "warn"
	case v == string(VerdictInterrupted):
		return "int"
	case strings.HasPrefix(v, "FAIL"):
		return "fail"
	default:
		return "none"
	}
}

// deviceRows lists the devices, one row per device.
func deviceRows(devs []DeviceInfo) []deviceRow {
	rows := make([]deviceRow, 0, len(devs))
	for _, d := range devs {
		row := deviceRow{
			Name: orDash(d.Name), Serial: orDash(d.Serial), Model: orDash(d.Model), SN: orDash(d.SN),
			Android: orDash(d.AndroidVersion), HostApp: orDash(strings.TrimSpace(d.HostPackage + " " + hostVersion(d))),
			Install: "—", Simulated: d.Simulated, Profile: orDash(d.Profile), Defects: d.Defects,
			Status: orDash(string(d.Status)), StatusClass: deviceStatusClass(d.Status), Reason: d.Reason,
			OffsetSet: "—", OffsetEst: "—", OffsetDelta: "—", Drift: "—", Shard: d.shard,
		}
		if in := d.Install; in != nil {
			parts := []string{in.VersionName}
			if in.Build != "" {
				parts = append(parts, "build "+in.Build)
			}
			if len(in.SHA256) >= 12 {
				parts = append(parts, "sha256 "+in.SHA256[:12]+"…")
			}
			row.Install = orDash(strings.TrimSpace(strings.Join(parts, " ")))
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

func deviceStatusClass(s DeviceStatus) string {
	switch s {
	case DeviceHealthy:
		return "st-passed"
	case DeviceExcluded:
		return "st-skipped"
	case DeviceLost:
		return "st-lost"
	case DeviceQuarantined:
		return "st-quarantined"
	default:
		return "st-other"
	}
}

func restartRows(rs []RestartInfo) ([]restartRow, string) {
	var rows []restartRow
	restarted, delivered, lost := 0, 0, 0
	for _, x := range rs {
		row := restartRow{Spec: x.Spec, Device: orDash(x.Device), Model: orDash(x.Model), Kill: orDash(string(x.Kill)), Restarted: x.Restarted, RestartMs: "—", Push: "—", PushClass: "muted", PushMs: "—", Detail: x.Detail}
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
