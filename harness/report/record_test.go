package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// allKinds is one record of every kind, with every field set that the kind
// has.
func allKinds() []Record {
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 123456789, time.UTC)
	ms := time.Millisecond
	dev := sampleSlow1
	dev.Install = sampleInstall("ci-1187")
	return []Record{
		{Kind: KindRun, Run: &RunInfo{ID: "r1", Started: t0, Tool: Tool{Name: ToolName, Version: "1.2.3"}, FarmFile: "devices.yaml",
			Host: "hil-01", GoVersion: "go1.26.8", Labels: "smoke", Matrix: MatrixModel, Shard: &Shard{Index: 2, Count: 3},
			Workers: 4, FlakeAttempts: 2, Retries: Retries{Infrastructure: 1}, FlakyFails: true,
			Budgets: map[string]latency.SegmentBudget{"total": {Max: 5 * time.Second, P90: 4 * time.Second}, "handling": {Max: 300500 * time.Microsecond, P90: 150 * ms}}}},
		{Kind: KindDevice, Device: &dev},
		{Kind: KindStart, Start: &StartInfo{Spec: specWarm, Device: "panel-1", Attempt: 2, OnDevice: "panel-2"}},
		{Kind: KindSpec, Spec: &SpecResult{Name: specWarm, Device: "panel-1", Model: "panel", SN: "PNL8X0001", Labels: []string{"latency"},
			State: StateFlaky, Duration: 12345678 * time.Microsecond, Failure: "", Location: "suites/latency_test.go:42",
			Evidence: []string{"evidence/panel-1/x/logcat.txt"}, Screenshot: "evidence/panel-1/x/screenshot.png",
			Attempts: []Attempt{{Attempt: 1, State: StateFailed, Duration: 4 * time.Second, Failure: "no answer", Started: t0},
				{Attempt: 2, OnDevice: "panel-2", State: StatePassed, Duration: 8345678 * time.Microsecond, Started: t0.Add(5 * time.Second)}}}},
		{Kind: KindSpec, Spec: &SpecResult{Name: specCallEnd, Device: "tv-2", State: StateLost, LostTo: LostToADBServer, Reason: "adb server died", Duration: time.Second}},
		{Kind: KindCall, Call: &CallResult{Spec: specCold, Device: "slow-launch-1", Call: latency.Call{ID: "g-1", RoomID: "room-1", Device: "127.0.0.1:47011",
			Model: "sim-slow-launch", Start: "cold", ClockUncertainty: 450 * time.Microsecond, Intended: t0.Add(-2 * ms),
			Stamps:   map[latency.Stage]time.Time{latency.Placed: t0, latency.PushReceived: t0.Add(120 * ms), latency.Answered: t0.Add(4020 * ms)},
			Truth:    map[latency.Stage]time.Time{latency.PushReceived: t0.Add(119 * ms)},
			Observed: map[latency.Stage]time.Time{latency.PushReceived: t0.Add(121 * ms)}},
			Durations: map[string]float64{"delivery": 120, "total": 4020}, TruthErrors: map[string]float64{"delivery": 1},
			Violations: []string{"total took 4020ms"}}},
		{Kind: KindRestart, Restart: &RestartInfo{Spec: specRestart, Device: "tv-1", Model: "tv", Kill: KillReboot, Restarted: true,
			RestartMs: 40210.5, PushVerdict: "delivered", PushMs: 41000, Detail: "rebooted"}},
		{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentADBServerRestarted, Server: "hil-01", Addr: "hil-01:5037", Device: "tv-2",
			Exit: "signal: killed", TookMs: 1840, Reconnected: []string{"tv-1"}, NotBack: map[string]string{"tv-2": "offline"}, Detail: "x"}},
		{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentShardMissing, Shard: &Shard{Index: 3, Count: 3}, Detail: "absent"}},
		{Kind: KindEnd, End: &EndInfo{Finished: t0.Add(time.Hour), Passed: 3, Failed: 1, Flaky: 1, Lost: 1, Quarantined: 1, Skipped: 1,
			Interrupted: 1, Verdict: VerdictFail, ExitCode: 1, Signal: SignalTERM}},
	}
}

