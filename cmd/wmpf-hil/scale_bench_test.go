package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/proctree"
)

// The scale benchmark (make scale-bench): a farm of -scale.devices
// simulated devices, half panels and half TV boxes, on this host. It runs
// the suites' smoke and launch labels over every device (full matrix), and
// then the release benchmark at 1 call/s per device, and prints for each:
// wall time, the peak memory of every process of the harness (the
// supervisor, its workers, the adb server it started; VmRSS of the process
// tree sampled every 200 ms and summed), their CPU time (rusage of the
// supervisors and all they waited for), the most files one process had
// open, and for the benchmark the harness's own overhead (bench.json's
// "observe": how late a device's line reached the harness) at p99.
// With -scale.shards N the same farm runs as N shards at once on this host,
// each with its own adb server, merged at the end.
var (
	scaleDevices    = flag.Int("scale.devices", 200, "scale benchmark: simulated devices in the farm (half panel, half tv)")
	scaleShards     = flag.Int("scale.shards", 1, "scale benchmark: run the farm as N shards at once on this host")
	scaleProcs      = flag.Int("scale.procs", 0, "scale benchmark: wmpf-hil run -procs for the suites (0: the runner's default)")
	scaleBenchProcs = flag.Int("scale.bench-procs", 0, "scale benchmark: -procs of the release benchmark (0: one worker per device, so that every device places its calls from the start)")
	scaleRate       = flag.Float64("scale.rate", 1, "scale benchmark: calls per second per device in the release benchmark")
	scaleDuration   = flag.Duration("scale.duration", 30*time.Second, "scale benchmark: how long calls arrive in the release benchmark")
	scaleLabels     = flag.String("scale.labels", "smoke || launch", "scale benchmark: the suites' label filter")
	scaleOnly       = flag.String("scale.only", "", "scale benchmark: run one phase only: suites or bench")
	scaleReports    = flag.String("scale.reports", "", "scale benchmark: keep the runs' folders here (default: a temporary folder)")
	scaleTimeout    = flag.Duration("scale.timeout", 30*time.Minute, "scale benchmark: the -timeout of each run")
)

// scaleFarm writes the farm file of n simulated devices.
func scaleFarm(dir string, n int) (string, error) {
	panels := (n + 1) / 2
	body := fmt.Sprintf(`# %d simulated devices for the scale benchmark (cmd/wmpf-hil/scale_bench_test.go).
version: 1
adbServers:
  - name: local
    address: start
wechat:
  mode: simulated
simulated:
  - count: %d
    profile: panel
    clockOffset: ±4s
    clockDriftPPM: 80
`, n, panels)
	if tvs := n - panels; tvs > 0 {
		body += fmt.Sprintf(`  - count: %d
    profile: tv
    clockOffset: ±2500ms
    clockDriftPPM: -120
`, tvs)
	}
	p := filepath.Join(dir, fmt.Sprintf("farm-%d.yaml", n))
	return p, os.WriteFile(p, []byte(body), 0o644)
}

// phase is one measured step: N supervisors (one per shard) at once.
type phase struct {
	name    string
	wall    time.Duration
	cpu     time.Duration
	sampled proctree.Summary
	exits   []int
	runDirs []string
	logs    []string
	merged  string
}

