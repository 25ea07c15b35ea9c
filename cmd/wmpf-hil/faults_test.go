package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// These tests inflict infrastructure faults on a run — the WeChat side
// killed or frozen, a worker killed mid-call, the run interrupted or killed
// — and check that none of them is reported as a product failure, that the
// run ends soon after, and that it leaves nothing running.

var (
	simBinOnce sync.Once
	simBin     string
	simBinErr  error
)

// wmpfSim builds cmd/wmpf-sim once, next to the wmpf-hil the tests run.
func wmpfSim(t *testing.T) string {
	t.Helper()
	simBinOnce.Do(func() {
		simBin = filepath.Join(filepath.Dir(bin), "wmpf-sim")
		out, err := exec.Command("go", "build", "-o", simBin, "../wmpf-sim").CombinedOutput()
		if err != nil {
			simBinErr = fmt.Errorf("build wmpf-sim: %v\n%s", err, out)
		}
	})
	if simBinErr != nil {
		t.Fatal(simBinErr)
	}
	return simBin
}

// simDevice is a device a wmpf-sim process announced.
type simDevice struct {
	Serial, SN, Model, ModelID, Host string
}

// simProc is a running `wmpf-sim farm` or `wmpf-sim devices`.
type simProc struct {
	cmd     *exec.Cmd
	URL     string // farm: the WeChat side's API
	Token   string
	Devices []simDevice
	out     *syncBuffer
}

// syncBuffer collects a process's output for the test's messages.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePortRun returns the first of n consecutive free ports on 127.0.0.1,
// clear of 5555-5585 (the adb server's emulator ports).
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p+n > 65535 || (p+n > 5555 && p <= 5585) {
			continue
		}
		free := true
		for i := 1; i < n && free; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+i))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return p
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// startSim starts `wmpf-sim ARGS... -n N -port P` on free ports and waits
// for its READY lines (and, for farm, its API line). The process is killed
// at the end of the test (continued first, if a test froze it).
func startSim(t *testing.T, n int, args ...string) *simProc {
	t.Helper()
	var lastErr string
	for range 3 { // the ports may be taken between looking and listening
		p, err := trySim(t, n, freePortRun(t, n), args...)
		if err == nil {
			return p
		}
		lastErr = err.Error()
	}
	t.Fatalf("wmpf-sim %s did not start: %s", strings.Join(args, " "), lastErr)
	return nil
}

func trySim(t *testing.T, n, port int, args ...string) (*simProc, error) {
	args = append(append([]string(nil), args...), "-n", strconv.Itoa(n), "-port", strconv.Itoa(port),
		"-profiles", filepath.Join(root(t), "fixtures", "profiles"))
	cmd := exec.Command(wmpfSim(t), args...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw // one stream: each READY line, then its details
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p := &simProc{cmd: cmd, out: &syncBuffer{}}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-exited
		pr.Close()
	}
	lines := make(chan string)
	started := make(chan struct{}) // closed once the lines below are read
	defer close(started)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.out.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			case <-started: // nobody waits for lines any more: just keep the output
			}
		}
	}()
	wantAPI := args[0] == "farm"
	deadline := time.After(30 * time.Second)
	for len(p.Devices) < n || (wantAPI && p.URL == "") || (len(p.Devices) > 0 && p.Devices[len(p.Devices)-1].ModelID == "") {
		select {
		case l, ok := <-lines:
			if !ok {
				stop()
				return nil, fmt.Errorf("exited: %s", p.out.String())
			}
			f := fields(l)
			switch {
			case strings.HasPrefix(l, "READY "):
				p.Devices = append(p.Devices, simDevice{Serial: f["serial"], SN: f["sn"], Model: f["model"]})
			case strings.HasPrefix(l, "API "):
				p.URL, p.Token = f["url"], f["token"]
			case f["modelId"] != "" && len(p.Devices) > 0:
				d := &p.Devices[len(p.Devices)-1]
				d.ModelID, d.Host = f["modelId"], f["host"]
			}
		case <-deadline:
			stop()
			return nil, fmt.Errorf("no READY lines within 30 s: %s", p.out.String())
		}
	}
	t.Cleanup(stop)
	return p, nil
}

