package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

// exitRegression is wmpf-hil bench's exit status when the run passed its
// budgets but regressed against the baseline.
const exitRegression = 4

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	r := suiteFlags(fs)
	arrival := fs.String("arrival", "poisson:2/s", "call arrivals for the whole farm: constant:RATE, poisson:RATE or ramp:RATE-RATE (RATE like 2/s or 30/min)")
	duration := fs.Duration("duration", 2*time.Minute, "how long calls arrive")
	baseline := fs.String("baseline", "", "a baseline to gate on: a run directory of an earlier bench, or its bench.json")
	tolerance := fs.Float64("tolerance", 10, "a percentile regresses when it is more than this many percent over the baseline's (plus -slack)")
	slack := fs.Duration("slack", 20*time.Millisecond, "absolute allowance added to the tolerance (timer noise on small figures)")
	minTail := fs.Int("min-tail", 5, "judge a percentile only when both runs have at least this many calls above it (p50: 2× as many calls, p99: 100×)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	a, err := loadgen.ParseArrival(*arrival)
	if err != nil {
		return cli.UsageError{Msg: "-arrival: " + strings.TrimPrefix(err.Error(), "arrival ")}
	}
	if *duration < time.Second || *duration > 24*time.Hour {
		return cli.UsageError{Msg: fmt.Sprintf("-duration %v: allowed 1s..24h", *duration)}
	}
	if *tolerance < 0 || *tolerance > 1000 {
		return cli.UsageError{Msg: fmt.Sprintf("-tolerance %g: allowed 0..1000 (percent)", *tolerance)}
	}
	if *slack < 0 {
		return cli.UsageError{Msg: fmt.Sprintf("-slack %v: allowed 0 or more", *slack)}
	}
	if *minTail < 1 {
		return cli.UsageError{Msg: fmt.Sprintf("-min-tail %d: allowed 1 or more", *minTail)}
	}
	var base report.BenchFigures
	if *baseline != "" {
		if base, err = report.ReadBench(*baseline); err != nil {
			return cli.UsageError{Msg: "-baseline: " + err.Error()}
		}
	}
	// The calls arrive for -duration; each may take the SpecTimeout's
	// share after that.
	if *r.timeout < *duration+10*time.Minute {
		*r.timeout = *duration + 10*time.Minute
	}
	r.labels = "benchmark"
	r.extra = []string{"-bench-arrival", a.String(), "-bench-duration", duration.String()}
	code, runDir, err := r.exec(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	summarize(stdout, runDir)
	res, rerr := report.ReadDir(runDir)
	if rerr != nil {
		return exitStatus(code, runDir)
	}
	figs := report.BenchFromResults(res)
	figs.Arrival, figs.Duration = a.String(), duration.String()
	if err := report.WriteBench(runDir, figs); err != nil {
		fmt.Fprintf(stderr, "wmpf-hil: %v\n", err)
	}
	fmt.Fprintf(stdout, "\nrelease benchmark: %d calls, %s over %v, open loop: latency counts from each call's scheduled start\n", figs.Calls, a, *duration)
	report.WriteBenchTable(stdout, figs)
	fmt.Fprintf(stdout, "figures: %s\n", runDir+"/"+report.BenchFile)
	if err := exitStatus(code, runDir); err != nil {
		return err
	}
	if *baseline == "" {
		return nil
	}
	g := report.Gate{Tolerance: *tolerance / 100, Slack: *slack, MinTail: *minTail}
	cmp := g.Compare(base, figs)
	regressed, judged := 0, 0
	fmt.Fprintf(stdout, "\nagainst baseline %s (run %s, %s, %d calls): tolerance %g%% + %v; p50 judged from %d calls, p99 from %d\n",
		*baseline, base.Run, base.Arrival, base.Calls, *tolerance, *slack, g.MinCallsFor(0.5), g.MinCallsFor(0.99))
	fmt.Fprintf(stdout, "%-15s %-12s %-4s %9s %9s %9s  %s\n", "figure", "model", "", "baseline", "now", "limit", "verdict")
	for _, c := range cmp {
		if c.Verdict != report.CompareTooFew {
			judged++
		}
		if c.Verdict == report.CompareRegression {
			regressed++
		}
		fmt.Fprintf(stdout, "%-15s %-12s %-4s %9.1f %9.1f %9.1f  %s\n", c.Figure, c.Model, c.Stat, c.Base, c.Now, c.Limit, c.Verdict)
	}
	switch {
	case regressed > 0:
		fmt.Fprintf(stdout, "REGRESSION: %d of %d judged percentiles over the baseline\n", regressed, judged)
		return cli.ExitError{Code: exitRegression}
	case judged == 0:
		fmt.Fprintf(stdout, "NOT JUDGED: no figure has %d calls in both runs; run longer or lower -min-tail\n", g.MinCallsFor(0.5))
		return cli.ExitError{Code: exitRegression}
	}
	fmt.Fprintf(stdout, "no regression: %d percentiles judged\n", judged)
	return nil
}
