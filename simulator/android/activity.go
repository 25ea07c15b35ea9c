package android

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type task struct {
	id         int
	hash       uint32
	affinity   string
	uid        int
	rootIntent Intent
	acts       []*Activity // bottom to top
	home       bool
}

func (t *task) top() *Activity {
	if len(t.acts) == 0 {
		return nil
	}
	return t.acts[len(t.acts)-1]
}

// Activity is a started activity (an ActivityRecord with its window).
type Activity struct {
	sys      *System
	comp     ComponentName
	info     ActivityInfo
	proc     *Process
	intent   Intent
	task     *task
	hash     uint32
	winHash  uint32
	created  time.Time
	start    time.Duration // uptime when the launch began
	launch   string        // COLD, WARM
	caller   int           // launched from uid
	content  atomic.Pointer[Node]
	onBack   atomic.Pointer[func()]
	onText   atomic.Pointer[func(string)]
	onResume atomic.Pointer[func()]
	delay    atomic.Int64 // ms from launch to first frame, -1 before
	dispOnce sync.Once
	disp     chan struct{}
	dispLine Entry // the Displayed line; set before disp is closed
	doneOnce sync.Once
	done     chan struct{}
	finished bool // guarded by sys.mu
}

// Component returns the activity's component.
func (a *Activity) Component() ComponentName { return a.comp }

// Info returns the manifest entry of the activity.
func (a *Activity) Info() ActivityInfo { return a.info }

// Process returns the process hosting the activity.
func (a *Activity) Process() *Process { return a.proc }

// Intent returns (a copy of) the intent that started it, with the resolved
// component set.
func (a *Activity) Intent() Intent { return a.intent.Clone() }

// TaskID returns the id of the activity's task.
func (a *Activity) TaskID() int { return a.task.id }

// String is the ActivityRecord form: "ActivityRecord{hash u0 pkg/.Act tN}".
func (a *Activity) String() string {
	return fmt.Sprintf("ActivityRecord{%x u0 %s t%d}", a.hash, a.comp, a.task.id)
}

// SetContent replaces the window's view tree atomically; nil restores the
// empty default. The tree must not be modified afterwards.
func (a *Activity) SetContent(root *Node) { a.content.Store(root) }

// Content returns the window's view tree (an empty full-screen FrameLayout
// when the app set none).
func (a *Activity) Content() *Node {
	if n := a.content.Load(); n != nil {
		return n
	}
	sz := a.sys.cfg.Screen
	return &Node{Class: "android.widget.FrameLayout", Package: a.comp.Package, Enabled: true,
		Bounds: Rect{0, 0, sz.Width, sz.Height}}
}

// Displayed reports the first frame drawn; it logs the launch time like
// ActivityTaskManager ("Displayed pkg/.Act: +1s234ms", measured from the
// START of the launch). Only the first call counts.
func (a *Activity) Displayed() {
	a.dispOnce.Do(func() {
		s := a.sys
		d := s.clock.Uptime() - a.start
		ms := d.Milliseconds()
		if ms < 0 {
			ms = 0
		}
		a.delay.Store(ms)
		s.mu.Lock()
		finished := a.finished
		s.mu.Unlock()
		if !finished && a.proc.Alive() {
			a.dispLine = s.witnessLog("main", "ActivityTaskManager", "Displayed "+a.comp.String()+": "+formatDurationMs(ms))
			s.eventLog("wm_activity_launch_time", fmt.Sprintf("[0,%d,%s,%d]", a.hash, a.comp, ms))
		}
		close(a.disp)
	})
}

// DisplayedLine returns the "Displayed …" line the activity's first frame
// logged, and false before that frame or when none was logged (the activity
// had finished, or its process died, first).
func (a *Activity) DisplayedLine() (Entry, bool) {
	select {
	case <-a.disp:
		return a.dispLine, !a.dispLine.Time.IsZero()
	default:
		return Entry{}, false
	}
}