// fields reads the key=value words of a line.
func fields(l string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(l) {
		if k, v, ok := strings.Cut(w, "="); ok {
			m[k] = v
		}
	}
	return m
}

// urlFarm is a farm file for a WeChat side at url and devices reached over
// the network, as a lab would list its own.
func urlFarm(t *testing.T, url, token string, devices []simDevice) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nadbServers: [{name: local, address: start}]\nwechat: {mode: url, url: %q, token: %q}\n", url, token)
	b.WriteString("budgets: ROOT/fixtures/budgets.yaml\nprofiles: ROOT/fixtures/profiles\ndevices:\n")
	for _, d := range devices {
		fmt.Fprintf(&b, "  - {serial: %q, connect: true, adbServer: local, sn: %s, modelId: %s, hostPackage: %s, push: wechat}\n",
			d.Serial, d.SN, d.ModelID, d.Host)
	}
	return writeFarm(t, b.String())
}

// waitRun waits for a run to exit, for at most max (then kills it and
// fails the test), and returns its exit status and how long it took.
func waitRun(t *testing.T, cmd *exec.Cmd, out fmt.Stringer, max time.Duration) (int, time.Duration) {
	t.Helper()
	begun := time.Now()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(max):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the run did not end within %v:\n%s", max, tail(out.String()))
	}
	return cmd.ProcessState.ExitCode(), time.Since(begun)
}

// checkNoProductFailure fails the test for any failed cell, any <failure>
// in junit.xml, and an end record that is not the supervisor's last word.
func checkNoProductFailure(t *testing.T, runDir string, supervisor int) *report.Results {
	t.Helper()
	res, err := report.ReadDir(runDir)
	if err != nil {
		t.Fatalf("no results: %v", err)
	}
	for _, s := range res.Cells() {
		if s.State == report.StateFailed || s.State == report.StateFlaky {
			t.Errorf("product failure reported for %s: %s%s", s.TestName(), s.Failure, evidenceText(runDir, s))
		}
	}
	junit, err := os.ReadFile(filepath.Join(runDir, report.JUnitFile))
	if err != nil {
		t.Errorf("junit.xml: %v", err)
	} else if strings.Contains(string(junit), "<failure") {
		t.Errorf("junit.xml has a <failure>: an infrastructure fault reported as a product failure")
	}
	last := lastRecord(t, runDir)
	if last.Kind != report.KindEnd || last.Process != supervisor {
		t.Errorf("results.jsonl ends with a %q record of process %d, want the end record of the supervisor (pid %d)", last.Kind, last.Process, supervisor)
	}
	return res
}

// evidenceText is a failed cell's contract events and the end of its
// logcat, for the test's message: the run directory goes with the test.
func evidenceText(runDir string, s report.SpecResult) string {
	var b strings.Builder
	for _, p := range s.Evidence {
		switch filepath.Base(p) {
		case "contract-events.txt", "logcat.txt":
			data, err := os.ReadFile(filepath.Join(runDir, p))
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) > 80 {
				lines = lines[len(lines)-80:]
			}
			fmt.Fprintf(&b, "\n--- %s:\n%s", filepath.Base(p), strings.Join(lines, "\n"))
		}
	}
	return b.String()
}

func lastRecord(t *testing.T, runDir string) report.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, report.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last report.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r report.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			last = r
		}
	}
	return last
}

