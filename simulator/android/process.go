package android

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors reported by process and package operations.
var (
	ErrNoSuchProcess = errors.New("no such process")
	ErrClosed        = errors.New("system is shut down")
	ErrNoSuchPackage = errors.New("unknown package")
)

type procKind int

const (
	kindKernel procKind = iota
	kindNative
	kindApp
	kindShell
)

// Process is a simulated process. Its exported fields are fixed at creation
// and safe to read concurrently.
type Process struct {
	Pid, PPid, Uid int
	Name           string    // process name; for apps the Android process name ("pkg" or "pkg:suffix")
	Package        string    // owning package for app processes
	Args           []string  // command line (/proc/PID/cmdline)
	Started        time.Time // device clock

	sys     *System
	kind    procKind
	ctx     context.Context
	cancel  context.CancelFunc
	comm    string
	vsz     int // KiB
	rss     int // KiB
	wchan   string
	sid     int
	persist bool // restarted after death
	running atomic.Bool
	sig     atomic.Int32 // signal that killed it
	looper  *looper
	gone    atomic.Bool
	// startLine is the "Start proc" line that announced an app process;
	// guarded by System.mu.
	startLine Entry
}

// ProcSpec describes a process for StartProcess.
type ProcSpec struct {
	Name, Package string
	Uid           int
}

// Context is cancelled when the process dies.
func (p *Process) Context() context.Context { return p.ctx }

// Done is closed when the process dies.
func (p *Process) Done() <-chan struct{} { return p.ctx.Done() }

// Alive reports whether the process is still running.
func (p *Process) Alive() bool { return p.ctx.Err() == nil }

// Log logs with this process's pid and uid; the tid is the pid.
func (p *Process) Log(prio Priority, tag, msg string) Entry {
	return p.sys.Log(Entry{Pid: p.Pid, Tid: p.Pid, Uid: p.Uid, Prio: prio, Tag: tag, Msg: msg})
}

// LogBuffer is Log into a named buffer ("system", "crash", "events", ...).
func (p *Process) LogBuffer(buffer string, prio Priority, tag, msg string) Entry {
	return p.sys.Log(Entry{Pid: p.Pid, Tid: p.Pid, Uid: p.Uid, Prio: prio, Tag: tag, Msg: msg, Buffer: buffer})
}

// Go runs fn on a new goroutine with the process context, which is cancelled
// when the process dies. Nothing runs if the process is already dead.
func (p *Process) Go(fn func(ctx context.Context)) {
	if !p.Alive() {
		return
	}
	go fn(p.ctx)
}

// Post queues fn on the process's main thread, where the App callbacks
// (OnProcessStart, StartActivity, OnReceive and dynamic receivers) run one
// at a time in order. Queued work is dropped when the process dies. It
// reports whether fn was queued.
func (p *Process) Post(fn func()) bool {
	if p.looper == nil || !p.Alive() {
		return false
	}
	p.looper.post(fn)
	return true
}

// Signal returns the signal that killed the process, or 0.
func (p *Process) Signal() int { return int(p.sig.Load()) }

func (p *Process) String() string {
	return fmt.Sprintf("%d:%s/%s", p.Pid, p.Name, formatUid(p.Uid))
}

// looper is a process main thread: a serial queue of callbacks.
type looper struct {
	mu   sync.Mutex
	q    []func()
	wake chan struct{}
}

func newLooper(ctx context.Context) *looper {
	l := &looper{wake: make(chan struct{}, 1)}
	go l.run(ctx)
	return l
}

