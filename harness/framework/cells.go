package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// What went away when a cell could not run to its end: never the product.
const (
	LostDevice    = "device"
	LostADBServer = "adb-server"
	LostWeChat    = "wechat"
	LostWorker    = "worker"
)

// A failure message that starts with LostPrefix + "(CAUSE): " records the
// cell as lost to CAUSE, not as a product failure.
const LostPrefix = "infrastructure lost "

// Skip reasons with a meaning for the record.
const (
	// notPlanned marks a spec this device does not run (the matrix gave it
	// to another device): it is not recorded.
	notPlanned = "not planned for this device"
	// QuarantinedPrefix starts the skip message of a cell whose device is
	// quarantined.
	QuarantinedPrefix = "quarantined: "
)

// notFitText marks a device lost because it could not be reset (it may
// recover: it is quarantined only after QuarantineAfter in a row), not
// because it went away.
const notFitText = "cannot be brought to a known state"

// LostMessage is the failure message of a cell lost to cause.
func LostMessage(cause, detail string) string {
	return LostPrefix + "(" + cause + "): " + detail
}

// ParseLost reads a failure message: the cause and detail when it is a
// loss.
func ParseLost(msg string) (cause, detail string, ok bool) {
	rest, ok := strings.CutPrefix(msg, LostPrefix+"(")
	if !ok {
		return "", "", false
	}
	cause, detail, ok = strings.Cut(rest, "): ")
	return cause, detail, ok
}

// cell is the running cell of this process.
type cell struct {
	Cell
	spec     device.Spec
	started  time.Time
	attempts []report.Attempt
	// evidence and screenshot of this process's attempts that failed.
	evidence   []string
	screenshot string
	device     *Device
	// The last failure classify saw, and what it made of it.
	classified struct {
		msg, failure string
		state        report.State
		lostTo       report.LostTo
		weChatGone   bool // the WeChat side was found gone
	}
}

var (
	currentMu   sync.Mutex
	currentCell *cell
)

func current() *cell {
	currentMu.Lock()
	defer currentMu.Unlock()
	return currentCell
}

// beginCell runs before each spec of a device's container: it decides
// whether the cell runs here, and records its start.
func beginCell(target string) {
	if F == nil {
		ginkgo.Fail(errNotSetUp.Error())
	}
	r := ginkgo.CurrentSpecReport()
	name := SpecName(r)
	c := &cell{Cell: Cell{Spec: name, Device: target, Attempt: 1}, started: time.Now()}
	if prev := current(); prev != nil && prev.Spec == name && prev.Target() == target {
		// A flake attempt of the same cell: keep its attempts.
		c.attempts, c.Attempt, c.evidence, c.screenshot = prev.attempts, prev.Attempt, prev.evidence, prev.screenshot
	}
	switch runMode {
	case modeWorker:
		pc, ok := plannedCell(name)
		if !ok {
			ginkgo.Skip(notPlanned)
		}
		c.Cell = pc
		if len(c.attempts) == 0 {
			c.attempts = append(c.attempts, pc.Prior...)
		}
	case modeGinkgo:
		spec, healthy := F.device(target)
		if !healthy {
			if reason := F.excluded(target); reason != "" {
				setCurrent(c)
				ginkgo.Skip(QuarantinedPrefix + "taken out of the run at the health check: " + reason)
			}
			ginkgo.Skip(notPlanned)
		}
		planned := false
		for _, d := range Assign(F.Farm.Run.Matrix, name, F.Farm.Devices) {
			planned = planned || d == spec.Name
		}
		if !planned {
			ginkgo.Skip(notPlanned)
		}
	}
	spec, ok := F.device(c.Target())
	if !ok {
		ginkgo.Fail(fmt.Sprintf("device %s is not a healthy device of the run", c.Target()))
	}
	c.spec = spec
	if att := len(c.attempts); att > 0 && c.Attempt <= att {
		c.Attempt = att + 1
	}
	setCurrent(c)
	_ = F.Results.Write(report.Record{Kind: report.KindStart, Start: &report.StartInfo{Spec: c.Spec, Device: c.Device,
		Attempt: c.Attempt, OnDevice: c.OnDevice}})
	if why := F.cells.quarantined(c.Target()); why != "" {
		ginkgo.Skip(QuarantinedPrefix + why)
	}
}

