// Command gatecheck checks the release gate end to end on a simulated
// farm, with the built wmpf-hil: does it cry wolf, and does it miss a
// real slowdown?
//
//   - A/A: pairs of short benchmark runs of the same build (the farm as
//     it is); each pair compared at alpha 0.05 and at the default alpha.
//   - A/B: pairs of runs of the farm as it is and of the same farm with
//     its launch stage scaled (stageScale, 1.3× by default), as long as
//     the plan from the A/A runs says a 30% launch slowdown needs.
//   - Every gated run's verdicts (bench -baseline, gate.json) against
//     wmpf-hil compare on the two kept runs.
//
// It prints the figures and writes them to WORK/gate-check.md; it exits 1
// when a figure misses its mark. Runs already in WORK are not run again
// (-fresh runs them all), so an interrupted check goes on where it
// stopped.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/gate"
	"github.com/wmpf-hil/wmpf-hil/harness/loadgen"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// options are the check's flags.
type options struct {
	devices, work, arrival string
	pairs                  int
	aaDuration             time.Duration
	abDuration             string
	abMax                  time.Duration
	stage                  string
	scale                  float64
	fresh                  bool
}

func main() {
	var o options
	flag.StringVar(&o.devices, "devices", "devices.yaml", "the farm (simulated groups get the stage scaled for the B runs)")
	flag.StringVar(&o.work, "work", "reports/gate-check", "directory for the runs, logs and gate-check.md")
	flag.StringVar(&o.arrival, "arrival", "poisson:2/s", "call arrivals of every run")
	flag.IntVar(&o.pairs, "pairs", 20, "pairs of runs for A/A and for A/B")
	flag.DurationVar(&o.aaDuration, "aa-duration", 30*time.Second, "length of each A/A run")
	flag.StringVar(&o.abDuration, "ab-duration", "plan", `length of each A/B run, or "plan": what the plan from the A/A runs says the slowdown needs`)
	flag.DurationVar(&o.abMax, "ab-max", 5*time.Minute, "with -ab-duration plan, the longest A/B run")
	flag.StringVar(&o.stage, "stage", "launch", "the stage the B farm scales")
	flag.Float64Var(&o.scale, "scale", 1.3, "how much slower the B farm's stage is")
	flag.BoolVar(&o.fresh, "fresh", false, "run everything again, even runs already in -work")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatecheck: %v\n", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// checker runs benchmarks with one built wmpf-hil.
type checker struct {
	o               options
	root, bin, runs string
	arrival         loadgen.Arrival
	log             io.Writer
}

func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	a, err := loadgen.ParseArrival(o.arrival)
	if err != nil {
		return false, fmt.Errorf("-arrival: %w", err)
	}
	if o.pairs < 1 {
		return false, fmt.Errorf("-pairs %d: allowed 1 or more", o.pairs)
	}
	if o.abDuration != "plan" {
		if _, err := time.ParseDuration(o.abDuration); err != nil {
			return false, fmt.Errorf(`-ab-duration %q: want a duration like 90s, or "plan"`, o.abDuration)
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return false, err
	}
	work, _ := filepath.Abs(o.work)
	c := &checker{o: o, root: root, runs: filepath.Join(work, "runs"), arrival: a, log: out}
	if err := os.MkdirAll(filepath.Join(work, "logs"), 0o755); err != nil {
		return false, err
	}
	c.bin = filepath.Join(work, "wmpf-hil")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/wmpf-hil")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return false, fmt.Errorf("build wmpf-hil: %v\n%s", err, b)
	}
	devA, _ := filepath.Abs(o.devices)
	devB, err := scaledFarm(devA, filepath.Join(work, "farm-b.yaml"), o.stage, o.scale)
	if err != nil {
		return false, err
	}
	var rep strings.Builder
	w := io.MultiWriter(out, &rep)
	fmt.Fprintf(w, "# Release gate check\n\nwmpf-hil built from %s; farm %s; arrival %s; %d pairs each.\n\n", root, devA, a, o.pairs)

	// A/A.
	fmt.Fprintf(w, "## A/A: runs of the same build, %v each\n\n", o.aaDuration)
	var aaGated []pairRun
	for i := 1; i <= o.pairs; i++ {
		first, second := fmt.Sprintf("aa-%02d-1", i), fmt.Sprintf("aa-%02d-2", i)
		if _, err := c.bench(ctx, first, devA, o.aaDuration, ""); err != nil {
			return false, err
		}
		code, err := c.bench(ctx, second, devA, o.aaDuration, filepath.Join(c.runs, first))
		if err != nil {
			return false, err
		}
		aaGated = append(aaGated, pairRun{base: first, now: second, benchExit: code})
	}
	aa05, aaDef, aaSig, aaCalls := 0, 0, 0, 0
	for i := range aaGated {
		p := &aaGated[i]
		r05, err := c.compare(ctx, p, 0.05)
		if err != nil {
			return false, err
		}
		rDef, err := c.compare(ctx, p, gate.DefaultConfig().Alpha)
		if err != nil {
			return false, err
		}
		if r05.Regressed() {
			aa05++
		}
		if rDef.Regressed() {
			aaDef++
		}
		if rDef.Count(gate.Regression)+rDef.Count(gate.Improvement) > 0 {
			aaSig++
		}
		aaCalls += p.calls
		p.detail(w, rDef, r05)
	}
	fmt.Fprintf(w, "\nA/A: %d of %d pairs flagged a regression at alpha 0.05 (mark: at most 1), %d at the default alpha %g (mark: 0); %d with any significant change (regression or improvement) at the default alpha; %.0f calls a run on average.\n\n",
		aa05, o.pairs, aaDef, gate.DefaultConfig().Alpha, aaSig, float64(aaCalls)/float64(o.pairs))

	// How long the A/B runs must be.
	abDur, planText, err := c.abLength(aaGated)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "## A/B: %s %g× slower, %v each\n\n%s\n", o.stage, o.scale, abDur, planText)
	var abGated []pairRun
	for i := 1; i <= o.pairs; i++ {
		first, second := fmt.Sprintf("ab-%02d-a", i), fmt.Sprintf("ab-%02d-b", i)
		if _, err := c.bench(ctx, first, devA, abDur, ""); err != nil {
			return false, err
		}
		code, err := c.bench(ctx, second, devB, abDur, filepath.Join(c.runs, first))
		if err != nil {
			return false, err
		}
		abGated = append(abGated, pairRun{base: first, now: second, benchExit: code})
	}
	want := o.scale - 1
	found := map[string]int{}
	covered := map[string]int{}
	others, exit4 := 0, 0
	// The figures a slower stage makes slower: the stage (cold and warm)
	// and the totals.
	affected := func(fig string) bool {
		return strings.HasPrefix(fig, o.stage) || fig == "total" || fig == "total-intended"
	}
	for i := range abGated {
		p := &abGated[i]
		res, err := c.compare(ctx, p, gate.DefaultConfig().Alpha)
		if err != nil {
			return false, err
		}
		if p.benchExit == 4 {
			exit4++
		}
		for _, cm := range res.Comparisons {
			if cm.Verdict == gate.Regression && !affected(cm.Figure) {
				others++
			}
			if cm.Model != gate.AllModels || cm.Stat != gate.Centre {
				continue
			}
			if cm.Verdict == gate.Regression {
				found[cm.Figure]++
			}
			if cm.Lo <= want && cm.Hi >= want {
				covered[cm.Figure]++
			}
		}
		p.detail(w, res, nil)
	}
	stageFig := o.stage + "-warm"
	if _, ok := found[o.stage]; ok {
		stageFig = o.stage
	}
	fmt.Fprintf(w, "\nA/B: %s over all models flagged a regression in %d of %d pairs (mark: at least %d), its interval holding %+.0f%% in %d; total in %d, total-intended in %d; regressions flagged in a figure that does not include the %s: %d; bench exited 4 in %d of %d (1: a call over its budget, before the gate).\n\n",
		stageFig, found[stageFig], o.pairs, o.pairs-o.pairs/20, 100*want, covered[stageFig], found["total"], found["total-intended"], o.stage, others, exit4, o.pairs)

	// bench -baseline and compare agree.
	agree, disagreements := 0, []string{}
	for _, p := range append(aaGated, abGated...) {
		d, err := c.agree(ctx, p)
		if err != nil {
			return false, err
		}
		if d == "" {
			agree++
		} else {
			disagreements = append(disagreements, p.now+": "+d)
		}
	}
	n := len(aaGated) + len(abGated)
	fmt.Fprintf(w, "## bench -baseline and compare\n\ncompare on the two kept runs gave the verdicts of the gated bench in %d of %d pairs (mark: all).\n", agree, n)
	for _, d := range disagreements {
		fmt.Fprintf(w, "- %s\n", d)
	}
	pass := aa05 <= 1 && aaDef == 0 && found[stageFig] >= o.pairs-o.pairs/20 && covered[stageFig] >= o.pairs-o.pairs/20 && agree == n
	fmt.Fprintf(w, "\n%s\n", map[bool]string{true: "PASS: every mark met", false: "FAIL: a mark missed (see above)"}[pass])
	if err := os.WriteFile(filepath.Join(work, "gate-check.md"), []byte(rep.String()), 0o644); err != nil {
		return false, err
	}
	return pass, nil
}

