package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/harness/runner"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

// maxProcs is the most workers a run may have at once.
const maxProcs = 1024

// Exit statuses of run (and bench), as DESIGN and README give them.
const (
	exitPass        = 0
	exitFailed      = 1
	exitBadInput    = 2
	exitInfra       = 3
	exitInterrupted = 130
	exitTerminated  = 143
)

const runHelp = `Runs the suites against a farm: every spec on every healthy device it applies
to (run.matrix: device; model: once per model; any: once), one worker process
per device, -procs at a time. Writes reports/<run-id>/: results.jsonl,
junit.xml (a testsuite per device), ctrf.json, report.html, evidence/.

Exit status:
  0    every cell passed (flaky cells pass unless -flaky-fails)
  1    a product failure: a cell failed (this outranks every other status)
  2    bad input: the farm file, a flag, the label filter
  3    only infrastructure trouble: cells lost to a device, an adb server, the
       WeChat side or a worker, or quarantined devices; no product failure
  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM — the summary says what ran
`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wmpf-hil run [flags]\n\n%s\nFlags:\n", runHelp)
		fs.PrintDefaults()
	}
	r := suiteFlags(fs)
	labels := fs.String("label-filter", "", "run only specs matching this Ginkgo label filter, e.g. 'smoke' or 'launch || restart'")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	r.labels = *labels
	code, runDir, err := r.exec(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	summarize(stdout, runDir)
	return exitStatus(code, runDir)
}

// suiteRun is one run of the suites.
type suiteRun struct {
	devices, reports, runID, matrix, shard, install *string
	shardCount, procs, flakeAttempts                *int
	flakyFails                                      *bool
	timeout                                         *time.Duration
	labels                                          string
	// extra flags for the suites.
	extra []string
}

// suiteFlags declares the flags every command that runs the suites takes.
func suiteFlags(fs *flag.FlagSet) *suiteRun {
	return &suiteRun{
		devices:       fs.String("devices", "", "farm file (default: $WMPF_HIL_DEVICES, then devices.yaml, then the built-in default farm of 4 simulated devices)"),
		reports:       fs.String("reports", envOr("WMPF_HIL_REPORTS", "reports"), "directory of run reports (or $WMPF_HIL_REPORTS)"),
		procs:         fs.Int("procs", 0, fmt.Sprintf("worker processes at once, each driving one device (default: one per device, at most %d)", runner.DefaultMaxProcs)),
		runID:         fs.String("run-id", os.Getenv("WMPF_HIL_RUN_ID"), "name of the run's report directory (default: the start time)"),
		matrix:        fs.String("matrix", "", "override run.matrix: device (every spec on every device), model (once per model), any (once)"),
		shard:         fs.String("shard", "", "run shard I of N of the farm (I/N; also $WMPF_HIL_SHARD, or $JOB_COMPLETION_INDEX with -shard-count)"),
		shardCount:    fs.Int("shard-count", 0, "with $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's pod index, from 0): the number of shards"),
		flakeAttempts: fs.Int("flake-attempts", 0, "run a failed cell up to N times in all, recording each attempt; one that then passes is flaky (0: product failures are never retried)"),
		flakyFails:    fs.Bool("flaky-fails", false, "a flaky cell fails the run (exit 1)"),
		timeout:       fs.Duration("timeout", 30*time.Minute, "stop the run (as interrupted) if it takes longer"),
		install:       fs.String("install", "", "install this APK, the host app build under test, on every device before the run (overrides the farm file's install:)"),
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// exec runs the suites under the runner and returns the run's exit status
// and directory.
func (r *suiteRun) exec(ctx context.Context, stdout, stderr io.Writer) (int, string, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, "", fmt.Errorf("finding this program to start its workers: %w", err)
	}
	shard, _, err := farm.ShardFromEnv(*r.shard, *r.shardCount)
	if err != nil {
		return 0, "", cli.UsageError{Msg: err.Error()}
	}
	res, err := runner.Run(ctx, runner.Options{
		FarmFile: farm.FileFromEnv(*r.devices), ReportsDir: *r.reports, RunID: *r.runID, Procs: *r.procs,
		Labels: r.labels, Matrix: farm.Matrix(*r.matrix), Shard: shard, FlakeAttempts: *r.flakeAttempts,
		FlakyFails: *r.flakyFails, Timeout: *r.timeout, SuiteArgs: r.extra, Worker: []string{self, "worker"},
		Version: cli.Version(), Stderr: stderr, InstallAPK: *r.install,
	})
	if errors.Is(err, runner.ErrBadInput) {
		return 0, "", cli.UsageError{Msg: strings.TrimPrefix(err.Error(), runner.ErrBadInput.Error()+": ")}
	}
	if err != nil {
		if res != nil && res.RunDir != "" {
			fmt.Fprintf(stderr, "wmpf-hil: %v\n", err)
			return exitInfra, res.RunDir, nil
		}
		return 0, "", err
	}
	return res.End.ExitCode, res.RunDir, nil
}

// exitStatus is the run's exit status as an error for cli.Main.
func exitStatus(code int, runDir string) error {
	if code == exitPass {
		return nil
	}
	return cli.ExitError{Code: code}
}

// runWorker is the hidden subcommand wmpf-hil run starts for each device.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if code := framework.RunWorker(args); code != 0 {
		return cli.ExitError{Code: code}
	}
	return nil
}

