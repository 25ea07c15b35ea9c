package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MergeOptions configure Merge.
type MergeOptions struct {
	// AllowPartial merges what there is when a shard is missing or
	// crashed; the merged report names each as an incident
	// (shard-missing, shard-crashed) and the run cannot pass. Without it
	// Merge refuses such a run.
	AllowPartial bool
	// RunID is the merged run's id; empty: the shards' run id when they
	// share one, else "merged-" and the first shard's.
	RunID string
}

// MergeResult says what Merge built.
type MergeResult struct {
	// Dir is the merged run folder.
	Dir   string
	RunID string
	// Shards are the inputs, in index order.
	Shards []MergedShard
	// Missing and Crashed are shard indices absent from the inputs, and
	// those that wrote no end record.
	Missing, Crashed []int
	// Records copied, and damaged lines of the inputs left out.
	Records, Damaged int
	// EvidenceFiles copied.
	EvidenceFiles int
	End           EndInfo
}

// shardInput is one input folder read.
type shardInput struct {
	dir   string
	lines [][]byte
	res   *Results
	shard Shard
}

// Merge combines the run folders of the shards of one run into out, a new
// folder: results.jsonl with a run record of the merge (the shards it
// found) and every record of the inputs marked with its shard, then any
// shard-missing and shard-crashed incidents and an end record for the
// whole; the evidence of every shard, copied; bench.json when a shard has
// one, computed again from all the calls; and report.html, junit.xml and
// ctrf.json of the whole matrix. It never writes into its inputs. A shard
// missing (run records say there are N shards, one of them is absent) or
// crashed (no end record) is an error unless opts.AllowPartial (the
// result, returned with it, names them; nothing is written); two
// shards claiming one device are an error. out must not exist, or be an
// empty folder.
func Merge(out string, dirs []string, opts MergeOptions) (*MergeResult, error) {
	if len(dirs) == 0 {
		return nil, errors.New("report: merge: no shard folders given")
	}
	if strings.TrimSpace(out) == "" {
		return nil, errors.New("report: merge: the output folder is empty: name a new folder")
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("report: merge: %w", err)
	}
	if ents, err := os.ReadDir(absOut); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("report: merge: %s exists and is not empty: merge into a new folder", out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: merge: output %s: %w", out, err)
	}
	inputs, err := readShards(absOut, dirs)
	if err != nil {
		return nil, err
	}
	mr, err := planMerge(inputs, opts)
	if err != nil {
		return mr, err
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return nil, fmt.Errorf("report: merge: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(absOut), "."+filepath.Base(absOut)+".merge-*")
	if err != nil {
		return nil, fmt.Errorf("report: merge: %w", err)
	}
	defer os.RemoveAll(tmp) // only what was not renamed into place
	if err := writeMerged(tmp, inputs, mr); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("report: merge: %w", err)
	}
	if err := os.Rename(tmp, absOut); err != nil {
		return nil, fmt.Errorf("report: merge: put %s in place: %w", out, err)
	}
	mr.Dir = absOut
	return mr, nil
}

// readShards reads each input's results, refusing folders that are not
// runs, merged runs, and the output folder itself.
func readShards(absOut string, dirs []string) ([]*shardInput, error) {
	var inputs []*shardInput
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("report: merge: %w", err)
		}
		if within(abs, absOut) || within(absOut, abs) {
			return nil, fmt.Errorf("report: merge: output %s and shard %s overlap: merge into a folder of its own", absOut, d)
		}
		data, err := os.ReadFile(filepath.Join(abs, ResultsFile))
		if err != nil {
			return nil, fmt.Errorf("report: merge: shard %s: %w", d, err)
		}
		res, err := Read(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("report: merge: shard %s: %w", d, err)
		}
		if res.Run == nil {
			return nil, fmt.Errorf("report: merge: shard %s: no run record in %s: not a run folder", d, ResultsFile)
		}
		if len(res.Shards) > 0 || len(res.Run.Merged) > 0 {
			return nil, fmt.Errorf("report: merge: %s is a merged run already: give the shards' own folders", d)
		}
		in := &shardInput{dir: abs, res: res}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				in.lines = append(in.lines, append([]byte(nil), line...))
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("report: merge: shard %s: %w", d, err)
		}
		inputs = append(inputs, in)
	}
	return inputs, nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && (rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))))
}

