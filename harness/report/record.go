// Package report writes a run's results and renders them. results.jsonl
// (schema v1, docs/results.md) is appended one record a line by every
// process of a run, so a killed run keeps what it did; Render turns it into
// junit.xml (one suite per device), ctrf.json (Common Test Report Format)
// and report.html, readable offline, which opens with the spec × device
// matrix. Evidence of each cell lives under evidence/<device>/, and Merge
// builds one run folder out of the folders of a sharded run.
package report

import (
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// SchemaVersion is the version of results.jsonl this package writes, and
// the newest it reads.
const SchemaVersion = 1

// ToolName is the tool named in run records and reports.
const ToolName = "wmpf-hil"

// Kind says which payload a record carries.
//
// The constants of this file's enumerations (Kind, State, LostTo, …) are
// untyped, so code that handles them as strings keeps compiling; fields
// and lists are typed.
type Kind string

// Record kinds.
const (
	KindRun      = "run"
	KindDevice   = "device"
	KindStart    = "start"
	KindSpec     = "spec"
	KindCall     = "call"
	KindRestart  = "restart"
	KindIncident = "incident"
	KindEnd      = "end"
)

// Kinds lists every record kind.
var Kinds = []Kind{KindRun, KindDevice, KindStart, KindSpec, KindCall, KindRestart, KindIncident, KindEnd}

// State is the verdict of a cell (a spec on a device) or of one attempt.
type State string

// Cell states. Only StateFailed is a product failure.
const (
	StatePassed      = "passed"
	StateFailed      = "failed"
	StateFlaky       = "flaky"
	StateLost        = "lost"
	StateQuarantined = "quarantined"
	StateSkipped     = "skipped"
	StateInterrupted = "interrupted"
)

// Legacy states of runs written before schema v1: Read and Writer.Write
// turn them into StateLost (lost to the device) and StateFailed.
const (
	StateDeviceLost = "device-lost"
	StatePanicked   = "panicked"
)

// States lists the cell states of schema v1.
var States = []State{StatePassed, StateFailed, StateFlaky, StateLost, StateQuarantined, StateSkipped, StateInterrupted}

// LostTo is the part of the infrastructure a lost cell went away with.
type LostTo string

// What a cell was lost to.
const (
	LostToDevice    = "device"
	LostToADBServer = "adb-server"
	LostToWeChat    = "wechat"
	LostToWorker    = "worker"
)

// LostTos lists what a cell can be lost to.
var LostTos = []LostTo{LostToDevice, LostToADBServer, LostToWeChat, LostToWorker}

// DeviceStatus is a device's standing in the run.
type DeviceStatus string

// Device statuses.
const (
	DeviceHealthy     = "healthy"
	DeviceExcluded    = "excluded"
	DeviceLost        = "lost"
	DeviceQuarantined = "quarantined"
)

// DeviceStatuses lists the device statuses.
var DeviceStatuses = []DeviceStatus{DeviceHealthy, DeviceExcluded, DeviceLost, DeviceQuarantined}

// Matrix is how a run spreads specs over devices (DESIGN §7).
type Matrix string

// Matrix modes.
const (
	MatrixDevice = "device" // every spec on every device it applies to
	MatrixModel  = "model"  // one device per model
	MatrixAny    = "any"    // a quick smoke: any device
)

// Matrices lists the matrix modes.
var Matrices = []Matrix{MatrixDevice, MatrixModel, MatrixAny}

// KillMethod is how a restart spec took WMPF down.
type KillMethod string

// Kill methods.
const (
	KillForceStop = "force-stop"
	KillNine      = "kill-9"
	KillReboot    = "reboot"
)

// KillMethods lists the kill methods.
var KillMethods = []KillMethod{KillForceStop, KillNine, KillReboot}

// IncidentKind is what happened to the run's infrastructure.
type IncidentKind string

// Incident kinds (docs/results.md describes each).
const (
	IncidentADBServerRestarted = "adb-server-restarted"
	IncidentADBServerFailed    = "adb-server-failed"
	IncidentWeChatLost         = "wechat-lost"
	IncidentWeChatBack         = "wechat-back"
	IncidentWeChatRestarted    = "wechat-restarted"
	IncidentWorkerDied         = "worker-died"
	IncidentDeviceLost         = "device-lost"
	IncidentDeviceQuarantined  = "device-quarantined"
	IncidentDeviceRebooted     = "device-rebooted"
	IncidentShardMissing       = "shard-missing"
	IncidentShardCrashed       = "shard-crashed"
	IncidentFarmFailed         = "farm-failed"
	IncidentTimeout            = "timeout"
	IncidentHarnessFault       = "harness-fault"
)

// IncidentKinds lists the incident kinds.
var IncidentKinds = []IncidentKind{IncidentADBServerRestarted, IncidentADBServerFailed, IncidentWeChatLost, IncidentWeChatBack,
	IncidentWeChatRestarted, IncidentWorkerDied, IncidentDeviceLost, IncidentDeviceQuarantined, IncidentDeviceRebooted,
	IncidentShardMissing, IncidentShardCrashed, IncidentFarmFailed, IncidentTimeout, IncidentHarnessFault}

// benign reports whether an incident is the infrastructure recovering
// rather than failing.
func (k IncidentKind) benign() bool {
	return k == IncidentADBServerRestarted || k == IncidentWeChatBack || k == IncidentWeChatRestarted || k == IncidentDeviceRebooted
}

// Verdict is a run's (or a model's) one-word outcome.
type Verdict string

// Verdicts, decided by Decide.
const (
	VerdictPass        = "PASS"
	VerdictFail        = "FAIL"
	VerdictInterrupted = "INTERRUPTED"
	VerdictIncomplete  = "INCOMPLETE" // infrastructure lost or quarantined cells
	VerdictNoTests     = "NO TESTS"
)

// Exit statuses of a run (DESIGN §7).
const (
	ExitPass       = 0
	ExitFailed     = 1
	ExitBadInput   = 2
	ExitIncomplete = 3
	ExitSIGINT     = 130
	ExitSIGTERM    = 143
)

// Signals that interrupt a run, as end records name them.
const (
	SignalINT  = "SIGINT"
	SignalTERM = "SIGTERM"
)

// Record is one line of results.jsonl. Kind says which payload is set.
type Record struct {
	Kind Kind `json:"kind"`
	// At is when the record was written; Writer.Write sets it when zero.
	At time.Time `json:"at,omitzero"`
	// Process is the pid or worker number of the writer.
	Process int `json:"process,omitempty"`
	// Schema is set on run records: the results.jsonl schema version.
	Schema int `json:"schema,omitempty"`
	// Shard is set by Merge on every record it copies: the shard (1-based)
	// the record came from.
	Shard int `json:"shard,omitempty"`

	Run      *RunInfo      `json:"run,omitempty"`
	Device   *DeviceInfo   `json:"device,omitempty"`
	Start    *StartInfo    `json:"start,omitempty"`
	Spec     *SpecResult   `json:"spec,omitempty"`
	Call     *CallResult   `json:"call,omitempty"`
	Restart  *RestartInfo  `json:"restart,omitempty"`
	Incident *IncidentInfo `json:"incident,omitempty"`
	End      *EndInfo      `json:"end,omitempty"`
}

// Tool names the program that wrote a run.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Shard is one part of a run split over several hosts: Index of Count,
// 1-based.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Retries are the run's retry limits.
type Retries struct {
	// Infrastructure is how many times a cell lost to the infrastructure
	// is run again (on another device of the model, if need be).
	Infrastructure int `json:"infrastructure"`
}

// MergedShard is one input of a merged run.
type MergedShard struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// ID is the shard's run id; Dir the base name of its folder.
	ID   string `json:"id"`
	Dir  string `json:"dir,omitempty"`
	Host string `json:"host,omitempty"`
	// Finished: the shard wrote its end record.
	Finished bool `json:"finished"`
	Records  int  `json:"records"`
}

