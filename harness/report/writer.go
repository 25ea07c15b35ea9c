package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ResultsFile is the name of the results file in a run directory.
const ResultsFile = "results.jsonl"

// Writer appends records to results.jsonl. Each record is one write(2) of
// one line with O_APPEND, so several processes can share the file, and the
// file is synced, so a crash right after keeps the line.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	process int
}

// OpenWriter opens (creating) dir/results.jsonl for appending. process
// identifies the writer in its records (a worker number or a pid); 0 means
// this process's pid.
func OpenWriter(dir string, process int) (*Writer, error) {
	if process < 0 {
		return nil, fmt.Errorf("report: process %d: must be a worker number or pid (> 0), or 0 for this pid", process)
	}
	if process == 0 {
		process = os.Getpid()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &Writer{f: f, process: process}, nil
}

// Write appends one record. It sets At (now) and Process when they are
// zero, and Schema and an empty tool name (wmpf-hil) on run records; a
// record that breaks schema v1 is
// refused with an error naming the field. States of runs before v1
// (device-lost, panicked) are written as v1 states.
func (w *Writer) Write(r Record) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	if r.Process == 0 {
		r.Process = w.process
	}
	if r.Kind == KindRun {
		r.Schema = SchemaVersion
	}
	r = normalizeRecord(r)
	if r.Run != nil && r.Run.Tool.Name == "" {
		run := *r.Run
		run.Tool.Name = ToolName
		r.Run = &run
	}
	if err := r.Check(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("report: encode %s record: %w", r.Kind, err)
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errors.New("report: writer closed")
	}
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("report: write %s: %w", w.f.Name(), err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("report: sync %s: %w", w.f.Name(), err)
	}
	return nil
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// normalizeRecord copies a spec payload with legacy states made v1.
func normalizeRecord(r Record) Record {
	if r.Spec == nil {
		return r
	}
	s := *r.Spec
	s.State, s.LostTo = normalizeState(s.State, s.LostTo)
	if len(s.Attempts) > 0 {
		s.Attempts = slices.Clone(s.Attempts)
		for i := range s.Attempts {
			s.Attempts[i].State, s.Attempts[i].LostTo = normalizeState(s.Attempts[i].State, s.Attempts[i].LostTo)
		}
	}
	r.Spec = &s
	return r
}

// oneOf reports whether v is in allowed, and says which values are.
func oneOf[T ~string](field string, v T, allowed []T, optional bool) error {
	if (optional && v == "") || slices.Contains(allowed, v) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return fmt.Errorf("%s %q: not one of %s", field, v, strings.Join(names, ", "))
}

// Check reports the first way the record breaks schema v1, naming the field
// and the values it allows.
func (r Record) Check() error {
	payloads := map[Kind]bool{KindRun: r.Run != nil, KindDevice: r.Device != nil, KindStart: r.Start != nil,
		KindSpec: r.Spec != nil, KindCall: r.Call != nil, KindRestart: r.Restart != nil,
		KindIncident: r.Incident != nil, KindEnd: r.End != nil}
	if err := oneOf("kind", r.Kind, Kinds, false); err != nil {
		return err
	}
	for k, set := range payloads {
		if set && k != r.Kind {
			return fmt.Errorf("%s record carries a %s payload: one record, one payload, named by kind", r.Kind, k)
		}
	}
	if !payloads[r.Kind] {
		return fmt.Errorf("%s record without its %q payload", r.Kind, r.Kind)
	}
	if r.Process < 0 || r.Shard < 0 {
		return fmt.Errorf("%s record: process %d, shard %d: must not be negative", r.Kind, r.Process, r.Shard)
	}
	switch r.Kind {
	case KindRun:
		return checkRun(r.Run)
	case KindDevice:
		d := r.Device
		if d.Name == "" {
			return errors.New("device record: name is empty")
		}
		return oneOf("device "+d.Name+": status", d.Status, DeviceStatuses, false)
	case KindStart:
		s := r.Start
		if s.Spec == "" || s.Device == "" || s.Attempt < 1 {
			return fmt.Errorf("start record: spec %q, device %q, attempt %d: spec and device are required, attempt counts from 1", s.Spec, s.Device, s.Attempt)
		}
	case KindSpec:
		return checkSpec(r.Spec)
	case KindCall:
		if c := r.Call; c.Spec == "" || (c.Device == "" && c.Call.Device == "") {
			return fmt.Errorf("call record %q: spec %q, device %q: a call names its spec and its device", c.Call.ID, c.Spec, c.Device)
		}
	case KindRestart:
		if r.Restart.Device == "" {
			return errors.New("restart record: device is empty")
		}
		return oneOf("restart on "+r.Restart.Device+": kill", r.Restart.Kill, KillMethods, false)
	case KindIncident:
		return oneOf("incident: what", r.Incident.What, IncidentKinds, false)
	case KindEnd:
		e := r.End
		if e.Verdict == "" {
			return errors.New("end record: verdict is empty")
		}
		return oneOf("end record: signal", e.Signal, []string{SignalINT, SignalTERM}, true)
	}
	return nil
}

func checkRun(run *RunInfo) error {
	if run.ID == "" {
		return errors.New("run record: id is empty")
	}
	if err := oneOf("run record: matrix", run.Matrix, Matrices, true); err != nil {
		return err
	}
	if s := run.Shard; s != nil && (s.Count < 1 || s.Index < 1 || s.Index > s.Count) {
		return fmt.Errorf("run record: shard %d of %d: index counts from 1 to count", s.Index, s.Count)
	}
	if run.Workers < 0 || run.FlakeAttempts < 0 || run.Retries.Infrastructure < 0 {
		return fmt.Errorf("run record: workers %d, flakeAttempts %d, retries.infrastructure %d: must not be negative",
			run.Workers, run.FlakeAttempts, run.Retries.Infrastructure)
	}
	return nil
}

func checkSpec(s *SpecResult) error {
	if s.Name == "" {
		return errors.New("spec record: name is empty")
	}
	what := "spec " + s.TestName()
	if err := checkState(what, s.State, s.LostTo); err != nil {
		return err
	}
	if s.State == StateFlaky && len(s.Attempts) < 2 {
		return fmt.Errorf("%s: flaky with %d attempts recorded: a flaky cell records its failed and its passing attempt", what, len(s.Attempts))
	}
	for i, a := range s.Attempts {
		if a.Attempt < 1 {
			return fmt.Errorf("%s: attempts[%d].attempt %d: counts from 1", what, i, a.Attempt)
		}
		if err := checkState(fmt.Sprintf("%s: attempts[%d]", what, i), a.State, a.LostTo); err != nil {
			return err
		}
		if a.State == StateFlaky {
			return fmt.Errorf("%s: attempts[%d].state flaky: an attempt passes or fails, only a cell is flaky", what, i)
		}
	}
	return nil
}

func checkState(what string, st State, to LostTo) error {
	if err := oneOf(what+": state", st, States, false); err != nil {
		return err
	}
	if st == StateLost {
		return oneOf(what+": lostTo", to, LostTos, false)
	}
	if to != "" {
		return fmt.Errorf("%s: lostTo %q on a %s cell: only lost cells say what they were lost to", what, to, st)
	}
	return nil
}
