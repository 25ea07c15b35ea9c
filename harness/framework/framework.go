// Package framework is the suites' glue to Ginkgo. Suites register their
// specs with Describe; the framework builds one Ginkgo container per device
// of the farm around them, so that every spec runs on every device it
// applies to (the run's matrix), each result a cell (spec, device) with a
// stable name. It hands each spec its device, ready to take a call (Lease),
// writes results.jsonl as each cell and call finishes, captures the evidence
// of every failure (logcat, UI dump, screenshot, what the WeChat side saw),
// tells a lost or quarantined device from a product failure, and renders the
// report at the end of a run it brought up itself.
//
// It runs in two ways:
//   - under `wmpf-hil run`, which brings the farm up, plans the cells and
//     starts worker processes (RunWorker), each running one device's cells;
//   - under Ginkgo directly (go test, or `ginkgo -p ./suites`), where
//     Ginkgo's first process brings the farm up (SynchronizedBeforeSuite)
//     and each device's container runs on one process.
//
// A suite uses it with its specs registered at package level:
//
//	var _ = framework.Describe("Launch", Label("launch"), func() { … })
//
// and one test function calling framework.RunSuites(t, "wmpf-hil").
package framework

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// Timeouts are the framework's named waits.
type Timeouts struct {
	// Launch bounds a push → launchMiniProgram.
	Launch time.Duration
	// PageShown bounds launchMiniProgram → the call page shown.
	PageShown time.Duration
	// CallEnd bounds ending a call → finishVoip / call_ended.
	CallEnd time.Duration
	// Ready bounds a device becoming ready for a call.
	Ready time.Duration
	// Answered bounds a whole measured call, placed → answered.
	Answered time.Duration
	// WeChatRequest bounds one request to the WeChat side that should be
	// quick (callWMPF, a room's state, hang up).
	WeChatRequest time.Duration
	// Cleanup bounds a spec's cleanup.
	Cleanup time.Duration
	// Spec bounds a plain spec; LongSpec one that places many calls.
	Spec, LongSpec time.Duration
}

// DefaultTimeouts are the timeouts of every run.
var DefaultTimeouts = Timeouts{
	Launch:        10 * time.Second,
	PageShown:     15 * time.Second,
	CallEnd:       15 * time.Second,
	Ready:         20 * time.Second,
	Answered:      30 * time.Second,
	WeChatRequest: 5 * time.Second,
	Cleanup:       30 * time.Second,
	Spec:          90 * time.Second,
	LongSpec:      5 * time.Minute,
}

// Flags are the framework's command-line settings.
type Flags struct {
	Devices string
	Reports string
	RunID   string

	BenchArrival  string
	BenchDuration string

	// Set by wmpf-hil run for its workers.
	workerPlan string
}

var flags Flags

// RegisterFlags declares the framework's flags on fs (the suites' test
// binary registers them on flag.CommandLine).
func RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&flags.Devices, "devices", "", "farm file (default: $WMPF_HIL_DEVICES, then devices.yaml, then the built-in default farm)")
	fs.StringVar(&flags.Reports, "reports", "", "reports directory (default: $WMPF_HIL_REPORTS, then reports/)")
	fs.StringVar(&flags.RunID, "run-id", "", "run id, the report's directory name (default: $WMPF_HIL_RUN_ID, then the start time)")
	fs.StringVar(&flags.BenchArrival, "bench-arrival", "", "release benchmark: open-loop call arrivals for the whole farm, constant:RATE, poisson:RATE or ramp:RATE-RATE (default: $WMPF_HIL_BENCH_ARRIVAL, then "+DefaultBenchArrival+")")
	fs.StringVar(&flags.BenchDuration, "bench-duration", "", "release benchmark: how long calls arrive (default: $WMPF_HIL_BENCH_DURATION, then "+DefaultBenchDuration+")")
	fs.StringVar(&flags.workerPlan, "worker-plan", "", "set by wmpf-hil run: the worker's plan file (its device and cells)")
}

// Defaults of the release benchmark: short enough for every run, long
// enough to place calls on every device of the default farm.
const (
	DefaultBenchArrival  = "constant:1/s"
	DefaultBenchDuration = "8s"
)

// BenchPlan is the release benchmark's load: the arrival for the whole
// farm and how long calls arrive, from -bench-arrival and -bench-duration
// (or their environment variables). Bad values are errors naming the flag
// and what is allowed.
func BenchPlan() (loadgen.Arrival, time.Duration, error) {
	as := pick(flags.BenchArrival, "WMPF_HIL_BENCH_ARRIVAL", DefaultBenchArrival)
	a, err := loadgen.ParseArrival(as)
	if err != nil {
		return a, 0, fmt.Errorf("-bench-arrival: %w", err)
	}
	ds := pick(flags.BenchDuration, "WMPF_HIL_BENCH_DURATION", DefaultBenchDuration)
	d, err := time.ParseDuration(ds)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return a, 0, fmt.Errorf("-bench-duration %q: want a duration from 1s to 24h, like 90s or 10m", ds)
	}
	return a, d, nil
}

// Shared is the run as every process sees it: the farm brought up, where
// the report goes.
type Shared struct {
	Farm       farm.Spec `json:"farm"`
	RunDir     string    `json:"runDir"`
	ReportsDir string    `json:"reportsDir"`
	RunID      string    `json:"runId"`
	// Supervised is true under wmpf-hil run: the supervisor writes the run's
	// first and last records and renders the report.
	Supervised bool `json:"supervised,omitempty"`
}