func (l *looper) post(fn func()) {
	l.mu.Lock()
	l.q = append(l.q, fn)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *looper) run(ctx context.Context) {
	for {
		l.mu.Lock()
		var fn func()
		if len(l.q) > 0 {
			fn = l.q[0]
			l.q[0] = nil
			l.q = l.q[1:]
		}
		l.mu.Unlock()
		if fn != nil {
			if ctx.Err() != nil {
				return
			}
			fn()
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
	}
}

// ---- users ----

var systemUsers = map[int]string{
	0: "root", 1000: "system", 1001: "radio", 1002: "bluetooth", 1003: "graphics",
	1004: "input", 1005: "audio", 1006: "camera", 1007: "log", 1010: "wifi",
	1012: "install", 1013: "media", 1017: "keystore", 1019: "drm", 1021: "gps",
	1023: "media_rw", 1024: "mtp", 1027: "nfc", 1036: "logd", 1037: "shared_relro",
	1040: "mediaex", 1041: "audioserver", 1046: "mediacodec", 1047: "cameraserver",
	1049: "webview_zygote", 1066: "statsd", 1069: "lmkd", 1072: "network_stack",
	2000: "shell", 9999: "nobody",
}

// userName is the passwd name bionic reports for uid.
func userName(uid int) string {
	if uid < 0 {
		return fmt.Sprint(uid)
	}
	user, app := uid/100000, uid%100000
	switch {
	case app >= 10000 && app < 20000:
		return fmt.Sprintf("u%d_a%d", user, app-10000)
	case app >= 90000 && app < 100000:
		return fmt.Sprintf("u%d_i%d", user, app-90000)
	}
	if n, ok := systemUsers[app]; ok {
		if user == 0 {
			return n
		}
		return fmt.Sprintf("u%d_%s", user, n)
	}
	return fmt.Sprint(uid)
}

// uidOfName is the inverse of userName (for ps -u and similar); -1 if unknown.
func uidOfName(name string) int {
	for u, n := range systemUsers {
		if n == name {
			return u
		}
	}
	var user, app int
	if _, err := fmt.Sscanf(name, "u%d_a%d", &user, &app); err == nil && fmt.Sprintf("u%d_a%d", user, app) == name {
		return user*100000 + 10000 + app
	}
	return -1
}

// formatUid is UserHandle.formatUid: "u0a123", "1000", ...
func formatUid(uid int) string {
	user, app := uid/100000, uid%100000
	switch {
	case app >= 10000 && app < 20000:
		return fmt.Sprintf("u%da%d", user, app-10000)
	case app >= 90000 && app < 100000:
		return fmt.Sprintf("u%di%d", user, app-90000)
	}
	if user == 0 {
		return fmt.Sprint(app)
	}
	return fmt.Sprintf("u%ds%d", user, app)
}

// ---- process table ----

const pidMax = 32768

// allocPidLocked returns the next pid after a small random gap.
func (s *System) allocPidLocked() int {
	for tries := 0; tries < pidMax; tries++ {
		s.lastPid += 1 + s.rng.Intn(6)
		if s.rng.Intn(5) == 0 {
			s.lastPid += s.rng.Intn(20) // threads eat pids too
		}
		if s.lastPid >= pidMax {
			s.lastPid = 300 + s.rng.Intn(50)
		}
		if _, used := s.procs[s.lastPid]; !used {
			return s.lastPid
		}
	}
	return 0
}

type procOpts struct {
	pid      int // fixed pid, 0 to allocate
	ppid     int
	uid      int
	name     string
	pkg      string
	args     []string
	kind     procKind
	parent   context.Context
	sid      int
	vsz, rss int
	wchan    string
	persist  bool
}

func (s *System) newProcLocked(o procOpts) (*Process, error) {
	if s.closed {
		return nil, ErrClosed
	}
	pid := o.pid
	if pid == 0 {
		pid = s.allocPidLocked()
		if pid == 0 {
			return nil, errors.New("fork: pid table full")
		}
	}
	parent := o.parent
	if parent == nil {
		parent = s.ctx
	}
	ctx, cancel := context.WithCancel(parent)
	args := o.args
	if len(args) == 0 && o.kind != kindKernel {
		args = []string{o.name}
	}
	p := &Process{
		Pid: pid, PPid: o.ppid, Uid: o.uid, Name: o.name, Package: o.pkg, Args: args,
		Started: s.clock.Now(), sys: s, kind: o.kind, ctx: ctx, cancel: cancel,
		vsz: o.vsz, rss: o.rss, wchan: o.wchan, sid: o.sid, persist: o.persist,
	}
	p.comm = commOf(o.kind, o.name)
	if p.sid == 0 {
		p.sid = pid
	}
	if p.wchan == "" {
		p.wchan = "do_epoll_wait"
	}
	if o.kind == kindApp {
		if p.vsz == 0 {
			p.vsz = 14500000 + s.rng.Intn(1800000)
		}
		if p.rss == 0 {
			p.rss = 60000 + s.rng.Intn(140000)
		}
		p.looper = newLooper(ctx)
	}
	if o.kind == kindShell || o.kind == kindNative {
		if p.vsz == 0 {
			p.vsz = 10700000 + s.rng.Intn(200000)
		}
		if p.rss == 0 {
			p.rss = 2500 + s.rng.Intn(4000)
		}
	}
	s.procs[pid] = p
	for _, id := range sortedKeys(s.startL) {
		go s.startL[id](p)
	}
	return p, nil
}

// OnProcessStart registers fn to be called, on its own goroutine, after any
// process is created (apps, daemons and shell commands alike).
func (s *System) OnProcessStart(fn func(p *Process)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextListener++
	id := s.nextListener
	s.startL[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.startL, id)
	}
}