// WaitDisplayed waits for the first frame, the activity's end, or ctx.
func (a *Activity) WaitDisplayed(ctx context.Context) error {
	select {
	case <-a.disp:
		return nil
	case <-a.done:
		return errors.New("activity finished before it was displayed")
	case <-ctx.Done():
		return fmt.Errorf("wait for %s: %w", a.comp, ctx.Err())
	}
}

// Finish removes the activity; the one below it (or the launcher) is resumed.
func (a *Activity) Finish() {
	s := a.sys
	s.mu.Lock()
	s.finishLocked(a)
	s.updateResumedLocked()
	s.mu.Unlock()
}

// MoveTaskToBack moves the activity's task behind all others; what was below
// it becomes resumed.
func (a *Activity) MoveTaskToBack() {
	s := a.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.finished {
		return
	}
	for i, t := range s.tasks {
		if t == a.task {
			s.tasks = append(append(s.tasks[:i:i], s.tasks[i+1:]...), t)
			break
		}
	}
	s.updateResumedLocked()
}

// OnBack sets the BACK key handler (default: Finish). It runs on its own
// goroutine.
func (a *Activity) OnBack(fn func()) {
	if fn == nil {
		a.onBack.Store(nil)
		return
	}
	a.onBack.Store(&fn)
}

// OnTextInput sets the handler for `input text` while the activity is
// resumed. It runs on its own goroutine.
func (a *Activity) OnTextInput(fn func(text string)) {
	if fn == nil {
		a.onText.Store(nil)
		return
	}
	a.onText.Store(&fn)
}

// OnResume sets a handler called (on its own goroutine) whenever the
// activity becomes resumed again after another one was on top.
func (a *Activity) OnResume(fn func()) {
	if fn == nil {
		a.onResume.Store(nil)
		return
	}
	a.onResume.Store(&fn)
}

// Resumed reports whether this is the resumed (top) activity.
func (a *Activity) Resumed() bool {
	a.sys.mu.Lock()
	defer a.sys.mu.Unlock()
	return a.sys.topActivityLocked() == a
}

// Done is closed when the activity finished or its process died.
func (a *Activity) Done() <-chan struct{} { return a.done }

func (a *Activity) markDone() { a.doneOnce.Do(func() { close(a.done) }) }

// formatDurationMs is TimeUtils.formatDuration for a millisecond count.
func formatDurationMs(ms int64) string {
	if ms == 0 {
		return "0"
	}
	var b strings.Builder
	if ms > 0 {
		b.WriteByte('+')
	} else {
		b.WriteByte('-')
		ms = -ms
	}
	days := ms / 86400000
	ms -= days * 86400000
	hours := ms / 3600000
	ms -= hours * 3600000
	mins := ms / 60000
	ms -= mins * 60000
	secs := ms / 1000
	ms -= secs * 1000
	started := false
	field := func(v int64, suffix string, always bool) {
		if v > 0 || (always && started) {
			fmt.Fprintf(&b, "%d%s", v, suffix)
			started = true
		}
	}
	field(days, "d", false)
	field(hours, "h", true)
	field(mins, "m", true)
	field(secs, "s", true)
	fmt.Fprintf(&b, "%dms", ms)
	return b.String()
}

// ---- stack bookkeeping ----

func (s *System) topActivityLocked() *Activity {
	for _, t := range s.tasks {
		if a := t.top(); a != nil {
			return a
		}
	}
	return nil
}

func (s *System) topProcessLocked() *Process {
	if a := s.topActivityLocked(); a != nil {
		return a.proc
	}
	return nil
}

func (s *System) homeTaskLocked() *task {
	for _, t := range s.tasks {
		if t.home {
			return t
		}
	}
	return nil
}

