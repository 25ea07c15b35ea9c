package proctree

import (
	"context"
	"errors"
	"maps"
	"sort"
	"sync"
	"time"
)

// Summary is what a Sampler saw of a tree over its life.
type Summary struct {
	// Samples taken; Errors are samples that failed for another reason
	// than the root being gone (the last such error is Err).
	Samples, Errors int
	Err             error
	// PeakRSS is the largest sum of the tree's VmRSS in one sample, at
	// PeakAt after the sampler started, with PeakProcs processes; Peak is
	// that sample.
	PeakRSS   int64
	PeakAt    time.Duration
	PeakProcs int
	Peak      Snapshot
	// PeakAnon is the largest sum of the tree's RssAnon in one sample.
	PeakAnon int64
	// MaxProcs is the most processes in one sample.
	MaxProcs int
	// Procs is every process seen, as last seen: its CPU is its CPU time
	// at the last sample before it exited (a process that lived less than
	// one interval may be missing).
	Procs []Proc
	// Duration is from Start to Stop.
	Duration time.Duration
	// MaxFDs is the most files one process of each name had open at once,
	// and FDLimits the lowest soft limit of open files a process of that
	// name had.
	MaxFDs, FDLimits map[string]int
}

// CPU is the CPU time of the processes seen, summed; by role when role is
// not nil (role "" leaves a process out).
func (s Summary) CPU(role func(Proc) string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, p := range s.Procs {
		r := "all"
		if role != nil {
			r = role(p)
		}
		if r != "" {
			out[r] += p.CPU
		}
	}
	return out
}

// Sampler samples a tree of processes at a fixed interval.
type Sampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	start  time.Time
	set    settings

	mu    sync.Mutex
	sum   Summary
	last  map[int]Proc
	cache map[int]once
}

// Option tunes a Sampler.
type Option func(*settings)

type settings struct {
	withoutRoot bool
}

// WithoutRoot leaves the root process itself out of every figure: for a
// program that samples the processes it started.
func WithoutRoot() Option { return func(s *settings) { s.withoutRoot = true } }

// Start samples root's tree every interval (at least 10 ms) until Stop,
// ctx's end, or the root's exit. The first sample is taken at once.
func Start(ctx context.Context, root int, every time.Duration, opts ...Option) *Sampler {
	return startIn(ctx, "/proc", root, every, opts...)
}

func newSampler(opts []Option) *Sampler {
	s := &Sampler{done: make(chan struct{}), start: time.Now(), last: map[int]Proc{}, cache: map[int]once{},
		sum: Summary{MaxFDs: map[string]int{}, FDLimits: map[string]int{}}}
	for _, o := range opts {
		o(&s.set)
	}
	return s
}

func startIn(ctx context.Context, dir string, root int, every time.Duration, opts ...Option) *Sampler {
	every = max(every, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(ctx)
	s := newSampler(opts)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if !s.sample(dir, root) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// sample takes one sample; false when the root is gone.
func (s *Sampler) sample(dir string, root int) bool {
	snap, err := treeIn(dir, root, s.cache)
	if err == nil && s.set.withoutRoot {
		snap.Procs = snap.Procs[1:]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(err, ErrNoProcess) {
		return false
	}
	if err != nil {
		s.sum.Errors++
		s.sum.Err = err
		return true
	}
	s.sum.Samples++
	rss := snap.RSS()
	if rss > s.sum.PeakRSS {
		s.sum.PeakRSS, s.sum.PeakAt, s.sum.PeakProcs, s.sum.Peak = rss, snap.At.Sub(s.start), len(snap.Procs), snap
	}
	s.sum.PeakAnon = max(s.sum.PeakAnon, snap.Anon())
	s.sum.MaxProcs = max(s.sum.MaxProcs, len(snap.Procs))
	for _, p := range snap.Procs {
		s.last[p.PID] = p
		s.sum.MaxFDs[p.Name] = max(s.sum.MaxFDs[p.Name], p.FDs)
		if l, ok := s.sum.FDLimits[p.Name]; p.FDLimit > 0 && (!ok || p.FDLimit < l) {
			s.sum.FDLimits[p.Name] = p.FDLimit
		}
	}
	return true
}

// Snapshot is what the sampler saw so far.
func (s *Sampler) Snapshot() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.sum
	sum.Duration = time.Since(s.start)
	sum.MaxFDs, sum.FDLimits = maps.Clone(s.sum.MaxFDs), maps.Clone(s.sum.FDLimits)
	sum.Procs = make([]Proc, 0, len(s.last))
	for _, p := range s.last {
		sum.Procs = append(sum.Procs, p)
	}
	sort.Slice(sum.Procs, func(i, j int) bool { return sum.Procs[i].PID < sum.Procs[j].PID })
	return sum
}

// Stop ends the sampling and returns the summary. It may be called more
// than once.
func (s *Sampler) Stop() Summary {
	s.cancel()
	<-s.done
	return s.Snapshot()
}
