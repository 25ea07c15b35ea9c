// Package report writes a run's results and renders them: results.jsonl,
// appended as each call and spec finishes so that a killed run keeps what
// it did; junit.xml for CI servers; report.html, readable offline, with
// latency histograms and CDFs per stage and device model; and the evidence
// of every failure (logcat excerpt, UI dump, contract events) in files.
package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// Record kinds.
const (
	KindRun      = "run"
	KindDevice   = "device"
	KindCall     = "call"
	KindRestart  = "restart"
	KindSpec     = "spec"
	KindEnd      = "end"
	KindIncident = "incident"
)

// Spec states.
const (
	StatePassed      = "passed"
	StateFailed      = "failed"
	StateDeviceLost  = "device-lost"
	StateSkipped     = "skipped"
	StateInterrupted = "interrupted"
	StatePanicked    = "panicked"
)

// Record is one line of results.jsonl. Kind says which fields are set.
type Record struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// Process is the Ginkgo parallel process that wrote the record.
	Process int `json:"process,omitempty"`

	Run      *RunInfo      `json:"run,omitempty"`
	Device   *DeviceInfo   `json:"device,omitempty"`
	Call     *CallResult   `json:"call,omitempty"`
	Restart  *RestartInfo  `json:"restart,omitempty"`
	Spec     *SpecResult   `json:"spec,omitempty"`
	End      *EndInfo      `json:"end,omitempty"`
	Incident *IncidentInfo `json:"incident,omitempty"`
}

// Incident kinds.
const (
	IncidentADBServerRestarted = "adb-server-restarted"
	IncidentADBServerFailed    = "adb-server-failed"
)

// IncidentInfo is something that happened to the run's infrastructure,
// not to a device under test: an adb server that died and was started
// again, say.
type IncidentInfo struct {
	// What happened: "adb-server-restarted" or "adb-server-failed".
	What   string `json:"what"`
	Server string `json:"server"`
	Addr   string `json:"addr"`
	Exit   string `json:"exit,omitempty"`
	// TookMs is from the failure found to the devices back.
	TookMs      float64           `json:"tookMs,omitempty"`
	Reconnected []string          `json:"reconnected,omitempty"`
	NotBack     map[string]string `json:"notBack,omitempty"`
	Detail      string            `json:"detail,omitempty"`
}

// RunInfo opens a run.
type RunInfo struct {
	ID        string    `json:"id"`
	Started   time.Time `json:"started"`
	FarmFile  string    `json:"farmFile"`
	Procs     int       `json:"procs"`
	Host      string    `json:"host"`
	GoVersion string    `json:"goVersion"`
	Labels    string    `json:"labels,omitempty"`
	// Budgets in force, by key, for the report's tables.
	Budgets map[string]latency.SegmentBudget `json:"budgets,omitempty"`
}

// DeviceInfo is a device of the farm, healthy or taken out of the run.
type DeviceInfo struct {
	Name   string `json:"name"`
	Serial string `json:"serial"`
	// Server is the address of the adb server the device is reached by.
	Server    string `json:"server,omitempty"`
	Model     string `json:"model"`
	SN        string `json:"sn"`
	Simulated bool   `json:"simulated"`
	Profile   string `json:"profile,omitempty"`
	// Container is the Docker container a simulated device runs in.
	Container string   `json:"container,omitempty"`
	Defects   []string `json:"defects,omitempty"`
	// Status is "healthy" or "excluded" (with Reason), or "lost" mid-run.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// ClockOffset as estimated by the harness, and as configured.
	ClockOffsetEstimated time.Duration `json:"clockOffsetEstimated,omitempty"`
	ClockOffsetSet       time.Duration `json:"clockOffsetSet,omitempty"`
	ClockDriftPPM        float64       `json:"clockDriftPPM,omitempty"`
}

// CallResult is one measured call.
type CallResult struct {
	Spec string       `json:"spec"`
	Call latency.Call `json:"call"`
	// Durations per segment (ms), as measured by the harness.
	Durations map[string]float64 `json:"durations"`
	// TruthErrors per segment (ms): harness figure minus the simulator's
	// ground truth (simulated devices only).
	TruthErrors map[string]float64 `json:"truthErrors,omitempty"`
	Violations  []string           `json:"violations,omitempty"`
}

