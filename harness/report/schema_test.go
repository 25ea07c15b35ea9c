package report

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/report/schema"
)

func validator(t testing.TB) *schema.Validator {
	t.Helper()
	v, err := schema.New()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validateRun checks every line of a results file against the schema and
// returns the kinds it saw.
func validateRun(t testing.TB, v *schema.Validator, path string) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	for i, line := range lines(t, path) {
		if err := v.Validate(line); err != nil {
			t.Errorf("%s:%d: %v\n%s", path, i+1, err, line)
		}
		kinds[kindOfLine(line)]++
	}
	return kinds
}

func TestSchemaValidatesTheSampleRuns(t *testing.T) {
	v := validator(t)
	files, err := filepath.Glob(filepath.Join(samplesDir, "*", "*", ResultsFile))
	if err != nil || len(files) != 3 {
		t.Fatalf("sample runs %v %v", files, err)
	}
	seen := map[string]int{}
	for _, f := range files {
		for k, n := range validateRun(t, v, f) {
			seen[k] += n
		}
	}
	for _, k := range Kinds {
		if seen[string(k)] == 0 {
			t.Errorf("no %s record in the sample runs", k)
		}
	}
	t.Logf("validated records by kind: %v", seen)
}

func TestSchemaValidatesEveryKindWritten(t *testing.T) {
	v := validator(t)
	dir := t.TempDir()
	writeRecords(t, dir, allKinds())
	kinds := validateRun(t, v, filepath.Join(dir, ResultsFile))
	var got []string
	for k := range kinds {
		got = append(got, k)
	}
	sort.Strings(got)
	if len(got) != len(Kinds) {
		t.Errorf("kinds written %v", got)
	}
	names := v.Kinds()
	sort.Strings(names)
	if strings.Join(names, " ") != "call device end incident restart run spec start" {
		t.Errorf("schemas for %v", names)
	}
}

func TestSchemaRejectsWhatV1Forbids(t *testing.T) {
	v := validator(t)
	const at = `"at":"2026-03-02T01:00:00Z","process":3`
	bad := map[string]string{
		"zero time":             `{"kind":"start","at":"0001-01-01T00:00:00Z","process":3,"start":{"spec":"s","device":"d","attempt":1}}`,
		"not a time":            `{"kind":"start","at":"yesterday","process":3,"start":{"spec":"s","device":"d","attempt":1}}`,
		"no process":            `{"kind":"start","at":"2026-03-02T01:00:00Z","start":{"spec":"s","device":"d","attempt":1}}`,
		"lost without lostTo":   `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"lost","durationMs":1}}`,
		"lostTo on a failure":   `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"failed","lostTo":"device","durationMs":1}}`,
		"unknown state":         `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"device-lost","durationMs":1}}`,
		"ns duration":           `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"passed","duration":1000000}}`,
		"flaky, one attempt":    `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"flaky","durationMs":1,"attempts":[{"attempt":1,"state":"passed","durationMs":1}]}}`,
		"flaky attempt":         `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"passed","durationMs":1,"attempts":[{"attempt":1,"state":"flaky","durationMs":1}]}}`,
		"two payloads":          `{"kind":"spec",` + at + `,"spec":{"name":"s","state":"passed","durationMs":1},"start":{"spec":"s","device":"d","attempt":1}}`,
		"schema on a spec":      `{"kind":"spec",` + at + `,"schema":1,"spec":{"name":"s","state":"passed","durationMs":1}}`,
		"run without schema":    `{"kind":"run",` + at + `,"run":{"id":"r","tool":{"name":"wmpf-hil"}}}`,
		"Go budget names":       `{"kind":"run",` + at + `,"schema":1,"run":{"id":"r","tool":{"name":"wmpf-hil"},"budgets":{"total":{"Max":5000000000,"P90":4000000000}}}}`,
		"bad matrix":            `{"kind":"run",` + at + `,"schema":1,"run":{"id":"r","tool":{"name":"wmpf-hil"},"matrix":"all"}}`,
		"device without status": `{"kind":"device",` + at + `,"device":{"name":"tv-1"}}`,
		"unknown incident":      `{"kind":"incident",` + at + `,"incident":{"what":"meteor"}}`,
		"exit 2 in an end":      `{"kind":"end",` + at + `,"end":{"passed":0,"failed":0,"flaky":0,"lost":0,"quarantined":0,"skipped":0,"interrupted":0,"verdict":"PASS","exitCode":2}}`,
		"unknown stage":         `{"kind":"call",` + at + `,"call":{"spec":"s","device":"d","stamps":{"ringing":"2026-03-02T01:00:00Z"}}}`,
		"unknown field":         `{"kind":"restart",` + at + `,"restart":{"spec":"s","device":"d","kill":"kill-9","restarted":true,"colour":"red"}}`,
	}
	for name, line := range bad {
		if err := v.Validate([]byte(line)); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	// Records before schema v1 are not v1 records.
	invalid := 0
	for _, line := range lines(t, "testdata/legacy-run/results.jsonl") {
		if v.Validate(line) != nil {
			invalid++
		}
	}
	if invalid < 20 {
		t.Errorf("only %d lines of the run before v1 fail the v1 schema", invalid)
	}
}
