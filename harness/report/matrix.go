package report

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The spec × device matrix that opens report.html, the summary per device
// model, and the details of every cell that did not simply pass.

// matrixView is the matrix: rows are specs, columns devices grouped by
// model.
type matrixView struct {
	Models  []matrixModel
	Devices []matrixDevice
	Rows    []matrixRow
}

type matrixModel struct {
	Name string
	Span int
}

type matrixDevice struct {
	Name, Model string
	// Status is the device's when it is not healthy.
	Status, StatusClass string
	Title               string
	First               bool // first device of its model
}

type matrixRow struct {
	Spec, Anchor string
	Bad          bool
	Cells        []matrixCell
}

type matrixCell struct {
	Class, Mark, Href, Title string
	First                    bool
}

// cellMarks are the matrix's marks per state.
var cellMarks = map[State]string{
	StatePassed: "✓", StateFailed: "✗", StateFlaky: "≈", StateLost: "L", StateQuarantined: "Q",
	StateSkipped: "–", StateInterrupted: "I",
}

// stateRank orders the details: product failures first, then the cells
// lost to the infrastructure, interrupted, flaky, skipped, passed.
var stateRank = map[State]int{
	StateFailed: 0, StateLost: 1, StateQuarantined: 2, StateInterrupted: 3, StateFlaky: 4, StateSkipped: 5, StatePassed: 6,
}

func rank(st State) int {
	if r, ok := stateRank[st]; ok {
		return r
	}
	return 0 // unknown: as a failure
}

func stateClass(st State) string {
	if _, ok := stateRank[st]; ok {
		return "st-" + string(st)
	}
	return "st-other"
}

// cellRow is a cell shown in detail.
type cellRow struct {
	Anchor, SpecAnchor string
	State, StateClass  string
	Name, Device       string
	Model              string
	Labels             []string
	Duration           string
	LostTo, Reason     string
	Failure, Location  string
	Attempts           []attemptRow
	Evidence           []evidenceLink
	Screenshot         string
	rank, spec, dev    int
}

type attemptRow struct {
	N                 int
	OnDevice          string
	State, StateClass string
	Duration, Failure string
	Started           string
}

type evidenceLink struct {
	Href string // relative URL; empty when the path cannot be linked
	Text string // the file's name
	Path string // its path in the run directory
}

// specRow sums up one spec over the devices.
type specRow struct {
	Anchor, Name string
	Labels       []string
	Counts       string
	Bad          bool
	Passed       []string
}

// detailed reports whether a cell gets its own entry in the details.
func detailed(s SpecResult) bool {
	return s.State != StatePassed || len(s.Evidence) > 0 || s.Screenshot != "" || len(s.Attempts) > 1
}

// cellsView is the matrix and the details, built in one pass so their
// anchors agree.
type cellsView struct {
	Matrix  matrixView
	NotRun  int
	Details []cellRow
	Specs   []specRow
}

