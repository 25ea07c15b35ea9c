package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ctrfSchema compiles the published CTRF schema kept in testdata.
func ctrfSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/ctrf/ctrf.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://ctrf.io/schema/ctrf.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateCTRF(t testing.TB, data []byte) {
	t.Helper()
	if err := ctrfValid(t, data); err != nil {
		t.Errorf("ctrf.json against the CTRF schema: %v", err)
	}
}

func ctrfValid(t testing.TB, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ctrf.json is not JSON: %v", err)
	}
	return ctrfSchema(t).Validate(inst)
}

// ctrfDocOf is ctrf.json read back loosely.
type ctrfRead struct {
	ReportFormat, SpecVersion, RunID, GeneratedBy string
	Results                                       struct {
		Tool    struct{ Name, Version string }
		Summary struct {
			Tests, Passed, Failed, Skipped, Pending, Other, Flaky, Suites int
			Start, Stop, Duration                                         int64
			Extra                                                         map[string]int
		}
		Tests []struct {
			Name, Status, RawStatus, Message, Trace, Device string
			Duration, Start, Stop                           int64
			Suite, Tags                                     []string
			Retries                                         int
			Flaky                                           bool
			RetryAttempts                                   []struct {
				Attempt         int
				Status, Message string
				Duration, Start int64
				Extra           map[string]string
			}
			Attachments []struct{ Name, ContentType, Path string }
			Extra       map[string]string
		}
		Environment struct {
			ReportName, ShardID string
			Healthy             bool
			Extra               map[string]any
		}
	}
}