func (s *System) moveTaskToFrontLocked(t *task) {
	for i, x := range s.tasks {
		if x == t {
			copy(s.tasks[1:i+1], s.tasks[:i])
			s.tasks[0] = t
			return
		}
	}
	s.tasks = append([]*task{t}, s.tasks...)
}

func (s *System) removeTaskLocked(t *task) {
	if t.home {
		return // the home task stays; the launcher comes back into it
	}
	for i, x := range s.tasks {
		if x == t {
			s.tasks = append(s.tasks[:i], s.tasks[i+1:]...)
			return
		}
	}
}

func (s *System) finishLocked(a *Activity) {
	if a.finished {
		return
	}
	a.finished = true
	t := a.task
	for i, x := range t.acts {
		if x == a {
			t.acts = append(t.acts[:i], t.acts[i+1:]...)
			break
		}
	}
	if len(t.acts) == 0 {
		s.removeTaskLocked(t)
	}
	a.markDone()
}

func (s *System) removeActivitiesOfLocked(pred func(a *Activity) bool) {
	for _, t := range append([]*task(nil), s.tasks...) {
		for _, a := range append([]*Activity(nil), t.acts...) {
			if pred(a) {
				s.finishLocked(a)
			}
		}
	}
}

func (s *System) updateResumedLocked() {
	top := s.topActivityLocked()
	if top == s.lastResumed || top == nil {
		return
	}
	prev := s.lastResumed
	s.lastResumed = top
	for _, id := range sortedKeys(s.resumedL) {
		s.resumedL[id].push(top)
	}
	if prev != nil && top.delay.Load() >= 0 {
		if fn := top.onResume.Load(); fn != nil {
			go (*fn)()
		}
	}
}

// ResumedActivity returns the resumed (top) activity.
func (s *System) ResumedActivity() *Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topActivityLocked()
}

// Activities returns all activities, top to bottom.
func (s *System) Activities() []*Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Activity
	for _, t := range s.tasks {
		for i := len(t.acts) - 1; i >= 0; i-- {
			out = append(out, t.acts[i])
		}
	}
	return out
}

// OnResumedChange registers fn, called in order on a goroutine of its own
// each time a different activity becomes resumed.
func (s *System) OnResumedChange(fn func(a *Activity)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextListener++
	id := s.nextListener
	q := newEventQueue(fn)
	s.resumedL[id] = q
	return func() {
		s.mu.Lock()
		delete(s.resumedL, id)
		s.mu.Unlock()
		q.stop()
	}
}

// BringToFront moves the activity's task to the front and the activity to
// the top of its task.
func (s *System) BringToFront(a *Activity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.finished {
		return
	}
	t := a.task
	for i, x := range t.acts {
		if x == a {
			t.acts = append(append(t.acts[:i:i], t.acts[i+1:]...), a)
			break
		}
	}
	s.moveTaskToFrontLocked(t)
	s.updateResumedLocked()
}

// pressHome brings the launcher to the front.
func (s *System) pressHome() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.homeTaskLocked(); h != nil {
		s.moveTaskToFrontLocked(h)
	}
	s.updateResumedLocked()
}

// ensureHomeLocked (re)creates the launcher activity in the home task.
func (s *System) ensureHomeLocked() {
	h := s.homeTaskLocked()
	if h != nil && len(h.acts) > 0 {
		return
	}
	pk := s.packages[launcherPkg]
	if pk == nil {
		return
	}
	in := Intent{Action: ActionMain, Categories: []string{CategoryHome}, Flags: FlagActivityNewTask | 0x100,
		Component: ComponentName{launcherPkg, launcherClass}}
	if h == nil {
		h = &task{id: s.nextTaskID, hash: s.newHashLocked(), affinity: launcherPkg, uid: pk.pkg.Uid, rootIntent: in, home: true}
		s.nextTaskID++
		s.tasks = append(s.tasks, h)
	}
	s.sysLog("system", Info, "ActivityTaskManager", "START u0 {"+in.shortString(true, true, true)+"} from uid 0")
	p := s.processByNameLocked(launcherPkg)
	launch := "WARM"
	if p == nil {
		var err error
		p, err = s.startAppProcessLocked(pk, launcherPkg, "pre-top-activity", in.Component.ShortString())
		if err != nil {
			return
		}
		p.persist = true
		s.launcherProc = p
		launch = "COLD"
	}
	a := s.newActivityLocked(in.Component, pk.pkg.Activities[0], p, in, h, 0, launch)
	a.start -= time.Duration(900+s.rng.Intn(900)) * time.Millisecond // launcher inflation at boot
	h.acts = append(h.acts, a)
	s.updateResumedLocked()
	s.dispatchStartLocked(pk, p, a)
}

