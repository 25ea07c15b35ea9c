package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
)

// CTRFFile is the Common Test Report Format report of a run directory.
const CTRFFile = "ctrf.json"

// ctrfSpecVersion is the CTRF specification version the report follows.
const ctrfSpecVersion = "0.0.0"

type ctrfDoc struct {
	ReportFormat string      `json:"reportFormat"`
	SpecVersion  string      `json:"specVersion"`
	RunID        string      `json:"runId,omitempty"`
	Timestamp    string      `json:"timestamp,omitempty"`
	GeneratedBy  string      `json:"generatedBy"`
	Results      ctrfResults `json:"results"`
}

type ctrfResults struct {
	Tool        ctrfTool        `json:"tool"`
	Summary     ctrfSummary     `json:"summary"`
	Tests       []ctrfTest      `json:"tests"`
	Environment ctrfEnvironment `json:"environment"`
}

type ctrfTool struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type ctrfSummary struct {
	Tests    int   `json:"tests"`
	Passed   int   `json:"passed"`
	Failed   int   `json:"failed"`
	Skipped  int   `json:"skipped"`
	Pending  int   `json:"pending"`
	Other    int   `json:"other"`
	Flaky    int   `json:"flaky"`
	Suites   int   `json:"suites"`
	Start    int64 `json:"start"`
	Stop     int64 `json:"stop"`
	Duration int64 `json:"duration"`
	Extra    any   `json:"extra,omitempty"`
}

type ctrfTest struct {
	Name          string           `json:"name"`
	Status        string           `json:"status"`
	Duration      int64            `json:"duration"`
	Start         int64            `json:"start,omitempty"`
	Stop          int64            `json:"stop,omitempty"`
	Suite         []string         `json:"suite"`
	Message       string           `json:"message,omitempty"`
	Trace         string           `json:"trace,omitempty"`
	RawStatus     string           `json:"rawStatus"`
	Tags          []string         `json:"tags,omitempty"`
	Retries       int              `json:"retries"`
	Flaky         bool             `json:"flaky"`
	RetryAttempts []ctrfAttempt    `json:"retryAttempts,omitempty"`
	Device        string           `json:"device,omitempty"`
	Attachments   []ctrfAttachment `json:"attachments,omitempty"`
	Extra         ctrfExtra        `json:"extra"`
}

type ctrfAttempt struct {
	Attempt  int    `json:"attempt"`
	Status   string `json:"status"`
	Duration int64  `json:"duration"`
	Message  string `json:"message,omitempty"`
	Start    int64  `json:"start,omitempty"`
	Extra    any    `json:"extra,omitempty"`
}

type ctrfAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Path        string `json:"path"`
}

type ctrfExtra struct {
	Device string `json:"device"`
	Model  string `json:"model,omitempty"`
	SN     string `json:"sn,omitempty"`
	State  State  `json:"state"`
	LostTo LostTo `json:"lostTo,omitempty"`
	Reason string `json:"reason,omitempty"`
}

type ctrfEnvironment struct {
	ReportName string         `json:"reportName,omitempty"`
	ShardID    string         `json:"shardId,omitempty"`
	Healthy    bool           `json:"healthy"`
	Extra      map[string]any `json:"extra,omitempty"`
}

// ctrfStatus maps a cell state to CTRF's five: lost, quarantined and
// interrupted cells are "other" (extra.state says which); flaky passed.
func ctrfStatus(st State) string {
	switch st {
	case StatePassed, StateFlaky:
		return "passed"
	case StateSkipped:
		return "skipped"
	case StateLost, StateQuarantined, StateInterrupted:
		return "other"
	}
	return "failed"
}

func epochMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// contentTypes by file extension; others are application/octet-stream.
var contentTypes = map[string]string{
	".txt": "text/plain", ".log": "text/plain", ".xml": "application/xml", ".json": "application/json",
	".jsonl": "application/x-ndjson", ".html": "text/html", ".png": "image/png", ".jpg": "image/jpeg",
	".jpeg": "image/jpeg", ".webp": "image/webp", ".mp4": "video/mp4",
}

func contentType(p string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(p))]; ok {
		return t
	}
	return "application/octet-stream"
}

