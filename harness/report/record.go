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
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
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
	KindStart    = "start"
)

// SchemaVersion is the version of results.jsonl this package writes; the
// run record carries it.
const SchemaVersion = 1

// Spec states.
const (
	StatePassed      = "passed"
	StateFailed      = "failed"
	StateDeviceLost  = "device-lost"
	StateSkipped     = "skipped"
	StateInterrupted = "interrupted"
	StatePanicked    = "panicked"
	// StateLost: infrastructure went away (LostTo says which: device,
	// adb-server, wechat, worker); never a product failure.
	StateLost = "lost"
	// StateFlaky: failed, then passed on a recorded retry.
	StateFlaky = "flaky"
	// StateQuarantined: the device was taken out after repeated
	// infrastructure trouble or a failed reset.
	StateQuarantined = "quarantined"
)

// Device statuses.
const (
	DeviceHealthy     = "healthy"
	DeviceExcluded    = "excluded"
	DeviceLost        = "lost"
	DeviceQuarantined = "quarantined"
)

// Record is one line of results.jsonl. Kind says which fields are set.
type Record struct {
	Kind string `json:"kind"`
	// Schema is the results.jsonl version, on the run record.
	Schema int       `json:"schema,omitempty"`
	At     time.Time `json:"at"`
	// Process is the Ginkgo parallel process that wrote the record.
	Process int `json:"process,omitempty"`

	Run      *RunInfo      `json:"run,omitempty"`
	Device   *DeviceInfo   `json:"device,omitempty"`
	Call     *CallResult   `json:"call,omitempty"`
	Restart  *RestartInfo  `json:"restart,omitempty"`
	Spec     *SpecResult   `json:"spec,omitempty"`
	End      *EndInfo      `json:"end,omitempty"`
	Incident *IncidentInfo `json:"incident,omitempty"`
	Start    *StartInfo    `json:"start,omitempty"`
}

// StartInfo is a cell's attempt starting.
type StartInfo struct {
	Spec     string `json:"spec"`
	Device   string `json:"device"`
	Attempt  int    `json:"attempt"`
	OnDevice string `json:"onDevice,omitempty"`
	PID      int    `json:"pid,omitempty"`
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
	Server string `json:"server,omitempty"`
	Addr   string `json:"addr,omitempty"`
	// Device is the device concerned, when one is.
	Device string `json:"device,omitempty"`
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
	Matrix    string    `json:"matrix,omitempty"`
	Shard     *Shard    `json:"shard,omitempty"`
	Workers   int       `json:"workers,omitempty"`
	Tool      *Tool     `json:"tool,omitempty"`
	// Budgets in force, by key, for the report's tables.
	Budgets map[string]latency.SegmentBudget `json:"budgets,omitempty"`
}

// Shard is a run's part of a sharded farm.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Tool names what wrote the run.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// InstallInfo is the build under test installed on a device.
type InstallInfo struct {
	APK         string `json:"apk,omitempty"`
	Package     string `json:"package"`
	VersionName string `json:"versionName"`
	VersionCode int64  `json:"versionCode"`
	SHA256      string `json:"sha256"`
	Build       string `json:"build,omitempty"`
}