func setCurrent(c *cell) {
	currentMu.Lock()
	currentCell = c
	currentMu.Unlock()
}

func plannedCell(spec string) (Cell, bool) {
	for _, c := range plan.Cells {
		if c.Spec == spec {
			if c.Attempt == 0 {
				c.Attempt = 1
			}
			return c, true
		}
	}
	return Cell{}, false
}

// device returns a healthy device of the run by name.
func (f *Framework) device(name string) (device.Spec, bool) {
	for _, d := range f.Farm.Devices {
		if d.Name == name {
			return d, true
		}
	}
	return device.Spec{}, false
}

func (f *Framework) excluded(name string) string {
	for _, x := range f.Farm.Excluded {
		if x.Device.Name == name {
			return x.Reason
		}
	}
	return ""
}

// afterAttempt runs after each attempt of a spec, before its cleanup:
// the evidence of a failure, and the attempt's outcome.
func afterAttempt() {
	c := current()
	sr := ginkgo.CurrentSpecReport()
	if c == nil || F == nil || sr.State == types.SpecStateSkipped {
		return
	}
	att := report.Attempt{Attempt: c.Attempt, OnDevice: c.OnDevice, State: report.StatePassed,
		Duration: time.Since(c.started), Started: c.started}
	if sr.Failed() {
		att.State, att.LostTo, att.Failure = c.classify(sr.Failure.Message)
		ev, shot := captureEvidence(c, att)
		c.evidence = append(c.evidence, ev...)
		if shot != "" {
			c.screenshot = shot
		}
	}
	c.attempts = append(c.attempts, att)
	c.started = time.Now()
}

// stateOfFailure classifies a failure message.
func stateOfFailure(msg string) (report.State, report.LostTo) {
	if cause, _, ok := ParseLost(msg); ok {
		return report.StateLost, report.LostTo(cause)
	}
	return report.StateFailed, ""
}

// classify decides what a cell's failure records: a loss as its message
// says; any other failure as lost to the WeChat side when that is gone —
// marked down by the run, or not answering now — since a spec that needs
// it cannot be judged without it (an assertion on a request to it, say,
// fails with the request's timeout), or as lost to the device when that
// does not answer either; else a product failure. The message of such a
// loss names what went away first and keeps the spec's own failure after
// it.
func (c *cell) classify(msg string) (report.State, report.LostTo, string) {
	if c.classified.msg == msg && c.classified.state != "" {
		return c.classified.state, c.classified.lostTo, c.classified.failure
	}
	c.classified.weChatGone = false
	state, lostTo := stateOfFailure(msg)
	failure := msg
	if state == report.StateFailed && F != nil {
		if why := F.weChatDownNow(context.Background()); why != "" {
			c.classified.weChatGone = true
			state, lostTo = report.StateLost, LostWeChat
			failure = LostMessage(LostWeChat, why) + "\nthe spec failed meanwhile: " + msg
			if d := c.device; d != nil {
				lost := d.Lost()
				if lost == nil {
					lost = d.Probe(context.Background())
				}
				if lost != nil {
					F.markLost(c.spec, lost)
					lostTo = LostDevice
					failure = LostMessage(LostDevice, c.spec.Name+": "+strings.TrimPrefix(lost.Error(), "device lost: ")) +
						"\n(the WeChat side is gone too: " + why + ")\nthe spec failed meanwhile: " + msg
				}
			}
		}
	}
	if lostTo == LostWeChat {
		c.classified.weChatGone = true
	}
	c.classified.msg, c.classified.state, c.classified.lostTo, c.classified.failure = msg, state, lostTo, failure
	return state, lostTo, failure
}