// pairRun is a gated pair: the baseline's run id, the gated run's, and
// how bench exited.
type pairRun struct {
	base, now string
	benchExit int
	calls     int
}

// detail prints a pair's line: what the gate said.
func (p *pairRun) detail(w io.Writer, res, at05 *gate.Result) {
	var flagged []string
	for _, c := range res.Comparisons {
		if c.Verdict == gate.Regression || c.Verdict == gate.Improvement {
			flagged = append(flagged, fmt.Sprintf("%s %s %s %s %+.1f%% [%+.1f%%, %+.1f%%]", c.Figure, c.Model, c.Stat, c.Verdict, 100*c.Change, 100*c.Lo, 100*c.Hi))
		}
	}
	line := fmt.Sprintf("- %s vs %s: bench exit %d, %d tested", p.now, p.base, p.benchExit, res.Tested)
	if at05 != nil {
		line += fmt.Sprintf(", at 0.05: %d regressions", at05.Count(gate.Regression))
	}
	if len(flagged) > 0 {
		line += "; " + strings.Join(flagged, "; ")
	}
	fmt.Fprintln(w, line)
}

// bench runs one benchmark (or finds it done) and returns its exit status.
func (c *checker) bench(ctx context.Context, id, devices string, d time.Duration, baseline string) (int, error) {
	dir := filepath.Join(c.runs, id)
	exitFile := dir + ".exit"
	if !c.o.fresh {
		if b, err := os.ReadFile(exitFile); err == nil {
			if code, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return code, nil
			}
		}
	}
	os.RemoveAll(dir)
	args := []string{"bench", "-devices", devices, "-reports", c.runs, "-run-id", id, "-arrival", c.arrival.String(), "-duration", d.String()}
	if baseline != "" {
		args = append(args, "-baseline", baseline)
	}
	logf, err := os.Create(filepath.Join(filepath.Dir(c.runs), "logs", id+".log"))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	rctx, cancel := context.WithTimeout(ctx, d+10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, c.bin, args...)
	cmd.Dir = c.root
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 2 * time.Minute
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	code := cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, fmt.Errorf("%s: %w", id, err)
	}
	fmt.Fprintf(c.log, "  ran %s (%v): exit %d\n", id, time.Since(start).Round(time.Second), code)
	// Exit 1 is a call over its budget (a slower farm makes some), 3 a
	// device lost: the calls measured are still a run to judge. Without
	// its figures (or, gated, its judgement) there is nothing to check.
	if f, err := report.ReadBench(filepath.Join(dir, report.BenchFile)); err != nil || f.Calls == 0 {
		return code, fmt.Errorf("%s: bench exited %d without figures (%v): see %s", id, code, err, logf.Name())
	}
	if baseline != "" {
		if _, err := report.ReadGate(dir); err != nil {
			return code, fmt.Errorf("%s: bench exited %d without its judgement (%v): see %s", id, code, err, logf.Name())
		}
	}
	return code, os.WriteFile(exitFile, []byte(strconv.Itoa(code)+"\n"), 0o644)
}

