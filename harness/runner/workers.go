package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// maxWorkerDeaths is how many workers may die on one device before the
// rest of its cells are quarantined: a device that kills its workers is a
// fault to report, not to retry for ever.
const maxWorkerDeaths = 2

// interruptGrace is how long interrupted workers get to record their cells.
const interruptGrace = 30 * time.Second

// job is a device's cells for one worker.
type job struct {
	device string
	cells  []framework.Cell
	deaths int
}

// worker is a running worker process.
type worker struct {
	id   int
	job  job
	cmd  *exec.Cmd
	done chan error
}

// runCells runs the cells, one worker per device at a time, at most
// procs at once, until every cell is recorded, the run is interrupted, or
// a device is quarantined.
func (r *run) runCells(ctx context.Context, cells []framework.Cell) {
	byDevice := map[string][]framework.Cell{}
	var order []string
	for _, c := range cells {
		t := c.Target()
		if _, ok := byDevice[t]; !ok {
			order = append(order, t)
		}
		byDevice[t] = append(byDevice[t], c)
	}
	queue := make([]job, 0, len(order))
	for _, d := range order {
		queue = append(queue, job{device: d, cells: byDevice[d]})
	}
	r.runJobs(ctx, queue)
}

// runJobs runs jobs, procs at a time; a job whose worker died before its
// cells were all recorded goes back in the queue for what is left.
func (r *run) runJobs(ctx context.Context, queue []job) {
	finished := make(chan *worker)
	running := 0
	for len(queue) > 0 || running > 0 {
		for running < r.procs() && len(queue) > 0 && ctx.Err() == nil {
			j := queue[0]
			queue = queue[1:]
			w, err := r.start(ctx, j)
			if err != nil {
				r.logf("worker for %s: %v", j.device, err)
				r.quarantineRest(j, "its worker could not start: "+err.Error())
				continue
			}
			running++
			go func() {
				w.done <- w.cmd.Wait()
				finished <- w
			}()
		}
		if running == 0 {
			break
		}
		select {
		case w := <-finished:
			running--
			if next, ok := r.ended(ctx, w, <-w.done); ok {
				queue = append([]job{next}, queue...)
			}
		case <-ctx.Done():
			r.interruptAll()
			for running > 0 {
				w := <-finished
				running--
				r.ended(ctx, w, <-w.done)
			}
			return
		}
	}
}

// start starts a worker for a job.
func (r *run) start(ctx context.Context, j job) (*worker, error) {
	r.mu.Lock()
	r.nextID++
	id := r.nextID
	r.mu.Unlock()
	dir := filepath.Join(r.runDir, "workers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%d", report.SafeName(j.device), id))
	if err := framework.WritePlan(base+".plan.json", framework.WorkerPlan{RunDir: r.runDir, Device: j.device, Cells: j.cells, Worker: id}); err != nil {
		return nil, err
	}
	logf, err := os.Create(base + ".log")
	if err != nil {
		return nil, err
	}
	args := append(append([]string(nil), r.opts.Worker[1:]...), "-worker-plan", base+".plan.json", "--ginkgo.no-color",
		"--ginkgo.silence-skips", "--ginkgo.timeout="+time.Until(deadline(ctx, r.opts.Timeout)).Round(time.Second).String())
	if r.opts.Labels != "" {
		args = append(args, "--ginkgo.label-filter="+r.opts.Labels)
	}
	if r.opts.FlakeAttempts > 1 {
		args = append(args, "--ginkgo.flake-attempts="+strconv.Itoa(r.opts.FlakeAttempts))
	}
	args = append(args, r.opts.SuiteArgs...)
	cmd := exec.Command(r.opts.Worker[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "TESTCONTAINERS_RYUK_DISABLED=true")
	cmd.SysProcAttr = workerAttrs()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", r.opts.Worker[0], err)
	}
	w := &worker{id: id, job: j, cmd: cmd, done: make(chan error, 1)}
	r.mu.Lock()
	r.workers[id] = w
	r.mu.Unlock()
	r.progress.deviceStarted(j.device, id)
	return w, nil
}

