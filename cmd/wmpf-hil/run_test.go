package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wmpf-hil-bin-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "wmpf-hil")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		panic("build wmpf-hil: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func root(t *testing.T) string {
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd))
}

func writeFarm(t *testing.T, body string) string {
	t.Helper()
	r := root(t)
	p := filepath.Join(t.TempDir(), "farm.yaml")
	body = strings.ReplaceAll(body, "ROOT", r)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadFarmFileIsAUsageErrorNamingTheField(t *testing.T) {
	farm := writeFarm(t, "version: 1\nadbServers: [{name: local, address: start}]\nwechat: {mode: simulated}\nbudgets: ROOT/fixtures/budgets.yaml\nprofiles: ROOT/fixtures/profiles\nsimulated: [{count: 2, profile: pnael}]\n")
	cmd := exec.Command(bin, "run", "-devices", farm, "-reports", t.TempDir())
	cmd.Dir = root(t)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), `simulated[0].profile "pnael": allowed panel, tv`) {
		t.Fatalf("exit %d (%v):\n%s", cmd.ProcessState.ExitCode(), err, out)
	}
}

// A device that goes away mid-run — powered off, or hung with its
// connections open: its specs are "device lost", the other device carries
// on, everything is on disk, and the exit status says "devices lost" (3),
// not "product failure" (1).
func TestRunGoesOnWhenADeviceIsLost(t *testing.T) {
	for _, loss := range []string{"power-off", "freeze"} {
		t.Run(loss, func(t *testing.T) { runWithLostDevice(t, loss) })
	}
}

func runWithLostDevice(t *testing.T, loss string) {
	farm := writeFarm(t, `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
budgets: ROOT/fixtures/budgets.yaml
profiles: ROOT/fixtures/profiles
simulated:
  - {count: 1, profile: panel}
  - {count: 1, profile: tv, loseAtPush: 1, loss: `+loss+`}
`)
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-devices", farm, "-reports", reports, "-run-id", "lost", "-label-filter", "launch")
	cmd.Dir = root(t)
	out, _ := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	runDir := filepath.Join(reports, "lost")
	res, err := report.ReadDir(runDir)
	if err != nil {
		t.Fatalf("no results (exit %d): %v\n%s", code, err, tail(string(out)))
	}
	end := res.Summarize()
	lostDevice := false
	for _, d := range res.Devices {
		if d.Status == "lost" {
			lostDevice = true
		}
	}
	t.Logf("exit %d: %d passed, %d failed, %d device-lost", code, end.Passed, end.Failed, end.Lost)
	if !lostDevice || end.Lost == 0 {
		t.Errorf("no device or spec reported lost:\n%s", tail(string(out)))
	}
	if end.Failed != 0 {
		for _, s := range res.Specs {
			if s.State == report.StateFailed {
				t.Errorf("product failure reported for %s: %s", s.Name, s.Failure)
			}
		}
	}
	if end.Passed == 0 {
		t.Errorf("the other device ran no spec")
	}
	if loss == "freeze" {
		for _, sp := range res.Specs {
			if sp.State == report.StateLost && !strings.Contains(sp.Failure, "does not answer") {
				t.Errorf("lost spec %s does not say the device stopped answering: %s", sp.Name, sp.Failure)
			}
		}
	}
	if code != exitInfra {
		t.Errorf("exit status %d, want %d (devices lost)", code, exitInfra)
	}
	for _, f := range []string{report.HTMLFile, report.JUnitFile} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	junit, _ := os.ReadFile(filepath.Join(runDir, report.JUnitFile))
	if !strings.Contains(string(junit), `type="lost: device"`) {
		t.Errorf("junit.xml does not mark lost cells as errors of type \"lost: device\"")
	}
}