// compare runs wmpf-hil compare on a pair at alpha, returning its
// judgement (and checking that its exit status matches it).
func (c *checker) compare(ctx context.Context, p *pairRun, alpha float64) (*gate.Result, error) {
	js := filepath.Join(filepath.Dir(c.runs), "logs", fmt.Sprintf("%s-compare-%g.json", p.now, alpha))
	cmd := exec.CommandContext(ctx, c.bin, "compare", "-alpha", strconv.FormatFloat(alpha, 'g', -1, 64), "-json", js,
		filepath.Join(c.runs, p.base), filepath.Join(c.runs, p.now))
	cmd.Dir = c.root
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if code != 0 && code != 4 {
		return nil, fmt.Errorf("compare %s %s: exit %d (%v)\n%s", p.base, p.now, code, err, out)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		return nil, err
	}
	var g report.GateReport
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", js, err)
	}
	if (code == 4) != g.Result.Regressed() {
		return nil, fmt.Errorf("compare %s %s: exit %d but %d regressions", p.base, p.now, code, g.Result.Count(gate.Regression))
	}
	p.calls = g.Calls
	return g.Result, nil
}

// agree compares the gated bench's gate.json with compare at the default
// alpha: "" when every verdict is the same.
func (c *checker) agree(ctx context.Context, p pairRun) (string, error) {
	g, err := report.ReadGate(filepath.Join(c.runs, p.now))
	if err != nil {
		return "", err
	}
	res, err := c.compare(ctx, &p, gate.DefaultConfig().Alpha)
	if err != nil {
		return "", err
	}
	// bench exits 1 or 3 for the suites' own reasons before 4.
	if (p.benchExit == 0 || p.benchExit == 4) && (p.benchExit == 4) != res.Regressed() {
		return fmt.Sprintf("bench exited %d, compare found %d regressions", p.benchExit, res.Count(gate.Regression)), nil
	}
	if len(g.Result.Comparisons) != len(res.Comparisons) {
		return fmt.Sprintf("%d comparisons in gate.json, %d from compare", len(g.Result.Comparisons), len(res.Comparisons)), nil
	}
	var d []string
	for i, a := range g.Result.Comparisons {
		b := res.Comparisons[i]
		if a.Figure != b.Figure || a.Model != b.Model || a.Stat != b.Stat || a.Verdict != b.Verdict {
			d = append(d, fmt.Sprintf("%s %s %s: %s vs %s", a.Figure, a.Model, a.Stat, a.Verdict, b.Verdict))
		}
	}
	return strings.Join(d, "; "), nil
}

