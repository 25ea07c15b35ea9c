package report

import (
	"fmt"
	"time"
)

// Counts are cells counted by state.
type Counts struct {
	Passed, Failed, Flaky, Lost, Quarantined, Skipped, Interrupted int
}

// Total is the number of cells counted.
func (c Counts) Total() int {
	return c.Passed + c.Failed + c.Flaky + c.Lost + c.Quarantined + c.Skipped + c.Interrupted
}

// add counts one cell; a state outside schema v1 counts as failed, so
// nothing unknown passes.
func (c *Counts) add(st State) {
	switch st {
	case StatePassed:
		c.Passed++
	case StateFlaky:
		c.Flaky++
	case StateLost:
		c.Lost++
	case StateQuarantined:
		c.Quarantined++
	case StateSkipped:
		c.Skipped++
	case StateInterrupted:
		c.Interrupted++
	default:
		c.Failed++
	}
}

// CountCells counts cells by state.
func CountCells(cells []SpecResult) Counts {
	var c Counts
	for _, s := range cells {
		c.add(s.State)
	}
	return c
}

// SummaryOptions are what the verdict depends on beyond the cells.
type SummaryOptions struct {
	// FlakyFails: a flaky cell fails the run (exit 1).
	FlakyFails bool
	// Signal is "SIGINT" or "SIGTERM" when a signal interrupted the run,
	// else empty.
	Signal string
	// Incomplete: part of the run is missing (a shard missing or crashed),
	// so a run without failures cannot pass.
	Incomplete bool
}

// Decide gives the verdict and exit status of counted cells (DESIGN §7):
// exit 1 if any cell failed (or was flaky, with FlakyFails); else 130 or
// 143 when interrupted (by SIGINT or SIGTERM; interrupted cells without a
// signal mean SIGINT, Ginkgo's interrupt); else 3 if any cell was lost or
// quarantined or the run is incomplete; else 0 (PASS, or NO TESTS when no
// cell passed). Exit 2, bad input, is decided before a run starts.
func Decide(c Counts, o SummaryOptions) (Verdict, int, error) {
	if err := oneOf("signal", o.Signal, []string{SignalINT, SignalTERM}, true); err != nil {
		return "", 0, err
	}
	v, code := decide(c, o)
	return v, code, nil
}

// decide is Decide for a signal known to be valid.
func decide(c Counts, o SummaryOptions) (Verdict, int) {
	switch {
	case c.Failed > 0 || (o.FlakyFails && c.Flaky > 0):
		return VerdictFail, ExitFailed
	case o.Signal == SignalTERM:
		return VerdictInterrupted, ExitSIGTERM
	case o.Signal == SignalINT || c.Interrupted > 0:
		return VerdictInterrupted, ExitSIGINT
	case c.Lost > 0 || c.Quarantined > 0 || o.Incomplete:
		return VerdictIncomplete, ExitIncomplete
	case c.Passed+c.Flaky == 0:
		return VerdictNoTests, ExitPass
	}
	return VerdictPass, ExitPass
}

// Summarize counts the run's cells and gives the verdict with the run's
// own options (Options).
func (r *Results) Summarize() EndInfo {
	return r.summarize(r.Options())
}

// SummarizeWith counts the run's cells and gives the verdict with o: a
// run's end record is r.Options() with the signal that stopped the run.
// Finished is now.
func (r *Results) SummarizeWith(o SummaryOptions) (EndInfo, error) {
	if err := oneOf("signal", o.Signal, []string{SignalINT, SignalTERM}, true); err != nil {
		return EndInfo{}, fmt.Errorf("report: summarize: %w", err)
	}
	return r.summarize(o), nil
}

// summarize counts the cells and decides with o (its signal valid).
func (r *Results) summarize(o SummaryOptions) EndInfo {
	c := CountCells(r.Cells())
	v, code := decide(c, o)
	return EndInfo{Finished: time.Now(), Passed: c.Passed, Failed: c.Failed, Flaky: c.Flaky, Lost: c.Lost,
		Quarantined: c.Quarantined, Skipped: c.Skipped, Interrupted: c.Interrupted,
		Verdict: v, ExitCode: code, Signal: o.Signal}
}

// Options are the run's own summary options: FlakyFails from its run
// record, Incomplete when a shard-missing or shard-crashed incident says a
// part of it is missing, no signal.
func (r *Results) Options() SummaryOptions {
	var o SummaryOptions
	if r.Run != nil {
		o.FlakyFails = r.Run.FlakyFails
	}
	for _, in := range r.Incidents {
		if in.What == IncidentShardMissing || in.What == IncidentShardCrashed {
			o.Incomplete = true
		}
	}
	return o
}

// ExitCode is the run's exit status: its end record's, or, for a run that
// wrote none (still going, or killed) or one before schema v1, that of
// its cells (Summarize).
func (r *Results) ExitCode() int {
	if r.End != nil && r.Schema >= 1 {
		return r.End.ExitCode
	}
	return r.Summarize().ExitCode
}