// planMerge checks the shards fit together and finds the missing and
// crashed ones.
func planMerge(inputs []*shardInput, opts MergeOptions) (*MergeResult, error) {
	sharded := 0
	for _, in := range inputs {
		if in.res.Run.Shard != nil {
			sharded++
		}
	}
	if sharded != 0 && sharded != len(inputs) {
		return nil, errors.New("report: merge: some folders are shards of a run and some are not: give the shards of one run")
	}
	count := len(inputs)
	for i, in := range inputs {
		in.shard = Shard{Index: i + 1, Count: count}
		if s := in.res.Run.Shard; s != nil {
			in.shard = *s
		}
	}
	count = inputs[0].shard.Count
	byIndex := map[int]*shardInput{}
	for _, in := range inputs {
		if in.shard.Count != count {
			return nil, fmt.Errorf("report: merge: %s says %d shards, %s says %d: not shards of one run", inputs[0].dir, count, in.dir, in.shard.Count)
		}
		if other, dup := byIndex[in.shard.Index]; dup {
			return nil, fmt.Errorf("report: merge: %s and %s are both shard %d of %d", other.dir, in.dir, in.shard.Index, count)
		}
		byIndex[in.shard.Index] = in
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].shard.Index < inputs[j].shard.Index })

	owner := map[string]*shardInput{}
	for _, in := range inputs {
		for _, name := range shardDevices(in.res) {
			if other, ok := owner[name]; ok && other != in {
				return nil, fmt.Errorf("report: merge: device %s is in shard %d (%s) and shard %d (%s): a device belongs to one shard",
					name, other.shard.Index, other.dir, in.shard.Index, in.dir)
			}
			owner[name] = in
		}
	}

	mr := &MergeResult{RunID: opts.RunID}
	for i := 1; i <= count; i++ {
		if byIndex[i] == nil {
			mr.Missing = append(mr.Missing, i)
		}
	}
	for _, in := range inputs {
		if in.res.End == nil {
			mr.Crashed = append(mr.Crashed, in.shard.Index)
		}
		mr.Shards = append(mr.Shards, MergedShard{Index: in.shard.Index, Count: count, ID: in.res.Run.ID,
			Dir: filepath.Base(in.dir), Host: in.res.Run.Host, Finished: in.res.End != nil, Records: len(in.lines)})
	}
	if (len(mr.Missing) > 0 || len(mr.Crashed) > 0) && !opts.AllowPartial {
		var parts []string
		if len(mr.Missing) > 0 {
			parts = append(parts, fmt.Sprintf("shard %s of %d missing", joinInts(mr.Missing), count))
		}
		if len(mr.Crashed) > 0 {
			parts = append(parts, fmt.Sprintf("shard %s of %d crashed (no end record)", joinInts(mr.Crashed), count))
		}
		return mr, fmt.Errorf("report: merge: %s: merge what there is with AllowPartial (-allow-partial)", strings.Join(parts, "; "))
	}
	if mr.RunID == "" {
		mr.RunID = inputs[0].res.Run.ID
		for _, in := range inputs {
			if in.res.Run.ID != mr.RunID {
				mr.RunID = "merged-" + inputs[0].res.Run.ID
				break
			}
		}
	}
	return mr, nil
}