// abLength is how long the A/B runs are: -ab-duration, or the plan from
// all A/A runs put together for a slowdown of the scale in the stage
// over all models, and in total by the share of total the stage is.
func (c *checker) abLength(aa []pairRun) (time.Duration, string, error) {
	if c.o.abDuration != "plan" {
		d, _ := time.ParseDuration(c.o.abDuration)
		return d, "", nil
	}
	var paths []string
	for _, p := range aa {
		paths = append(paths, filepath.Join(c.runs, p.base), filepath.Join(c.runs, p.now))
	}
	base, err := report.ReadBenchSet(strings.Join(paths, ","))
	if err != nil {
		return 0, "", err
	}
	s, err := base.GateSamples()
	if err != nil {
		return 0, "", err
	}
	stageFig := c.o.stage + "-warm"
	if _, ok := s[c.o.stage]; ok {
		stageFig = c.o.stage
	}
	rate := c.arrival.MeanRate()
	// Planned for 99% power: at 95%, 19 or more of 20 pairs come out only
	// 74% of the time (Binomial(20, 0.95)); at 99%, 98%.
	cfg := gate.DefaultConfig()
	cfg.Power = 0.99
	plan := func(detect float64) (*gate.Plan, error) {
		return gate.MakePlan(gate.PlanConfig{Gate: cfg, Detect: detect, Calls: base.Calls, MaxCalls: int(rate * c.o.abMax.Seconds() * 4), Seed: 1}, s)
	}
	stagePlan, err := plan(c.o.scale - 1)
	if err != nil {
		return 0, "", err
	}
	// The stage's share of the total: how much slower total gets.
	median := func(v []float64) float64 {
		w := append([]float64(nil), v...)
		sort.Float64s(w)
		return w[len(w)/2]
	}
	var stageAll, totalAll []float64
	for _, v := range s[stageFig] {
		stageAll = append(stageAll, v...)
	}
	for _, v := range s["total"] {
		totalAll = append(totalAll, v...)
	}
	totalChange := (c.o.scale - 1) * median(stageAll) / median(totalAll)
	calls := 0
	var text strings.Builder
	row := func(p *gate.Plan, fig string, detect float64) {
		for _, r := range p.Rows {
			if r.Figure == fig && r.Model == gate.AllModels {
				fmt.Fprintf(&text, "Plan from the %d A/A runs put together (%d calls), for 99%% power: to find %s %+.0f%% over all models, %d calls a run (simulated power %.3f).\n",
					2*len(aa), base.Calls, fig, 100*detect, r.Calls, r.Power)
				if r.Calls == 0 {
					calls = math.MaxInt
				}
				calls = max(calls, r.Calls)
			}
		}
	}
	row(stagePlan, stageFig, c.o.scale-1)
	if totalChange > cfg.MinEffect*1.5 {
		totalPlan, err := plan(totalChange)
		if err != nil {
			return 0, "", err
		}
		row(totalPlan, "total", totalChange)
	}
	d := time.Duration(float64(calls)/rate*float64(time.Second)) + 9*time.Second
	d = d.Truncate(10 * time.Second)
	if calls == math.MaxInt || d > c.o.abMax {
		fmt.Fprintf(&text, "That is longer than -ab-max; the runs are %v.\n", c.o.abMax)
		d = c.o.abMax
	}
	return max(d, 10*time.Second), text.String(), nil
}

// scaledFarm writes a copy of the farm file whose simulated groups have
// the stage scaled, with its relative paths made absolute.
func scaledFarm(src, dst, stage string, scale float64) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var farm map[string]any
	if err := yaml.Unmarshal(b, &farm); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	for _, k := range []string{"budgets", "profiles"} {
		if p, ok := farm[k].(string); ok && !filepath.IsAbs(p) {
			farm[k] = filepath.Join(filepath.Dir(src), p)
		}
	}
	groups, _ := farm["simulated"].([]any)
	if len(groups) == 0 {
		return "", fmt.Errorf("%s: no simulated groups to slow down", src)
	}
	for _, g := range groups {
		if m, ok := g.(map[string]any); ok {
			m["stageScale"] = map[string]float64{stage: scale}
		}
	}
	out, err := yaml.Marshal(farm)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, out, 0o644)
}

// moduleRoot finds the source tree (go.mod with cmd/wmpf-hil) from the
// working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cmd", "wmpf-hil")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run gatecheck inside the wmpf-hil source tree (no cmd/wmpf-hil above %s)", dir)
		}
	}
}