func writeRecords(t testing.TB, dir string, recs []Record) []byte {
	t.Helper()
	w, err := OpenWriter(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatalf("%s: %v", r.Kind, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	recs := allKinds()
	data := writeRecords(t, dir, recs)
	text := string(data)
	// Durations are ms with an Ms suffix; no zero times, no Go field names.
	for _, bad := range []string{"0001-01-01", `"Max"`, `"P90"`, `"duration":`, `"clockOffsetEstimated":`, `"procs"`, `"durations":`, `"stamps":{"placed"`} {
		if strings.Contains(text, bad) {
			t.Errorf("results contain %s", bad)
		}
	}
	for _, want := range []string{`"schema":1`, `"maxMs":5000,"p90Ms":4000`, `"maxMs":300.5`, `"durationMs":12345.678`, `"clockOffsetSetMs":250`,
		`"clockOffsetEstimatedMs":250.4`, `"clockUncertaintyMs":0.45`, `"placed":"2026-03-02T01:00:00.123456789Z"`, `"durationsMs":{`,
		`"truthErrorsMs":{`, `"serial":"127.0.0.1:47011"`, `"process":7`, `"tool":{"name":"wmpf-hil","version":"1.2.3"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("results lack %s", want)
		}
	}
	if strings.Count(text, "\n") != len(recs) {
		t.Errorf("%d lines for %d records", strings.Count(text, "\n"), len(recs))
	}

	res, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if res.Damaged != 0 || res.Schema != 1 {
		t.Fatalf("damaged %d, schema %d", res.Damaged, res.Schema)
	}
	if !reflect.DeepEqual(res.Run, recs[0].Run) {
		t.Errorf("run:\n got %+v\nwant %+v", res.Run, recs[0].Run)
	}
	if d := res.Devices[0]; !reflect.DeepEqual(d, *recs[1].Device) {
		t.Errorf("device:\n got %+v\nwant %+v", d, *recs[1].Device)
	}
	if !reflect.DeepEqual(res.Starts[0].Spec, specWarm) || res.Starts[0].OnDevice != "panel-2" || res.Starts[0].at.IsZero() {
		t.Errorf("start %+v", res.Starts[0])
	}
	got := res.Specs[0]
	got.Finished = time.Time{}
	if !reflect.DeepEqual(got, *recs[3].Spec) {
		t.Errorf("spec:\n got %+v\nwant %+v", got, *recs[3].Spec)
	}
	if !reflect.DeepEqual(res.Calls[0], *recs[5].Call) {
		t.Errorf("call:\n got %+v\nwant %+v", res.Calls[0], *recs[5].Call)
	}
	if !reflect.DeepEqual(res.Restarts[0], *recs[6].Restart) || !reflect.DeepEqual(res.Incidents[1], *recs[8].Incident) {
		t.Errorf("restart or incident changed: %+v %+v", res.Restarts[0], res.Incidents[1])
	}
	want := *recs[9].End
	if !reflect.DeepEqual(*res.End, want) {
		t.Errorf("end:\n got %+v\nwant %+v", *res.End, want)
	}
	if res.First.IsZero() || !res.Last.After(res.First) && len(recs) > 1 && res.Last != res.First {
		t.Errorf("record times %v … %v", res.First, res.Last)
	}
}

// The run written by the report package before schema v1 (nanosecond
// durations, Go field names, nested calls, a torn last line) still reads.
func TestReadRunBeforeV1(t *testing.T) {
	res, err := ReadDir("testdata/legacy-run")
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema != 0 || res.Damaged != 1 {
		t.Errorf("schema %d, damaged %d; want 0 and the torn line", res.Schema, res.Damaged)
	}
	if res.Run.Workers != 2 || res.Run.Budgets["total"].Max != 5*time.Second || res.Run.Budgets["handling"].P90 != 150*time.Millisecond {
		t.Errorf("run %+v", res.Run)
	}
	if d := res.Devices[1]; d.ClockOffsetSet != 120*time.Millisecond || d.ClockOffsetEstimated != 120400*time.Microsecond {
		t.Errorf("device offsets %v %v", d.ClockOffsetSet, d.ClockOffsetEstimated)
	}
	byName := map[string]SpecResult{}
	for _, s := range res.Cells() {
		byName[s.Name] = s
	}
	if s := byName["survives kill"]; s.State != StateLost || s.LostTo != LostToDevice || s.Duration != 4*time.Second {
		t.Errorf("device-lost spec read as %s/%s %v", s.State, s.LostTo, s.Duration)
	}
	if s := byName["answers a warm call"]; s.State != StatePassed || s.Attempts != nil || s.Duration != 800*time.Millisecond {
		t.Errorf("spec with an attempt count: %+v", s)
	}
	if len(res.Calls) != 12 {
		t.Fatalf("%d calls", len(res.Calls))
	}
	c := res.Calls[0]
	if c.Spec != "answers calls" || c.Call.ID != "g-000" || !c.Call.Intended.IsZero() || c.Durations["total"] <= 0 || c.Call.Stamps[latency.Placed].IsZero() {
		t.Errorf("legacy call %+v", c)
	}
	if res.End.Verdict != VerdictFail {
		t.Errorf("end %+v", res.End)
	}
	// And it renders, all three reports.
	dir := t.TempDir()
	copyTree(t, "testdata/legacy-run", dir)
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page := readPage(t, dir)
	checkPage(t, page)
	for _, want := range []string{"answers within budget", `class="m-lost`, `>FAIL<`} {
		if !strings.Contains(page, want) {
			t.Errorf("legacy page lacks %s", want)
		}
	}
}

func TestReadRefusesNewerSchema(t *testing.T) {
	in := `{"kind":"run","at":"2026-03-02T01:00:00Z","process":1,"schema":2,"run":{"id":"future","tool":{"name":"wmpf-hil"}}}` + "\n"
	_, err := Read(strings.NewReader(in))
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != 2 {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"schema 2", "schema 1", "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ResultsFile), []byte(in), 0o644)
	if err := Render(dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Render of a newer run: %v", err)
	}
}

func TestWriterRefusesBadRecords(t *testing.T) {
	w, err := OpenWriter(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cases := []struct {
		rec  Record
		want []string
	}{
		{Record{Kind: "nope"}, []string{"kind", "run, device, start, spec, call, restart, incident, end"}},
		{Record{Kind: KindSpec}, []string{"spec record without"}},
		{Record{Kind: KindSpec, Run: &RunInfo{ID: "x"}}, []string{"carries a run payload"}},
		{Record{Kind: KindRun, Run: &RunInfo{}}, []string{"run record: id"}},
		{Record{Kind: KindRun, Run: &RunInfo{ID: "x", Matrix: "all"}}, []string{"matrix", `"all"`, "device, model, any"}},
		{Record{Kind: KindRun, Run: &RunInfo{ID: "x", Shard: &Shard{Index: 3, Count: 2}}}, []string{"shard 3 of 2"}},
		{Record{Kind: KindDevice, Device: &DeviceInfo{Name: "tv-1", Status: "broken"}}, []string{"status", "healthy, excluded, lost, quarantined"}},
		{Record{Kind: KindDevice, Device: &DeviceInfo{Status: DeviceHealthy}}, []string{"name is empty"}},
		{Record{Kind: KindStart, Start: &StartInfo{Spec: "s", Device: "d"}}, []string{"attempt 0", "from 1"}},
		{Record{Kind: KindSpec, Spec: &SpecResult{Name: "s", Device: "d", State: "ok"}}, []string{"spec s [d]: state", "passed, failed, flaky, lost, quarantined, skipped, interrupted"}},
		{Record{Kind: KindSpec, Spec: &SpecResult{Name: "s", State: StateLost}}, []string{"lostTo", "device, adb-server, wechat, worker"}},
		{Record{Kind: KindSpec, Spec: &SpecResult{Name: "s", State: StateFailed, LostTo: LostToDevice}}, []string{"only lost cells"}},
		{Record{Kind: KindSpec, Spec: &SpecResult{Name: "s", State: StateFlaky, Attempts: []Attempt{{Attempt: 1, State: StatePassed}}}}, []string{"flaky with 1 attempts"}},
		{Record{Kind: KindSpec, Spec: &SpecResult{Name: "s", State: StatePassed, Attempts: []Attempt{{Attempt: 0, State: StatePassed}}}}, []string{"attempts[0].attempt 0"}},
		{Record{Kind: KindSpec, Spec: &SpecResult{State: StatePassed}}, []string{"name is empty"}},
		{Record{Kind: KindRestart, Restart: &RestartInfo{Device: "tv-1", Kill: "sigkill"}}, []string{"kill", "force-stop, kill-9, reboot"}},
		{Record{Kind: KindIncident, Incident: &IncidentInfo{What: "meteor"}}, []string{"what", "adb-server-restarted", "shard-missing"}},
		{Record{Kind: KindEnd, End: &EndInfo{Verdict: VerdictPass, Signal: "SIGHUP"}}, []string{"signal", "SIGINT, SIGTERM"}},
		{Record{Kind: KindEnd, End: &EndInfo{}}, []string{"verdict is empty"}},
		{Record{Kind: KindCall, Call: &CallResult{Spec: "s", Device: "d", Durations: map[string]float64{"total": nanValue()}}}, []string{"durationsMs.total", "NaN"}},
		{Record{Kind: KindCall, Call: &CallResult{Spec: "s"}}, []string{"names its spec and its device"}},
		{Record{Kind: KindCall, Call: &CallResult{Device: "d"}}, []string{"names its spec and its device"}},
		{Record{Kind: KindRestart, Restart: &RestartInfo{Kill: KillNine}}, []string{"device is empty"}},
	}
	for i, c := range cases {
		err := w.Write(c.rec)
		if err == nil {
			t.Errorf("case %d (%s): no error", i, c.rec.Kind)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("case %d: error %q lacks %q", i, err, want)
			}
		}
	}
	if _, err := OpenWriter(t.TempDir(), -1); err == nil {
		t.Error("negative process accepted")
	}
}

func nanValue() float64 { var z float64; return z / z }

// What the Writer accepts passes the schema: a run record without a tool
// is written with wmpf-hil's name; minimal records of every kind validate.
func TestWriterOutputIsValidV1(t *testing.T) {
	dir := t.TempDir()
	run := &RunInfo{ID: "bare"}
	writeRecords(t, dir, []Record{
		{Kind: KindRun, Run: run},
		{Kind: KindDevice, Device: &DeviceInfo{Name: "tv-1", Status: DeviceHealthy}},
		{Kind: KindStart, Start: &StartInfo{Spec: "s", Device: "tv-1", Attempt: 1}},
		{Kind: KindSpec, Spec: &SpecResult{Name: "s", State: StatePassed}},
		{Kind: KindCall, Call: &CallResult{Spec: "s", Call: latency.Call{Device: "serial-1"}}},
		{Kind: KindRestart, Restart: &RestartInfo{Device: "tv-1", Kill: KillForceStop}},
		{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentWorkerDied}},
		{Kind: KindEnd, End: &EndInfo{Verdict: VerdictNoTests}},
	})
	if run.Tool.Name != "" {
		t.Error("Write changed the caller's run record")
	}
	validateRun(t, validator(t), filepath.Join(dir, ResultsFile))
	if res := mustReadDir(t, dir); res.Run.Tool.Name != ToolName || res.Calls[0].Device != "serial-1" {
		t.Errorf("run tool %+v, call device %q", res.Run.Tool, res.Calls[0].Device)
	}
}

func TestWriterWritesLegacyStatesAsV1(t *testing.T) {
	dir := t.TempDir()
	spec := &SpecResult{Name: "s", Device: "d", State: StateDeviceLost, Attempts: []Attempt{{Attempt: 1, State: StatePanicked}, {Attempt: 2, State: StateDeviceLost}}}
	data := writeRecords(t, dir, []Record{{Kind: KindSpec, Spec: spec}})
	if !strings.Contains(string(data), `"state":"lost","lostTo":"device"`) || strings.Contains(string(data), "panicked") || strings.Contains(string(data), "device-lost") {
		t.Errorf("written: %s", data)
	}
	if spec.State != StateDeviceLost || spec.Attempts[0].State != StatePanicked {
		t.Error("Write changed the caller's record")
	}
}

// Workers append to one file at once: every line stays whole.
func TestWritersShareTheFile(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for p := 1; p <= 4; p++ {
		w, err := OpenWriter(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Close()
			for i := range 50 {
				s := &SpecResult{Name: fmt.Sprintf("spec %d %s", i, strings.Repeat("x", 3000)), Device: fmt.Sprintf("d%d", p), State: StatePassed}
				if err := w.Write(Record{Kind: KindSpec, Spec: s}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	res, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Damaged != 0 || len(res.Cells()) != 200 {
		t.Errorf("%d damaged, %d cells of 200", res.Damaged, len(res.Cells()))
	}
}

// copyTree copies a folder of files.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lines are the non-empty lines of a file.
func lines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

func kindOfLine(line []byte) string {
	var k struct{ Kind string }
	json.Unmarshal(line, &k)
	return k.Kind
}
