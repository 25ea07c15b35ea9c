package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "suites")); err == nil {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", errors.New("run wmpf-hil inside its source tree (no go.mod with suites/ above " + dir + ")")
		}
	}
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
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

// suiteRun is one run of the suites through Ginkgo.
type suiteRun struct {
	devices, reports, runID *string
	procs                   *int
	timeout                 *time.Duration
	labels                  string
	// extra flags for the suites.
	extra []string
}

// suiteFlags declares the flags every command that runs the suites takes.
func suiteFlags(fs *flag.FlagSet) *suiteRun {
	return &suiteRun{
		devices: fs.String("devices", "", "farm file (default: $WMPF_HIL_DEVICES, then devices.yaml)"),
		reports: fs.String("reports", "reports", "directory of run reports"),
		procs:   fs.Int("procs", 0, "Ginkgo processes (default: one per device of the farm)"),
		runID:   fs.String("run-id", "", "name of the run's report directory (default: the start time)"),
		timeout: fs.Duration("timeout", 30*time.Minute, "fail the run if it takes longer"),
	}
}

// exec runs the suites and returns Ginkgo's exit code and the run
// directory, whose report it renders if the suites could not.
func (r *suiteRun) exec(ctx context.Context, stdout, stderr io.Writer) (int, string, error) {
	root, err := moduleRoot()
	if err != nil {
		return 0, "", err
	}
	file := farm.FileFromEnv(*r.devices)
	if !filepath.IsAbs(file) {
		file, _ = filepath.Abs(file)
	}
	cfg, err := farm.Load(file)
	if err != nil {
		return 0, "", cli.UsageError{Msg: err.Error()}
	}
	n := cfg.DeviceCount()
	procs := *r.procs
	if procs == 0 {
		procs = n
	}
	if procs < 1 || procs > 256 {
		return 0, "", cli.UsageError{Msg: fmt.Sprintf("-procs %d: allowed 1..256", procs)}
	}
	runID := *r.runID
	if runID == "" {
		runID = time.Now().Format("20060102-150405")
	}
	rdir, _ := filepath.Abs(*r.reports)
	runDir := filepath.Join(rdir, runID)
	fmt.Fprintf(stderr, "wmpf-hil: farm %s (%d devices), %d processes, report in %s\n", file, n, procs, runDir)

	gargs := []string{"tool", "ginkgo", "-p", "--procs", strconv.Itoa(procs), "--timeout", r.timeout.String(), "--poll-progress-after", "60s"}
	if r.labels != "" {
		gargs = append(gargs, "--label-filter", r.labels)
	}
	gargs = append(gargs, "./suites", "--", "-devices", file, "-reports", rdir, "-run-id", runID)
	gargs = append(gargs, r.extra...)
	cmd := exec.Command("go", gargs...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), "TESTCONTAINERS_RYUK_DISABLED=true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, runDir, fmt.Errorf("start ginkgo: %w", err)
	}
	// Pass an interrupt on to ginkgo, which finishes its reporting nodes;
	// a second one kills the run.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		fmt.Fprintln(stderr, "wmpf-hil: interrupted: letting the suites write their results")
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case werr = <-done:
		case <-time.After(90 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			werr = <-done
		}
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code = ee.ExitCode()
		if code < 0 {
			code = 1
		}
	} else if werr != nil {
		return 0, runDir, werr
	}
	// The suites render the report at the end; a run that crashed or was
	// killed did not, so render what results.jsonl holds.
	if _, err := os.Stat(filepath.Join(runDir, report.HTMLFile)); err != nil {
		if _, rerr := os.Stat(filepath.Join(runDir, report.ResultsFile)); rerr == nil {
			if err := report.Render(runDir); err != nil {
				fmt.Fprintf(stderr, "wmpf-hil: render report: %v\n", err)
			}
		}
	}
	return code, runDir, nil
}

// exitStatus maps Ginkgo's exit code to the run's: when every spec that
// did not pass lost its device, it is an infrastructure problem (3), not a
// product failure.
func exitStatus(code int, runDir string) error {
	if code == 0 {
		return nil
	}
	if res, err := report.ReadDir(runDir); err == nil {
		if end := res.Summarize(); end.Failed == 0 && end.Lost > 0 {
			return cli.ExitError{Code: exitDevicesLost}
		}
	}
	return cli.ExitError{Code: code}
}

// exitDevicesLost is wmpf-hil run's exit status when no spec failed but
// devices were lost: the farm, not the product, needs attention.
const exitDevicesLost = 3

// summarize prints the verdict and where the report is.
func summarize(w io.Writer, runDir string) {
	res, err := report.ReadDir(runDir)
	if err != nil {
		fmt.Fprintf(w, "\nno results in %s: %v\n", runDir, err)
		return
	}
	end := res.Summarize()
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d device-lost, %d calls measured\n", end.Verdict, end.Passed, end.Failed, end.Lost, len(res.Calls))
	for _, in := range res.Incidents {
		fmt.Fprintf(w, "incident: %s: adb server %s (%s), %s", in.What, in.Server, in.Addr, in.Exit)
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
	fmt.Fprintf(w, "clock correction vs ground truth (|harness - truth|, ms):\n")
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
