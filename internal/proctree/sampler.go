package proctree

import (
	"context"
	"errors"
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
	// PeakAt after the sampler started, with PeakProcs processes.
	PeakRSS   int64
	PeakAt    time.Duration
	PeakProcs int
	// MaxProcs is the most processes in one sample.
	MaxProcs int
	// Procs is every process seen, as last seen: its CPU is its CPU time
	// at the last sample before it exited (a process that lived less than
	// one interval may be missing).
	Procs []Proc
	// Duration is from Start to Stop.
	Duration time.Duration
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

	mu   sync.Mutex
	sum  Summary
	last map[int]Proc
	args map[int][]string
}

// Start samples root's tree every interval (at least 10 ms) until Stop,
// ctx's end, or the root's exit. The first sample is taken at once.
func Start(ctx context.Context, root int, every time.Duration) *Sampler {
	return startIn(ctx, "/proc", root, every)
}

func startIn(ctx context.Context, dir string, root int, every time.Duration) *Sampler {
	every = max(every, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, done: make(chan struct{}), start: time.Now(), last: map[int]Proc{}, args: map[int][]string{}}
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
	snap, err := treeIn(dir, root, s.args)
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
		s.sum.PeakRSS, s.sum.PeakAt, s.sum.PeakProcs = rss, snap.At.Sub(s.start), len(snap.Procs)
	}
	s.sum.MaxProcs = max(s.sum.MaxProcs, len(snap.Procs))
	for _, p := range snap.Procs {
		s.last[p.PID] = p
	}
	return true
}

// Snapshot is what the sampler saw so far.
func (s *Sampler) Snapshot() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.sum
	sum.Duration = time.Since(s.start)
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
