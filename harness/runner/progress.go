package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// progress is what a run has done, told as it goes: each cell that did not
// pass as it ends, each device as it finishes, and every few seconds the
// cells done of the total, what each worker is running, and an estimate of
// the time left.
type progress struct {
	logf func(string, ...any)

	mu      sync.Mutex
	total   int
	perDev  map[string]*devProgress
	counts  map[report.State]int
	done    int
	started time.Time
	first   time.Time
}

type devProgress struct {
	total, done int
	counts      map[report.State]int
	running     string
	began       time.Time
	workers     int
}

func newProgress(cells []framework.Cell, logf func(string, ...any)) *progress {
	p := &progress{logf: logf, perDev: map[string]*devProgress{}, counts: map[report.State]int{}, started: time.Now()}
	p.addCells(cells)
	return p
}

func (p *progress) dev(name string) *devProgress {
	d := p.perDev[name]
	if d == nil {
		d = &devProgress{counts: map[report.State]int{}}
		p.perDev[name] = d
	}
	return d
}

func (p *progress) addCells(cells []framework.Cell) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cells {
		p.total++
		p.dev(c.Target()).total++
	}
}

// add counts retries' cells.
func (p *progress) add(jobs []job) {
	for _, j := range jobs {
		p.addCells(j.cells)
	}
}

func (p *progress) deviceStarted(dev string, worker int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dev(dev)
	d.workers++
	if d.began.IsZero() {
		d.began = time.Now()
	}
}

func (p *progress) deviceEnded(dev string, worker int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dev(dev)
	d.workers--
	d.running = ""
}

// started notes a cell starting.
func (p *progress) cellStarted(s *report.StartInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		p.first = time.Now()
	}
	on := s.Device
	if s.OnDevice != "" {
		on = s.OnDevice
	}
	p.dev(on).running = s.Spec
}

// cellEnded notes a cell's result.
func (p *progress) cellEnded(s *report.SpecResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	on := s.Device
	if n := len(s.Attempts); n > 0 && s.Attempts[n-1].OnDevice != "" {
		on = s.Attempts[n-1].OnDevice
	}
	d := p.dev(on)
	d.done++
	d.counts[s.State]++
	d.running = ""
	p.done++
	p.counts[s.State]++
	defer func() {
		if d.done == d.total {
			p.logf("%s done: %d cells (%s) in %v", on, d.done, countsText(d.counts), time.Since(d.began).Round(100*time.Millisecond))
		}
	}()
	switch s.State {
	case report.StatePassed, report.StateSkipped:
	default:
		why := firstLine(s.Failure)
		if why == "" {
			why = s.Reason
		}
		p.logf("%-11s %s: %s", strings.ToUpper(string(s.State)), framework.CellName(s.Name, s.Device), clipText(why, 160))
	}
}

// report prints where the run is.
func (p *progress) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total == 0 {
		return
	}
	var running []string
	var names []string
	for n := range p.perDev {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := p.perDev[n]
		if d.running != "" {
			running = append(running, fmt.Sprintf("%s %d/%d %q", n, d.done, d.total, clipText(d.running, 50)))
		}
	}
	eta := "?"
	if p.done > 0 && !p.first.IsZero() {
		left := time.Duration(float64(time.Since(p.first)) * float64(p.total-p.done) / float64(p.done))
		eta = left.Round(time.Second).String()
	}
	line := fmt.Sprintf("progress: %d/%d cells (%s), ETA %s", p.done, p.total, countsText(p.counts), eta)
	if len(running) > 0 {
		shown := running
		if len(shown) > 6 {
			shown = append(shown[:6:6], fmt.Sprintf("and %d more", len(running)-6))
		}
		line += "; running: " + strings.Join(shown, ", ")
	}
	p.logf("%s", line)
}

func countsText(c map[report.State]int) string {
	var parts []string
	for _, st := range report.States {
		if c[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[st], st))
		}
	}
	if len(parts) == 0 {
		return "none yet"
	}
	return strings.Join(parts, ", ")
}

// followResults reads results.jsonl as workers append to it and tells the
// progress, until ctx ends (then reads what is left).
func (r *run) followResults(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for {
		r.tail.poll()
		if time.Since(last) >= 10*time.Second {
			r.progress.report()
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			r.tail.poll() // what was written before the end
			return
		case <-tick.C:
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func clipText(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