// buildCells lays the cells out: specs in natural order by name, devices
// as groupByDevice orders them.
func buildCells(groups []deviceGroup, r *Results) cellsView {
	var v cellsView
	specIdx := map[string]int{}
	var specs []string
	labels := map[string][]string{}
	for _, g := range groups {
		for _, s := range g.cells {
			if _, ok := specIdx[s.Name]; !ok {
				specIdx[s.Name] = 0
				specs = append(specs, s.Name)
			}
			if len(labels[s.Name]) == 0 {
				labels[s.Name] = s.Labels
			}
		}
	}
	sort.SliceStable(specs, func(i, j int) bool {
		a, b := strings.ToLower(specs[i]), strings.ToLower(specs[j])
		if a != b {
			return naturalLess(a, b)
		}
		return specs[i] < specs[j]
	})
	for i, s := range specs {
		specIdx[s] = i
	}
	started := map[[2]string]int{}
	for _, st := range r.Starts {
		k := [2]string{st.Spec, st.Device}
		started[k] = max(started[k], st.Attempt)
	}

	m := &v.Matrix
	lastModel := "\x00"
	for _, g := range groups {
		model := orDefault(g.dev.Model, unknownModel)
		d := matrixDevice{Name: g.name, Model: model, Title: g.name + " · " + model}
		if g.dev.Status != "" && g.dev.Status != DeviceHealthy {
			d.Status, d.StatusClass = string(g.dev.Status), deviceStatusClass(g.dev.Status)
			d.Title += " · " + string(g.dev.Status)
			if g.dev.Reason != "" {
				d.Title += ": " + g.dev.Reason
			}
		}
		if model != lastModel {
			m.Models = append(m.Models, matrixModel{Name: model})
			d.First = true
			lastModel = model
		}
		m.Models[len(m.Models)-1].Span++
		m.Devices = append(m.Devices, d)
	}

	grid := make([][]*SpecResult, len(specs))
	for i := range grid {
		grid[i] = make([]*SpecResult, len(groups))
	}
	for j, g := range groups {
		for k := range g.cells {
			s := &g.cells[k]
			grid[specIdx[s.Name]][j] = s
		}
	}
	for i, name := range specs {
		row := matrixRow{Spec: name, Anchor: "s" + strconv.Itoa(i)}
		sr := specRow{Anchor: row.Anchor, Name: name, Labels: labels[name]}
		var c Counts
		for j, g := range groups {
			mc := matrixCell{First: m.Devices[j].First}
			s := grid[i][j]
			if s == nil {
				mc.Class, mc.Mark, mc.Title = "m-none", "·", "not run"
				if n := started[[2]string{name, g.dev.Name}]; n > 0 {
					mc.Title = fmt.Sprintf("attempt %d started, no result", n)
				} else if m.Devices[j].Status != "" {
					mc.Title = "not run: device " + m.Devices[j].Status
				}
				v.NotRun++
				row.Cells = append(row.Cells, mc)
				continue
			}
			c.add(s.State)
			mark, ok := cellMarks[s.State]
			if !ok {
				mark = "?"
			}
			mc.Class, mc.Mark, mc.Href = "m-"+string(s.State), mark, "#"+row.Anchor
			if _, known := stateRank[s.State]; !known {
				mc.Class = "m-failed"
			}
			if s.State != StatePassed {
				mc.Title = cellTitle(*s)
				row.Bad = row.Bad || s.State != StateSkipped
			}
			if detailed(*s) {
				cr := detailRow(*s, "c"+strconv.Itoa(i)+"-"+strconv.Itoa(j), row.Anchor)
				cr.spec, cr.dev = i, j
				mc.Href = "#" + cr.Anchor
				v.Details = append(v.Details, cr)
			} else if s.State == StatePassed {
				sr.Passed = append(sr.Passed, orNoDevice(s.Device))
			}
			row.Cells = append(row.Cells, mc)
		}
		sr.Counts, sr.Bad = countsText(c), row.Bad
		m.Rows = append(m.Rows, row)
		v.Specs = append(v.Specs, sr)
	}
	sort.SliceStable(v.Details, func(a, b int) bool {
		x, y := v.Details[a], v.Details[b]
		if x.rank != y.rank {
			return x.rank < y.rank
		}
		if x.spec != y.spec {
			return x.spec < y.spec
		}
		return x.dev < y.dev
	})
	return v
}

// cellTitle is a cell's tooltip in the matrix.
func cellTitle(s SpecResult) string {
	t := string(s.State)
	if s.LostTo != "" {
		t += " to " + string(s.LostTo)
	}
	if why := orDefault(s.Reason, firstLine(s.Failure)); why != "" {
		t += ": " + why
	}
	if r := []rune(t); len(r) > 160 {
		t = string(r[:159]) + "…"
	}
	return t
}

