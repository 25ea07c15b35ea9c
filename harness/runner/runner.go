// Package runner is what `wmpf-hil run` does: it supervises a run of the
// suites over a farm. It brings the farm up (or this shard's part of it),
// lists the specs, plans the cells — every spec on every device it applies
// to, or as the matrix says — and runs each device's cells in a worker
// process of its own, a few devices at a time. It watches the workers and
// the WeChat side: a worker that dies costs the cell it was running
// (recorded as lost to the worker) and its calls are ended and its device
// reset before the rest of its cells run in a new worker; a WeChat side that
// stops answering is an incident, never a product failure. It retries cells
// lost to infrastructure on another device of the same model when asked,
// writes the run's first and last records, renders the report and gives the
// exit status: 0 pass, 1 product failure, 3 infrastructure trouble only,
// 130/143 interrupted.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// Options configure a run.
type Options struct {
	// FarmFile is devices.yaml (farm.FileFromEnv's rules apply before).
	FarmFile string
	// ReportsDir holds the run's directory, ReportsDir/RunID.
	ReportsDir string
	RunID      string
	// Procs is how many workers run at once (0: one per device, at most
	// DefaultMaxProcs).
	Procs int
	// Labels is a Ginkgo label filter.
	Labels string
	// Matrix overrides the farm file's run.matrix.
	Matrix farm.Matrix
	// Shard runs this part of the farm only.
	Shard farm.Shard
	// FlakeAttempts runs a failed cell again up to this many times in
	// all, recording each attempt: a cell that failed, then passed, is
	// flaky. 0 or 1: product failures are not retried.
	FlakeAttempts int
	// FlakyFails makes flaky cells fail the run.
	FlakyFails bool
	// Timeout bounds the run.
	Timeout time.Duration
	// SuiteArgs are more framework flags for the workers
	// (-bench-arrival, …).
	SuiteArgs []string
	// Worker is the command that runs a worker: the program and the
	// arguments before the worker's own (wmpf-hil: [self, "worker"]).
	Worker []string
	// Version is the tool's version, for the run record.
	Version string
	// InstallAPK is the build under test for every device, whatever the
	// farm file says.
	InstallAPK string
	// Stderr receives progress.
	Stderr io.Writer
}

// DefaultMaxProcs bounds the default number of workers at once.
const DefaultMaxProcs = 16

// ClockTarget is the largest error of clock-corrected figures against the
// simulator's ground truth (p99 over a run's calls on simulated devices)
// that a run accepts; beyond it the harness is at fault.
const ClockTarget = 5 * time.Millisecond

// ErrBadInput wraps errors in the options or the farm file: exit status 2.
var ErrBadInput = errors.New("bad input")

// Result is a finished run.
type Result struct {
	RunDir string
	End    report.EndInfo
}

// run is one run in progress.
type run struct {
	opts    Options
	cfg     *farm.Config
	runDir  string
	w       *report.Writer
	farm    *farm.Farm
	specs   []specInfo
	planned int // devices this run brings up
	logf    func(format string, args ...any)
	started time.Time

	mu       sync.Mutex
	progress *progress
	tail     *resultsTail
	workers  map[int]*worker
	nextID   int
	// wechatDown: the run found its WeChat side gone (and not back).
	wechatDown bool
}

