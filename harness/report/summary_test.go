package report

import (
	"fmt"
	"strings"
	"testing"
)

// cellsOf makes one cell per state given, on devices d0, d1, ….
func cellsOf(states ...State) []SpecResult {
	var out []SpecResult
	for i, st := range states {
		s := SpecResult{Name: "spec", Device: fmt.Sprintf("d%d", i), State: st}
		if st == StateLost {
			s.LostTo = LostToDevice
		}
		out = append(out, s)
	}
	return out
}

func TestDecideOverAllStates(t *testing.T) {
	cases := []struct {
		name    string
		states  []State
		opts    SummaryOptions
		verdict Verdict
		exit    int
	}{
		{"no cells", nil, SummaryOptions{}, VerdictNoTests, 0},
		{"skipped only", []State{StateSkipped, StateSkipped}, SummaryOptions{}, VerdictNoTests, 0},
		{"passed", []State{StatePassed}, SummaryOptions{}, VerdictPass, 0},
		{"passed and skipped", []State{StatePassed, StateSkipped}, SummaryOptions{}, VerdictPass, 0},
		{"flaky passes", []State{StatePassed, StateFlaky}, SummaryOptions{}, VerdictPass, 0},
		{"flaky only passes", []State{StateFlaky}, SummaryOptions{}, VerdictPass, 0},
		{"flaky fails with FlakyFails", []State{StatePassed, StateFlaky}, SummaryOptions{FlakyFails: true}, VerdictFail, 1},
		{"failed", []State{StatePassed, StateFailed}, SummaryOptions{}, VerdictFail, 1},
		{"lost", []State{StatePassed, StateLost}, SummaryOptions{}, VerdictIncomplete, 3},
		{"lost only", []State{StateLost}, SummaryOptions{}, VerdictIncomplete, 3},
		{"quarantined", []State{StatePassed, StateQuarantined}, SummaryOptions{}, VerdictIncomplete, 3},
		{"incomplete run", []State{StatePassed}, SummaryOptions{Incomplete: true}, VerdictIncomplete, 3},
		{"interrupted cell", []State{StatePassed, StateInterrupted}, SummaryOptions{}, VerdictInterrupted, 130},
		{"SIGINT", []State{StatePassed}, SummaryOptions{Signal: SignalINT}, VerdictInterrupted, 130},
		{"SIGTERM", []State{StatePassed, StateInterrupted}, SummaryOptions{Signal: SignalTERM}, VerdictInterrupted, 143},
		{"interrupted beats lost", []State{StateLost, StateInterrupted}, SummaryOptions{}, VerdictInterrupted, 130},
		{"failed beats interrupted", []State{StateFailed, StateInterrupted}, SummaryOptions{Signal: SignalTERM}, VerdictFail, 1},
		{"failed beats lost and quarantined", []State{StateLost, StateQuarantined, StateFailed, StateFlaky, StateSkipped}, SummaryOptions{}, VerdictFail, 1},
		{"flaky with lost", []State{StateFlaky, StateLost}, SummaryOptions{}, VerdictIncomplete, 3},
		{"flaky, FlakyFails, interrupted", []State{StateFlaky, StateInterrupted}, SummaryOptions{FlakyFails: true}, VerdictFail, 1},
		{"unknown state counts as failed", []State{StatePassed, "exploded"}, SummaryOptions{}, VerdictFail, 1},
		{"legacy device-lost", []State{StatePassed, StateDeviceLost}, SummaryOptions{}, VerdictIncomplete, 3},
		{"legacy panicked", []State{StatePassed, StatePanicked}, SummaryOptions{}, VerdictFail, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Results{Specs: cellsOf(c.states...)}
			v, exit, err := Decide(CountCells(r.Cells()), c.opts)
			if err != nil || v != c.verdict || exit != c.exit {
				t.Errorf("Decide: %s %d %v, want %s %d", v, exit, err, c.verdict, c.exit)
			}
			end, err := r.SummarizeWith(c.opts)
			if err != nil || end.Verdict != c.verdict || end.ExitCode != c.exit || end.Signal != c.opts.Signal {
				t.Errorf("SummarizeWith: %+v %v", end, err)
			}
			if got := CountCells(r.Cells()).Total(); got != len(c.states) {
				t.Errorf("%d cells counted of %d", got, len(c.states))
			}
			if end.Finished.IsZero() {
				t.Error("no finish time")
			}
		})
	}
}

func TestSummarizeCountsEveryState(t *testing.T) {
	r := &Results{Specs: cellsOf(StatePassed, StatePassed, StateFailed, StateFlaky, StateLost, StateQuarantined, StateSkipped, StateInterrupted)}
	e := r.Summarize()
	got := [7]int{e.Passed, e.Failed, e.Flaky, e.Lost, e.Quarantined, e.Skipped, e.Interrupted}
	if got != [7]int{2, 1, 1, 1, 1, 1, 1} {
		t.Errorf("counts %v", got)
	}
	// A cell recorded twice counts once, with its last record.
	r.Specs = append(r.Specs, SpecResult{Name: "spec", Device: "d2", State: StatePassed})
	if e := r.Summarize(); e.Failed != 0 || e.Passed != 3 || e.Verdict != VerdictInterrupted {
		t.Errorf("after a retry record: %+v", e)
	}
}

func TestSummarizeUsesTheRunsOptions(t *testing.T) {
	r := &Results{Run: &RunInfo{ID: "r", FlakyFails: true}, Specs: cellsOf(StatePassed, StateFlaky)}
	if e := r.Summarize(); e.Verdict != VerdictFail || e.ExitCode != 1 {
		t.Errorf("flakyFails run: %+v", e)
	}
	r = &Results{Specs: cellsOf(StatePassed), Incidents: []IncidentInfo{{What: IncidentShardMissing}}}
	if e := r.Summarize(); e.Verdict != VerdictIncomplete || e.ExitCode != 3 {
		t.Errorf("run with a shard missing: %+v", e)
	}
}

func TestSummarizeRefusesUnknownSignals(t *testing.T) {
	r := &Results{Specs: cellsOf(StatePassed)}
	for _, sig := range []string{"SIGKILL", "sigint", "INT"} {
		_, err := r.SummarizeWith(SummaryOptions{Signal: sig})
		if err == nil || !strings.Contains(err.Error(), "SIGINT, SIGTERM") || !strings.Contains(err.Error(), sig) {
			t.Errorf("signal %q: %v", sig, err)
		}
		if _, _, err := Decide(Counts{}, SummaryOptions{Signal: sig}); err == nil {
			t.Errorf("Decide took signal %q", sig)
		}
	}
}

func TestExitCode(t *testing.T) {
	// A v1 end record decides; an unfinished run or one before v1 is
	// summarised from its cells.
	r := &Results{Schema: 1, Specs: cellsOf(StatePassed), End: &EndInfo{Verdict: VerdictInterrupted, ExitCode: ExitSIGTERM, Signal: SignalTERM}}
	if got := r.ExitCode(); got != 143 {
		t.Errorf("v1 end record: exit %d, want 143", got)
	}
	r.End = nil
	if got := r.ExitCode(); got != 0 {
		t.Errorf("no end record: exit %d, want 0", got)
	}
	old := &Results{Specs: cellsOf(StatePassed, StateDeviceLost), End: &EndInfo{Verdict: "PASS (devices lost)"}}
	if got := old.ExitCode(); got != 3 {
		t.Errorf("run before v1: exit %d, want 3", got)
	}
}