// DeviceInfo is a device of the farm, healthy or taken out of the run.
type DeviceInfo struct {
	Name   string `json:"name"`
	Serial string `json:"serial"`
	// Server is the address of the adb server the device is reached by.
	Server  string `json:"server,omitempty"`
	Model   string `json:"model"`
	ModelID string `json:"modelId,omitempty"`
	SN      string `json:"sn"`
	// AndroidVersion is ro.build.version.release.
	AndroidVersion  string       `json:"androidVersion,omitempty"`
	HostPackage     string       `json:"hostPackage,omitempty"`
	HostVersionName string       `json:"hostVersionName,omitempty"`
	HostVersionCode int64        `json:"hostVersionCode,omitempty"`
	Install         *InstallInfo `json:"install,omitempty"`
	Simulated       bool         `json:"simulated"`
	Profile         string       `json:"profile,omitempty"`
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
	// Name is the spec's text, without any device.
	Name   string   `json:"name"`
	Labels []string `json:"labels,omitempty"`
	Device string   `json:"device,omitempty"`
	Model  string   `json:"model,omitempty"`
	SN     string   `json:"sn,omitempty"`
	State  string   `json:"state"`
	// LostTo says what went away, for a lost cell.
	LostTo string `json:"lostTo,omitempty"`
	// Reason says why a cell was skipped, quarantined or lost.
	Reason     string  `json:"reason,omitempty"`
	DurationMs float64 `json:"durationMs"`
	Failure    string  `json:"failure,omitempty"`
	Location   string  `json:"location,omitempty"`
	// Evidence are the evidence files, relative to the run directory;
	// Screenshot the failure's screenshot among them.
	Evidence   []string  `json:"evidence,omitempty"`
	Screenshot string    `json:"screenshot,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`
}