// Ctrl-C: the run stops, and what it measured and the report are on disk.
func TestInterruptedRunKeepsItsResults(t *testing.T) {
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-reports", reports, "-run-id", "interrupted", "-label-filter", "latency")
	cmd.Dir = root(t)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(reports, "interrupted", report.ResultsFile)
	// Wait for the first measured call to be written, then interrupt.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if n := countKind(results, report.KindCall); n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no call recorded within 3 minutes")
		}
		time.Sleep(100 * time.Millisecond) // polling a file another process writes
	}
	before := countKind(results, report.KindCall)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("an interrupted run exited %d, want %d", code, exitInterrupted)
	}
	after := countKind(results, report.KindCall)
	if after < before {
		t.Errorf("%d calls recorded before the interrupt, %d after", before, after)
	}
	if _, err := os.Stat(filepath.Join(reports, "interrupted", report.HTMLFile)); err != nil {
		t.Errorf("no report after the interrupt: %v", err)
	}
	t.Logf("%d calls on disk after the interrupt", after)
}

// startRun starts `wmpf-hil run` with args; out collects what it prints.
func startRun(ctx context.Context, t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	out := &strings.Builder{}
	cmd := exec.CommandContext(ctx, bin, append([]string{"run"}, args...)...)
	cmd.Dir = root(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// awaitPassed waits until n specs of the run have passed; past max it
// kills the run and fails the test.
func awaitPassed(t *testing.T, cmd *exec.Cmd, out *strings.Builder, runDir string, n int, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for {
		res, err := report.ReadDir(runDir)
		if err == nil {
			passed := 0
			for _, s := range res.Specs {
				if s.State == report.StatePassed {
					passed++
				}
			}
			if passed >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("fewer than %d specs passed within %v:\n%s", n, max, tail(out.String()))
		}
		time.Sleep(50 * time.Millisecond) // polling a file another process writes
	}
}

func countKind(path, kind string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"kind":"`+kind+`"`) {
			n++
		}
	}
	return n
}

// failures gives a run's failed specs with their messages, or the tail of
// its output when it has no results.
func failures(runDir, out string) string {
	res, err := report.ReadDir(runDir)
	if err != nil {
		return tail(out)
	}
	var sb strings.Builder
	for _, s := range res.Specs {
		if s.State != report.StatePassed && s.State != report.StateSkipped {
			fmt.Fprintf(&sb, "%s %s: %s\n", s.State, s.Name, s.Failure)
		}
	}
	return sb.String() + tail(out)
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// The adb server the run started dies mid-run: the run starts it again,
// reconnects the devices and goes on with them. The specs that were
// running are device-lost; none is a product failure; no device is lost.
func TestRunSurvivesTheADBServerDying(t *testing.T) {
	farm := writeFarm(t, `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
budgets: ROOT/fixtures/budgets.yaml
profiles: ROOT/fixtures/profiles
simulated:
  - {count: 1, profile: panel}
  - {count: 1, profile: tv}
`)
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd, out := startRun(ctx, t, "-devices", farm, "-reports", reports, "-run-id", "adbdies", "-label-filter", "launch")
	runDir := filepath.Join(reports, "adbdies")
	results := filepath.Join(runDir, report.ResultsFile)
	awaitPassed(t, cmd, out, runDir, 3, 3*time.Minute)
	res, err := report.ReadDir(runDir)
	if err != nil || len(res.Devices) == 0 || res.Devices[0].Server == "" {
		t.Fatalf("no device record naming its adb server: %v", err)
	}
	pid := adbServerPid(t, res.Devices[0].Server)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	code := cmd.ProcessState.ExitCode()

	res, err = report.ReadDir(runDir)
	if err != nil {
		t.Fatalf("no results (exit %d): %v\n%s", code, err, tail(out.String()))
	}
	end := res.Summarize()
	t.Logf("exit %d: %d passed, %d failed, %d device-lost; incidents %+v", code, end.Passed, end.Failed, end.Lost, res.Incidents)
	if code != 0 && code != exitInfra {
		t.Errorf("exit status %d, want 0 or %d", code, exitInfra)
	}
	if len(res.Incidents) != 1 || res.Incidents[0].What != report.IncidentADBServerRestarted || len(res.Incidents[0].Reconnected) != 2 {
		t.Errorf("incidents %+v, want one adb-server-restarted with 2 devices reconnected", res.Incidents)
	}
	for _, d := range res.Devices {
		if d.Status == "lost" {
			t.Errorf("device %s reported lost: %s", d.Name, d.Reason)
		}
	}
	if end.Failed != 0 {
		for _, s := range res.Specs {
			if s.State == report.StateFailed {
				t.Errorf("product failure reported for %s: %s", s.Name, s.Failure)
			}
		}
	}
	if end.Lost > 2 {
		t.Errorf("%d specs device-lost; at most the 2 running when the server died should be", end.Lost)
		for _, s := range res.Specs {
			if s.State == report.StateLost {
				t.Logf("lost: %s [%s]: %s", s.Name, s.Device, firstNonEmpty(s.Failure, s.Reason))
			}
		}
	}
	// Specs passed after the server came back.
	passedAfter, seen := 0, false
	f, _ := os.Open(results)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"kind":"incident"`) {
			seen = true
		}
		if seen && strings.Contains(line, `"state":"passed"`) {
			passedAfter++
		}
	}
	if passedAfter == 0 {
		t.Errorf("no spec passed after the adb server was started again:\n%s", tail(out.String()))
	}
	if !strings.Contains(out.String(), "incident: adb-server-restarted") {
		t.Errorf("the run's summary does not mention the incident:\n%s", tail(out.String()))
	}
}