func deadline(ctx context.Context, def time.Duration) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(def)
}

// ended handles a worker that exited: when it left cells unrecorded, it
// died. The cell it was running is lost to the worker; its calls are ended
// on the WeChat side, and the device is given the time to finish those it
// had the push of (settle); the rest of the job goes back in the queue (the
// next worker's first cell resets the device), unless the device's workers
// died too often.
func (r *run) ended(ctx context.Context, w *worker, err error) (job, bool) {
	r.mu.Lock()
	delete(r.workers, w.id)
	r.mu.Unlock()
	if f, ok := w.cmd.Stdout.(*os.File); ok {
		f.Close()
	}
	done, running := r.tail.recorded(w.job.cells)
	var left []framework.Cell
	for _, c := range w.job.cells {
		if !done[cellKey(c)] {
			left = append(left, c)
		}
	}
	r.progress.deviceEnded(w.job.device, w.id)
	if len(left) == 0 {
		return job{}, false
	}
	if ctx.Err() != nil {
		// Interrupted: what did not run is not recorded, and the summary
		// says what had run.
		return job{}, false
	}
	how := exitText(err)
	r.logf("worker %d (%s) died: %s, with %d of its cells not recorded", w.id, w.job.device, how, len(left))
	_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: "worker-died", Device: w.job.device,
		Exit: how, Detail: fmt.Sprintf("worker %d; %d cells left", w.id, len(left))}})
	d, _ := r.deviceSpec(w.job.device)
	if running != nil {
		_ = r.w.Write(report.Record{Kind: report.KindSpec, Spec: &report.SpecResult{Name: running.Spec, Device: running.Device,
			Model: d.Model, SN: d.SN, Labels: r.labelsOf(running.Spec), State: report.StateLost, LostTo: framework.LostWorker,
			Reason: "the worker running it died (" + how + ")", Failure: framework.LostMessage(framework.LostWorker, "the worker running it died ("+how+")")}})
		left = remove(left, *running)
	}
	if rooms := r.endCallsOf(ctx, d); len(rooms) > 0 {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout+5*time.Second)
		did, err := r.settle(sctx, d, rooms)
		cancel()
		switch {
		case err != nil:
			r.logf("%v", err)
		case did != "":
			r.logf("%s: %s", d.Name, did)
		}
	}
	w.job.deaths++
	if w.job.deaths >= maxWorkerDeaths {
		r.quarantineRest(job{device: w.job.device, cells: left}, fmt.Sprintf("its workers died %d times (the last: %s)", w.job.deaths, how))
		return job{}, false
	}
	if len(left) == 0 {
		return job{}, false
	}
	return job{device: w.job.device, cells: left, deaths: w.job.deaths}, true
}

// endCallsOf ends every call the WeChat side still has for the device: the
// cleanup a dead worker could not do. It returns the rooms it ended.
func (r *run) endCallsOf(ctx context.Context, d device.Spec) []string {
	ws := r.farm.Spec.WeChatSide()
	if ws == nil || d.SN == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ended, err := ws.EndCallsOf(cctx, d.SN)
	if err != nil {
		r.logf("ending the calls of %s: %v", d.Name, err)
		return nil
	}
	for _, room := range ended {
		r.logf("ended call %s of %s on the WeChat side (its worker died)", room, d.Name)
	}
	return ended
}

// quarantineRest records a job's cells as quarantined.
func (r *run) quarantineRest(j job, why string) {
	framework.Quarantine(framework.QuarantineDir(r.runDir), j.device, why)
	d, _ := r.deviceSpec(j.device)
	_ = r.w.Write(report.Record{Kind: report.KindDevice, Device: framework.DeviceInfo(d, report.DeviceQuarantined, why)})
	for _, c := range j.cells {
		_ = r.w.Write(report.Record{Kind: report.KindSpec, Spec: &report.SpecResult{Name: c.Spec, Device: c.Device, Model: d.Model,
			SN: d.SN, Labels: r.labelsOf(c.Spec), State: report.StateQuarantined, Reason: why}})
	}
}