// runPhase starts one `wmpf-hil CMD` per shard with args (and -shard i/N
// when sharded), samples every process below this one until they end, and
// merges the shards' folders.
func runPhase(ctx context.Context, b testing.TB, name, reports string, shards int, args func(shard int) []string) phase {
	b.Helper()
	ph := phase{name: name}
	var cmds []*exec.Cmd
	start := time.Now()
	for i := 1; i <= shards; i++ {
		a := args(i)
		runID := fmt.Sprintf("%s-%d", name, i)
		a = append(a, "-reports", reports, "-run-id", runID, "-timeout", scaleTimeout.String())
		if shards > 1 {
			a = append(a, "-shard", fmt.Sprintf("%d/%d", i, shards))
		}
		log := filepath.Join(reports, runID+".log")
		f, err := os.Create(log)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		cmd := exec.CommandContext(ctx, bin, a...)
		cmd.Dir = root(nil)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
		ph.runDirs = append(ph.runDirs, filepath.Join(reports, runID))
		ph.logs = append(ph.logs, log)
	}
	sampler := proctree.Start(ctx, os.Getpid(), 200*time.Millisecond, proctree.WithoutRoot())
	for _, cmd := range cmds {
		_ = cmd.Wait()
		ph.exits = append(ph.exits, cmd.ProcessState.ExitCode())
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			ph.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	ph.wall = time.Since(start)
	ph.sampled = sampler.Stop()
	ph.merged = ph.runDirs[0]
	if shards > 1 {
		ph.merged = filepath.Join(reports, name+"-merged")
		out, err := exec.CommandContext(ctx, bin, append([]string{"merge", "-allow-partial", "-o", ph.merged}, ph.runDirs...)...).CombinedOutput()
		if _, serr := os.Stat(ph.merged); serr != nil {
			b.Errorf("merging the %s shards: %v\n%s", name, err, out)
		}
	}
	return ph
}

// role names a process of the harness for the breakdown.
func role(supervisors map[int]bool) func(proctree.Proc) string {
	return func(p proctree.Proc) string {
		switch {
		case supervisors[p.PID]:
			return "supervisor"
		case p.Name == "adb":
			return "adb server"
		case len(p.Args) > 1 && p.Args[1] == "worker":
			return "worker"
		}
		return "other"
	}
}

// print writes a phase's figures.
func (ph phase) print(w io.Writer) {
	sup := map[int]bool{}
	for _, p := range ph.sampled.Procs {
		if p.PPID == os.Getpid() {
			sup[p.PID] = true
		}
	}
	byRole := role(sup)
	fmt.Fprintf(w, "%s: wall %v, exit status %v\n", ph.name, ph.wall.Round(100*time.Millisecond), ph.exits)
	fmt.Fprintf(w, "  peak memory (VmRSS summed over the tree): %.0f MiB, %v into the run, %d processes; their own (RssAnon) at most %.0f MiB\n",
		mib(ph.sampled.PeakRSS), ph.sampled.PeakAt.Round(100*time.Millisecond), ph.sampled.PeakProcs, mib(ph.sampled.PeakAnon))
	peakBy := map[string][3]float64{}
	for _, p := range ph.sampled.Peak.Procs {
		r := byRole(p)
		v := peakBy[r]
		v[0]++
		v[1] += mib(p.RSS)
		v[2] += mib(p.Anon)
		peakBy[r] = v
	}
	for _, r := range sortedKeys(peakBy) {
		v := peakBy[r]
		fmt.Fprintf(w, "    %-11s %4.0f processes %7.0f MiB (%.1f MiB each, %.1f MiB of it their own)\n", r, v[0], v[1], v[1]/v[0], v[2]/v[0])
	}
	fmt.Fprintf(w, "  most processes at once: %d (%d seen in all, %d samples)\n", ph.sampled.MaxProcs, len(ph.sampled.Procs), ph.sampled.Samples)
	fmt.Fprintf(w, "  CPU: %.1f s (rusage of the supervisors and what they waited for; %.2f of the %d cores over the wall time)\n",
		ph.cpu.Seconds(), ph.cpu.Seconds()/ph.wall.Seconds(), numCPU())
	cpu := ph.sampled.CPU(byRole)
	for _, r := range sortedKeys(cpu) {
		fmt.Fprintf(w, "    %-11s %7.1f s (as last sampled)\n", r, cpu[r].Seconds())
	}
	for _, name := range sortedKeys(ph.sampled.MaxFDs) {
		fmt.Fprintf(w, "  open files: %-9s at most %5d (soft limit %d)\n", name, ph.sampled.MaxFDs[name], ph.sampled.FDLimits[name])
	}
	res, err := report.ReadDir(ph.merged)
	if err != nil {
		fmt.Fprintf(w, "  no results: %v\n", err)
		return
	}
	end := res.Summarize()
	if res.End != nil {
		end = *res.End
	}
	fmt.Fprintf(w, "  verdict %s: %d cells: %d passed, %d failed, %d lost, %d quarantined, %d skipped; %d calls recorded; %d devices\n",
		end.Verdict, len(res.Cells()), end.Passed, end.Failed, end.Lost, end.Quarantined, end.Skipped, len(res.Calls), countHealthy(res))
	for _, c := range res.Cells() {
		if c.State == report.StateFailed || c.State == report.StateLost || c.State == report.StateQuarantined {
			why := firstLineOf(c.Failure + c.Reason)
			fmt.Fprintf(w, "    %s %s: %.160s\n", c.State, c.TestName(), why)
		}
	}
	fmt.Fprintf(w, "  reports: %s (logs %s)\n", ph.merged, strings.Join(ph.logs, ", "))
}

func countHealthy(res *report.Results) int {
	seen := map[string]bool{}
	for _, d := range res.Devices {
		if d.Status == report.DeviceHealthy {
			seen[d.Name] = true
		}
	}
	return len(seen)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func numCPU() int {
	b, err := os.ReadFile("/sys/fs/cgroup/cpu.max")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 && f[0] != "max" {
			q, _ := strconv.Atoi(f[0])
			p, _ := strconv.Atoi(f[1])
			if q > 0 && p > 0 {
				return max(1, q/p)
			}
		}
	}
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "\nprocessor")
		if strings.HasPrefix(string(b), "processor") {
			n++
		}
	}
	return max(n, 1)
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func BenchmarkScale(b *testing.B) {
	scaleRun(b, scaleOptions{devices: *scaleDevices, shards: *scaleShards, procs: *scaleProcs, benchProcs: *scaleBenchProcs,
		rate: *scaleRate, duration: *scaleDuration, labels: *scaleLabels, only: *scaleOnly, reports: *scaleReports}, b.ReportMetric)
}