// FarmFile is the name of the farm spec in a run directory.
const FarmFile = "farm.json"

// Framework is one process's view of the run.
type Framework struct {
	Shared
	Budgets  *latency.Budgets
	Caller   *caller.Client
	Results  *report.Writer
	Timeouts Timeouts
	proc     int

	mu       sync.Mutex
	sessions map[string]*device.Session
	cells    *cellLog
}

// F is the framework of this process, set before the first spec runs.
var F *Framework

// farmUp is the farm this process brought up (Ginkgo's first process when
// not under wmpf-hil run).
var farmUp *farm.Farm

func pick(flagValue, env, def string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// Devices lists the healthy devices of the farm.
func (f *Framework) Devices() []device.Spec { return f.Farm.Devices }

// RunDir is where this run's report goes.
func (f *Framework) RunDir() string { return f.Shared.RunDir }

// Record appends a record to results.jsonl, failing the spec if it cannot.
func (f *Framework) Record(r report.Record) {
	if err := f.Results.Write(r); err != nil {
		ginkgo.Fail(err.Error())
	}
}

// setupProcess makes this process's Framework from the run's shared state.
func setupProcess(sh Shared, proc int) error {
	budgets, err := loadBudgets(sh.Farm.Budgets)
	if err != nil {
		return err
	}
	w, err := report.OpenWriter(sh.RunDir, proc)
	if err != nil {
		return err
	}
	F = &Framework{Shared: sh, Budgets: budgets, Results: w, proc: proc, Timeouts: DefaultTimeouts,
		sessions: map[string]*device.Session{}, cells: newCellLog(sh.RunDir, sh.Farm.Run.QuarantineAfter)}
	if c := sh.Farm.Caller(); c != nil {
		c.HTTP = caller.FastClient(DefaultTimeouts.WeChatRequest)
		F.Caller = c
	}
	return nil
}

// loadBudgets loads the budgets file, or the built-in budgets for "".
func loadBudgets(path string) (*latency.Budgets, error) {
	if path == "" {
		return latency.BuiltinBudgets()
	}
	return latency.LoadBudgets(path)
}

// readShared reads a run directory's farm spec, written by whoever brought
// the farm up.
func readShared(runDir string) (Shared, error) {
	var sh Shared
	data, err := os.ReadFile(filepath.Join(runDir, FarmFile))
	if err != nil {
		return sh, fmt.Errorf("framework: %w", err)
	}
	if err := json.Unmarshal(data, &sh); err != nil {
		return sh, fmt.Errorf("framework: %s: %w", FarmFile, err)
	}
	return sh, nil
}

// WriteShared writes the run's farm spec where every process reads it.
func WriteShared(sh Shared) error {
	b, err := json.MarshalIndent(sh, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(sh.RunDir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(sh.RunDir, "."+FarmFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(sh.RunDir, FarmFile))
}

// session returns this process's session on a device, opening it once.
func (f *Framework) session(ctx context.Context, spec device.Spec) (*device.Session, error) {
	f.mu.Lock()
	old := f.sessions[spec.Name]
	if old != nil {
		// A session opened before its adb server died is cut off, even
		// before its own streams have noticed.
		if old.Lost() == nil && !f.diedSince(spec.Server, old.Opened) {
			f.mu.Unlock()
			return old, nil
		}
		delete(f.sessions, spec.Name)
		defer old.Close()
	}
	f.mu.Unlock()
	s, err := device.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	// The pushes the lost session saw arrive are not awaited again.
	s.CarryPushes(old)
	f.mu.Lock()
	f.sessions[spec.Name] = s
	f.mu.Unlock()
	if m, ok := s.Clock.Model(); ok {
		info := DeviceInfo(spec, report.DeviceHealthy, "")
		info.ClockOffsetEstimated = m.Offset
		_ = f.Results.Write(report.Record{Kind: report.KindDevice, Device: info})
	}
	return s, nil
}

func (f *Framework) closeSessions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sessions {
		s.Close()
	}
	f.sessions = map[string]*device.Session{}
}

// DeviceInfo is a device's record for results.jsonl.
func DeviceInfo(d device.Spec, status report.DeviceStatus, reason string) *report.DeviceInfo {
	info := &report.DeviceInfo{Name: d.Name, Serial: d.Serial, Server: d.Server, Model: d.Model, ModelID: d.ModelID, SN: d.SN,
		AndroidVersion: d.AndroidVersion, HostPackage: d.HostPackage, Simulated: d.Simulated, Profile: d.Profile,
		Container: d.Container, Defects: d.Defects, Status: status, Reason: reason, ClockOffsetSet: d.ClockOffset, ClockDriftPPM: d.ClockDriftPPM,
		HostVersionName: d.HostVersionName, HostVersionCode: d.HostVersionCode}
	if in := d.Installed; in != nil {
		info.Install = &report.Install{APK: in.APK, Package: in.Package, VersionName: in.VersionName, VersionCode: in.VersionCode,
			SHA256: in.SHA256, Build: in.Build}
		info.HostVersionName, info.HostVersionCode = in.VersionName, in.VersionCode
	}
	return info
}

var errNotSetUp = errors.New("framework not set up: register specs with framework.Describe and run them with framework.RunSuites or wmpf-hil run")