// commOf is what the kernel keeps as the task comm (15 bytes): app
// processes keep the tail of their name, executables the head.
func commOf(kind procKind, name string) string {
	base := name
	if kind == kindNative || kind == kindShell {
		base = path.Base(name)
	}
	if len(base) <= 15 {
		return base
	}
	if kind == kindApp {
		return base[len(base)-15:]
	}
	return base[:15]
}

// StartProcess starts an app or native process. When a live process with the
// same Name exists it is returned instead (with a nil error) and nothing is
// started. For a Package that is installed, the uid defaults to the
// package's uid and the package's App.OnProcessStart runs on the new
// process's main thread.
func (s *System) StartProcess(spec ProcSpec) (*Process, error) {
	if spec.Name == "" {
		return nil, errors.New("start process: empty name")
	}
	s.mu.Lock()
	if p := s.processByNameLocked(spec.Name); p != nil {
		s.mu.Unlock()
		return p, nil
	}
	var pk *pkgState
	if spec.Package != "" {
		pk = s.packages[spec.Package]
	}
	var p *Process
	var err error
	if pk != nil {
		p, err = s.startAppProcessLocked(pk, spec.Name, "added application", "")
	} else {
		kind := kindNative
		if spec.Package != "" || spec.Uid >= 10000 {
			kind = kindApp
		}
		ppid := 1
		if kind == kindApp && s.zygote != nil {
			ppid = s.zygote.Pid
		}
		p, err = s.newProcLocked(procOpts{ppid: ppid, uid: spec.Uid, name: spec.Name, pkg: spec.Package, kind: kind})
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start process %s: %w", spec.Name, err)
	}
	return p, nil
}

// startAppProcessLocked forks an app process from zygote, logs it, and
// queues App.OnProcessStart on its main thread.
func (s *System) startAppProcessLocked(pk *pkgState, name, hostingType, hostingName string) (*Process, error) {
	ppid := 0
	if s.zygote != nil {
		ppid = s.zygote.Pid
	}
	p, err := s.newProcLocked(procOpts{ppid: ppid, uid: pk.pkg.Uid, name: name, pkg: pk.pkg.Name, kind: kindApp})
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Start proc %d:%s/%s for %s", p.Pid, name, formatUid(p.Uid), hostingType)
	if hostingName != "" {
		msg += " " + hostingName
	}
	p.startLine = s.witnessLog("system", "ActivityManager", msg)
	s.eventLog("am_proc_start", fmt.Sprintf("[0,%d,%d,%s,%s,%s]", p.Pid, p.Uid, name, hostingType, hostingName))
	if app := pk.pkg.App; app != nil {
		p.looper.post(func() { app.OnProcessStart(p) })
	}
	return p, nil
}

// witnessLog logs as system_server, like sysLog, and returns the entry as
// stored. It writes the system's own lines of an app start — START,
// Start proc, Displayed — which a test harness reads as an independent
// witness of what an app says it did, so their time stamps are taken when
// the step happens, whatever any app does.
func (s *System) witnessLog(buffer, tag, msg string) Entry {
	e := Entry{Prio: Info, Tag: tag, Msg: msg, Buffer: buffer, Uid: 1000}
	if p := s.systemServer; p != nil {
		e.Pid = p.Pid
		e.Tid = p.Pid + 18 + int(uint32(len(tag))%40)
	}
	return s.Log(e)
}

// Process returns the live process with this name (or argv[0] basename), or nil.
func (s *System) Process(name string) *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processByNameLocked(name)
}

func (s *System) processByNameLocked(name string) *Process {
	var best *Process
	for _, p := range s.procs {
		if p.Name == name && p.Alive() && (best == nil || p.Pid < best.Pid) {
			best = p
		}
	}
	return best
}

// ProcessByPid returns the live process with this pid, or nil.
func (s *System) ProcessByPid(pid int) *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[pid]
}

// Processes returns the live processes ordered by pid.
func (s *System) Processes() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processesLocked()
}

