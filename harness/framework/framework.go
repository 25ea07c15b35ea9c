// Package framework is the suites' glue to Ginkgo: it brings the farm up
// once (on Ginkgo's first process) and hands the devices to every process,
// leases one device to each spec (one process per device when run with as
// many processes as devices), writes results.jsonl as each spec and call
// finishes, captures the evidence of every failure, tells a lost device from
// a product failure, and renders the report at the end.
//
// A suite uses it with one line next to RunSpecs:
//
//	var _ = framework.Setup()
//
// and specs lease a device with framework.Lease(ctx).
package framework

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

var (
	devicesFlag = flag.String("devices", "", "farm file (default: $WMPF_HIL_DEVICES, then devices.yaml at the module root)")
	reportsFlag = flag.String("reports", "", "reports directory (default: $WMPF_HIL_REPORTS, then reports/ at the module root)")
	runIDFlag   = flag.String("run-id", "", "run id, the report's directory name (default: $WMPF_HIL_RUN_ID, then the start time)")

	benchArrivalFlag  = flag.String("bench-arrival", "", "release benchmark: open-loop call arrivals for the whole farm, constant:RATE, poisson:RATE or ramp:RATE-RATE (default: $WMPF_HIL_BENCH_ARRIVAL, then "+DefaultBenchArrival+")")
	benchDurationFlag = flag.String("bench-duration", "", "release benchmark: how long calls arrive (default: $WMPF_HIL_BENCH_DURATION, then "+DefaultBenchDuration+")")
)

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
	as := pick(*benchArrivalFlag, "WMPF_HIL_BENCH_ARRIVAL", DefaultBenchArrival)
	a, err := loadgen.ParseArrival(as)
	if err != nil {
		return a, 0, fmt.Errorf("-bench-arrival: %w", err)
	}
	ds := pick(*benchDurationFlag, "WMPF_HIL_BENCH_DURATION", DefaultBenchDuration)
	d, err := time.ParseDuration(ds)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return a, 0, fmt.Errorf("-bench-duration %q: want a duration from 1s to 24h, like 90s or 10m", ds)
	}
	return a, d, nil
}

// shared is what process 1 hands every process.
type shared struct {
	Farm       farm.Spec `json:"farm"`
	RunDir     string    `json:"runDir"`
	ReportsDir string    `json:"reportsDir"`
	RunID      string    `json:"runId"`
}

// Framework is one Ginkgo process's view of the run.
type Framework struct {
	shared
	Budgets *latency.Budgets
	Caller  *caller.Client
	Results *report.Writer
	proc    int

	mu       sync.Mutex
	sessions map[string]*device.Session
	lost     map[string]error
}

// F is the framework of this process, set before the first spec runs.
var F *Framework

const farmFile = farm.DefaultFile

func loadFarm(file string) (*farm.Config, error) { return farm.Load(file) }

// farmUp is the farm process 1 brought up.
var farmUp *farm.Farm

// Setup registers the suite-level nodes. Call it once, at package level.
func Setup() bool {
	SynchronizedBeforeSuite(setupFarm, setupProcess, NodeTimeout(3*time.Minute))
	SynchronizedAfterSuite(teardownProcess, teardownFarm, NodeTimeout(time.Minute))
	ReportAfterEach(recordSpec)
	ReportAfterSuite("wmpf-hil report", renderReport)
	JustAfterEach(captureEvidence)
	return true
}