// RunInfo opens a run. In JSON, budgets are {KEY: {maxMs, p90Ms}}.
type RunInfo struct {
	ID       string    `json:"id"`
	Started  time.Time `json:"started,omitzero"`
	Tool     Tool      `json:"tool,omitzero"`
	FarmFile string    `json:"farmFile,omitempty"`
	Host     string    `json:"host,omitempty"`
	// GoVersion is the Go release the harness was built with.
	GoVersion string `json:"goVersion,omitempty"`
	// Labels is the run's Ginkgo label filter.
	Labels string `json:"labels,omitempty"`
	Matrix Matrix `json:"matrix,omitempty"`
	// Shard is set when the run is one shard of several.
	Shard *Shard `json:"shard,omitempty"`
	// Workers is the number of worker processes (was "procs").
	Workers       int     `json:"workers,omitempty"`
	FlakeAttempts int     `json:"flakeAttempts,omitempty"`
	Retries       Retries `json:"retries,omitzero"`
	// FlakyFails: a flaky cell fails the run.
	FlakyFails bool `json:"flakyFails,omitempty"`
	// Budgets in force, by key, for the report's tables.
	Budgets map[string]latency.SegmentBudget `json:"-"`
	// Merged lists the shards a merged run was built from.
	Merged []MergedShard `json:"merged,omitempty"`
}

