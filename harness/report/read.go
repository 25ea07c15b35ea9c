package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// ShardRun is one input of a merged run: its run and end records.
type ShardRun struct {
	Index int
	Run   *RunInfo
	End   *EndInfo
}

// Results is a run read back.
type Results struct {
	Run *RunInfo
	// Schema is the run record's schema version (0: a run written before
	// schema v1).
	Schema int
	// Shards are the inputs of a merged run, in index order.
	Shards    []ShardRun
	Devices   []DeviceInfo
	Starts    []StartInfo
	Specs     []SpecResult
	Calls     []CallResult
	Restarts  []RestartInfo
	Incidents []IncidentInfo
	End       *EndInfo
	// First and Last are the earliest and latest record times.
	First, Last time.Time
	// Damaged counts lines that could not be read (a run killed mid-write
	// leaves at most one).
	Damaged int
	// Gate is the release gate's judgement (gate.json beside results.jsonl)
	// when the run was a benchmark gated on a baseline.
	Gate *GateReport
}

// SchemaError is returned by Read for a run written with a newer schema
// than this package reads.
type SchemaError struct{ Found int }

func (e *SchemaError) Error() string {
	return fmt.Sprintf("results.jsonl has schema %d, newer than schema %d, the newest this wmpf-hil reads: use a newer wmpf-hil to render it", e.Found, SchemaVersion)
}

// Read reads a results file; damaged lines are counted, not fatal. A run
// record with a schema newer than SchemaVersion is an error (*SchemaError).
// Records of runs before schema v1 are read into v1 form.
func Read(r io.Reader) (*Results, error) {
	res := &Results{}
	shards := map[int]*ShardRun{}
	shard := func(i int) *ShardRun {
		if shards[i] == nil {
			shards[i] = &ShardRun{Index: i}
		}
		return shards[i]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			res.Damaged++
			continue
		}
		if rec.Schema > SchemaVersion {
			return nil, &SchemaError{Found: rec.Schema}
		}
		if !rec.At.IsZero() {
			if res.First.IsZero() || rec.At.Before(res.First) {
				res.First = rec.At
			}
			if rec.At.After(res.Last) {
				res.Last = rec.At
			}
		}
		switch {
		case rec.Kind == KindRun && rec.Run != nil:
			switch {
			case rec.Shard > 0:
				shard(rec.Shard).Run = rec.Run
			case res.Run == nil:
				res.Run, res.Schema = rec.Run, rec.Schema
			}
		case rec.Kind == KindEnd && rec.End != nil:
			if rec.Shard > 0 {
				shard(rec.Shard).End = rec.End
			} else {
				res.End = rec.End
			}
		case rec.Kind == KindDevice && rec.Device != nil:
			rec.Device.shard = rec.Shard
			res.Devices = append(res.Devices, *rec.Device)
		case rec.Kind == KindStart && rec.Start != nil:
			rec.Start.at = rec.At
			res.Starts = append(res.Starts, *rec.Start)
		case rec.Kind == KindSpec && rec.Spec != nil:
			rec.Spec.Finished, rec.Spec.shard = rec.At, rec.Shard
			res.Specs = append(res.Specs, *rec.Spec)
		case rec.Kind == KindCall && rec.Call != nil:
			res.Calls = append(res.Calls, *rec.Call)
		case rec.Kind == KindRestart && rec.Restart != nil:
			res.Restarts = append(res.Restarts, *rec.Restart)
		case rec.Kind == KindIncident && rec.Incident != nil:
			res.Incidents = append(res.Incidents, *rec.Incident)
		default:
			res.Damaged++
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("report: read results: %w", err)
	}
	for _, s := range shards {
		res.Shards = append(res.Shards, *s)
	}
	sort.Slice(res.Shards, func(i, j int) bool { return res.Shards[i].Index < res.Shards[j].Index })
	return res, nil
}

// ReadDir reads dir/results.jsonl.
func ReadDir(dir string) (*Results, error) {
	path := filepath.Join(dir, ResultsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	res, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	// A gate file that cannot be read leaves the page without the gate's
	// table; bench and compare, which write it, say why.
	if g, err := ReadGate(dir); err == nil {
		res.Gate = g
	}
	return res, nil
}

// Cells are the run's cells: one result per (spec, device), the last
// record of a cell winning, in the order cells first appear; states of
// runs before schema v1 are made v1 states.
func (r *Results) Cells() []SpecResult {
	at := make(map[[2]string]int, len(r.Specs))
	out := make([]SpecResult, 0, len(r.Specs))
	for _, s := range r.Specs {
		s.State, s.LostTo = normalizeState(s.State, s.LostTo)
		k := [2]string{s.Name, s.Device}
		if i, ok := at[k]; ok {
			out[i] = s
			continue
		}
		at[k] = len(out)
		out = append(out, s)
	}
	return out
}

// MergedDevices are the run's devices, one per name, each record merged
// into the earlier ones of its device (mergeDevice), in the order devices
// first appear.
func (r *Results) MergedDevices() []DeviceInfo {
	var out []DeviceInfo
	at := map[string]int{}
	for _, d := range r.Devices {
		key := d.Name
		if key == "" {
			key = "\x00" + d.Serial
		}
		if i, ok := at[key]; ok {
			out[i] = mergeDevice(out[i], d)
			continue
		}
		at[key] = len(out)
		out = append(out, d)
	}
	return out
}

// mergeDevice updates a device's record with the fields a later one sets.
func mergeDevice(old, d DeviceInfo) DeviceInfo {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&old.Serial, d.Serial)
	set(&old.Server, d.Server)
	set(&old.Model, d.Model)
	set(&old.ModelID, d.ModelID)
	set(&old.SN, d.SN)
	set(&old.AndroidVersion, d.AndroidVersion)
	set(&old.Profile, d.Profile)
	set(&old.Container, d.Container)
	set(&old.HostPackage, d.HostPackage)
	set(&old.HostVersionName, d.HostVersionName)
	if d.Status != "" {
		old.Status = d.Status
		old.Reason = d.Reason
	}
	old.Simulated = old.Simulated || d.Simulated
	if len(d.Defects) > 0 {
		old.Defects = d.Defects
	}
	if d.HostVersionCode != 0 {
		old.HostVersionCode = d.HostVersionCode
	}
	if d.Install != nil {
		old.Install = d.Install
	}
	if d.ClockOffsetEstimated != 0 {
		old.ClockOffsetEstimated = d.ClockOffsetEstimated
	}
	if d.ClockOffsetSet != 0 {
		old.ClockOffsetSet = d.ClockOffsetSet
	}
	if d.ClockDriftPPM != 0 {
		old.ClockDriftPPM = d.ClockDriftPPM
	}
	if d.shard != 0 {
		old.shard = d.shard
	}
	return old
}