// The WeChat side goes away mid-run — killed, or frozen (SIGSTOP) — with
// the devices in its process, as `wmpf-sim farm` runs them (the devices go
// too, and are reported lost), or frozen alone while the devices (another
// process) go on. The run reports a wechat-lost incident, no product
// failure, exits 3, and ends within a minute of the fault; with the
// devices apart, a cell waiting for what the frozen WeChat side would have
// sent ends as lost to it, not at its own timeout or as a failure.
func TestWeChatSideGoneMidRun(t *testing.T) {
	for _, c := range []struct {
		name string
		sig  syscall.Signal
		// apart: the devices run in a process of their own, which the
		// fault does not touch.
		apart bool
	}{
		{"killed", syscall.SIGKILL, false},
		{"frozen", syscall.SIGSTOP, false},
		{"frozen-devices-apart", syscall.SIGSTOP, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var side *simProc
			var devices []simDevice
			if c.apart {
				side = startSim(t, 1, "farm")
				devices = startSim(t, 2, "devices", "-wechat", side.URL).Devices
			} else {
				side = startSim(t, 2, "farm")
				devices = side.Devices
			}
			farmFile := urlFarm(t, side.URL, side.Token, devices)
			reports := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd, out := startRun(ctx, t, "-devices", farmFile, "-reports", reports, "-run-id", "wechat", "-label-filter", "launch")
			runDir := filepath.Join(reports, "wechat")
			awaitPassed(t, cmd, out, runDir, 4, 2*time.Minute)
			if err := side.cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			code, took := waitRun(t, cmd, out, 60*time.Second)
			res := checkNoProductFailure(t, runDir, cmd.Process.Pid)
			end := res.Summarize()
			byCause := map[report.LostTo]int{}
			for _, s := range res.Cells() {
				if s.State == report.StateLost {
					byCause[s.LostTo]++
				}
			}
			t.Logf("%s: the run ended %v after the fault, exit %d: %d passed, %d lost %v, %d quarantined",
				c.name, took.Round(100*time.Millisecond), code, end.Passed, end.Lost, byCause, end.Quarantined)
			if code != exitInfra {
				t.Errorf("exit %d, want %d (infrastructure only)\n%s", code, exitInfra, tail(out.String()))
			}
			lostIncident := false
			for _, in := range res.Incidents {
				lostIncident = lostIncident || (in.What == report.IncidentWeChatLost && in.Addr == side.URL)
			}
			if !lostIncident {
				t.Errorf("no wechat-lost incident for %s in results.jsonl: %+v", side.URL, res.Incidents)
			}
			html, err := os.ReadFile(filepath.Join(runDir, report.HTMLFile))
			if err != nil || !strings.Contains(string(html), report.IncidentWeChatLost) {
				t.Errorf("report.html does not show the wechat-lost incident (%v)", err)
			}
			if !strings.Contains(out.String(), "incident: wechat-lost") {
				t.Errorf("the summary does not name the incident:\n%s", tail(out.String()))
			}
			if end.Lost+end.Quarantined == 0 {
				t.Errorf("no cell lost or quarantined after the WeChat side went away")
			}
			if c.apart {
				// The devices answer all along: every cell that could not
				// run is the WeChat side's, including the one waiting for a
				// push when it froze.
				if byCause[report.LostToWeChat] == 0 || byCause[report.LostToDevice] > 0 || end.Quarantined > 0 {
					t.Errorf("the devices were fine, yet lost cells by cause %v and %d quarantined; want every lost cell lost to the WeChat side",
						byCause, end.Quarantined)
				}
				for _, d := range res.Devices {
					if d.Status != report.DeviceHealthy {
						t.Errorf("device %s reported %s (%s), though it answered all along", d.Name, d.Status, d.Reason)
					}
				}
			}
		})
	}
}

// workerOf finds the worker process of device dev under the supervisor:
// a child of it whose command line has -worker-plan …/workers/DEV-N.
func workerOf(t *testing.T, supervisor int, dev string) int {
	t.Helper()
	want := string(filepath.Separator) + "workers" + string(filepath.Separator) + report.SafeName(dev) + "-"
	for _, pid := range children(supervisor) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "-worker-plan" && i+1 < len(args) && strings.Contains(args[i+1], want) {
				return pid
			}
		}
	}
	return 0
}

