package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// A device that dies mid-run: its specs are "device lost", the other device
// carries on, everything is on disk, and the exit status says "devices
// lost" (3), not "product failure" (1).
func TestRunGoesOnWhenADeviceIsLost(t *testing.T) {
	farm := writeFarm(t, `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
budgets: ROOT/fixtures/budgets.yaml
profiles: ROOT/fixtures/profiles
simulated:
  - {count: 1, profile: panel}
  - {count: 1, profile: tv, dieAtPush: 1}
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
	if code != exitDevicesLost {
		t.Errorf("exit status %d, want %d (devices lost)", code, exitDevicesLost)
	}
	for _, f := range []string{report.HTMLFile, report.JUnitFile} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	junit, _ := os.ReadFile(filepath.Join(runDir, report.JUnitFile))
	if !strings.Contains(string(junit), `type="device lost"`) {
		t.Errorf("junit.xml does not mark lost specs as errors of type \"device lost\"")
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
	if cmd.ProcessState.ExitCode() == 0 {
		t.Errorf("an interrupted run exited 0")
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

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}