// shardDevices are the devices a shard ran or recorded.
func shardDevices(r *Results) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, d := range r.Devices {
		add(d.Name)
	}
	for _, s := range r.Specs {
		add(s.Device)
	}
	for _, s := range r.Starts {
		add(s.Device)
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// mergedRun is the run record of the merge.
func mergedRun(inputs []*shardInput, mr *MergeResult) *RunInfo {
	first := inputs[0].res.Run
	run := &RunInfo{ID: mr.RunID, Tool: first.Tool, FarmFile: first.FarmFile, GoVersion: first.GoVersion,
		Labels: first.Labels, Matrix: first.Matrix, FlakeAttempts: first.FlakeAttempts, Retries: first.Retries,
		Budgets: first.Budgets, Merged: mr.Shards}
	if run.Tool.Name == "" {
		run.Tool.Name = ToolName
	}
	run.Host, _ = os.Hostname()
	for _, in := range inputs {
		r := in.res.Run
		run.Workers += r.Workers
		run.FlakyFails = run.FlakyFails || r.FlakyFails
		if !r.Started.IsZero() && (run.Started.IsZero() || r.Started.Before(run.Started)) {
			run.Started = r.Started
		}
	}
	return run
}

// writeMerged writes the merged run folder into dir.
func writeMerged(dir string, inputs []*shardInput, mr *MergeResult) error {
	now := time.Now()
	var buf bytes.Buffer
	put := func(r Record) error {
		r.At, r.Process = now, os.Getpid()
		if r.Kind == KindRun {
			r.Schema = SchemaVersion
		}
		if err := r.Check(); err != nil {
			return err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
		return nil
	}
	if err := put(Record{Kind: KindRun, Run: mergedRun(inputs, mr)}); err != nil {
		return fmt.Errorf("report: merge: %w", err)
	}
	for _, in := range inputs {
		for _, line := range in.lines {
			var m map[string]json.RawMessage
			if json.Unmarshal(line, &m) != nil || m["kind"] == nil {
				mr.Damaged++
				continue
			}
			m["shard"] = json.RawMessage(strconv.Itoa(in.shard.Index))
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("report: merge: shard %d: %w", in.shard.Index, err)
			}
			buf.Write(append(b, '\n'))
			mr.Records++
		}
	}
	count := inputs[0].shard.Count
	for _, k := range mr.Missing {
		in := &IncidentInfo{What: IncidentShardMissing, Shard: &Shard{Index: k, Count: count},
			Detail: fmt.Sprintf("shard %d of %d was not among the merged folders: its devices' cells are not in this report", k, count)}
		if err := put(Record{Kind: KindIncident, Incident: in}); err != nil {
			return fmt.Errorf("report: merge: %w", err)
		}
	}
	for _, in := range inputs {
		if in.res.End != nil {
			continue
		}
		inc := &IncidentInfo{What: IncidentShardCrashed, Shard: &Shard{Index: in.shard.Index, Count: count},
			Detail: fmt.Sprintf("shard %d of %d (run %s, folder %s) wrote no end record: it crashed or was still running; its cells so far are merged",
				in.shard.Index, count, in.res.Run.ID, filepath.Base(in.dir))}
		if err := put(Record{Kind: KindIncident, Incident: inc}); err != nil {
			return fmt.Errorf("report: merge: %w", err)
		}
	}
	res, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("report: merge: read back: %w", err)
	}
	o := res.Options()
	for _, in := range inputs {
		if e := in.res.End; e != nil && e.Signal != "" && o.Signal == "" {
			o.Signal = e.Signal
		}
	}
	end, err := res.SummarizeWith(o)
	if err != nil {
		return fmt.Errorf("report: merge: %w", err)
	}
	// The run finished when its last shard did (or last wrote, if it
	// crashed), not when it was merged.
	end.Finished = time.Time{}
	for _, in := range inputs {
		last := in.res.Last
		if e := in.res.End; e != nil && e.Finished.After(last) {
			last = e.Finished
		}
		if last.After(end.Finished) {
			end.Finished = last
		}
	}
	if err := put(Record{Kind: KindEnd, End: &end}); err != nil {
		return fmt.Errorf("report: merge: %w", err)
	}
	mr.End = end
	if err := writeFileAtomic(filepath.Join(dir, ResultsFile), buf.Bytes()); err != nil {
		return err
	}
	if res, err = ReadDir(dir); err != nil {
		return err
	}
	for _, in := range inputs {
		n, err := copyEvidence(dir, in)
		mr.EvidenceFiles += n
		if err != nil {
			return err
		}
	}
	for _, in := range inputs {
		if _, err := os.Stat(filepath.Join(in.dir, BenchFile)); err == nil {
			if err := WriteBench(dir, BenchFromResults(res)); err != nil {
				return err
			}
			break
		}
	}
	return renderResults(dir, res, now)
}

// copyEvidence copies a shard's evidence folder, and any other file its
// cells name inside its folder, into the merged folder. A file the merged
// folder has already is left when it is the same, else an error.
func copyEvidence(dst string, in *shardInput) (int, error) {
	var rels []string
	root := filepath.Join(in.dir, EvidenceRoot)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(in.dir, p)
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("report: merge: evidence of shard %d: %w", in.shard.Index, err)
	}
	for _, s := range in.res.Specs {
		for _, f := range cellFiles(s) {
			f = path.Clean(filepath.ToSlash(f))
			if !strings.HasPrefix(f, EvidenceRoot+"/") && !path.IsAbs(f) && f != ".." && !strings.HasPrefix(f, "../") {
				if _, err := os.Stat(filepath.Join(in.dir, filepath.FromSlash(f))); err == nil {
					rels = append(rels, f)
				}
			}
		}
	}
	n := 0
	for _, rel := range rels {
		copied, err := copyFile(filepath.Join(in.dir, filepath.FromSlash(rel)), filepath.Join(dst, filepath.FromSlash(rel)))
		if err != nil {
			return n, fmt.Errorf("report: merge: shard %d: %s: %w", in.shard.Index, rel, err)
		}
		if copied {
			n++
		}
	}
	return n, nil
}

// copyFile copies a file (a symbolic link as a link); it reports false when
// dst is there already with the same content, and fails when it differs.
func copyFile(src, dst string) (bool, error) {
	fi, err := os.Lstat(src)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return false, err
		}
		if old, err := os.Readlink(dst); err == nil {
			if old == target {
				return false, nil
			}
			return false, fmt.Errorf("in two shards, linking to %s and %s", old, target)
		}
		return true, os.Symlink(target, dst)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	}
	if old, err := os.ReadFile(dst); err == nil {
		now, err := os.ReadFile(src)
		if err != nil {
			return false, err
		}
		if bytes.Equal(old, now) {
			return false, nil
		}
		return false, errors.New("in two shards with different contents")
	}
	r, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}