// children lists the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(p); ok && ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// descendants lists every process under pid.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		kids := children(queue[0])
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out
}

// procStat reads a process's parent and state from /proc/PID/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 || i+2 >= len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0], true
}

// alive reports whether pid runs (a zombie waiting to be reaped does not).
func alive(pid int) bool {
	_, st, ok := procStat(pid)
	return ok && st != 'Z' && st != 'X'
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// A worker killed in the middle of a call costs only the cell it was
// running: that cell is lost to the worker, the supervisor ends the call
// on the WeChat side, the device's other cells run in a new worker and
// none of them finds the device busy, and the supervisor has the last
// word in results.jsonl.
func TestKilledWorkerCostsOnlyItsCell(t *testing.T) {
	side := startSim(t, 2, "farm")
	farmFile := urlFarm(t, side.URL, side.Token, side.Devices)
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd, out := startRun(ctx, t, "-devices", farmFile, "-reports", reports, "-run-id", "worker", "-label-filter", "launch")
	runDir := filepath.Join(reports, "worker")
	awaitPassed(t, cmd, out, runDir, 2, 2*time.Minute)

	// Wait for a call in progress, and kill the worker that placed it.
	wc := caller.NewWithToken(side.URL, side.Token)
	var victim simDevice
	var room string
	deadline := time.Now().Add(time.Minute)
	for room == "" {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no call in progress within a minute:\n%s", tail(out.String()))
		}
		devs, err := wc.Devices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if d.ActiveRoom == "" {
				continue
			}
			for _, sd := range side.Devices {
				if sd.SN == d.SN {
					victim, room = sd, d.ActiveRoom
				}
			}
		}
		if room == "" {
			time.Sleep(5 * time.Millisecond) // the WeChat side has no event stream for the test; poll
		}
	}
	pid := workerOf(t, cmd.Process.Pid, victim.SN)
	if pid == 0 {
		_ = cmd.Process.Kill()
		t.Fatalf("no worker process for %s under the supervisor (pid %d)", victim.SN, cmd.Process.Pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("killed worker %d of %s during call %s", pid, victim.SN, room)
	code, took := waitRun(t, cmd, out, 3*time.Minute)
	res := checkNoProductFailure(t, runDir, cmd.Process.Pid)
	t.Logf("the run ended %v after the kill, exit %d", took.Round(100*time.Millisecond), code)
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "ended call") || strings.Contains(l, "ended calls") {
			t.Logf("supervisor: %s", strings.TrimSpace(l))
		}
	}

	if code != exitInfra {
		t.Errorf("exit %d, want %d (a cell lost to a worker)\n%s", code, exitInfra, tail(out.String()))
	}
	r, err := wc.Room(context.Background(), room)
	if err != nil || r.State != "ended" {
		t.Errorf("call %s on the WeChat side: state %q (%v), want ended", room, r.State, err)
	}
	if !strings.Contains(out.String(), "ended call "+room+" of "+victim.SN+" on the WeChat side (its worker died)") {
		t.Errorf("the supervisor did not end call %s of the dead worker:\n%s", room, tail(out.String()))
	}
	died := false
	for _, in := range res.Incidents {
		died = died || (in.What == report.IncidentWorkerDied && in.Device == victim.SN && in.Exit == "killed by SIGKILL")
	}
	if !died {
		t.Errorf("no worker-died incident for %s: %+v", victim.SN, res.Incidents)
	}
	lostToWorker, passedAfter := 0, 0
	for _, s := range res.Specs {
		if s.Device != victim.SN {
			continue
		}
		if strings.Contains(s.Failure+s.Reason, "busy") {
			t.Errorf("%s: the device was found busy: %s", s.TestName(), firstNonEmptyText(s.Failure, s.Reason))
		}
		if s.State == report.StateLost && s.LostTo == report.LostToWorker {
			lostToWorker++
		}
		if s.State == report.StatePassed && s.Finished.After(killed) {
			passedAfter++
		}
	}
	cells := 0
	for _, s := range res.Cells() {
		if s.Device != victim.SN {
			continue
		}
		cells++
		if s.State != report.StatePassed && !(s.State == report.StateLost && s.LostTo == report.LostToWorker) {
			t.Errorf("%s: %s (%s), want passed, or lost to the killed worker", s.TestName(), s.State, firstNonEmptyText(s.Failure, s.Reason))
		}
	}
	if lostToWorker != 1 {
		t.Errorf("%d cells of %s lost to the worker, want the 1 it was running", lostToWorker, victim.SN)
	}
	if passedAfter == 0 {
		t.Errorf("no cell of %s passed after its worker was killed", victim.SN)
	}
	logs, _ := filepath.Glob(filepath.Join(runDir, "workers", report.SafeName(victim.SN)+"-*.log"))
	if len(logs) < 2 {
		t.Errorf("worker logs of %s: %v, want the killed worker's and its successor's", victim.SN, logs)
	}
	t.Logf("%s: %d cells, 1 lost to the worker, %d passed after the kill, %d workers", victim.SN, cells, passedAfter, len(logs))
}

