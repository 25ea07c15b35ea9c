package framework

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// mode is how this process runs the suites.
type mode int

const (
	// modeGinkgo: under Ginkgo directly; its first process brings the farm up.
	modeGinkgo mode = iota
	// modeWorker: a worker of wmpf-hil run, with a plan.
	modeWorker
	// modeList: a dry run that lists the specs.
	modeList
)

var (
	runMode mode
	plan    WorkerPlan
)

// ListPlan is the -worker-plan value that makes a dry run list the specs.
const ListPlan = "list"

// RunSuites builds the spec tree — every registered container inside one
// container per device — and runs it with Ginkgo. Call it from the suites'
// test function (after flag parsing: in TestXxx, or after flag.Parse).
func RunSuites(t ginkgo.GinkgoTestingT, description string) bool {
	var devices []string
	switch {
	case flags.workerPlan == ListPlan:
		runMode = modeList
		devices = []string{listDevice}
	case flags.workerPlan != "":
		runMode = modeWorker
		p, err := readPlan(flags.workerPlan)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wmpf-hil worker:", err)
			os.Exit(2)
		}
		plan = p
		devices = []string{p.Device}
	default:
		runMode = modeGinkgo
		cfg, err := farm.Load(userPath(farm.FileFromEnv(flags.Devices), true))
		if err != nil {
			fmt.Fprintln(os.Stderr, "wmpf-hil:", err)
			os.Exit(2)
		}
		for _, p := range cfg.Planned() {
			devices = append(devices, p.Name)
		}
	}
	gomega.RegisterFailHandler(ginkgo.Fail)
	buildTree(devices)
	if runMode != modeList {
		setupNodes()
	}
	return ginkgo.RunSpecs(t, description)
}

// testingT is the GinkgoTestingT of a worker process.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// RunWorker runs the suites in a process of its own (wmpf-hil's worker
// subcommand): args are framework and Ginkgo flags (--ginkgo.…). It returns
// the exit status: 0 when every spec passed, 1 otherwise.
func RunWorker(args []string) int {
	if flag.CommandLine.Lookup("worker-plan") == nil {
		RegisterFlags(flag.CommandLine)
	}
	if err := flag.CommandLine.Parse(args); err != nil {
		return 2
	}
	t := &testingT{}
	if !RunSuites(t, "wmpf-hil") || t.failed {
		return 1
	}
	return 0
}

// setupNodes registers the suite-level nodes.
func setupNodes() {
	ginkgo.SynchronizedBeforeSuite(setupFirst, setupAll, ginkgo.NodeTimeout(5*time.Minute))
	ginkgo.SynchronizedAfterSuite(func() {
		if F != nil {
			F.closeSessions()
		}
	}, teardownFarm, ginkgo.NodeTimeout(time.Minute))
	ginkgo.JustAfterEach(afterAttempt)
	ginkgo.ReportAfterEach(recordCell)
	ginkgo.ReportAfterSuite("wmpf-hil report", renderReport)
}

