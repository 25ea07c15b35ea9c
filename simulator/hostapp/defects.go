package hostapp

import (
	"context"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wmpf"
)

// The host-app bugs that need more than a condition in the code path:
// double-launch (launchAgain) and lagging-hooks (the late writer).

// launchAgain is the double-launch bug: the push handler calls
// launchMiniProgram a second time, with the same parameters,
// timing.doubleLaunchGap after the first (two code paths that both react to
// the push, say). Both calls log launch_called and both reach WMPF.
func (a *App) launchAgain(ctx context.Context, p *android.Process, params wmpf.StartAppParams) {
	if !a.sleep(ctx, a.cfg.Timing.DoubleLaunchGap) {
		return
	}
	a.launchMiniProgram(ctx, p, params)
}

// lateWriter writes one app process's contract lines timing.hookLag after
// their steps, in the order of the steps: the lagging-hooks bug (a logger
// that batches, or a hook called after the step's work instead of at it).
// The logcat time stamp of a line is when it is written, as on a device;
// pending lines die with the process.
type lateWriter struct {
	proc *android.Process
	mu   sync.Mutex
	q    []lateLines
	wake chan struct{}
}

type lateLines struct {
	due   time.Time // host clock
	lines []string
}

// startHookWriter gives a new app process its late writer when the app
// lags.
func (a *App) startHookWriter(p *android.Process) {
	if !a.cfg.Defects.Has(profile.LaggingHooks) {
		return
	}
	w := &lateWriter{proc: p, wake: make(chan struct{}, 1)}
	a.mu.Lock()
	a.late = w
	a.mu.Unlock()
	p.Go(w.run)
}

// writeLate queues the lines of a step that happens now and returns the
// step's time (device clock).
func (a *App) writeLate(p *android.Process, lines []string) time.Time {
	at := a.sys.Clock().Now()
	lag := a.cfg.Sampler.Sample(a.cfg.Timing.HookLag)
	a.mu.Lock()
	w := a.late
	a.mu.Unlock()
	if w == nil || w.proc != p {
		return at // no writer for this process: it is gone, and its lines with it
	}
	w.mu.Lock()
	w.q = append(w.q, lateLines{due: time.Now().Add(lag), lines: lines})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return at
}

func (w *lateWriter) run(ctx context.Context) {
	for {
		w.mu.Lock()
		var next lateLines
		queued := len(w.q) > 0
		if queued {
			next = w.q[0]
		}
		w.mu.Unlock()
		if !queued {
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		t := time.NewTimer(time.Until(next.due))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		w.mu.Lock()
		w.q = w.q[1:]
		w.mu.Unlock()
		for _, line := range next.lines {
			w.proc.Log('I', contract.Tag, line)
		}
	}
}
