package android

import (
	"context"
	"fmt"
	"time"
)

// Starting activities: am start, and apps starting their own.

// StartResult is what `am start -W` reports.
type StartResult struct {
	Status      string // "ok" or "timeout"
	LaunchState string // COLD, WARM, HOT, or "UNKNOWN (0)"
	Activity    ComponentName
	TotalTime   time.Duration // launch to first frame; -1 when unknown
	WaitTime    time.Duration // request to return; 0 without wait
	// Warning is the am warning for a start that reused an existing
	// activity, e.g. "Activity not started, its current task has been
	// brought to the front".
	Warning string
	// Record is the activity started or brought to front.
	Record *Activity
	// StartLine is the ActivityTaskManager "START u0 {…} from uid N" line
	// the request logged (every successful request logs one, whatever
	// becomes of it).
	StartLine Entry
	// ProcLine is the ActivityManager "Start proc PID:name/uid for
	// pre-top-activity {…}" line when the start forked the activity's
	// process (LaunchState COLD); zero otherwise.
	ProcLine Entry
}

// StartError is why an activity could not be started.
type StartError struct {
	Kind      string // "class-not-found", "unresolved" or "permission"
	Intent    Intent
	Component ComponentName
	CallerUid int
	OwnerUid  int
}

func (e *StartError) Error() string {
	switch e.Kind {
	case "class-not-found":
		return "Activity class " + e.Component.ShortString() + " does not exist."
	case "permission":
		return fmt.Sprintf("Permission Denial: starting %s from null (pid=-1, uid=%d) not exported from uid %d", e.Intent, e.CallerUid, e.OwnerUid)
	}
	return "Activity not started, unable to resolve " + e.Intent.String()
}

type startReq struct {
	in        Intent
	wait      bool
	callerUid int
	caller    *Activity // app-initiated start without NEW_TASK goes into its task
	checkPerm bool
}

// StartActivity starts an activity as the shell would (uid 2000): it
// resolves the component (explicit, or implicit by MAIN/LAUNCHER and
// package, HOME, or an activity's declared Actions), starts its process if
// needed (COLD: OnProcessStart runs first), creates the activity on top of
// its task (a task whose root is the same component is brought to front
// instead: HOT), and queues App.StartActivity. With wait it returns once
// a.Displayed() was called, the activity ended, or ctx is done.
func (s *System) StartActivity(ctx context.Context, in Intent, wait bool) (StartResult, error) {
	return s.startActivity(ctx, startReq{in: in, wait: wait, callerUid: 2000})
}

// StartActivity starts an activity from this app process: without
// FlagActivityNewTask the new activity goes into the task of from (when
// non-nil and still alive).
func (p *Process) StartActivity(ctx context.Context, from *Activity, in Intent, wait bool) (StartResult, error) {
	return p.sys.startActivity(ctx, startReq{in: in, wait: wait, callerUid: p.Uid, caller: from})
}

func (s *System) resolveActivityLocked(in Intent) (*pkgState, ActivityInfo, error) {
	if !in.Component.IsZero() {
		pk := s.packages[in.Component.Package]
		if pk != nil {
			for _, a := range pk.pkg.Activities {
				if a.Class == in.Component.Class {
					return pk, a, nil
				}
			}
		}
		return nil, ActivityInfo{}, &StartError{Kind: "class-not-found", Intent: in, Component: in.Component}
	}
	for _, name := range s.packageNamesLocked() {
		if in.Package != "" && name != in.Package {
			continue
		}
		pk := s.packages[name]
		for _, a := range pk.pkg.Activities {
			switch {
			case in.Action == ActionMain && in.HasCategory(CategoryHome):
				if name == launcherPkg {
					return pk, a, nil
				}
			case in.Action == ActionMain && in.HasCategory(CategoryLauncher):
				if a.Launcher {
					return pk, a, nil
				}
			case in.Action == ActionMain && len(in.Categories) == 0 && a.Launcher && in.Package != "":
				return pk, a, nil
			default:
				for _, act := range a.Actions {
					if act == in.Action && in.Action != "" {
						return pk, a, nil
					}
				}
			}
		}
	}
	return nil, ActivityInfo{}, &StartError{Kind: "unresolved", Intent: in}
}