// setupFirst runs on Ginkgo's first process. Under wmpf-hil run it reads
// the farm the supervisor brought up; alone it brings the farm up itself:
// load the farm file, open the run directory and record the devices.
func setupFirst(ctx ginkgo.SpecContext) []byte {
	if runMode == modeWorker {
		sh, err := readShared(plan.RunDir)
		if err != nil {
			ginkgo.Fail(err.Error())
		}
		b, _ := json.Marshal(sh)
		return b
	}
	file := userPath(farm.FileFromEnv(flags.Devices), true)
	reports := userPath(pick(flags.Reports, "WMPF_HIL_REPORTS", "reports"), false)
	runID := pick(flags.RunID, "WMPF_HIL_RUN_ID", time.Now().Format("20060102-150405"))
	reports, _ = filepath.Abs(reports)
	runDir := filepath.Join(reports, runID)
	cfg, err := farm.Load(file)
	if err != nil {
		ginkgo.Fail(err.Error())
	}
	w, err := report.OpenWriter(runDir, 1)
	if err != nil {
		ginkgo.Fail(err.Error())
	}
	defer w.Close()
	host, _ := os.Hostname()
	sc, _ := ginkgo.GinkgoConfiguration()
	must(w.Write(report.Record{Kind: report.KindRun, Schema: report.SchemaVersion, Run: &report.RunInfo{ID: runID, Started: time.Now(),
		FarmFile: cfg.Path, Workers: sc.ParallelTotal, Host: host, GoVersion: runtime.Version(), Labels: ginkgo.GinkgoLabelFilter(),
		Matrix: report.Matrix(cfg.MatrixOrDefault()), Budgets: report.BudgetsOf(cfg.LoadedBudgets()),
		Tool: report.Tool{Name: report.ToolName}, Retries: report.Retries{Infrastructure: cfg.Run.Retries.Infrastructure}}}))
	if err := report.Latest(reports, runDir); err != nil {
		ginkgo.GinkgoWriter.Printf("reports: %v\n", err)
	}
	ginkgo.GinkgoWriter.Printf("farm %s: bringing up\n", cfg.Path)
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: func(format string, args ...any) { ginkgo.GinkgoWriter.Printf(format+"\n", args...) },
		ServerEvents: ServerEvents(runDir, w)})
	if err != nil {
		ginkgo.Fail(fmt.Sprintf("farm %s: %v", cfg.Path, err))
	}
	farmUp = f
	for _, d := range f.Spec.Devices {
		must(w.Write(report.Record{Kind: report.KindDevice, Device: DeviceInfo(d, report.DeviceHealthy, "")}))
	}
	for _, x := range f.Spec.Excluded {
		must(w.Write(report.Record{Kind: report.KindDevice, Device: DeviceInfo(x.Device, report.DeviceExcluded, x.Reason)}))
	}
	sh := Shared{Farm: f.Spec, RunDir: runDir, ReportsDir: reports, RunID: runID}
	must(WriteShared(sh))
	b, err := json.Marshal(sh)
	must(err)
	return b
}

// setupAll runs on every process with the first one's result.
func setupAll(ctx ginkgo.SpecContext, data []byte) {
	var sh Shared
	must(json.Unmarshal(data, &sh))
	proc := ginkgo.GinkgoParallelProcess()
	if runMode == modeWorker {
		proc = plan.Worker
	}
	must(setupProcess(sh, proc))
}

func teardownFarm(ctx ginkgo.SpecContext) {
	if farmUp != nil {
		if err := farmUp.Down(); err != nil {
			ginkgo.GinkgoWriter.Printf("farm down: %v\n", err)
		}
	}
}

func must(err error) {
	if err != nil {
		ginkgo.Fail(err.Error())
	}
}

// renderReport runs once, after every process finished (or the run was
// interrupted), when the run is not supervised: it records the cells of
// devices taken out at the health check, writes the end record and renders
// the report.
func renderReport(r ginkgo.Report) {
	if F == nil || runMode != modeGinkgo {
		return
	}
	res, err := report.ReadDir(F.RunDir())
	if err == nil {
		o := res.Options()
		if interrupted(r) {
			o.Signal = report.SignalINT
		}
		if end, err := res.SummarizeWith(o); err == nil {
			_ = F.Results.Write(report.Record{Kind: report.KindEnd, End: &end})
		}
	}
	if err := report.Render(F.RunDir()); err != nil {
		fmt.Fprintf(os.Stderr, "wmpf-hil: render report: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stderr, "\nwmpf-hil report: %s\n", filepath.Join(F.RunDir(), report.HTMLFile))
}

func interrupted(r ginkgo.Report) bool {
	for _, s := range r.SpecialSuiteFailureReasons {
		if s == "Interrupted by User" || s == "Interrupted" {
			return true
		}
	}
	return false
}

// userPath resolves a relative path the way the user meant it: from the
// directory the command was started in. Ginkgo runs a suite's binary in the
// suite's directory, not the user's; the shell's $PWD still says where the
// user was. A file that must exist is taken from there only when it is
// there (go test users write paths from the package's directory).
func userPath(p string, mustExist bool) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	wd, _ := os.Getwd()
	pwd := os.Getenv("PWD")
	if pwd == "" || pwd == wd || !filepath.IsAbs(pwd) {
		return p
	}
	if _, err := os.Stat(filepath.Join(pwd, p)); err == nil || !mustExist {
		return filepath.Join(pwd, p)
	}
	return p
}
