package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// runFarm runs wmpf-hil with args on a farm file and returns its exit
// status, output and the run read back.
func runFarm(t *testing.T, farm string, args ...string) (int, string, *report.Results, string) {
	t.Helper()
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run", "-devices", farm, "-reports", reports, "-run-id", "r"}, args...)...)
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	runDir := filepath.Join(reports, "r")
	res, err := report.ReadDir(runDir)
	if err != nil {
		t.Fatalf("exit %d, no results: %v\n%s", cmd.ProcessState.ExitCode(), err, tail(string(out)))
	}
	return cmd.ProcessState.ExitCode(), string(out), res, runDir
}

// A device that loses the first push that reaches it: its cell fails, and
// is a product failure (exit 1) unless the run may try again; with
// -flake-attempts 2 it fails then passes, and is reported flaky in the
// results, junit.xml (<flakyFailure>) and ctrf.json (flaky, retries).
func TestFlakyCellIsReportedFlaky(t *testing.T) {
	farm := writeFarm(t, `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
simulated: [{count: 1, profile: panel, defects: [drop-first-push]}]
`)
	code, out, res, _ := runFarm(t, farm, "-label-filter", "smoke")
	if code != exitFailed || res.Summarize().Failed != 1 {
		t.Fatalf("without -flake-attempts: exit %d, %+v; want a product failure (exit 1), not a retry\n%s", code, res.Summarize(), tail(out))
	}
	code, out, res, runDir := runFarm(t, farm, "-label-filter", "smoke", "-flake-attempts", "2")
	cells := res.Cells()
	if code != exitPass || len(cells) != 1 || cells[0].State != report.StateFlaky {
		t.Fatalf("with -flake-attempts 2: exit %d, cells %+v; want one flaky cell and exit 0\n%s", code, cells, tail(out))
	}
	if a := cells[0].Attempts; len(a) != 2 || a[0].State != report.StateFailed || a[1].State != report.StatePassed {
		t.Errorf("attempts %+v, want failed then passed", a)
	}
	junit, _ := os.ReadFile(filepath.Join(runDir, report.JUnitFile))
	if !strings.Contains(string(junit), "<flakyFailure") {
		t.Errorf("junit.xml has no <flakyFailure>:\n%s", junit)
	}
	var ctrf struct {
		Results struct {
			Tests []struct {
				Name    string `json:"name"`
				Status  string `json:"status"`
				Flaky   bool   `json:"flaky"`
				Retries int    `json:"retries"`
			} `json:"tests"`
		} `json:"results"`
	}
	data, _ := os.ReadFile(filepath.Join(runDir, report.CTRFFile))
	if err := json.Unmarshal(data, &ctrf); err != nil || len(ctrf.Results.Tests) != 1 {
		t.Fatalf("ctrf.json: %v %s", err, data)
	}
	if tc := ctrf.Results.Tests[0]; tc.Status != "passed" || !tc.Flaky || tc.Retries != 1 {
		t.Errorf("ctrf test %+v, want passed, flaky, 1 retry", tc)
	}
	if code, _, _, _ := runFarm(t, farm, "-label-filter", "smoke", "-flake-attempts", "2", "-flaky-fails"); code != exitFailed {
		t.Errorf("with -flaky-fails a flaky cell fails the run: exit %d, want %d", code, exitFailed)
	}
}

// A device lost mid-run: with run.retries.infrastructure its cell runs
// again on another device of the same model, both attempts recorded.
func TestLostCellRetriedOnAnotherDeviceOfTheModel(t *testing.T) {
	farm := writeFarm(t, `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
simulated:
  - {count: 1, profile: panel}
  - {count: 1, profile: panel, loseAtPush: 1}
run: {retries: {infrastructure: 1}}
`)
	code, out, res, _ := runFarm(t, farm, "-label-filter", "smoke")
	var lostCell *report.SpecResult
	for _, c := range res.Cells() {
		if c.Device == "panel-2" {
			c := c
			lostCell = &c
		}
	}
	if lostCell == nil {
		t.Fatalf("no cell of panel-2:\n%s", tail(out))
	}
	a := lostCell.Attempts
	if len(a) != 2 || a[0].State != report.StateLost || a[0].LostTo != report.LostToDevice || a[1].OnDevice != "panel-1" || a[1].State != report.StatePassed {
		t.Fatalf("panel-2's cell: state %s, attempts %+v; want lost on panel-2, then passed on panel-1\n%s", lostCell.State, a, tail(out))
	}
	if lostCell.State != report.StatePassed || code != exitPass {
		t.Errorf("panel-2's cell %s, exit %d: a cell that passed on its retry passes", lostCell.State, code)
	}
}
