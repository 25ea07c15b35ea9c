package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// treeHash is a digest of every file under dir: path, mode, size, time
// and content.
func treeHash(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %v %d %d\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sample(rel string) string { return filepath.Join(samplesDir, filepath.FromSlash(rel)) }

// cellKeys are the (spec, device) cells of a run folder.
func cellKeys(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, c := range mustReadDir(t, dir).Cells() {
		out = append(out, c.Name+" ["+c.Device+"] "+string(c.State))
	}
	sort.Strings(out)
	return out
}

func TestMergeTwoShardsIsTheUnion(t *testing.T) {
	in1, in2 := sample("nightly/shard-1"), sample("nightly/shard-2")
	before := []string{treeHash(t, in1), treeHash(t, in2)}
	out := filepath.Join(t.TempDir(), "merged")
	mr, err := Merge(out, []string{in2, in1}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after := []string{treeHash(t, in1), treeHash(t, in2)}; !slices.Equal(before, after) {
		t.Fatal("Merge changed its inputs")
	}

	// The cells are the union of the shards' cells.
	want := append(cellKeys(t, in1), cellKeys(t, in2)...)
	sort.Strings(want)
	if got := cellKeys(t, out); !slices.Equal(got, want) || len(got) != 39 {
		t.Errorf("merged cells (%d):\n%s\nwant (%d):\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	res := mustReadDir(t, out)
	if res.Run.ID != sampleRun || len(res.Run.Merged) != 2 || res.Run.Merged[0].Index != 1 || res.Run.Merged[1].Host != "hil-02" ||
		!res.Run.Merged[0].Finished || res.Run.Workers != 6 || !res.Run.Started.Equal(sampleStart) || res.Run.Shard != nil {
		t.Errorf("merged run %+v", res.Run)
	}
	if len(res.Shards) != 2 || res.Shards[1].Run.Host != "hil-02" || res.Shards[0].End == nil {
		t.Errorf("shards %+v", res.Shards)
	}
	if mr.RunID != sampleRun || len(mr.Missing)+len(mr.Crashed) != 0 || mr.Damaged != 0 {
		t.Errorf("merge result %+v", mr)
	}
	// Every record of the inputs is there, marked with its shard.
	all := lines(t, filepath.Join(out, ResultsFile))
	n1, n2 := len(lines(t, filepath.Join(in1, ResultsFile))), len(lines(t, filepath.Join(in2, ResultsFile)))
	if mr.Records != n1+n2 || len(all) != n1+n2+2 {
		t.Errorf("%d records copied, %d lines; inputs have %d + %d", mr.Records, len(all), n1, n2)
	}
	perShard := map[string]int{}
	for _, l := range all[1 : len(all)-1] {
		var rec Record
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatal(err)
		}
		perShard[fmt.Sprint(rec.Shard)]++
	}
	if perShard["1"] != n1 || perShard["2"] != n2 {
		t.Errorf("records per shard %v", perShard)
	}
	v := validator(t)
	validateRun(t, v, filepath.Join(out, ResultsFile))
	if kindOfLine(all[0]) != "run" || kindOfLine(all[len(all)-1]) != "end" {
		t.Error("the merge's run record first, its end record last")
	}
	e := res.End
	if e == nil || e.Passed != 26 || e.Failed != 4 || e.Flaky != 1 || e.Lost != 4 || e.Quarantined != 3 || e.Skipped != 1 || e.Verdict != VerdictFail || e.ExitCode != 1 {
		t.Errorf("merged end %+v", e)
	}
	if !e.Finished.Equal(res.Shards[1].End.Finished) || !e.Finished.After(res.Shards[0].End.Finished) {
		t.Errorf("merged run finished %v: want when its last shard finished, %v", e.Finished, res.Shards[1].End.Finished)
	}
	if res.ExitCode() != 1 {
		t.Errorf("exit %d", res.ExitCode())
	}

	// Evidence of both shards, byte for byte.
	copied := 0
	for _, in := range []string{in1, in2} {
		filepath.WalkDir(filepath.Join(in, EvidenceRoot), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(in, p)
			a, _ := os.ReadFile(p)
			b, err := os.ReadFile(filepath.Join(out, rel))
			if err != nil || string(a) != string(b) {
				t.Errorf("evidence %s: %v", rel, err)
			}
			copied++
			return nil
		})
	}
	if copied == 0 || mr.EvidenceFiles != copied {
		t.Errorf("%d evidence files copied, %d in the inputs", mr.EvidenceFiles, copied)
	}
	for _, c := range res.Cells() {
		for _, f := range cellFiles(c) {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("cell %s names %s: %v", c.TestName(), f, err)
			}
		}
	}

	// The reports of the whole matrix.
	jpath := filepath.Join(out, JUnitFile)
	validateJUnitXSD(t, jpath)
	jb, _ := os.ReadFile(jpath)
	hosts := map[string]string{}
	for _, s := range parseJUnit(t, jb).children("testsuite") {
		n, _ := s.attr("name")
		h, _ := s.attr("hostname")
		hosts[n] = h
	}
	if len(hosts) != 6 || hosts["tv-1"] != "hil-01" || hosts["panel-2"] != "hil-02" || hosts["slow-launch-1"] != "hil-02" {
		t.Errorf("suites and their hosts: %v", hosts)
	}
	cb, err := os.ReadFile(filepath.Join(out, CTRFFile))
	if err != nil {
		t.Fatal(err)
	}
	validateCTRF(t, cb)
	if !strings.Contains(string(cb), `"tests": 39,`) || !strings.Contains(string(cb), `"shards": [`) {
		t.Error("ctrf.json is not of the whole run")
	}
	page := readPage(t, out)
	checkPage(t, page)
	for _, want := range []string{"merged from", "shard 1/2", "shard 2/2", ">tv-1<", ">panel-2<", ">slow-launch-1<", "hil-02"} {
		if !strings.Contains(page, want) {
			t.Errorf("merged page lacks %s", want)
		}
	}
	checkNoTempFiles(t, filepath.Dir(out))
}

func TestMergeMissingShard(t *testing.T) {
	in1 := sample("nightly/shard-1")
	out := filepath.Join(t.TempDir(), "merged")
	_, err := Merge(out, []string{in1}, MergeOptions{})
	if err == nil || !strings.Contains(err.Error(), "shard 2 of 2 missing") || !strings.Contains(err.Error(), "AllowPartial") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused merge left its output")
	}
	mr, err := Merge(out, []string{in1}, MergeOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mr.Missing, []int{2}) {
		t.Errorf("missing %v", mr.Missing)
	}
	res := mustReadDir(t, out)
	if len(res.Incidents) < 2 || res.Incidents[len(res.Incidents)-1].What != IncidentShardMissing || res.Incidents[len(res.Incidents)-1].Shard.Index != 2 {
		t.Errorf("incidents %+v", res.Incidents)
	}
	page := readPage(t, out)
	if !strings.Contains(page, `<div class="banner shard">shard-missing: shard 2 of 2 was not among the merged folders`) {
		t.Error("the page does not name the missing shard")
	}
	validateRun(t, validator(t), filepath.Join(out, ResultsFile))
}