// startRunSplit is startRun with stdout (where the summary goes) apart
// from stderr (progress).
func startRunSplit(ctx context.Context, t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd := exec.CommandContext(ctx, bin, append([]string{"run"}, args...)...)
	cmd.Dir = root(t)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}

// twoSimulated is a farm of two simulated devices the run starts itself.
const twoSimulated = `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
budgets: ROOT/fixtures/budgets.yaml
profiles: ROOT/fixtures/profiles
simulated:
  - {count: 2, profile: panel}
`

// SIGINT ends a run with 130 and SIGTERM with 143; the summary on stdout
// says the run was interrupted, and by which signal.
func TestSignalsEndTheRunAsInterrupted(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGINT, "SIGINT", exitInterrupted},
		{syscall.SIGTERM, "SIGTERM", exitTerminated},
	} {
		t.Run(c.name, func(t *testing.T) {
			farmFile := writeFarm(t, twoSimulated)
			reports := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd, stdout, stderr := startRunSplit(ctx, t, "-devices", farmFile, "-reports", reports, "-run-id", "sig", "-label-filter", "launch")
			runDir := filepath.Join(reports, "sig")
			awaitPassed(t, cmd, &strings.Builder{}, runDir, 2, 2*time.Minute)
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			code, took := waitRun(t, cmd, stderr, 60*time.Second)
			t.Logf("%s: exit %d, %v after the signal", c.name, code, took.Round(100*time.Millisecond))
			if code != c.code {
				t.Errorf("exit %d after %s, want %d\n%s", code, c.name, c.code, tail(stderr.String()))
			}
			summary := stdout.String()
			for _, want := range []string{report.VerdictInterrupted + ":", "interrupted by " + c.name, " interrupted;"} {
				if !strings.Contains(summary, want) {
					t.Errorf("the summary on stdout lacks %q:\n%s", want, summary)
				}
			}
			last := lastRecord(t, runDir)
			if last.Kind != report.KindEnd || last.End.Signal != c.name || last.End.ExitCode != c.code || last.Process != cmd.Process.Pid {
				t.Errorf("last record %+v, want the supervisor's end record with signal %s and exit %d", last, c.name, c.code)
			}
		})
	}
	// run -h documents both.
	help, _ := exec.Command(bin, "run", "-h").CombinedOutput()
	for _, want := range []string{"130  interrupted by SIGINT", "143 by SIGTERM"} {
		if !strings.Contains(string(help), want) {
			t.Errorf("wmpf-hil run -h does not document %q:\n%s", want, help)
		}
	}
}