// A small farm through the scale benchmark's own path — two shards, the
// suites, the release benchmark, the merge and the figures — so that the
// benchmark command keeps working between the times someone runs it.
func TestScaleBenchOnASmallFarm(t *testing.T) {
	metrics := map[string]float64{}
	scaleRun(t, scaleOptions{devices: 4, shards: 2, rate: 0.5, duration: 4 * time.Second, labels: "smoke"},
		func(v float64, unit string) { metrics[unit] = v })
	for _, m := range []string{"s-suites", "MiB-peak-suites", "s-bench", "MiB-peak-bench", "ms-overhead-p99"} {
		if metrics[m] <= 0 {
			t.Errorf("figure %s: %v, want it measured", m, metrics[m])
		}
	}
}

// scaleOptions are the -scale.* flags.
type scaleOptions struct {
	devices, shards, procs, benchProcs int
	rate                               float64
	duration                           time.Duration
	labels, only, reports              string
}

func scaleRun(b testing.TB, o scaleOptions, metric func(v float64, unit string)) {
	n, shards := o.devices, o.shards
	if n < 2 || n > 1000 || shards < 1 || shards > n {
		b.Fatalf("-scale.devices %d, -scale.shards %d: allowed 2..1000 devices and 1..devices shards", n, shards)
	}
	if o.only != "" && o.only != "suites" && o.only != "bench" {
		b.Fatalf("-scale.only %q: allowed suites, bench (or empty: both)", o.only)
	}
	reports := o.reports
	if reports == "" {
		reports = b.TempDir()
	} else if err := os.MkdirAll(reports, 0o755); err != nil {
		b.Fatal(err)
	}
	farmFile, err := scaleFarm(reports, n)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	w := os.Stdout
	fmt.Fprintf(w, "\nscale benchmark: %d simulated devices (%s), %d shard(s) on this host (%d cores)\n", n, farmFile, shards, numCPU())
	stamp := time.Now().Format("150405")

	if o.only != "bench" {
		args := []string{"run", "-devices", farmFile, "-label-filter", o.labels, "-matrix", "device"}
		if o.procs > 0 {
			args = append(args, "-procs", strconv.Itoa(o.procs))
		}
		ph := runPhase(ctx, b, "suites-"+stamp, reports, shards, func(int) []string { return args })
		ph.print(w)
		metric(ph.wall.Seconds(), "s-suites")
		metric(mib(ph.sampled.PeakRSS), "MiB-peak-suites")
		metric(ph.cpu.Seconds(), "cpu-s-suites")
		for i, code := range ph.exits {
			if code != exitPass {
				b.Errorf("suites shard %d exited %d (see %s)", i+1, code, ph.logs[i])
			}
		}
	}
	if o.only != "suites" {
		rate := o.rate * float64(n) / float64(shards) // each shard's arrival is its devices' share
		procs := o.benchProcs
		if procs == 0 {
			procs = (n + shards - 1) / shards
		}
		args := []string{"bench", "-devices", farmFile, "-arrival", fmt.Sprintf("constant:%g/s", rate), "-duration", o.duration.String(),
			"-procs", strconv.Itoa(procs)}
		ph := runPhase(ctx, b, "bench-"+stamp, reports, shards, func(int) []string { return args })
		ph.print(w)
		metric(ph.wall.Seconds(), "s-bench")
		metric(mib(ph.sampled.PeakRSS), "MiB-peak-bench")
		metric(ph.cpu.Seconds(), "cpu-s-bench")
		figs, err := report.ReadBench(ph.merged)
		if err != nil {
			b.Errorf("bench figures: %v", err)
			return
		}
		fmt.Fprintf(w, "  release benchmark: %d calls at %g calls/s over %d devices for %v\n", figs.Calls, o.rate*float64(n), n, o.duration)
		for _, fig := range []string{latency.Queue, latency.TotalIntended, "total"} {
			if s, ok := figs.Figures[fig][report.AllModels]; ok {
				fmt.Fprintf(w, "    %-15s n=%-5d p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms\n", fig, s.N, s.P50, s.P99, s.Max)
			}
		}
		if o, ok := figs.Overhead[latency.Observe]; ok {
			fmt.Fprintf(w, "  harness-added latency (observe: a device's line logged → read by the harness): n=%d p50 %.2f ms, p99 %.2f ms, max %.2f ms (target p99 < 5 ms)\n",
				o.N, o.P50, o.P99, o.Max)
			metric(o.P99, "ms-overhead-p99")
		} else {
			b.Errorf("bench.json has no harness overhead figure")
		}
	}
}