// Run runs the suites over the farm and returns when the run is over. An
// error means the run could not start (ErrBadInput for a mistake in the
// farm file or options) or could not finish its report; every other
// outcome is in Result.End.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if len(o.Worker) == 0 {
		return nil, fmt.Errorf("%w: runner: no worker command", ErrBadInput)
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Minute
	}
	start := time.Now()
	r := &run{opts: o, started: start, workers: map[int]*worker{}}
	r.logf = func(format string, args ...any) {
		fmt.Fprintf(o.Stderr, "%7s  %s\n", fmtElapsed(time.Since(start)), fmt.Sprintf(format, args...))
	}
	cfg, err := farm.Load(o.FarmFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	if o.Matrix != "" {
		if !o.Matrix.Valid() {
			return nil, fmt.Errorf("%w: -matrix %q: allowed device, model, any", ErrBadInput, o.Matrix)
		}
		cfg.Run.Matrix = o.Matrix
	}
	if o.Procs < 0 || o.Procs > 1024 {
		return nil, fmt.Errorf("%w: -procs %d: allowed 1..1024 (0: one per device, at most %d)", ErrBadInput, o.Procs, DefaultMaxProcs)
	}
	if o.InstallAPK != "" {
		o.InstallAPK, _ = filepath.Abs(o.InstallAPK)
		if st, err := os.Stat(o.InstallAPK); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%w: -install %s: want an APK file (%v)", ErrBadInput, o.InstallAPK, err)
		}
	}
	if o.FlakeAttempts < 0 || o.FlakeAttempts > 10 {
		return nil, fmt.Errorf("%w: -flake-attempts %d: allowed 0..10", ErrBadInput, o.FlakeAttempts)
	}
	r.cfg = cfg
	var only []string
	if o.Shard.Sharded() {
		only = cfg.ShardDevices(o.Shard)
		if len(only) == 0 {
			return nil, fmt.Errorf("%w: shard %s has no device (the farm has %d)", ErrBadInput, o.Shard, cfg.DeviceCount())
		}
	}
	r.planned = cfg.DeviceCount()
	if only != nil {
		r.planned = len(only)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	r.logf("farm %s: %d devices%s, matrix %s", cfg.Path, cfg.DeviceCount(), shardNote(o.Shard, only), cfg.MatrixOrDefault())
	specs, err := r.listSpecs(ctx)
	if err != nil {
		return nil, err
	}
	r.specs = specs
	r.logf("%d specs%s", len(specs), labelNote(o.Labels))
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no spec matches -label-filter %q", ErrBadInput, o.Labels)
	}

	runID := o.RunID
	if runID == "" {
		runID = time.Now().Format("20060102-150405")
	}
	reports, _ := filepath.Abs(o.ReportsDir)
	r.runDir = filepath.Join(reports, runID)
	if _, err := os.Stat(filepath.Join(r.runDir, report.ResultsFile)); err == nil {
		return nil, fmt.Errorf("%w: run %s already has results in %s: choose another -run-id", ErrBadInput, runID, r.runDir)
	}
	w, err := report.OpenWriter(r.runDir, 0)
	if err != nil {
		return nil, err
	}
	r.w = w
	defer w.Close()
	if err := r.writeRunRecord(runID); err != nil {
		return nil, err
	}
	if err := report.Latest(reports, r.runDir); err != nil {
		r.logf("reports: %v", err)
	}
	r.logf("report in %s", r.runDir)

	// The farm.
	r.logf("bringing the farm up")
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: r.logf, Only: only, InstallAPK: o.InstallAPK,
		ServerEvents: framework.ServerEvents(r.runDir, w)})
	if f != nil {
		defer func() {
			r.logf("taking the farm down")
			if err := f.Down(); err != nil {
				r.logf("farm down: %v", err)
			}
		}()
	}
	if err != nil {
		_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: report.IncidentFarmFailed, Detail: err.Error()}})
		r.finish(ctx, context.Cause(ctx))
		return &Result{RunDir: r.runDir}, fmt.Errorf("farm: %w", err)
	}
	r.farm = f
	for _, d := range f.Spec.Devices {
		_ = w.Write(report.Record{Kind: report.KindDevice, Device: framework.DeviceInfo(d, report.DeviceHealthy, "")})
	}
	for _, x := range f.Spec.Excluded {
		_ = w.Write(report.Record{Kind: report.KindDevice, Device: framework.DeviceInfo(x.Device, report.DeviceExcluded, x.Reason)})
	}
	sh := framework.Shared{Farm: f.Spec, RunDir: r.runDir, ReportsDir: reports, RunID: runID, Supervised: true}
	if err := framework.WriteShared(sh); err != nil {
		return nil, err
	}

	cells := r.plan()
	r.recordExcluded()
	r.progress = newProgress(cells, r.logf)
	tail, err := openTail(r.runDir, r.progress.cellStarted, r.progress.cellEnded)
	if err != nil {
		return nil, err
	}
	defer tail.close()
	r.tail = tail
	r.logf("%d cells on %d devices, %d workers at once", len(cells), len(f.Spec.Devices), r.procs())

	wctx, stopWatch := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	watchers.Add(2)
	go func() { defer watchers.Done(); r.watchWeChat(wctx) }()
	go func() { defer watchers.Done(); r.followResults(wctx) }()

	r.runCells(ctx, cells)
	if n := cfg.Run.Retries.Infrastructure; n > 0 && ctx.Err() == nil {
		r.retryInfrastructure(ctx, n)
	}
	stopWatch()
	watchers.Wait()
	if !errors.As(context.Cause(ctx), new(signalCause)) {
		r.checkWeChatAtEnd(ctx)
	}
	end := r.finish(ctx, context.Cause(ctx))
	return &Result{RunDir: r.runDir, End: end}, nil
}