func (s *System) processesLocked() []*Process {
	out := make([]*Process, 0, len(s.procs))
	for _, p := range s.procs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// Kill sends a signal. 9 (SIGKILL) and 15 (SIGTERM) kill the process (init
// ignores them), 0 only checks that it exists, other signals are accepted
// and have no effect. App deaths are logged as on a device.
func (s *System) Kill(pid int, sig int) error {
	return s.kill(pid, sig, "")
}

func (s *System) kill(pid, sig int, reason string) error {
	s.mu.Lock()
	p := s.procs[pid]
	if p == nil {
		s.mu.Unlock()
		return fmt.Errorf("kill %d: %w", pid, ErrNoSuchProcess)
	}
	if pid == 1 || (sig != 9 && sig != 15) {
		s.mu.Unlock()
		return nil
	}
	s.dieLocked(p, sig, reason)
	s.mu.Unlock()
	s.afterDeaths()
	return nil
}

var signalNames = map[int]string{
	1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE", 9: "KILL",
	10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM", 16: "STKFLT",
	17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG",
	24: "XCPU", 25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS",
}

var signalDescr = map[int]string{
	1: "Hangup", 2: "Interrupt", 3: "Quit", 6: "Aborted", 9: "Killed", 11: "Segmentation fault",
	13: "Broken pipe", 14: "Alarm clock", 15: "Terminated",
}

// dieLocked removes a process and everything hanging off it. Callers must
// call afterDeaths once s.mu is released.
func (s *System) dieLocked(p *Process, sig int, reason string) {
	if p.gone.Swap(true) {
		return
	}
	p.sig.Store(int32(sig))
	delete(s.procs, p.Pid)
	p.cancel()
	// descendants in the same shell session go with it
	if p.kind == kindShell {
		for _, c := range s.procs {
			if c.kind == kindShell && c.PPid == p.Pid {
				s.dieLocked(c, sig, "")
			}
		}
	}
	if p.kind == kindApp {
		adj := "cch+ 5 CEM"
		if s.topProcessLocked() == p || p.persist {
			adj = "fg  TOP"
		}
		s.removeActivitiesOfLocked(func(a *Activity) bool { return a.proc == p })
		delete(s.receivers, p.Pid)
		if sig != 0 && s.zygote != nil {
			s.logAs(s.zygote, "main", Info, "Zygote", fmt.Sprintf("Process %d exited due to signal %d (%s)", p.Pid, sig, signalDescr[sig]))
			s.logAs(s.systemServer, "main", Info, "libprocessgroup", fmt.Sprintf("Successfully killed process cgroup uid %d pid %d in 0ms", p.Uid, p.Pid))
		}
		if reason == "" {
			s.sysLog("system", Info, "ActivityManager", fmt.Sprintf("Process %s (pid %d) has died: %s", p.Name, p.Pid, adj))
		}
		s.eventLog("am_proc_died", fmt.Sprintf("[0,%d,%s,0,0]", p.Pid, p.Name))
	}
	s.pendingDeaths = append(s.pendingDeaths, p)
	s.updateResumedLocked()
}

// afterDeaths notifies death listeners and restarts persistent processes.
func (s *System) afterDeaths() {
	s.mu.Lock()
	dead := s.pendingDeaths
	s.pendingDeaths = nil
	var ls []func(*Process)
	for _, id := range sortedKeys(s.deathL) {
		ls = append(ls, s.deathL[id])
	}
	closed := s.closed
	s.mu.Unlock()
	for _, p := range dead {
		for _, fn := range ls {
			go fn(p)
		}
		if p.persist && !closed {
			s.restart(p)
		}
	}
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// restart brings a persistent process back, as init or ActivityManager would.
func (s *System) restart(old *Process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.processByNameLocked(old.Name) != nil {
		return
	}
	if old.kind == kindApp {
		pk := s.packages[old.Package]
		if pk == nil {
			return
		}
		p, err := s.startAppProcessLocked(pk, old.Name, "restart", "")
		if err != nil {
			return
		}
		p.persist = true
		s.swapWellKnownLocked(old, p)
		if old.Package == launcherPkg {
			s.ensureHomeLocked()
		}
		return
	}
	p, err := s.newProcLocked(procOpts{ppid: old.PPid, uid: old.Uid, name: old.Name, args: old.Args, kind: old.kind, persist: true, wchan: old.wchan})
	if err != nil {
		return
	}
	s.swapWellKnownLocked(old, p)
}

func (s *System) swapWellKnownLocked(old, p *Process) {
	for _, ref := range []**Process{&s.initProc, &s.zygote, &s.systemServer, &s.adbd, &s.launcherProc, &s.systemui} {
		if *ref == old {
			*ref = p
		}
	}
}

// OnProcessDeath registers fn to be called, on its own goroutine, after any
// process dies (apps, daemons and shell commands alike; not at Close). A
// killed process reports its signal through Signal.
func (s *System) OnProcessDeath(fn func(p *Process)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextListener++
	id := s.nextListener
	s.deathL[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.deathL, id)
	}
}

// exitProcess ends a short-lived shell process normally.
func (s *System) exitProcess(p *Process) {
	s.mu.Lock()
	s.dieLocked(p, 0, "exit")
	s.mu.Unlock()
	s.afterDeaths()
}

// cmdline is /proc/PID/cmdline content.
func (p *Process) cmdline() string {
	if len(p.Args) == 0 {
		return ""
	}
	return strings.Join(p.Args, "\x00") + "\x00"
}