// Install is the host app build a run installed on a device.
type Install struct {
	APK         string `json:"apk,omitempty"`
	Package     string `json:"package"`
	VersionName string `json:"versionName,omitempty"`
	VersionCode int64  `json:"versionCode,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Build       string `json:"build,omitempty"`
}

// DeviceInfo is a device of the farm. A device may have several records
// (its status changes); a later one overrides the fields it sets. In JSON
// the clock offsets are ms (clockOffsetEstimatedMs, clockOffsetSetMs).
type DeviceInfo struct {
	Name   string `json:"name"`
	Serial string `json:"serial,omitempty"`
	// Server is the address of the adb server the device is reached by.
	Server         string `json:"server,omitempty"`
	Model          string `json:"model,omitempty"`
	ModelID        string `json:"modelId,omitempty"`
	SN             string `json:"sn,omitempty"`
	AndroidVersion string `json:"androidVersion,omitempty"`
	Simulated      bool   `json:"simulated,omitempty"`
	Profile        string `json:"profile,omitempty"`
	// Container is the Docker container a simulated device runs in.
	Container       string   `json:"container,omitempty"`
	Defects         []string `json:"defects,omitempty"`
	HostPackage     string   `json:"hostPackage,omitempty"`
	HostVersionName string   `json:"hostVersionName,omitempty"`
	HostVersionCode int64    `json:"hostVersionCode,omitempty"`
	// Install is the build the run installed; nil when it installed none.
	Install *Install     `json:"install,omitempty"`
	Status  DeviceStatus `json:"status,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	// ClockOffset as estimated by the harness, and as configured.
	ClockOffsetEstimated time.Duration `json:"-"`
	ClockOffsetSet       time.Duration `json:"-"`
	ClockDriftPPM        float64       `json:"clockDriftPPM,omitempty"`

	// shard is the shard of the record (merged runs), not in JSON.
	shard int
}

// StartInfo is a cell attempt starting.
type StartInfo struct {
	Spec    string `json:"spec"`
	Device  string `json:"device"`
	Attempt int    `json:"attempt"`
	// OnDevice is the device it actually runs on, when an infrastructure
	// retry moved it to another device of the same model.
	OnDevice string `json:"onDevice,omitempty"`

	at time.Time
}

// Attempt is one try of a cell. In JSON, durationMs.
type Attempt struct {
	Attempt  int           `json:"attempt"`
	OnDevice string        `json:"onDevice,omitempty"`
	State    State         `json:"state"`
	LostTo   LostTo        `json:"lostTo,omitempty"`
	Duration time.Duration `json:"-"`
	Failure  string        `json:"failure,omitempty"`
	Started  time.Time     `json:"started,omitzero"`
}