func (s *System) newActivityLocked(comp ComponentName, info ActivityInfo, p *Process, in Intent, t *task, caller int, launch string) *Activity {
	a := &Activity{sys: s, comp: comp, info: info, proc: p, intent: in.Clone(), task: t, hash: s.newHashLocked(),
		winHash: s.newHashLocked(), created: s.clock.Now(), start: s.clock.Uptime(), launch: launch, caller: caller,
		disp: make(chan struct{}), done: make(chan struct{})}
	a.intent.Component = comp
	a.delay.Store(-1)
	return a
}

// dispatchStartLocked queues App.StartActivity on the process main thread.
func (s *System) dispatchStartLocked(pk *pkgState, p *Process, a *Activity) {
	app := pk.pkg.App
	in := a.Intent()
	if app == nil {
		// no code: the first frame comes after a plausible draw time
		d := time.Duration(40+s.rng.Intn(80)) * time.Millisecond
		p.Post(func() {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				a.Displayed()
			case <-a.done:
			case <-p.ctx.Done():
			}
		})
		return
	}
	p.Post(func() { app.StartActivity(p, a, in) })
}

// ---- stopping ----

// ForceStop kills every process of the package and removes its activities,
// logging like ActivityManager. The package then counts as stopped.
func (s *System) ForceStop(pkg string) {
	s.forceStop(pkg, 0)
}

func (s *System) forceStop(pkg string, fromPid int) {
	s.mu.Lock()
	ps := s.packages[pkg]
	if ps == nil {
		s.mu.Unlock()
		return
	}
	if fromPid == 0 && s.systemServer != nil {
		fromPid = s.systemServer.Pid
	}
	s.sysLog("system", Info, "ActivityManager", fmt.Sprintf("Force stopping %s appid=%d user=0: from pid %d", pkg, ps.pkg.Uid, fromPid))
	s.stopPackageLocked(pkg, fmt.Sprintf("stop %s due to from pid %d", pkg, fromPid))
	ps.stopped = true
	s.mu.Unlock()
	s.afterDeaths()
}

// stopPackageLocked kills the package's processes and removes its activities.
func (s *System) stopPackageLocked(pkg, reason string) {
	for _, p := range s.processesLocked() {
		if p.Package != pkg || p.kind != kindApp {
			continue
		}
		s.sysLog("system", Info, "ActivityManager", fmt.Sprintf("Killing %s (adj %d): %s", p, s.adjLocked(p), reason))
		s.dieLocked(p, 9, reason)
	}
	s.removeActivitiesOfLocked(func(a *Activity) bool { return a.comp.Package == pkg })
	s.updateResumedLocked()
	if pkg == launcherPkg {
		s.ensureHomeLocked()
	}
}

func (s *System) adjLocked(p *Process) int {
	switch {
	case p.persist:
		return -800
	case s.topProcessLocked() == p:
		return 0
	}
	for _, t := range s.tasks {
		for _, a := range t.acts {
			if a.proc == p {
				return 700
			}
		}
	}
	return 905
}