// Attempt is one run of a cell.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	OnDevice   string    `json:"onDevice,omitempty"`
	State      string    `json:"state"`
	LostTo     string    `json:"lostTo,omitempty"`
	DurationMs float64   `json:"durationMs"`
	Failure    string    `json:"failure,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	Evidence   []string  `json:"evidence,omitempty"`
	Screenshot string    `json:"screenshot,omitempty"`
}

// Ms is a duration in milliseconds, the unit of every duration of
// results.jsonl.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Duration is the spec's run time.
func (s SpecResult) Duration() time.Duration {
	return time.Duration(s.DurationMs * float64(time.Millisecond))
}

// TestName is the cell's name: the spec's text and the device's name.
func (s SpecResult) TestName() string {
	if s.Device == "" {
		return s.Name
	}
	return s.Name + " [" + s.Device + "]"
}

// EndInfo closes a run.
type EndInfo struct {
	Finished    time.Time `json:"finished"`
	Passed      int       `json:"passed"`
	Failed      int       `json:"failed"`
	Flaky       int       `json:"flaky,omitempty"`
	Lost        int       `json:"lost"`
	Quarantined int       `json:"quarantined,omitempty"`
	Skipped     int       `json:"skipped,omitempty"`
	Interrupted int       `json:"interrupted,omitempty"`
	Verdict     string    `json:"verdict"`
	ExitCode    int       `json:"exitCode"`
	Signal      string    `json:"signal,omitempty"`
}

// SummaryOptions say how a run's cells make its verdict.
type SummaryOptions struct {
	// Signal is the signal that interrupted the run ("SIGINT", "SIGTERM").
	Signal string
	// Interrupted is true when the run was interrupted (by Signal, or by
	// Ginkgo).
	Interrupted bool
	// FlakyFails makes a flaky cell fail the run.
	FlakyFails bool
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
	// Order is every record, in the order of the file.
	Order     []Record
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
		res.Order = append(res.Order, rec)
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
		case rec.Kind == KindStart && rec.Start != nil:
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

// Summarize counts the cells' states and gives the verdict and the exit
// status: 1 if any cell failed (or was flaky, with FlakyFails); else
// 130/143 when interrupted by SIGINT/SIGTERM; else 3 if any cell was lost
// or quarantined (the farm, not the product, needs attention); else 0.
func (r *Results) Summarize(o SummaryOptions) EndInfo {
	e := EndInfo{Finished: time.Now(), Signal: o.Signal}
	for _, s := range r.Specs {
		switch s.State {
		case StatePassed:
			e.Passed++
		case StateFlaky:
			e.Flaky++
		case StateDeviceLost, StateLost:
			e.Lost++
		case StateQuarantined:
			e.Quarantined++
		case StateSkipped:
			e.Skipped++
		case StateInterrupted:
			e.Interrupted++
		default:
			e.Failed++
		}
	}
	interrupted := o.Interrupted || o.Signal != ""
	switch {
	case e.Failed > 0 || (o.FlakyFails && e.Flaky > 0):
		e.Verdict, e.ExitCode = "FAIL", 1
	case interrupted:
		e.Verdict, e.ExitCode = "INTERRUPTED", 130
		if o.Signal == "SIGTERM" {
			e.ExitCode = 143
		}
	case e.Lost > 0 || e.Quarantined > 0:
		e.Verdict, e.ExitCode = "PASS (infrastructure trouble)", 3
	case e.Passed+e.Flaky == 0:
		e.Verdict, e.ExitCode = "NO TESTS", 0
	case e.Flaky > 0:
		e.Verdict = "PASS (flaky)"
	default:
		e.Verdict = "PASS"
	}
	return e
}

// BudgetsOf are budgets as the run record keeps them.
func BudgetsOf(b *latency.Budgets) map[string]latency.SegmentBudget {
	if b == nil {
		return nil
	}
	out := map[string]latency.SegmentBudget{}
	for k, v := range b.Segments {
		out[k] = v
	}
	return out
}

// NewCallResult is a measured call's record: durations per segment (ms),
// and on simulated devices the error against ground truth.
func NewCallResult(spec string, lc latency.Call) *CallResult {
	res := &CallResult{Spec: spec, Call: lc, Durations: map[string]float64{}}
	for _, seg := range latency.Segments {
		if v, ok := lc.Duration(seg); ok {
			res.Durations[seg.Name] = Ms(v)
			if t, ok := lc.TruthDuration(seg); ok {
				if res.TruthErrors == nil {
					res.TruthErrors = map[string]float64{}
				}
				res.TruthErrors[seg.Name] = Ms(v - t)
			}
		}
	}
	for k, v := range lc.OpenLoop() {
		res.Durations[k] = Ms(v)
	}
	return res
}

// Summary is the call's durations in one line, segment order.
func (c *CallResult) Summary() string {
	var parts []string
	for _, seg := range latency.Segments {
		if v, ok := c.Durations[seg.Name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f ms", seg.Name, v))
		}
	}
	for _, k := range []string{latency.Queue, latency.TotalIntended} {
		if v, ok := c.Durations[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f ms", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

// EvidenceDir is the evidence folder of one cell's attempt, relative to
// the run directory: evidence/<device>/<spec>-<hash8>[-a<attempt>]. The
// spec's slug is readable and cut before the hash of the whole spec text
// is added, so two specs that share their first characters never share a
// folder.
func EvidenceDir(runDir, device, spec string, attempt int) string {
	slug := SafeName(spec)
	if len(slug) > 60 {
		slug = slug[:60]
	}
	h := fnv.New32a()
	h.Write([]byte(spec))
	name := fmt.Sprintf("%s-%08x", strings.Trim(slug, "_"), h.Sum32())
	if attempt > 1 {
		name += fmt.Sprintf("-a%d", attempt)
	}
	return filepath.ToSlash(filepath.Join("evidence", SafeName(device), name))
}

// WriteEvidence writes files into dir (relative to runDir, from
// EvidenceDir) and returns their paths relative to runDir. A file that is
// already there is not overwritten: the new one gets a numbered name.
func WriteEvidence(runDir, dir string, files map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(runDir, dir), 0o755); err != nil {
		return nil, fmt.Errorf("report: evidence: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, fname := range names {
		p := filepath.Join(dir, SafeName(fname))
		for i := 2; ; i++ {
			f, err := os.OpenFile(filepath.Join(runDir, p), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if os.IsExist(err) {
				ext := filepath.Ext(fname)
				p = filepath.Join(dir, SafeName(strings.TrimSuffix(fname, ext)+fmt.Sprintf("-%d", i)+ext))
				continue
			}
			if err != nil {
				return out, fmt.Errorf("report: evidence: %w", err)
			}
			_, err = f.Write(files[fname])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return out, fmt.Errorf("report: evidence: %w", err)
			}
			break
		}
		out = append(out, filepath.ToSlash(p))
	}
	return out, nil
}