func TestMergeCrashedShard(t *testing.T) {
	in1, crashed := sample("nightly/shard-1"), sample("crashed/shard-2")
	before := treeHash(t, crashed)
	out := filepath.Join(t.TempDir(), "merged")
	_, err := Merge(out, []string{in1, crashed}, MergeOptions{})
	if err == nil || !strings.Contains(err.Error(), "shard 2 of 2 crashed") {
		t.Fatalf("err %v", err)
	}
	mr, err := Merge(out, []string{in1, crashed}, MergeOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	if treeHash(t, crashed) != before {
		t.Error("Merge changed the crashed shard")
	}
	if !slices.Equal(mr.Crashed, []int{2}) || len(mr.Missing) != 0 {
		t.Errorf("crashed %v missing %v", mr.Crashed, mr.Missing)
	}
	res := mustReadDir(t, out)
	var crash *IncidentInfo
	for i := range res.Incidents {
		if res.Incidents[i].What == IncidentShardCrashed {
			crash = &res.Incidents[i]
		}
	}
	if crash == nil || !strings.Contains(crash.Detail, "wrote no end record") || crash.Shard.Index != 2 {
		t.Errorf("crash incident %+v", crash)
	}
	// The crashed shard's cells so far are in; the cell it was running
	// shows as started without a result.
	if len(res.Cells()) != 16+7 {
		t.Errorf("%d cells", len(res.Cells()))
	}
	page := readPage(t, out)
	if !strings.Contains(page, `title="attempt 1 started, no result"`) || !strings.Contains(page, "(did not finish)") {
		t.Error("the page does not show the crashed shard")
	}
}

// writeShard writes a small shard folder: devices each passing every spec,
// open-loop calls, and a bench.json.
func writeShard(t testing.TB, dir string, index, count int, devices []string, end bool) {
	t.Helper()
	s := newSampleWriter(t, dir, sampleStart)
	defer s.close()
	run := sampleRunInfo(index, count)
	s.put(supervisor, Record{Kind: KindRun, Run: run})
	for _, d := range devices {
		dev := DeviceInfo{Name: d, Serial: d, Model: "tv", Status: DeviceHealthy}
		s.put(supervisor, Record{Kind: KindDevice, Device: &dev})
		for i, spec := range sampleSpecs[:3] {
			call := benchCall("tv", s.at, time.Duration(i)*time.Millisecond, time.Second)
			call.Spec, call.Device = spec, d
			s.put(1, Record{Kind: KindCall, Call: &call})
			s.cell(1, dev, spec, StatePassed, "", "", "")
		}
	}
	if end {
		s.put(supervisor, Record{Kind: KindEnd, End: sampleEnd(t, dir, s.at)})
	}
	res, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBench(dir, BenchFromResults(res)); err != nil {
		t.Fatal(err)
	}
}

func TestMergeIncompleteAndBench(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeShard(t, a, 1, 3, []string{"tv-1", "tv-2"}, true)
	writeShard(t, b, 3, 3, []string{"tv-3"}, true)
	out := filepath.Join(root, "out")
	mr, err := Merge(out, []string{a, b}, MergeOptions{AllowPartial: true, RunID: "nightly-merged"})
	if err != nil {
		t.Fatal(err)
	}
	// Every cell passed, but shard 2 of 3 is missing: the run cannot pass.
	if mr.End.Verdict != VerdictIncomplete || mr.End.ExitCode != 3 || mr.End.Passed != 9 || mr.RunID != "nightly-merged" {
		t.Errorf("end %+v, run %s", mr.End, mr.RunID)
	}
	// bench.json of the merge: the figures of every shard's calls.
	f, err := ReadBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Calls != 9 || f.Figures["total"]["tv"].N != 9 || f.Run != "nightly-merged" {
		t.Errorf("merged bench: %d calls, total n=%d, run %s", f.Calls, f.Figures["total"]["tv"].N, f.Run)
	}
	if got := latency.TotalIntended; f.Figures[got][AllModels].N != 9 {
		t.Errorf("%s n=%d", got, f.Figures[got][AllModels].N)
	}
}

func TestMergeRefuses(t *testing.T) {
	root := t.TempDir()
	in1 := sample("nightly/shard-1")
	thief := filepath.Join(root, "thief")
	writeShard(t, thief, 2, 2, []string{"tv-1"}, true)
	other := filepath.Join(root, "other-count")
	writeShard(t, other, 2, 3, []string{"tv-9"}, true)
	plain := filepath.Join(root, "plain")
	writeRecords(t, plain, []Record{{Kind: KindRun, Run: &RunInfo{ID: "plain"}}})
	merged := filepath.Join(root, "merged")
	if _, err := Merge(merged, []string{in1, sample("nightly/shard-2")}, MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	notRun := filepath.Join(root, "not-a-run")
	os.MkdirAll(notRun, 0o755)
	os.WriteFile(filepath.Join(notRun, ResultsFile), []byte(`{"kind":"start","at":"2026-03-02T01:00:00Z","process":1,"start":{"spec":"s","device":"d","attempt":1}}`+"\n"), 0o644)
	full := filepath.Join(root, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)

	for _, c := range []struct {
		out  string
		dirs []string
		want string
	}{
		{filepath.Join(root, "o1"), []string{in1, thief}, "device tv-1 is in shard 1"},
		{filepath.Join(root, "o2"), []string{in1, in1}, "are both shard 1 of 2"},
		{filepath.Join(root, "o3"), []string{in1, other}, "says 2 shards"},
		{filepath.Join(root, "o4"), []string{in1, plain}, "some folders are shards of a run and some are not"},
		{filepath.Join(root, "o5"), []string{merged}, "is a merged run already"},
		{filepath.Join(root, "o6"), []string{notRun}, "no run record"},
		{filepath.Join(root, "o7"), []string{filepath.Join(root, "nowhere")}, "no such file"},
		{filepath.Join(root, "o8"), nil, "no shard folders"},
		{full, []string{in1}, "is not empty"},
		{filepath.Join(thief, "inside"), []string{thief}, "overlap"},
		{"", []string{in1}, "output folder is empty"},
	} {
		_, err := Merge(c.out, c.dirs, MergeOptions{AllowPartial: true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Merge(%s, %v): %v, want %q", c.out, c.dirs, err, c.want)
		}
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "o") && e.Name() != "other-count" || strings.Contains(e.Name(), ".merge-") {
			t.Errorf("a refused merge left %s", e.Name())
		}
	}
}