// moduleRoot finds the directory holding go.mod, from the working
// directory up, else from this source file (a precompiled suite may run
// from anywhere).
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func pick(flagValue, env, def string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// setupFarm runs on process 1: load the farm file, bring the farm up,
// open the run directory and record the devices.
func setupFarm(ctx SpecContext) []byte {
	root := moduleRoot()
	file := pick(*devicesFlag, "WMPF_HIL_DEVICES", filepath.Join(root, farmFile))
	reports := pick(*reportsFlag, "WMPF_HIL_REPORTS", filepath.Join(root, "reports"))
	runID := pick(*runIDFlag, "WMPF_HIL_RUN_ID", time.Now().Format("20060102-150405"))
	runDir := filepath.Join(reports, runID)
	cfg, err := loadFarm(file)
	if err != nil {
		Fail(fmt.Sprintf("farm file: %v", err))
	}
	budgets, err := latency.LoadBudgets(cfg.Resolve(cfg.Budgets))
	if err != nil {
		Fail(err.Error())
	}
	w, err := report.OpenWriter(runDir, 1)
	if err != nil {
		Fail(err.Error())
	}
	defer w.Close()
	host, _ := os.Hostname()
	sc, _ := GinkgoConfiguration()
	bmap := map[string]latency.SegmentBudget{}
	for k, v := range budgets.Segments {
		bmap[k] = v
	}
	must(w.Write(report.Record{Kind: report.KindRun, Run: &report.RunInfo{ID: runID, Started: time.Now(), FarmFile: file,
		Procs: sc.ParallelTotal, Host: host, GoVersion: runtime.Version(), Labels: GinkgoLabelFilter(), Budgets: bmap}}))
	if err := report.Latest(reports, runDir); err != nil {
		GinkgoWriter.Printf("reports: %v\n", err)
	}
	GinkgoWriter.Printf("farm %s: bringing up\n", file)
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) },
		ServerEvents: serverEvents(runDir)})
	if err != nil {
		Fail(fmt.Sprintf("farm %s: %v", file, err))
	}
	farmUp = f
	for _, d := range f.Spec.Devices {
		must(w.Write(report.Record{Kind: report.KindDevice, Device: deviceInfo(d, "healthy", "")}))
	}
	for _, x := range f.Spec.Excluded {
		must(w.Write(report.Record{Kind: report.KindDevice, Device: deviceInfo(x.Device, "excluded", x.Reason)}))
	}
	b, err := json.Marshal(shared{Farm: f.Spec, RunDir: runDir, ReportsDir: reports, RunID: runID})
	must(err)
	return b
}

func deviceInfo(d device.Spec, status, reason string) *report.DeviceInfo {
	return &report.DeviceInfo{Name: d.Name, Serial: d.Serial, Server: d.Server, Model: d.Model, SN: d.SN, Simulated: d.Simulated, Profile: d.Profile, Container: d.Container,
		Defects: d.Defects, Status: status, Reason: reason, ClockOffsetSet: d.ClockOffset, ClockDriftPPM: d.ClockDriftPPM}
}

func must(err error) {
	if err != nil {
		Fail(err.Error())
	}
}

// setupProcess runs on every process with process 1's result.
func setupProcess(ctx SpecContext, data []byte) {
	var sh shared
	must(json.Unmarshal(data, &sh))
	budgets, err := latency.LoadBudgets(sh.Farm.Budgets)
	must(err)
	proc := GinkgoParallelProcess()
	w, err := report.OpenWriter(sh.RunDir, proc)
	must(err)
	var c *caller.Client
	switch {
	case sh.Farm.WeChat.Token != "":
		c = caller.NewWithToken(sh.Farm.WeChat.URL, sh.Farm.WeChat.Token)
	case sh.Farm.WeChat.URL != "":
		c = caller.New(sh.Farm.WeChat.URL, sh.Farm.WeChat.AppID, sh.Farm.WeChat.Secret)
	}
	F = &Framework{shared: sh, Budgets: budgets, Caller: c, Results: w, proc: proc,
		sessions: map[string]*device.Session{}, lost: map[string]error{}}
}

func teardownProcess(ctx SpecContext) {
	if F == nil {
		return
	}
	F.mu.Lock()
	for _, s := range F.sessions {
		s.Close()
	}
	F.sessions = map[string]*device.Session{}
	F.mu.Unlock()
}

func teardownFarm(ctx SpecContext) {
	if farmUp != nil {
		if err := farmUp.Down(); err != nil {
			GinkgoWriter.Printf("farm down: %v\n", err)
		}
	}
}

// RunDir is where this run's report goes.
func (f *Framework) RunDir() string { return f.shared.RunDir }

// Devices lists the healthy devices of the farm.
func (f *Framework) Devices() []device.Spec { return f.Farm.Devices }

// Record appends a record to results.jsonl, failing the spec if it cannot.
func (f *Framework) Record(r report.Record) {
	if err := f.Results.Write(r); err != nil {
		Fail(err.Error())
	}
}