// wmpf-hil killed with SIGKILL mid-run — no signal handler, no deferred
// cleanup — leaves nothing running: within 10 s its workers, its adb
// server and its simulated farm (in its own process) are gone.
func TestKilledRunLeavesNoProcesses(t *testing.T) {
	farmFile := writeFarm(t, twoSimulated)
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, out := startRun(ctx, t, "-devices", farmFile, "-reports", reports, "-run-id", "kill9", "-label-filter", "launch")
	runDir := filepath.Join(reports, "kill9")
	awaitPassed(t, cmd, out, runDir, 2, 2*time.Minute)
	left := killRun(t, cmd, runDir, nil)
	if left.workers == 0 || left.adbServers == 0 {
		t.Errorf("before the kill: %d workers and %d adb servers under the run; want both", left.workers, left.adbServers)
	}
}

// The same with the simulated farm in a Docker container: the container
// (and its network) goes too, removed by the farm's watchdog, which then
// exits.
func TestKilledRunLeavesNoContainer(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	reports := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd, out := startRun(ctx, t, "-devices", filepath.Join(root(t), "fixtures", "farms", "container.yaml"),
		"-reports", reports, "-run-id", "kill9box", "-label-filter", "launch")
	runDir := filepath.Join(reports, "kill9box")
	awaitPassed(t, cmd, out, runDir, 2, 3*time.Minute)
	res, err := report.ReadDir(runDir)
	if err != nil || len(res.Devices) == 0 || res.Devices[0].Container == "" {
		t.Fatalf("no device record naming its container: %v", err)
	}
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	box := res.Devices[0].Container
	defer docker.ContainerRemove(context.Background(), box, client.ContainerRemoveOptions{Force: true}) // if the test fails
	left := killRun(t, cmd, runDir, func() string {
		if _, err := docker.ContainerInspect(ctx, box, client.ContainerInspectOptions{}); err == nil {
			return "container " + box[:12] + " is still there"
		}
		return ""
	})
	if left.others == 0 {
		t.Errorf("no process besides the workers and the adb server ran under the run: where was the farm's watchdog?")
	}
}

// runProcs is what ran under a run before it was killed.
type runProcs struct {
	workers, adbServers, others int
}

// killRun kills the run with SIGKILL and checks that within 10 s no
// process it started runs, no simulated device of its farm answers, and
// gone (when not nil) says nothing is left.
func killRun(t *testing.T, cmd *exec.Cmd, runDir string, gone func() string) runProcs {
	t.Helper()
	res, err := report.ReadDir(runDir)
	if err != nil {
		t.Fatal(err)
	}
	var serials []string
	seen := map[string]bool{}
	for _, d := range res.Devices {
		if d.Serial != "" && d.Simulated && !seen[d.Serial] {
			seen[d.Serial] = true
			serials = append(serials, d.Serial)
		}
	}
	under := descendants(cmd.Process.Pid)
	var procs runProcs
	what := map[int]string{}
	for _, p := range under {
		line := cmdline(p)
		what[p] = line
		switch {
		case strings.Contains(line, "-worker-plan"):
			procs.workers++
		case strings.Contains(line, "adb") && strings.Contains(line, " server"):
			procs.adbServers++
		default:
			procs.others++
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	for {
		var running []string
		for _, p := range under {
			if alive(p) && cmdline(p) == what[p] {
				running = append(running, fmt.Sprintf("%d %s", p, what[p]))
			}
		}
		for _, s := range serials {
			if c, err := net.DialTimeout("tcp", s, 200*time.Millisecond); err == nil {
				c.Close()
				running = append(running, "simulated device "+s+" still answers")
			}
		}
		if gone != nil {
			if left := gone(); left != "" {
				running = append(running, left)
			}
		}
		if len(running) == 0 {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("10 s after wmpf-hil was killed, still running:\n  %s", strings.Join(running, "\n  "))
		}
		time.Sleep(20 * time.Millisecond) // another process's end has no event here; poll
	}
	t.Logf("killed mid-run: %d workers, %d adb servers, %d other processes and %d simulated devices gone %v after the kill",
		procs.workers, procs.adbServers, procs.others, len(serials), time.Since(killed).Round(time.Millisecond))
	return procs
}

func firstNonEmptyText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