// killBackground is `am kill`: it kills the package's processes that host no
// visible activity.
func (s *System) killBackground(pkg string) {
	s.mu.Lock()
	top := s.topProcessLocked()
	for _, p := range s.processesLocked() {
		if p.Package != pkg || p.kind != kindApp || p == top || p.persist {
			continue
		}
		s.sysLog("system", Info, "ActivityManager", fmt.Sprintf("Killing %s (adj %d): kill background", p, s.adjLocked(p)))
		s.dieLocked(p, 9, "kill background")
	}
	s.mu.Unlock()
	s.afterDeaths()
}

// ---- built-in apps ----

type systemUIApp struct{}

func (systemUIApp) OnProcessStart(p *Process) {
	p.Log(Info, "SystemUIService", "Starting SystemUI services for user 0.")
}
func (systemUIApp) StartActivity(p *Process, a *Activity, in Intent) { a.Displayed() }
func (systemUIApp) OnReceive(p *Process, in Intent)                  {}

type launcherApp struct{ s *System }

func (l *launcherApp) OnProcessStart(p *Process) {
	p.Log(Debug, "Launcher", "onCreate")
}

func (l *launcherApp) StartActivity(p *Process, a *Activity, in Intent) {
	l.s.mu.Lock()
	tree := l.s.launcherTreeLocked()
	l.s.mu.Unlock()
	a.SetContent(tree)
	a.OnBack(func() {})
	a.Displayed()
}

func (l *launcherApp) OnReceive(p *Process, in Intent) {}

// launcherTreeLocked builds the home screen: one icon per launchable app.
func (s *System) launcherTreeLocked() *Node {
	w, h := s.cfg.Screen.Width, s.cfg.Screen.Height
	type entry struct{ label, pkg string }
	var apps []entry
	for _, name := range s.packageNamesLocked() {
		pk := s.packages[name]
		for _, a := range pk.pkg.Activities {
			if a.Launcher {
				apps = append(apps, entry{pk.pkg.Label, name})
				break
			}
		}
	}
	sort.SliceStable(apps, func(i, j int) bool { return strings.ToLower(apps[i].label) < strings.ToLower(apps[j].label) })
	uid := 0
	if l := s.packages[launcherPkg]; l != nil {
		uid = l.pkg.Uid
	}
	cols := 4
	cw, ch := w/cols, h/8
	var icons []*Node
	for i, e := range apps {
		x, y := (i%cols)*cw, h/10+(i/cols)*ch
		pkg := e.pkg
		icons = append(icons, &Node{Class: "android.widget.TextView", Text: e.label, ContentDesc: e.label,
			Package: launcherPkg, Clickable: true, Enabled: true, Focusable: true, LongClickable: true,
			Bounds: Rect{x, y, x + cw, y + ch},
			OnClick: func() {
				in := Intent{Action: ActionMain, Categories: []string{CategoryLauncher}, Package: pkg, Flags: FlagActivityNewTask | 0x200000}
				_, _ = s.startActivity(s.ctx, startReq{in: in, callerUid: uid})
			}})
	}
	workspace := &Node{Class: "android.widget.FrameLayout", ResourceID: "com.android.launcher3:id/workspace", Package: launcherPkg,
		Enabled: true, Scrollable: true, Bounds: Rect{0, h / 10, w, h}, Children: icons}
	return &Node{Class: "android.widget.FrameLayout", Package: launcherPkg, Enabled: true, Bounds: Rect{0, 0, w, h},
		Children: []*Node{{Class: "android.widget.FrameLayout", ResourceID: "com.android.launcher3:id/launcher", Package: launcherPkg,
			Enabled: true, Bounds: Rect{0, 0, w, h}, Children: []*Node{workspace}}}}
}

func (s *System) refreshLauncherLocked() {
	h := s.homeTaskLocked()
	if h == nil {
		return
	}
	for _, a := range h.acts {
		if a.comp.Package == launcherPkg && a.content.Load() != nil {
			a.SetContent(s.launcherTreeLocked())
		}
	}
}