func TestCTRFOfARunWithEveryState(t *testing.T) {
	res := readSamples(t, "nightly/shard-1", "nightly/shard-2")
	var buf bytes.Buffer
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	if err := WriteCTRF(&buf, res, now); err != nil {
		t.Fatal(err)
	}
	validateCTRF(t, buf.Bytes())
	// The schema has teeth: our own states are not CTRF statuses, a suite
	// is a list.
	for name, mutate := range map[string]func(doc, test map[string]any){
		"status lost":       func(_, test map[string]any) { test["status"] = "lost" },
		"suite as a string": func(_, test map[string]any) { test["suite"] = "tv-1" },
		"no reportFormat":   func(doc, _ map[string]any) { delete(doc, "reportFormat") },
		"duration in s":     func(_, test map[string]any) { test["duration"] = 1.5 },
	} {
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		mutate(doc, doc["results"].(map[string]any)["tests"].([]any)[0].(map[string]any))
		b, _ := json.Marshal(doc)
		if ctrfValid(t, b) == nil {
			t.Errorf("a ctrf.json with %s passes the schema", name)
		}
	}
	var doc ctrfRead
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ReportFormat != "CTRF" || doc.SpecVersion != "0.0.0" || doc.RunID != sampleRun || doc.Results.Tool.Name != "wmpf-hil" || doc.Results.Tool.Version != "0.9.0" {
		t.Errorf("header %+v %+v", doc, doc.Results.Tool)
	}
	s := doc.Results.Summary
	// 39 cells: 26 passed + 1 flaky, 4 failed, 1 skipped, 4 lost and 3
	// quarantined as "other".
	if s.Tests != 39 || s.Passed != 27 || s.Flaky != 1 || s.Failed != 4 || s.Skipped != 1 || s.Other != 7 || s.Pending != 0 || s.Suites != 5 {
		t.Errorf("summary %+v", s)
	}
	if s.Extra["lost"] != 4 || s.Extra["quarantined"] != 3 {
		t.Errorf("summary extra %v", s.Extra)
	}
	if s.Start != sampleStart.UnixMilli() || s.Stop <= s.Start || s.Duration != s.Stop-s.Start {
		t.Errorf("summary times %d %d %d", s.Start, s.Stop, s.Duration)
	}
	if e := doc.Results.Environment; e.ShardID != "1/2" || e.Extra["host"] != "hil-01" || e.Extra["farmFile"] != "farms/nightly.yaml" || e.Healthy {
		t.Errorf("environment %+v", e)
	}
	byName := map[string]int{}
	for i, x := range doc.Results.Tests {
		byName[x.Name] = i
		if len(x.Suite) != 1 || !strings.HasSuffix(x.Name, " ["+x.Suite[0]+"]") || x.Extra["device"] != x.Suite[0] || x.Device != x.Suite[0] {
			t.Errorf("test %q in suite %v, extra %v", x.Name, x.Suite, x.Extra)
		}
		if x.Extra["state"] != x.RawStatus || x.Extra["model"] == "" {
			t.Errorf("test %q: extra %v, rawStatus %s", x.Name, x.Extra, x.RawStatus)
		}
	}
	get := func(name string) int {
		t.Helper()
		i, ok := byName[name]
		if !ok {
			t.Fatalf("no test %q", name)
		}
		return i
	}
	tests := doc.Results.Tests
	for name, want := range map[string][2]string{
		specLaunch + " [tv-1]":            {"passed", "passed"},
		specTrial + " [tv-2]":             {"failed", "failed"},
		specRestart + " [tv-1]":           {"passed", "flaky"},
		specCallEnd + " [tv-2]":           {"other", "lost"},
		specRestart + " [panel-1]":        {"other", "lost"},
		specCallEnd + " [panel-1]":        {"other", "lost"},
		specCallEnd + " [slow-launch-1]":  {"other", "lost"},
		specBadToken + " [panel-2]":       {"other", "quarantined"},
		specVideo + " [panel-1]":          {"skipped", "skipped"},
		specCold + " [slow-launch-1]":     {"failed", "failed"},
		specWarm + " [panel-1]":           {"passed", "passed"},
		specBadToken + " [slow-launch-1]": {"passed", "passed"},
	} {
		x := tests[get(name)]
		if x.Status != want[0] || x.Extra["state"] != want[1] {
			t.Errorf("%s: status %s state %s, want %v", name, x.Status, x.Extra["state"], want)
		}
	}
	lostTo := map[string]bool{}
	for _, x := range tests {
		if x.Extra["state"] == "lost" {
			lostTo[x.Extra["lostTo"]] = true
		}
	}
	if len(lostTo) != 4 {
		t.Errorf("lost to %v, want device, adb-server, wechat and worker", lostTo)
	}
	flaky := tests[get(specRestart+" [tv-1]")]
	if !flaky.Flaky || flaky.Retries != 1 || len(flaky.RetryAttempts) != 2 || flaky.RetryAttempts[0].Status != "failed" ||
		flaky.RetryAttempts[0].Message != "WMPF did not come back within 10s after kill -9 (budget 8s)" || flaky.RetryAttempts[1].Status != "passed" {
		t.Errorf("flaky %+v", flaky)
	}
	moved := tests[get(specWarm+" [panel-1]")]
	if moved.Flaky || len(moved.RetryAttempts) != 2 || moved.RetryAttempts[0].Status != "other" || moved.RetryAttempts[0].Extra["lostTo"] != "device" ||
		moved.RetryAttempts[1].Extra["device"] != "panel-2" {
		t.Errorf("cell lost then passed on panel-2: %+v", moved)
	}
	failed := tests[get(specTrial+" [tv-2]")]
	if failed.Message == "" || !strings.HasPrefix(failed.Trace, "suites/launch_test.go:") || failed.Duration <= 0 || failed.Start == 0 || failed.Stop < failed.Start {
		t.Errorf("failed test %+v", failed)
	}
	types := map[string]string{}
	for _, a := range failed.Attachments {
		types[a.Name] = a.ContentType
		if !strings.HasPrefix(a.Path, "evidence/tv-2/") {
			t.Errorf("attachment path %s", a.Path)
		}
	}
	if types["screenshot.png"] != "image/png" || types["logcat.txt"] != "text/plain" || types["ui.xml"] != "application/xml" || types["contract-events.json"] != "application/json" {
		t.Errorf("attachments %v", types)
	}
	if q := tests[get(specBadToken+" [panel-2]")]; q.Message != "panel-2 quarantined: 3 failed resets in a row" || q.Extra["reason"] != q.Message {
		t.Errorf("quarantined %+v", q)
	}
	if sk := tests[get(specVideo+" [panel-1]")]; sk.Extra["reason"] == "" || len(sk.Tags) != 1 || sk.Tags[0] != "video" {
		t.Errorf("skipped %+v", sk)
	}
}

func TestCTRFOfOddRuns(t *testing.T) {
	for name, r := range map[string]*Results{
		"empty":       {},
		"no device":   {Specs: []SpecResult{{Name: "x", State: StateInterrupted}, {Name: "y", State: "exploded"}}},
		"legacy":      mustReadDir(t, "testdata/legacy-run"),
		"interrupted": {Run: &RunInfo{ID: "r"}, Specs: cellsOf(StateInterrupted, StatePassed)},
	} {
		var buf bytes.Buffer
		if err := WriteCTRF(&buf, r, time.Time{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		validateCTRF(t, buf.Bytes())
	}
}

func mustReadDir(t testing.TB, dir string) *Results {
	t.Helper()
	r, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