// procs is how many workers run at once: -procs, else one per device
// (healthy ones once the farm is up) up to DefaultMaxProcs.
func (r *run) procs() int {
	n := r.opts.Procs
	if n == 0 {
		devices := r.planned
		if r.farm != nil {
			devices = len(r.farm.Spec.Devices)
		}
		n = min(devices, DefaultMaxProcs)
	}
	return max(n, 1)
}

func (r *run) writeRunRecord(runID string) error {
	host, _ := os.Hostname()
	info := &report.RunInfo{ID: runID, Started: r.started, FarmFile: r.cfg.Path, Workers: r.procs(), Host: host,
		GoVersion: runtime.Version(), Labels: r.opts.Labels, Matrix: report.Matrix(r.cfg.MatrixOrDefault()),
		Budgets: report.BudgetsOf(r.cfg.LoadedBudgets()), Tool: report.Tool{Name: report.ToolName, Version: r.opts.Version},
		FlakeAttempts: r.opts.FlakeAttempts, FlakyFails: r.opts.FlakyFails, Retries: report.Retries{Infrastructure: r.cfg.Run.Retries.Infrastructure}}
	if r.opts.Shard.Sharded() {
		info.Shard = &report.Shard{Index: r.opts.Shard.Index, Count: r.opts.Shard.Count}
	}
	return r.w.Write(report.Record{Kind: report.KindRun, Schema: report.SchemaVersion, Run: info})
}

// plan gives every listed spec its devices, by the run's matrix.
//
// A shard assigns over the whole farm file's devices, then keeps its own
// cells: with matrix model or any, a spec runs once per model (or once)
// over all the shards, not once in each.
func (r *run) plan() []framework.Cell {
	pool := r.farm.Spec.Devices
	if r.opts.Shard.Sharded() {
		// Every shard must see the same pool: the farm file's names and
		// models (a real device's model: from the file, so give it there).
		pool = nil
		for _, p := range r.cfg.Planned() {
			pool = append(pool, device.Spec{Name: p.Name, Model: p.Model})
		}
	}
	var cells []framework.Cell
	for _, s := range r.specs {
		for _, name := range framework.Assign(r.farm.Spec.Run.Matrix, s.Name, pool) {
			if _, ok := r.deviceSpec(name); ok {
				cells = append(cells, framework.Cell{Spec: s.Name, Device: name, Attempt: 1})
			}
		}
	}
	sort.SliceStable(cells, func(i, j int) bool { return cells[i].Device < cells[j].Device })
	return cells
}