func (r *run) deviceSpec(name string) (device.Spec, bool) {
	for _, d := range r.farm.Spec.Devices {
		if d.Name == name {
			return d, true
		}
	}
	return device.Spec{Name: name}, false
}

func (r *run) labelsOf(spec string) []string {
	for _, s := range r.specs {
		if s.Name == spec {
			return s.Labels
		}
	}
	return nil
}

// interruptAll passes an interrupt on to every worker (Ginkgo then records
// the running cell as interrupted and ends), and kills those still there
// after interruptGrace.
func (r *run) interruptAll() {
	r.mu.Lock()
	ws := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		ws = append(ws, w)
	}
	r.mu.Unlock()
	for _, w := range ws {
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGINT)
	}
	if len(ws) > 0 {
		r.logf("interrupted: letting %d workers record their cells", len(ws))
	}
	time.AfterFunc(interruptGrace, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, w := range r.workers {
			_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		}
	})
}

func cellKey(c framework.Cell) string { return c.Spec + "\x00" + c.Device }

func remove(cells []framework.Cell, c framework.Cell) []framework.Cell {
	out := cells[:0]
	for _, x := range cells {
		if cellKey(x) != cellKey(c) {
			out = append(out, x)
		}
	}
	return out
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return "killed by " + signalName(st.Signal())
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// retryInfrastructure runs again, on another healthy device of the same
// model, each cell lost to infrastructure or quarantined, up to n more
// attempts.
func (r *run) retryInfrastructure(ctx context.Context, n int) {
	for round := 1; round <= n && ctx.Err() == nil; round++ {
		res, err := report.ReadDir(r.runDir)
		if err != nil {
			return
		}
		final := map[string]report.SpecResult{}
		for _, s := range res.Specs {
			final[s.Name+"\x00"+s.Device] = s
		}
		byTarget := map[string][]framework.Cell{}
		for _, s := range final {
			if s.State != report.StateLost && s.State != report.StateQuarantined {
				continue
			}
			to := r.otherDevice(s.Device, s.Model, round)
			if to == "" {
				continue
			}
			c := framework.Cell{Spec: s.Name, Device: s.Device, Attempt: len(s.Attempts) + 1, OnDevice: to, Prior: priorAttempts(s)}
			if c.Attempt < 2 {
				c.Attempt = 2
			}
			byTarget[to] = append(byTarget[to], c)
		}
		if len(byTarget) == 0 {
			return
		}
		var queue []job
		var targets []string
		for t := range byTarget {
			targets = append(targets, t)
		}
		sort.Strings(targets)
		for _, t := range targets {
			queue = append(queue, job{device: t, cells: byTarget[t]})
			r.logf("retrying %d cells lost to infrastructure on %s", len(byTarget[t]), t)
		}
		r.progress.add(queue)
		r.runJobs(ctx, queue)
	}
}

// priorAttempts are a cell's attempts so far, as its final record lists
// them (one, from the record itself, when it lists none).
func priorAttempts(s report.SpecResult) []report.Attempt {
	if len(s.Attempts) > 0 {
		return s.Attempts
	}
	return []report.Attempt{{Attempt: 1, State: s.State, LostTo: s.LostTo, Duration: s.Duration, Failure: firstNonEmpty(s.Failure, s.Reason)}}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// otherDevice picks a healthy, unquarantined device of model other than
// dev, turning through them by round.
func (r *run) otherDevice(dev, model string, round int) string {
	var cands []string
	for _, d := range r.farm.Spec.Devices {
		if d.Name != dev && d.Model == model && framework.IsQuarantined(r.runDir, d.Name) == "" {
			cands = append(cands, d.Name)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	sort.Strings(cands)
	return cands[(round-1)%len(cands)]
}

// signalName names a signal as kill(1) does ("SIGKILL"), with its
// description for one not listed.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return fmt.Sprintf("signal %d (%s)", int(sig), sig)
}
