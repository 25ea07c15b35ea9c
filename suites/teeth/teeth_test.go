// Package teeth proves that the suites catch what they claim to catch: it
// runs the real suites against simulated farms with one defect switched on
// (a device bug, or a fault of the simulated WeChat side) and checks that
// every spec aimed at that behaviour fails, with a message that names the
// symptom; that every spec of the suites is covered by such a breaker; and
// that the whole suite passes on the default farm with one Ginkgo process
// per device.
package teeth

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
)

// breaker is a way to break one behaviour, and the specs that must notice.
type breaker struct {
	name    string
	defects []string // on the one simulated device
	faults  []string // of the simulated WeChat side
	// focus selects the specs aimed at it (a Ginkgo focus regex).
	focus string
	// symptom must appear in each focused spec's failure message.
	symptom *regexp.Regexp
	// args are more flags for the suites (a load the device cannot carry).
	args []string
}

var breakers = []breaker{
	{name: "crash-on-push", defects: []string{"crash-on-push"},
		focus:   `Launch a call's push opens the call page|ignores a malformed push`,
		symptom: regexp.MustCompile(`crash`)},
	{name: "wrong-apptype", defects: []string{"wrong-apptype"},
		focus:   `launches with appType 0, 1 and 2`,
		symptom: regexp.MustCompile(`appType differ`)},
	{name: "drop-hangon-flag", defects: []string{"drop-hangon-flag"},
		focus:   `adds isClickedHangOnBtn=1`,
		symptom: regexp.MustCompile(`isClickedHangOnBtn`)},
	{name: "double-encode-caller", defects: []string{"double-encode-caller"},
		focus:   `keeps a hostile caller name exact|passes customQuery through`,
		symptom: regexp.MustCompile(`(callerName|note) differ`)},
	{name: "raw-caller", defects: []string{"raw-caller"},
		focus:   `keeps a hostile caller name exact`,
		symptom: regexp.MustCompile(`callerName`)},
	{name: "slow-launch", defects: []string{"slow-launch"},
		focus:   `answers calls within budget|answers open-loop calls`,
		symptom: regexp.MustCompile(`launch-(cold|warm) took`)},
	{name: "overload", args: []string{"-bench-arrival", "constant:5/s", "-bench-duration", "3s"},
		focus:   `answers open-loop calls`,
		symptom: regexp.MustCompile(`fell behind the schedule: p99 answer latency from the scheduled start`)},
	{name: "stuck-on-call-page", defects: []string{"stuck-on-call-page"},
		focus:   `Call end`,
		symptom: regexp.MustCompile(`still on the call page`)},
	{name: "no-lifecycle-listener", defects: []string{"no-lifecycle-listener"},
		focus:   `WMPF restart`,
		symptom: regexp.MustCompile(`WMPF did not restart|push lost: .*WMPF never came back`)},
	{name: "late-listener", defects: []string{"late-listener"},
		focus:   `push sent while WMPF was down`,
		symptom: regexp.MustCompile(`push lost: .*never reached the host app`)},
	{name: "double-launch", defects: []string{"double-launch"},
		focus:   `Launch a call's push opens the call page`,
		symptom: regexp.MustCompile(`launchMiniProgram called 2 times for one push`)},
	{name: "lagging-hooks", defects: []string{"lagging-hooks"},
		focus:   `answers calls within budget`,
		symptom: regexp.MustCompile(`hook lines lag the system.s: launch_called is stamped (2[0-9]{2}|3[0-9]{2})ms after`)},
	{name: "no-token-refresh", defects: []string{"no-token-refresh"},
		focus:   `Push token`,
		symptom: regexp.MustCompile(`did not refresh its push token before it expired`)},
	{name: "no-boot-start", defects: []string{"no-boot-start"},
		focus:   `Device reboot`,
		symptom: regexp.MustCompile(`did not start at boot`)},
	{name: "no-validation", faults: []string{"no-validation"},
		focus:   `callWMPF refuses bad parameters|40101`,
		symptom: regexp.MustCompile(`(callWMPF|pushappmsg) accepted`)},
	{name: "accept-any-token", faults: []string{"accept-any-token"},
		focus:   `push tokens|48012`,
		symptom: regexp.MustCompile(`(callWMPF|pushappmsg) accepted`)},
	{name: "no-size-limit", faults: []string{"no-size-limit"},
		focus:   `over 5 KB`,
		symptom: regexp.MustCompile(`(callWMPF|pushappmsg) accepted`)},
	{name: "offline-accepted", faults: []string{"offline-accepted"},
		focus:   `never came online`,
		symptom: regexp.MustCompile(`callWMPF accepted`)},
	{name: "licence-ignored", faults: []string{"licence-ignored"},
		focus:   `licence expired`,
		symptom: regexp.MustCompile(`callWMPF accepted`)},
}

// family names a spec without the device the framework ran it on.
func family(s types.SpecReport) string { return framework.SpecName(s) }

type env struct {
	root, suites, bin, work string
}