// recordExcluded records the cells of devices taken out at the health
// check as quarantined, so that the matrix shows them.
func (r *run) recordExcluded() {
	for _, x := range r.farm.Spec.Excluded {
		for _, s := range r.specs {
			if !r.assignedToExcluded(s.Name, x.Device) {
				continue
			}
			_ = r.w.Write(report.Record{Kind: report.KindSpec, Spec: &report.SpecResult{Name: s.Name, Device: x.Device.Name,
				Model: x.Device.Model, SN: x.Device.SN, Labels: s.Labels, State: report.StateQuarantined,
				Reason: "taken out of the run at the health check: " + x.Reason}})
		}
	}
}

// assignedToExcluded reports whether the matrix would have given spec to
// the excluded device d had it been healthy.
func (r *run) assignedToExcluded(spec string, d device.Spec) bool {
	all := append(append([]device.Spec(nil), r.farm.Spec.Devices...), d)
	for _, n := range framework.Assign(r.farm.Spec.Run.Matrix, spec, all) {
		if n == d.Name {
			return true
		}
	}
	return false
}

// finish writes the end record — by the supervising process, however the
// run went — renders the report, and returns the end.
func (r *run) finish(ctx context.Context, cause error) report.EndInfo {
	res, err := report.ReadDir(r.runDir)
	if err != nil {
		res = &report.Results{}
	}
	o := res.Options()
	o.FlakyFails = r.opts.FlakyFails
	var sig signalCause
	if errors.As(cause, &sig) {
		o.Signal = sig.Name()
	} else if errors.Is(cause, context.DeadlineExceeded) {
		o.Incomplete = true
		_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: report.IncidentTimeout,
			Detail: fmt.Sprintf("the run took longer than -timeout %v", r.opts.Timeout)}})
	}
	if fault := clockFault(res); fault != "" {
		_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: report.IncidentHarnessFault, Detail: fault}})
		o.Incomplete = true
	}
	end, err := res.SummarizeWith(o)
	if err != nil {
		r.logf("summary: %v", err)
	}
	_ = r.w.Write(report.Record{Kind: report.KindEnd, End: &end})
	if err := report.Render(r.runDir); err != nil {
		r.logf("render report: %v", err)
	}
	return end
}

// clockFault says how the clock correction missed its target on simulated
// devices, or "".
func clockFault(res *report.Results) string {
	var errs []float64
	for _, c := range res.Calls {
		for _, e := range c.TruthErrors {
			if e < 0 {
				e = -e
			}
			errs = append(errs, e)
		}
	}
	if len(errs) < 10 {
		return ""
	}
	sort.Float64s(errs)
	p99 := errs[min(len(errs)-1, len(errs)*99/100)]
	if p99 > report.Ms(ClockTarget) {
		return fmt.Sprintf("clock correction missed its target: p99 |harness - ground truth| %.2f ms over %d stage figures, target %v", p99, len(errs), ClockTarget)
	}
	return ""
}

// signalCause is the cause of a context cancelled by a signal.
type signalCause interface {
	error
	Name() string
}

// Signal is a context cause for an interrupt by sig: a run cancelled with
// context.WithCancelCause(…)(Signal(syscall.SIGTERM)) ends with 143.
func Signal(sig os.Signal) error { return signalErr{sig} }

type signalErr struct{ sig os.Signal }

func (s signalErr) Error() string { return "interrupted by " + s.Name() }

func (s signalErr) Name() string {
	switch s.sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return strings.ToUpper(s.sig.String())
}

func fmtElapsed(d time.Duration) string {
	d = d.Round(100 * time.Millisecond)
	m := int(d / time.Minute)
	s := float64(d%time.Minute) / float64(time.Second)
	return fmt.Sprintf("%d:%04.1f", m, s)
}

func shardNote(s farm.Shard, only []string) string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf(", shard %s: %d of them (%s)", s, len(only), strings.Join(only, ", "))
}

func labelNote(l string) string {
	if l == "" {
		return ""
	}
	return " (label filter " + l + ")"
}