// RestartInfo is one WMPF kill and what followed.
type RestartInfo struct {
	Spec      string  `json:"spec"`
	Device    string  `json:"device"`
	Model     string  `json:"model"`
	Kill      string  `json:"kill"` // force-stop or kill-9
	Restarted bool    `json:"restarted"`
	RestartMs float64 `json:"restartMs,omitempty"`
	// Push sent while WMPF was down: "delivered" (after the restart),
	// "lost", or "" when none was sent.
	PushVerdict string  `json:"pushVerdict,omitempty"`
	PushMs      float64 `json:"pushMs,omitempty"`
	Detail      string  `json:"detail,omitempty"`
}

// SpecResult is one finished spec.
type SpecResult struct {
	Name     string        `json:"name"`
	Labels   []string      `json:"labels,omitempty"`
	Device   string        `json:"device,omitempty"`
	Model    string        `json:"model,omitempty"`
	State    string        `json:"state"`
	Duration time.Duration `json:"duration"`
	Failure  string        `json:"failure,omitempty"`
	Location string        `json:"location,omitempty"`
	// Evidence is the evidence directory, relative to the run directory.
	Evidence []string `json:"evidence,omitempty"`
	Attempts int      `json:"attempts,omitempty"`
}

// EndInfo closes a run.
type EndInfo struct {
	Finished time.Time `json:"finished"`
	Passed   int       `json:"passed"`
	Failed   int       `json:"failed"`
	Lost     int       `json:"lost"`
	Verdict  string    `json:"verdict"`
}

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

// OpenWriter opens (creating) dir/results.jsonl for appending.
func OpenWriter(dir string, process int) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &Writer{f: f, process: process}, nil
}

// Write appends one record.
func (w *Writer) Write(r Record) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	if r.Process == 0 {
		r.Process = w.process
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
	return w.f.Sync()
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

// Results is a run read back.
type Results struct {
	Run       *RunInfo
	Devices   []DeviceInfo
	Calls     []CallResult
	Restarts  []RestartInfo
	Specs     []SpecResult
	Incidents []IncidentInfo
	End       *EndInfo
	// Damaged counts lines that could not be read (a run killed mid-write
	// leaves at most one).
	Damaged int
}

// Read reads a results file; damaged lines are counted, not fatal.
func Read(r io.Reader) (*Results, error) {
	res := &Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			res.Damaged++
			continue
		}
		switch {
		case rec.Kind == KindRun && rec.Run != nil:
			res.Run = rec.Run
		case rec.Kind == KindDevice && rec.Device != nil:
			res.Devices = append(res.Devices, *rec.Device)
		case rec.Kind == KindCall && rec.Call != nil:
			res.Calls = append(res.Calls, *rec.Call)
		case rec.Kind == KindRestart && rec.Restart != nil:
			res.Restarts = append(res.Restarts, *rec.Restart)
		case rec.Kind == KindSpec && rec.Spec != nil:
			res.Specs = append(res.Specs, *rec.Spec)
		case rec.Kind == KindEnd && rec.End != nil:
			res.End = rec.End
		case rec.Kind == KindIncident && rec.Incident != nil:
			res.Incidents = append(res.Incidents, *rec.Incident)
		default:
			res.Damaged++
		}
	}
	return res, sc.Err()
}

// ReadDir reads dir/results.jsonl.
func ReadDir(dir string) (*Results, error) {
	f, err := os.Open(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	return Read(f)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SafeName turns a spec or device name into a file name.
func SafeName(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// Evidence writes a failure's evidence files under dir/evidence/<name>/ and
// returns their paths relative to dir.
func Evidence(dir, name string, files map[string]string) ([]string, error) {
	sub := filepath.Join("evidence", SafeName(name))
	if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
		return nil, fmt.Errorf("report: evidence: %w", err)
	}
	var out []string
	for fname, content := range files {
		p := filepath.Join(sub, SafeName(fname))
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			return out, fmt.Errorf("report: evidence: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Summarize counts spec states and gives the verdict.
func (r *Results) Summarize() EndInfo {
	e := EndInfo{Finished: time.Now()}
	for _, s := range r.Specs {
		switch s.State {
		case StatePassed:
			e.Passed++
		case StateDeviceLost:
			e.Lost++
		case StateSkipped:
		default:
			e.Failed++
		}
	}
	switch {
	case e.Failed > 0:
		e.Verdict = "FAIL"
	case e.Passed == 0:
		e.Verdict = "NO TESTS"
	case e.Lost > 0:
		e.Verdict = "PASS (devices lost)"
	default:
		e.Verdict = "PASS"
	}
	return e
}