// session returns this process's session on a device, opening it once.
func (f *Framework) session(ctx context.Context, spec device.Spec) (*device.Session, error) {
	f.mu.Lock()
	if s := f.sessions[spec.Name]; s != nil {
		if s.Lost() == nil {
			f.mu.Unlock()
			return s, nil
		}
		delete(f.sessions, spec.Name)
		defer s.Close()
	}
	if err := f.lost[spec.Name]; err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	s, err := device.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.sessions[spec.Name] = s
	f.mu.Unlock()
	if m, ok := s.Clock.Model(); ok {
		info := deviceInfo(spec, "healthy", "")
		info.ClockOffsetEstimated = m.Offset
		_ = f.Results.Write(report.Record{Kind: report.KindDevice, Device: info})
	}
	return s, nil
}

// markLost takes a device out of the rest of the run on every process.
func (f *Framework) markLost(name string, err error) {
	f.mu.Lock()
	f.lost[name] = err
	f.mu.Unlock()
	_ = os.MkdirAll(filepath.Join(f.shared.RunDir, "lost"), 0o755)
	_ = os.WriteFile(filepath.Join(f.shared.RunDir, "lost", report.SafeName(name)), []byte(err.Error()), 0o644)
	for _, d := range f.Farm.Devices {
		if d.Name == name {
			f.Record(report.Record{Kind: report.KindDevice, Device: deviceInfo(d, "lost", err.Error())})
		}
	}
}

// isLost reports whether any process marked the device lost.
func (f *Framework) isLost(name string) bool {
	f.mu.Lock()
	_, ok := f.lost[name]
	f.mu.Unlock()
	if ok {
		return true
	}
	_, err := os.Stat(filepath.Join(f.shared.RunDir, "lost", report.SafeName(name)))
	return err == nil
}

// LostPrefix starts the failure message of a spec whose device went away:
// such specs are reported as "device-lost", not as product failures.
const LostPrefix = "device lost: "

// recordSpec writes each finished spec to results.jsonl.
func recordSpec(r SpecReport) {
	if F == nil || r.LeafNodeType != types.NodeTypeIt {
		return
	}
	state := stateOf(r)
	res := &report.SpecResult{Name: r.FullText(), Labels: r.Labels(), State: state, Duration: r.RunTime}
	if r.Failure.Message != "" {
		res.Failure = r.Failure.Message
		res.Location = r.Failure.Location.String()
	}
	for _, e := range r.ReportEntries {
		switch e.Name {
		case entryDevice:
			v := e.GetRawValue()
			if d, ok := v.(device.Spec); ok {
				res.Device, res.Model = d.Name, d.Model
			}
		case entryEvidence:
			if paths, ok := e.GetRawValue().([]string); ok {
				res.Evidence = append(res.Evidence, paths...)
			}
		}
	}
	res.Attempts = r.NumAttempts
	_ = F.Results.Write(report.Record{Kind: report.KindSpec, Spec: res})
}

func stateOf(r SpecReport) string {
	switch {
	case r.State == types.SpecStatePassed:
		return report.StatePassed
	case r.State == types.SpecStateSkipped || r.State == types.SpecStatePending:
		return report.StateSkipped
	case strings.HasPrefix(r.Failure.Message, LostPrefix):
		return report.StateDeviceLost
	case r.State == types.SpecStateInterrupted || r.State == types.SpecStateAborted:
		return report.StateInterrupted
	case r.State == types.SpecStatePanicked:
		return report.StatePanicked
	}
	return report.StateFailed
}

// renderReport runs once, on process 1, after every process finished (or
// the run was interrupted): it closes results.jsonl and renders the report.
func renderReport(r Report) {
	if F == nil {
		return
	}
	res, err := report.ReadDir(F.shared.RunDir)
	if err == nil {
		end := res.Summarize()
		_ = F.Results.Write(report.Record{Kind: report.KindEnd, End: &end})
	}
	if err := report.Render(F.shared.RunDir); err != nil {
		fmt.Fprintf(os.Stderr, "wmpf-hil: render report: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stderr, "\nwmpf-hil report: %s\n", filepath.Join(F.shared.RunDir, report.HTMLFile))
}