func (s *System) startActivity(ctx context.Context, r startReq) (StartResult, error) {
	res := StartResult{Status: "ok", TotalTime: -1}
	in := r.in.Clone()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return res, fmt.Errorf("start activity: %w", ErrClosed)
	}
	t0 := s.clock.Uptime()
	var callerTask *task
	if r.caller != nil && !r.caller.finished {
		callerTask = r.caller.task
	}
	if callerTask == nil {
		in.Flags |= FlagActivityNewTask
	}
	pk, info, err := s.resolveActivityLocked(in)
	if err != nil {
		s.mu.Unlock()
		return res, err
	}
	comp := ComponentName{pk.pkg.Name, info.Class}
	if r.checkPerm && !info.Exported && !info.Launcher && r.callerUid != 0 && r.callerUid != pk.pkg.Uid {
		s.mu.Unlock()
		return res, &StartError{Kind: "permission", Intent: in, Component: comp, CallerUid: r.callerUid, OwnerUid: pk.pkg.Uid}
	}
	res.Activity = comp
	pk.stopped = false
	res.StartLine = s.witnessLog("system", "ActivityTaskManager", fmt.Sprintf("START u0 {%s} from uid %d", in.shortString(true, true, true), r.callerUid))

	// Reuse an existing task whose root is this component.
	var target *task
	if callerTask != nil && in.Flags&FlagActivityNewTask == 0 {
		target = callerTask
	} else if in.Flags&FlagActivityMultipleTask == 0 {
		for _, t := range s.tasks {
			if len(t.acts) > 0 && t.acts[0].comp == comp {
				target = t
				break
			}
		}
		if target != nil && in.Flags&FlagActivityClearTask == 0 {
			var existing *Activity
			for _, a := range target.acts {
				if a.comp == comp {
					existing = a
				}
			}
			wasTop := s.topActivityLocked()
			if in.Flags&FlagActivityClearTop != 0 && existing != nil {
				for target.top() != existing {
					s.finishLocked(target.top())
				}
			}
			s.moveTaskToFrontLocked(target)
			s.updateResumedLocked()
			top := target.top()
			res.Record = top
			res.LaunchState = "HOT"
			res.Warning = "Activity not started, its current task has been brought to the front"
			if in.Flags&(FlagActivitySingleTop|FlagActivityClearTop) != 0 && top.comp == comp {
				res.Warning = "Activity not started, intent has been delivered to currently running top-most instance."
				if h, ok := pk.pkg.App.(interface {
					OnNewIntent(p *Process, a *Activity, in Intent)
				}); ok {
					p, a, cin := top.proc, top, in.Clone()
					p.Post(func() { h.OnNewIntent(p, a, cin) })
				}
			}
			if wasTop == top {
				res.TotalTime = 0
			} else {
				res.Activity = top.comp
				res.TotalTime = s.clock.Uptime() - t0 + time.Duration(3+s.rng.Intn(40))*time.Millisecond
			}
			s.mu.Unlock()
			if r.wait {
				res.WaitTime = s.clock.Uptime() - t0 + res.TotalTime
			}
			return res, nil
		}
		if target != nil {
			for _, a := range append([]*Activity(nil), target.acts...) {
				s.finishLocked(a)
			}
			if !target.home {
				target.acts = nil
				s.tasks = append([]*task{target}, s.tasks...)
			}
		}
		if target == nil {
			for _, t := range s.tasks {
				if !t.home && len(t.acts) > 0 && t.affinity == info.TaskAffinity {
					target = t
					break
				}
			}
		}
	}
	if target == nil {
		target = &task{id: s.nextTaskID, hash: s.newHashLocked(), affinity: info.TaskAffinity, uid: pk.pkg.Uid, rootIntent: in}
		s.nextTaskID++
		s.tasks = append([]*task{target}, s.tasks...)
	}
	p := s.processByNameLocked(info.Process)
	launch := "WARM"
	if p == nil {
		p, err = s.startAppProcessLocked(pk, info.Process, "pre-top-activity", comp.ShortString())
		if err != nil {
			s.mu.Unlock()
			return res, fmt.Errorf("start %s: %w", comp, err)
		}
		launch = "COLD"
		res.ProcLine = p.startLine
	}
	a := s.newActivityLocked(comp, info, p, in, target, r.callerUid, launch)
	a.start = t0
	target.acts = append(target.acts, a)
	s.moveTaskToFrontLocked(target)
	s.updateResumedLocked()
	s.dispatchStartLocked(pk, p, a)
	s.mu.Unlock()

	res.LaunchState = launch
	res.Record = a
	if !r.wait {
		return res, nil
	}
	select {
	case <-a.disp:
		res.TotalTime = time.Duration(a.delay.Load()) * time.Millisecond
	case <-a.done:
		res.Status = "timeout"
	case <-ctx.Done():
		res.Status = "timeout"
		res.WaitTime = s.clock.Uptime() - t0
		return res, fmt.Errorf("start %s: %w", comp, ctx.Err())
	}
	res.WaitTime = s.clock.Uptime() - t0
	if res.TotalTime >= 0 && res.WaitTime < res.TotalTime+2*time.Millisecond {
		res.WaitTime = res.TotalTime + 2*time.Millisecond
	}
	return res, nil
}
