package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/gate"
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

// exitRegression is the exit status of wmpf-hil bench and compare when
// the run regressed against the baseline: significantly, and by at least
// the minimum effect.
const exitRegression = 4

// percent is a flag given as a percentage, "5%".
type percent struct {
	v      float64 // fraction
	set    bool
	lo, hi float64 // allowed, in percent
	hiOpen bool
}

func (p *percent) String() string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(100*p.v, 'g', -1, 64) + "%"
}

func (p *percent) Set(s string) error {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil {
		return fmt.Errorf("%q: write a percentage like 5%%", s)
	}
	if math.IsNaN(v) || v < p.lo || v > p.hi || (p.hiOpen && v == p.hi) {
		upto := "up to"
		if p.hiOpen {
			upto = "up to (not including)"
		}
		return fmt.Errorf("%s: allowed %g%% %s %g%%", s, p.lo, upto, p.hi)
	}
	p.v, p.set = v/100, true
	return nil
}

// removed is a flag that is no longer there: setting it is an error that
// says what replaces it.
type removed string

func (r removed) String() string     { return "" }
func (r removed) Set(s string) error { return fmt.Errorf("removed: %s", string(r)) }

// gateFlags declares the release gate's flags; the returned function
// gives its configuration once they are parsed.
func gateFlags(fs *flag.FlagSet) func() (gate.Config, error) {
	def := gate.DefaultConfig()
	alpha := fs.Float64("alpha", def.Alpha, "false-alarm rate of the whole gate: the chance that two runs of one build are reported as changed (Holm-corrected over the comparisons)")
	minEffect := &percent{v: def.MinEffect, lo: 0, hi: 100, hiOpen: true}
	fs.Var(minEffect, "min-effect", "the smallest change that counts: a significant change under it is \"no change\"")
	for _, name := range []string{"tolerance", "slack", "min-tail"} {
		fs.Var(removed("the gate is a statistical test now: -alpha sets its false-alarm rate and -min-effect the smallest change that counts (docs/release-gate.md)"), name,
			"removed: see -alpha and -min-effect")
	}
	return func() (gate.Config, error) {
		cfg := def
		cfg.Alpha, cfg.MinEffect = *alpha, minEffect.v
		if !(cfg.Alpha > 0 && cfg.Alpha <= 0.5) {
			return cfg, cli.Usagef("-alpha %g: allowed above 0, up to 0.5", cfg.Alpha)
		}
		return cfg, nil
	}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	r := suiteFlags(fs)
	arrival := fs.String("arrival", "poisson:2/s", "call arrivals for the whole farm: constant:RATE, poisson:RATE or ramp:RATE-RATE (RATE like 2/s or 30/min)")
	duration := fs.Duration("duration", 2*time.Minute, "how long calls arrive")
	baseline := fs.String("baseline", "", "a baseline to gate on: a run directory of an earlier bench or its bench.json; several, comma-separated, are put together (shards, or runs of one build)")
	gateCfg := gateFlags(fs)
	plan := fs.Bool("plan", false, "run nothing: estimate from -baseline how many calls (and how long at -arrival) each run needs for the gate to find a -detect slowdown")
	detect := &percent{v: 0.10, lo: 0, hi: 1000}
	fs.Var(detect, "detect", "with -plan: the slowdown to find, 95% of the time")
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
	cfg, err := gateCfg()
	if err != nil {
		return err
	}
	if detect.set && !*plan {
		return cli.Usagef("-detect is for -plan: add -plan (and -baseline) to estimate how long a run must be")
	}
	if *plan && detect.v <= cfg.MinEffect {
		return cli.Usagef("-detect %s: allowed above -min-effect (%s): a smaller change is never a regression", detect, fmt.Sprintf("%g%%", 100*cfg.MinEffect))
	}
	var base report.BenchFigures
	if *baseline != "" {
		if base, err = report.ReadBenchSet(*baseline); err != nil {
			return cli.UsageError{Msg: "-baseline: " + err.Error()}
		}
		// Say now, not after the run, that an old baseline cannot gate.
		if _, err := base.GateSamples(); err != nil {
			return cli.UsageError{Msg: "-baseline: " + err.Error()}
		}
	}
	if *plan {
		if *baseline == "" {
			return cli.Usagef("-plan needs -baseline: the plan reads the noise of a run of this farm")
		}
		return printPlan(stdout, cfg, base, *baseline, detect.v, a)
	}
	// The calls arrive for -duration; each may take the SpecTimeout's
	// share after that.
	if *r.timeout < *duration+10*time.Minute {
		*r.timeout = *duration + 10*time.Minute
	}
	r.labels = "benchmark"
	if *r.procs == 0 {
		// Every device carries its share of the arrival at once: a device
		// waiting for a worker would take its calls late.
		*r.procs = maxProcs
	}
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
	} else if back, err := report.ReadBench(runDir); err == nil {
		// Judge what bench.json holds, so that compare on the kept runs
		// judges the very same figures.
		figs = back
	}
	fmt.Fprintf(stdout, "\nrelease benchmark: %d calls, %s over %v, open loop: latency counts from each call's scheduled start\n", figs.Calls, a, *duration)
	report.WriteBenchTable(stdout, figs, cfg)
	fmt.Fprintf(stdout, "figures: %s\n", runDir+"/"+report.BenchFile)
	regressed := false
	if *baseline != "" && figs.Calls > 0 {
		g, err := report.CompareBench(cfg, base, figs)
		if err != nil {
			fmt.Fprintf(stderr, "wmpf-hil: gate: %v\n", err)
		} else {
			rep := report.GateReport{Baseline: *baseline, BaselineRun: base.Run, BaselineCalls: base.Calls, Run: figs.Run, Calls: figs.Calls, Result: g}
			fmt.Fprintln(stdout)
			report.WriteGateTable(stdout, rep)
			if err := report.WriteGate(runDir, rep); err != nil {
				fmt.Fprintf(stderr, "wmpf-hil: %v\n", err)
			} else if err := report.Render(runDir); err != nil { // the page shows the gate's table
				fmt.Fprintf(stderr, "wmpf-hil: %v\n", err)
			}
			regressed = g.Regressed()
		}
	}
	if err := exitStatus(code, runDir); err != nil {
		return err
	}
	if regressed {
		return cli.ExitError{Code: exitRegression}
	}
	return nil
}