func setup(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("adb"); err != nil {
		t.Fatalf("adb is required (apt-get install -y adb): %v", err)
	}
	wd, _ := os.Getwd()
	e := &env{suites: filepath.Dir(wd), root: filepath.Dir(filepath.Dir(wd)), work: t.TempDir()}
	e.bin = filepath.Join(e.work, "suites.test")
	build := exec.Command("go", "test", "-c", "-o", e.bin, "./suites")
	build.Dir = e.root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the suites: %v\n%s", err, out)
	}
	return e
}

// farmFile writes a one-device farm file with the breaker's switches.
func (e *env) farmFile(t *testing.T, b breaker) string {
	t.Helper()
	q := func(list []string) string {
		if len(list) == 0 {
			return "[]"
		}
		return "[" + strings.Join(list, ", ") + "]"
	}
	body := fmt.Sprintf(`version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated, faults: %s}
budgets: %s
profiles: %s
simulated:
  - {count: 1, profile: panel, defects: %s, clockOffset: 3s, clockDriftPPM: 50}
run: {latencyCalls: 4}
`, q(b.faults), filepath.Join(e.root, "fixtures", "budgets.yaml"), filepath.Join(e.root, "fixtures", "profiles"), q(b.defects))
	p := filepath.Join(e.work, b.name+".yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runSuite runs the suite binary (one process) and returns its specs.
func (e *env) runSuite(ctx context.Context, name string, args ...string) ([]types.SpecReport, string, error) {
	jsonPath := filepath.Join(e.work, name+".json")
	all := append([]string{"--ginkgo.json-report=" + jsonPath, "--ginkgo.no-color"}, args...)
	cmd := exec.CommandContext(ctx, e.bin, all...)
	cmd.Dir = e.suites
	out, runErr := cmd.CombinedOutput()
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, string(out), fmt.Errorf("no JSON report (%v): %w", runErr, err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, string(out), err
	}
	var specs []types.SpecReport
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType == types.NodeTypeIt {
				specs = append(specs, s)
			}
		}
	}
	return specs, string(out), nil
}

func TestEverySpecFailsWhenItsBehaviourIsBroken(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	// Every spec of the suites, from a dry run on the default farm.
	all, out, err := e.runSuite(ctx, "dry-run", "--ginkgo.dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	families := map[string]bool{}
	for _, s := range all {
		families[family(s)] = false
	}

	type result struct {
		b     breaker
		specs []types.SpecReport
		out   string
		err   error
	}
	results := make([]result, len(breakers))
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for i, b := range breakers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			file := e.farmFile(t, b)
			args := append([]string{"--ginkgo.focus=" + b.focus,
				"-devices", file, "-reports", filepath.Join(e.work, "reports"), "-run-id", b.name}, b.args...)
			specs, out, err := e.runSuite(ctx, b.name, args...)
			results[i] = result{b, specs, out, err}
		}()
	}
	wg.Wait()

	for _, r := range results {
		t.Run(r.b.name, func(t *testing.T) {
			if r.err != nil {
				t.Fatalf("run: %v\n%s", r.err, tail(r.out, 60))
			}
			ran := 0
			for _, s := range r.specs {
				if s.State == types.SpecStateSkipped {
					continue // not focused
				}
				ran++
				name := s.FullText()
				switch {
				case s.State != types.SpecStateFailed:
					t.Errorf("%q %s with %s switched on; it must fail", name, s.State, r.b.name)
				case !r.b.symptom.MatchString(s.Failure.Message):
					t.Errorf("%q failed, but its message does not name the symptom (%s):\n%s", name, r.b.symptom, s.Failure.Message)
				default:
					families[family(s)] = true
					t.Logf("%s fails: %s", name, firstLine(s.Failure.Message))
				}
			}
			if ran == 0 {
				t.Fatalf("no spec matched the focus %q", r.b.focus)
			}
		})
	}

	var uncovered []string
	for f, shown := range families {
		if !shown {
			uncovered = append(uncovered, f)
		}
	}
	sort.Strings(uncovered)
	if len(uncovered) > 0 {
		t.Errorf("%d specs are not shown to fail by any breaker:\n  %s", len(uncovered), strings.Join(uncovered, "\n  "))
	}
}

func TestSuitePassesOnTheDefaultFarmWithOneProcessPerDevice(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	jsonPath := filepath.Join(e.work, "default.json")
	cmd := exec.CommandContext(ctx, "go", "tool", "ginkgo", "-p", "--procs", "4", "--no-color", "--json-report", jsonPath,
		e.bin, "--", "-devices", filepath.Join(e.root, "devices.yaml"), "-reports", filepath.Join(e.work, "reports"), "-run-id", "default")
	cmd.Dir = e.suites
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("the suites failed on the default farm (%v, %v):\n%s", err, took, tail(string(out), 120))
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatal(err)
	}
	passed := 0
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				continue
			}
			if s.State != types.SpecStatePassed {
				t.Errorf("%s: %s", s.FullText(), s.State)
			}
			passed++
		}
	}
	t.Logf("%d specs passed on the default farm in %v with 4 processes", passed, took.Round(time.Second))
	if _, err := os.Stat(filepath.Join(e.work, "reports", "default", "report.html")); err != nil {
		t.Errorf("no report: %v", err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}