// WriteCTRF writes the run's ctrf.json to w: one test per cell, named as
// in junit.xml, its suite the device; now is the report's timestamp.
func WriteCTRF(w io.Writer, r *Results, now time.Time) error {
	doc := ctrfDoc{ReportFormat: "CTRF", SpecVersion: ctrfSpecVersion, GeneratedBy: ToolName,
		Results: ctrfResults{Tool: ctrfTool{Name: ToolName}, Tests: []ctrfTest{}}}
	if !now.IsZero() {
		doc.Timestamp = now.UTC().Format(time.RFC3339Nano)
	}
	env := map[string]any{}
	start, stop := r.First, r.Last
	if r.Run != nil {
		doc.RunID = r.Run.ID
		doc.Results.Tool.Version = r.Run.Tool.Version
		if r.Run.Tool.Name != "" {
			doc.Results.Tool.Name = r.Run.Tool.Name
		}
		doc.Results.Environment.ReportName = ToolName + " " + r.Run.ID
		if s := r.Run.Shard; s != nil {
			doc.Results.Environment.ShardID = strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
		}
		for k, v := range map[string]string{"host": r.Run.Host, "farmFile": r.Run.FarmFile, "matrix": string(r.Run.Matrix), "labels": r.Run.Labels} {
			if v != "" {
				env[k] = v
			}
		}
		if len(r.Run.Merged) > 0 {
			env["shards"] = r.Run.Merged
		}
		if !r.Run.Started.IsZero() {
			start = r.Run.Started
		}
	}
	if r.End != nil && !r.End.Finished.IsZero() {
		stop = r.End.Finished
	}
	if len(env) > 0 {
		doc.Results.Environment.Extra = env
	}
	var counts Counts
	devices := 0
	for _, g := range groupByDevice(r) {
		if len(g.cells) > 0 {
			devices++
		}
		for _, s := range g.cells {
			counts.add(s.State)
			doc.Results.Tests = append(doc.Results.Tests, ctrfCell(s))
		}
	}
	sum := &doc.Results.Summary
	sum.Tests = counts.Total()
	sum.Passed = counts.Passed + counts.Flaky
	sum.Failed = counts.Failed
	sum.Skipped = counts.Skipped
	sum.Other = counts.Lost + counts.Quarantined + counts.Interrupted
	sum.Flaky = counts.Flaky
	sum.Suites = devices
	sum.Start, sum.Stop = epochMs(start), epochMs(stop)
	if sum.Stop < sum.Start {
		sum.Stop = sum.Start
	}
	sum.Duration = sum.Stop - sum.Start
	sum.Extra = map[string]int{"lost": counts.Lost, "quarantined": counts.Quarantined, "interrupted": counts.Interrupted}
	v, _ := decide(counts, r.Options())
	doc.Results.Environment.Healthy = v == VerdictPass
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report: ctrf: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("report: ctrf: %w", err)
	}
	return nil
}

func ctrfCell(s SpecResult) ctrfTest {
	t := ctrfTest{Name: s.TestName(), Status: ctrfStatus(s.State), RawStatus: string(s.State),
		Duration: s.Duration.Milliseconds(), Suite: []string{orNoDevice(s.Device)}, Tags: s.Labels,
		Message: s.Failure, Trace: s.Location, Flaky: s.State == StateFlaky, Device: s.Device,
		Extra: ctrfExtra{Device: s.Device, Model: s.Model, SN: s.SN, State: s.State, LostTo: s.LostTo, Reason: s.Reason}}
	if t.Message == "" && s.State != StatePassed {
		t.Message = s.Reason
	}
	if !s.Finished.IsZero() {
		t.Stop = epochMs(s.Finished)
		t.Start = epochMs(s.Finished.Add(-s.Duration))
	}
	if n := len(s.Attempts); n > 0 {
		t.Retries = n - 1
		for _, a := range s.Attempts {
			ca := ctrfAttempt{Attempt: a.Attempt, Status: ctrfStatus(a.State), Duration: a.Duration.Milliseconds(),
				Message: a.Failure, Start: epochMs(a.Started)}
			if ca.Status == "other" || a.OnDevice != "" {
				ca.Extra = ctrfExtra{Device: orDefault(a.OnDevice, s.Device), State: a.State, LostTo: a.LostTo}
			}
			t.RetryAttempts = append(t.RetryAttempts, ca)
		}
	}
	for _, f := range cellFiles(s) {
		t.Attachments = append(t.Attachments, ctrfAttachment{Name: path.Base(f), ContentType: contentType(f), Path: f})
	}
	return t
}