// adbServerPid finds the adb server listening on addr's port by its
// command line (`adb -P PORT server nodaemon`).
func adbServerPid(t *testing.T, addr string) int {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	want := "\x00-P\x00" + port + "\x00"
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), want) && strings.Contains(string(b), "server") {
			return pid
		}
	}
	t.Fatalf("no adb server process for %s", addr)
	return 0
}

// The farm in a Docker container: the suites pass against its devices;
// then the container is paused (docker pause: every device hangs with its
// connection open) and the devices are reported lost, not failing, with
// everything on disk.
func TestRunAgainstAContainerFarmThatIsPaused(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd, out := startRun(ctx, t, "-devices", filepath.Join(root(t), "fixtures", "farms", "container.yaml"),
		"-reports", reports, "-run-id", "box", "-label-filter", "launch")
	runDir := filepath.Join(reports, "box")
	awaitPassed(t, cmd, out, runDir, 4, 4*time.Minute)
	res, err := report.ReadDir(runDir)
	if err != nil || len(res.Devices) == 0 || res.Devices[0].Container == "" {
		t.Fatalf("no device record naming its container: %v %+v", err, res.Devices)
	}
	before := res.Summarize()
	if before.Passed < 4 {
		t.Fatalf("before the pause: %+v; the specs must pass against the container's devices:\n%s", before, tail(out.String()))
	}
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	if _, err := docker.ContainerPause(ctx, res.Devices[0].Container, client.ContainerPauseOptions{}); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	_ = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	res, err = report.ReadDir(runDir)
	if err != nil {
		t.Fatalf("no results (exit %d): %v", code, err)
	}
	end := res.Summarize()
	t.Logf("exit %d, %v after the pause: %d passed (%d before it), %d failed, %d device-lost", code, time.Since(paused).Round(time.Second), end.Passed, before.Passed, end.Failed, end.Lost)
	if code != exitInfra {
		t.Errorf("exit %d, want %d (devices lost)\n%s", code, exitInfra, tail(out.String()))
	}
	for _, s := range res.Specs {
		if s.State == report.StateFailed {
			t.Errorf("product failure reported for %s: %s", s.Name, s.Failure)
		}
	}
	lost := 0
	for _, d := range res.Devices {
		if d.Status == "lost" {
			lost++
			if !strings.Contains(d.Reason, "does not answer") {
				t.Errorf("device %s lost for %q; want it to say it does not answer", d.Name, d.Reason)
			}
		}
	}
	if lost == 0 || end.Lost == 0 {
		t.Errorf("no device or spec reported lost after the pause")
	}
	if _, err := os.Stat(filepath.Join(runDir, report.HTMLFile)); err != nil {
		t.Errorf("no report: %v", err)
	}
	// The run removed its container, paused or not.
	if _, err := docker.ContainerInspect(context.Background(), res.Devices[0].Container, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("container %s is still there after the run", res.Devices[0].Container)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