// At is when the start record was written.
func (s StartInfo) At() time.Time { return s.at }

// SpecResult is a cell's final result: one spec on one device. Name is the
// spec's text without any device. In JSON, durationMs.
type SpecResult struct {
	Name     string        `json:"name"`
	Device   string        `json:"device,omitempty"`
	Model    string        `json:"model,omitempty"`
	SN       string        `json:"sn,omitempty"`
	Labels   []string      `json:"labels,omitempty"`
	State    State         `json:"state"`
	LostTo   LostTo        `json:"lostTo,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"-"`
	Failure  string        `json:"failure,omitempty"`
	Location string        `json:"location,omitempty"`
	// Evidence lists the evidence files, relative to the run directory.
	Evidence []string `json:"evidence,omitempty"`
	// Screenshot is the screenshot taken at the failure, relative to the
	// run directory.
	Screenshot string    `json:"screenshot,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`

	// Finished is the time of the record (not in JSON: the record's "at").
	Finished time.Time `json:"-"`
	shard    int
}

// TestName is the cell's name in junit.xml and ctrf.json: the spec's text
// and the device's name, identical from run to run.
func (s SpecResult) TestName() string {
	if s.Device == "" {
		return s.Name
	}
	return s.Name + " [" + s.Device + "]"
}

// CallResult is one measured call. In JSON it is flat (docs/results.md):
// the call's fields, durationsMs, truthErrorsMs and violations.
type CallResult struct {
	Spec string
	// Device is the device's name (Call.Device is its adb serial).
	Device string
	Call   latency.Call
	// Durations per segment (ms), as measured by the harness.
	Durations map[string]float64
	// TruthErrors per segment (ms): harness figure minus the simulator's
	// ground truth (simulated devices only).
	TruthErrors map[string]float64
	Violations  []string
}

// RestartInfo is one WMPF kill and what followed.
type RestartInfo struct {
	Spec      string     `json:"spec"`
	Device    string     `json:"device"`
	Model     string     `json:"model,omitempty"`
	Kill      KillMethod `json:"kill"`
	Restarted bool       `json:"restarted"`
	RestartMs float64    `json:"restartMs,omitempty"`
	// PushVerdict of a push sent while WMPF was down: "delivered" (after
	// the restart), "lost", or "" when none was sent.
	PushVerdict string  `json:"pushVerdict,omitempty"`
	PushMs      float64 `json:"pushMs,omitempty"`
	Detail      string  `json:"detail,omitempty"`
}

// IncidentInfo is something that happened to the run's infrastructure,
// not to a device under test: an adb server that died and was started
// again, the WeChat side lost, a worker dead, a shard missing from a merge.
type IncidentInfo struct {
	What   IncidentKind `json:"what"`
	Server string       `json:"server,omitempty"`
	Addr   string       `json:"addr,omitempty"`
	Device string       `json:"device,omitempty"`
	Exit   string       `json:"exit,omitempty"`
	// TookMs is from the failure found to the devices back.
	TookMs      float64           `json:"tookMs,omitempty"`
	Reconnected []string          `json:"reconnected,omitempty"`
	NotBack     map[string]string `json:"notBack,omitempty"`
	// Shard is the shard a shard-missing or shard-crashed incident names.
	Shard  *Shard `json:"shard,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// EndInfo closes a run: the cells counted by state, the verdict and the
// exit status (Decide).
type EndInfo struct {
	Finished    time.Time `json:"finished,omitzero"`
	Passed      int       `json:"passed"`
	Failed      int       `json:"failed"`
	Flaky       int       `json:"flaky"`
	Lost        int       `json:"lost"`
	Quarantined int       `json:"quarantined"`
	Skipped     int       `json:"skipped"`
	Interrupted int       `json:"interrupted"`
	Verdict     Verdict   `json:"verdict"`
	ExitCode    int       `json:"exitCode"`
	// Signal is "SIGINT" or "SIGTERM" when a signal interrupted the run.
	Signal string `json:"signal,omitempty"`
}