// recordCell writes each finished cell to results.jsonl.
func recordCell(r ginkgo.SpecReport) {
	if F == nil || r.LeafNodeType != types.NodeTypeIt {
		return
	}
	c := current()
	msg := r.Failure.Message
	if r.State == types.SpecStateSkipped && (msg == notPlanned || c == nil) {
		return
	}
	res := &report.SpecResult{Name: SpecName(r), Device: c.Device, Model: c.spec.Model, SN: c.spec.SN, Labels: r.Labels(),
		Duration: r.RunTime, Location: r.Failure.Location.String()}
	if c.spec.Name == "" {
		if d, ok := F.device(c.Device); ok {
			res.Model, res.SN = d.Model, d.SN
		}
	}
	res.Attempts = c.attempts
	switch {
	case r.State == types.SpecStatePassed:
		res.State = report.StatePassed
		// Flaky is a product failure that passed on a retry; an attempt
		// lost to the infrastructure and then passed is a pass.
		for _, a := range c.attempts[:max(len(c.attempts)-1, 0)] {
			if a.State == report.StateFailed {
				res.State = report.StateFlaky
			}
		}
	case r.State == types.SpecStateSkipped || r.State == types.SpecStatePending:
		if why, ok := strings.CutPrefix(msg, QuarantinedPrefix); ok {
			res.State, res.Reason = report.StateQuarantined, why
		} else {
			res.State, res.Reason = report.StateSkipped, msg
		}
		res.Location = ""
	case r.State == types.SpecStateInterrupted || r.State == types.SpecStateAborted:
		res.State, res.Failure = report.StateInterrupted, msg
	default:
		res.State, res.LostTo, res.Failure = c.classify(msg)
		msg = res.Failure
		if in := c.spec.Installed; in != nil && res.State == report.StateFailed {
			// Name the build under test, so a red nightly says which.
			res.Failure = fmt.Sprintf("[build %s on %s] %s", in.Build, c.spec.Name, msg)
		}
	}
	res.Evidence, res.Screenshot = c.evidence, c.screenshot
	if res.State == report.StateLost || res.State == report.StateQuarantined {
		res.Reason = strings.TrimSpace(firstLine(msg))
	}
	// A device's trouble counts towards its quarantine; a cell that ran
	// clears it.
	switch res.State {
	case report.StateLost:
		F.cells.infraFailure(c.Target(), string(res.LostTo), msg)
	case report.StatePassed, report.StateFlaky, report.StateFailed:
		F.cells.ran(c.Target())
	}
	_ = F.Results.Write(report.Record{Kind: report.KindSpec, Spec: res})
	setCurrent(nil)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// cellLog counts each device's infrastructure failures in a row and
// quarantines a device after too many. Its state lives in the run
// directory, so that a worker started after another died continues it.
type cellLog struct {
	dir   string
	after int
	mu    sync.Mutex
}

func newCellLog(runDir string, after int) *cellLog {
	if after <= 0 {
		after = 2
	}
	return &cellLog{dir: filepath.Join(runDir, "quarantine"), after: after}
}

func (l *cellLog) path(dev, kind string) string {
	return filepath.Join(l.dir, report.SafeName(dev)+"."+kind)
}

// quarantined returns why the device is quarantined, or "".
func (l *cellLog) quarantined(dev string) string {
	b, err := os.ReadFile(l.path(dev, "quarantined"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// infraFailure counts one; a device that is gone (does not answer, went
// offline) is quarantined at once.
func (l *cellLog) infraFailure(dev, cause, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = os.MkdirAll(l.dir, 0o755)
	n := 0
	if b, err := os.ReadFile(l.path(dev, "count")); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	n++
	_ = os.WriteFile(l.path(dev, "count"), []byte(strconv.Itoa(n)), 0o644)
	_, detail, _ := ParseLost(msg)
	gone := cause == LostDevice && !strings.Contains(msg, notFitText)
	if gone || (cause != LostWeChat && n >= l.after) {
		why := fmt.Sprintf("%d infrastructure failures in a row, the last: %s", n, firstLine(detail))
		if gone {
			why = "lost earlier in the run: " + firstLine(detail)
		}
		Quarantine(l.dir, dev, why)
	}
}

// ran resets the count.
func (l *cellLog) ran(dev string) {
	_ = os.Remove(l.path(dev, "count"))
}

// Quarantine takes a device out of the rest of the run, on every process:
// its remaining cells are recorded as quarantined with why.
func Quarantine(dir, dev, why string) {
	_ = os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, report.SafeName(dev)+".quarantined")
	if _, err := os.Stat(p); err == nil {
		return
	}
	_ = os.WriteFile(p, []byte(why+"\n"), 0o644)
}

// QuarantineDir is where a run keeps its quarantine marks.
func QuarantineDir(runDir string) string { return filepath.Join(runDir, "quarantine") }

// IsQuarantined returns why dev is quarantined in the run, or "".
func IsQuarantined(runDir, dev string) string {
	return (&cellLog{dir: QuarantineDir(runDir)}).quarantined(dev)
}