// summarize prints the verdict, what went wrong where, and where the
// report is.
func summarize(w io.Writer, runDir string) {
	res, err := report.ReadDir(runDir)
	if err != nil {
		fmt.Fprintf(w, "\nno results in %s: %v\n", runDir, err)
		return
	}
	end := res.Summarize()
	if res.End != nil {
		end = *res.End
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d flaky, %d lost, %d quarantined, %d skipped", end.Verdict, end.Passed, end.Failed,
		end.Flaky, end.Lost, end.Quarantined, end.Skipped)
	if end.Interrupted > 0 || end.Signal != "" {
		fmt.Fprintf(w, ", %d interrupted", end.Interrupted)
	}
	fmt.Fprintf(w, "; %d calls measured\n", len(res.Calls))
	if end.Signal != "" {
		fmt.Fprintf(w, "interrupted by %s: the counts above are what had run\n", end.Signal)
	}
	for _, s := range res.Cells() {
		switch s.State {
		case report.StateFailed, report.StateLost, report.StateQuarantined, report.StateFlaky:
			why := s.Failure
			if why == "" {
				why = s.Reason
			}
			if l, _, _ := strings.Cut(strings.TrimSpace(why), "\n"); l != "" {
				why = l
			}
			if len(why) > 200 {
				why = why[:200] + "…"
			}
			fmt.Fprintf(w, "  %-11s %s: %s\n", s.State, s.TestName(), why)
		}
	}
	for _, in := range res.Incidents {
		fmt.Fprintf(w, "incident: %s", in.What)
		for _, f := range []string{in.Device, in.Server, in.Addr, in.Exit} {
			if f != "" {
				fmt.Fprintf(w, " %s", f)
			}
		}
		if in.What == report.IncidentADBServerRestarted {
			fmt.Fprintf(w, "; back in %.0f ms with %d devices", in.TookMs, len(in.Reconnected))
		}
		if in.Detail != "" {
			fmt.Fprintf(w, "; %s", in.Detail)
		}
		fmt.Fprintln(w)
	}
	printAccuracy(w, res)
	fmt.Fprintf(w, "report:  %s\n", filepath.Join(runDir, report.HTMLFile))
	fmt.Fprintf(w, "junit:   %s\n", filepath.Join(runDir, report.JUnitFile))
	fmt.Fprintf(w, "results: %s\n", filepath.Join(runDir, report.ResultsFile))
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	dir := fs.Arg(0)
	if err := report.Render(dir); err != nil {
		return err
	}
	summarize(stdout, dir)
	return nil
}

// printAccuracy prints, for calls on simulated devices, how far the
// harness's clock-corrected figures are from the simulator's ground truth.
func printAccuracy(w io.Writer, res *report.Results) {
	errs := map[string][]float64{}
	for _, c := range res.Calls {
		for seg, e := range c.TruthErrors {
			errs[seg] = append(errs[seg], math.Abs(e))
		}
	}
	if len(errs) == 0 {
		return
	}
	fmt.Fprintf(w, "clock correction vs ground truth (|harness - truth|, ms; target p99 under %v):\n", runner.ClockTarget)
	for _, seg := range latency.Segments {
		v := errs[seg.Name]
		if len(v) == 0 {
			continue
		}
		sort.Float64s(v)
		pct := func(p float64) float64 { return v[min(len(v)-1, max(0, int(math.Ceil(p*float64(len(v))/100))-1))] }
		fmt.Fprintf(w, "  %-9s n=%-4d p50=%.3f p99=%.3f max=%.3f\n", seg.Name, len(v), pct(50), pct(99), v[len(v)-1])
	}
}