// printPlan prints how many calls, and how long at arrival a, each run
// needs for the gate to find a slowdown of detect.
func printPlan(w io.Writer, cfg gate.Config, base report.BenchFigures, from string, detect float64, a loadgen.Arrival) error {
	s, err := base.GateSamples()
	if err != nil {
		return cli.UsageError{Msg: "-baseline: " + err.Error()}
	}
	rate := a.MeanRate()
	maxCalls := int(math.Min(24*3600*rate, 1e6))
	p, err := gate.MakePlan(gate.PlanConfig{Gate: cfg, Detect: detect, Calls: base.Calls, MaxCalls: maxCalls, Seed: 1}, s)
	if err != nil {
		return cli.UsageError{Msg: "-detect: " + strings.TrimPrefix(err.Error(), "gate: plan: ")}
	}
	dur := func(calls int) string {
		return (time.Duration(float64(calls)/rate*float64(time.Second)) + time.Second/2).Truncate(time.Second).String()
	}
	fmt.Fprintf(w, "plan: calls each of two runs needs for the gate to find a %.3g%% slowdown %.0f%% of the time (alpha %g for the whole gate, minimum effect %.3g%%), from the noise of %s (run %s, %d calls); durations at %s\n",
		100*detect, 100*cfg.Power, cfg.Alpha, 100*cfg.MinEffect, from, base.Run, base.Calls, a)
	fmt.Fprintf(w, "%-15s %-12s %6s %9s %9s %18s %6s\n", "figure", "model", "share", "estimate", "calls", "duration", "power")
	worstAll, worstAny, unplanned := 0, 0, 0
	allBeyond, anyBeyond := false, false
	for _, r := range sortPlan(p.Rows) {
		calls, d := fmt.Sprintf(">%d", maxCalls), "over 24h"
		switch {
		case r.TooFew:
			calls, d = "-", "baseline too small"
			unplanned++
		case r.Calls > 0:
			calls, d = strconv.Itoa(r.Calls), dur(r.Calls)
			worstAny = max(worstAny, r.Calls)
			if r.Model == report.AllModels {
				worstAll = max(worstAll, r.Calls)
			}
		default:
			anyBeyond = true
			allBeyond = allBeyond || r.Model == report.AllModels
		}
		est := "-"
		if r.Estimate > 0 {
			est = strconv.Itoa(r.Estimate)
		}
		pw := "-"
		if !r.TooFew {
			pw = fmt.Sprintf("%.2f", r.Power)
		}
		fmt.Fprintf(w, "%-15s %-12s %6.2f %9s %9s %18s %6s\n", r.Figure, r.Model, r.Share, est, calls, d, pw)
	}
	say := func(what string, n int, beyond bool) {
		switch {
		case beyond:
			fmt.Fprintf(w, "to find it %s: more than a day's calls for some; at least %d calls (%s) for the others\n", what, n, dur(n))
		default:
			fmt.Fprintf(w, "to find it %s: %d calls a run (%s at %s)\n", what, n, dur(n), a)
		}
	}
	say("in every figure over all models", worstAll, allBeyond)
	say("in every figure of every model", worstAny, anyBeyond)
	if base.Calls < worstAll {
		fmt.Fprintf(w, "the baseline has %d calls: run it again at that length too (both runs need it)\n", base.Calls)
	}
	if unplanned > 0 {
		fmt.Fprintf(w, "not counted above: %d rows marked \"baseline too small\", with under %d values in some model; a longer baseline plans them\n", unplanned, gate.MinPlanValues)
	}
	fmt.Fprintf(w, "method: %d simulated pairs of runs per size, resampled from the baseline (smoothed bootstrap), the second slower by %.3g%%; share = values per call; estimate = normal approximation. The baseline's own noise makes the figures uncertain by about ±%.0f%% (more calls in the baseline, less).\n",
		200, 100*detect, 100*2/math.Sqrt(2*float64(max(base.Calls, 1))))
	return nil
}

// sortPlan orders plan rows as the tables are: by stage, models with
// "all" last.
func sortPlan(rows []gate.PlanRow) []gate.PlanRow {
	out := append([]gate.PlanRow(nil), rows...)
	sort.SliceStable(out, func(i, j int) bool {
		return report.RowLess(out[i].Figure, out[i].Model, out[j].Figure, out[j].Model)
	})
	return out
}