// countsText is "18 passed · 1 failed", the states that occur.
func countsText(c Counts) string {
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{c.Passed, "passed"}, {c.Failed, "failed"}, {c.Flaky, "flaky"}, {c.Lost, "lost"}, {c.Quarantined, "quarantined"},
		{c.Skipped, "skipped"}, {c.Interrupted, "interrupted"}} {
		if x.n > 0 {
			parts = append(parts, strconv.Itoa(x.n)+" "+x.what)
		}
	}
	return strings.Join(parts, " · ")
}

func detailRow(s SpecResult, anchor, specAnchor string) cellRow {
	row := cellRow{Anchor: anchor, SpecAnchor: specAnchor, State: orDash(string(s.State)), StateClass: stateClass(s.State),
		Name: orDash(s.Name), Device: orNoDevice(s.Device), Model: s.Model, Labels: s.Labels,
		Duration: fmtSpecDuration(s.Duration), LostTo: string(s.LostTo), Reason: s.Reason,
		Failure: s.Failure, Location: s.Location, rank: rank(s.State)}
	for _, a := range s.Attempts {
		ar := attemptRow{N: a.Attempt, State: string(a.State), StateClass: stateClass(a.State),
			Duration: fmtSpecDuration(a.Duration), Failure: firstLine(a.Failure)}
		if a.LostTo != "" {
			ar.State += " to " + string(a.LostTo)
		}
		if a.OnDevice != "" && a.OnDevice != s.Device {
			ar.OnDevice = a.OnDevice
		}
		if !a.Started.IsZero() {
			ar.Started = fmtTime(a.Started)
		}
		row.Attempts = append(row.Attempts, ar)
	}
	for _, e := range s.Evidence {
		row.Evidence = append(row.Evidence, evidenceLink{Href: evidenceHref(e), Text: path.Base(strings.ReplaceAll(e, `\`, "/")), Path: e})
	}
	row.Screenshot = evidenceHref(s.Screenshot)
	return row
}

// modelRow sums up a device model: its verdict is its devices' cells.
type modelRow struct {
	Model                 string
	Devices               []string
	Passed, Cells         int
	Flaky, Skipped        int
	Verdict, VerdictClass string
	Problems              []string
}

// modelRows sums up each model, in the matrix's order.
func modelRows(groups []deviceGroup, o SummaryOptions) []modelRow {
	var rows []modelRow
	at := map[string]int{}
	type problem struct {
		state State
		spec  string
	}
	byModel := map[string]map[problem][]string{}
	var order [][]problem
	counts := map[string]*Counts{}
	for _, g := range groups {
		model := orDefault(g.dev.Model, unknownModel)
		i, ok := at[model]
		if !ok {
			i = len(rows)
			at[model] = i
			rows = append(rows, modelRow{Model: model})
			byModel[model] = map[problem][]string{}
			order = append(order, nil)
			counts[model] = &Counts{}
		}
		rows[i].Devices = append(rows[i].Devices, g.name)
		for _, s := range g.cells {
			counts[model].add(s.State)
			if s.State == StatePassed || s.State == StateSkipped {
				continue
			}
			k := problem{s.State, s.Name}
			if _, seen := byModel[model][k]; !seen {
				order[i] = append(order[i], k)
			}
			byModel[model][k] = append(byModel[model][k], g.name)
		}
	}
	for i := range rows {
		row := &rows[i]
		c := *counts[row.Model]
		row.Cells, row.Passed, row.Flaky, row.Skipped = c.Total(), c.Passed+c.Flaky, c.Flaky, c.Skipped
		v, _ := decide(c, SummaryOptions{FlakyFails: o.FlakyFails})
		row.Verdict, row.VerdictClass = string(v), verdictClass(string(v))
		ps := order[i]
		sort.SliceStable(ps, func(a, b int) bool { return rank(ps[a].state) < rank(ps[b].state) })
		for _, p := range ps {
			row.Problems = append(row.Problems, fmt.Sprintf("%s: %s on %s", p.state, p.spec, strings.Join(byModel[row.Model][p], ", ")))
		}
	}
	return rows
}
