package android

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Stdio are the standard streams of a shell command line. Stdin may be nil.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

const shName = "/system/bin/sh"

// ---- writers ----

// gateWriter serializes writes to the caller's writer and drops them once
// the command line has returned.
type gateWriter struct {
	sem    chan struct{} // a mutex that can be waited on with a deadline
	w      io.Writer
	closed *atomic.Bool
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if g.w == nil {
		return len(p), nil
	}
	if g.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	g.sem <- struct{}{}
	defer func() { <-g.sem }()
	if g.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	return g.w.Write(p)
}

// lazyStdin pumps the caller's stdin into a pipe on first read, so a
// blocked read can be ended when the command line is cancelled.
type lazyStdin struct {
	src  io.Reader
	once sync.Once
	pr   *io.PipeReader
	pw   *io.PipeWriter
}

func newLazyStdin(src io.Reader) *lazyStdin {
	pr, pw := io.Pipe()
	return &lazyStdin{src: src, pr: pr, pw: pw}
}

func (l *lazyStdin) Read(p []byte) (int, error) {
	l.once.Do(func() {
		go func() {
			_, err := io.Copy(l.pw, l.src)
			l.pw.CloseWithError(err)
		}()
	})
	return l.pr.Read(p)
}

func (l *lazyStdin) close() { l.pr.CloseWithError(io.EOF) }

// sigpipeWriter reports the first write error (a closed pipe) once.
type sigpipeWriter struct {
	w     io.Writer
	onErr func()
	once  sync.Once
}

func (s *sigpipeWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.once.Do(s.onErr)
	}
	return n, err
}

// fileWriter appends to a device file on each write.
type fileWriter struct {
	fs   *fsys
	path string
	root bool
}

func (f *fileWriter) Write(p []byte) (int, error) {
	if err := f.fs.writeFile(f.path, p, true, f.root); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ---- shell state ----

type ioTable struct {
	in       io.Reader
	out, err io.Writer
}

type bgJobs struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	cancel []context.CancelFunc
}

type shell struct {
	sys      *System
	proc     *Process
	vars     map[string]string
	exported map[string]bool
	cwd      string
	status   int
	params   []string // $0 $1 ...
	exited   bool
	uid      int
	jobs     *bgJobs
	lastBg   int
	tty      io.Writer // the session's stdout, for /dev/tty
	depth    int
	loopCtl  int // 1 break, 2 continue
}

func defaultEnv(root bool) map[string]string {
	user := "shell"
	if root {
		user = "root"
	}
	return map[string]string{
		"PATH":                 "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin",
		"HOME":                 "/",
		"SHELL":                "/bin/sh",
		"USER":                 user,
		"LOGNAME":              user,
		"HOSTNAME":             "localhost",
		"TMPDIR":               "/data/local/tmp",
		"ANDROID_DATA":         "/data",
		"ANDROID_ROOT":         "/system",
		"ANDROID_STORAGE":      "/storage",
		"ANDROID_ART_ROOT":     "/apex/com.android.art",
		"ANDROID_I18N_ROOT":    "/apex/com.android.i18n",
		"ANDROID_TZDATA_ROOT":  "/apex/com.android.tzdata",
		"ANDROID_RUNTIME_ROOT": "/apex/com.android.runtime",
		"ANDROID_ASSETS":       "/system/app",
		"EXTERNAL_STORAGE":     "/sdcard",
		"ASEC_MOUNTPOINT":      "/mnt/asec",
		"BOOTCLASSPATH":        "/apex/com.android.art/javalib/core-oj.jar:/apex/com.android.art/javalib/core-libart.jar:/system/framework/framework.jar",
		"DOWNLOAD_CACHE":       "/data/cache",
		"ANDROID_SOCKET_adbd":  "21",
	}
}

func (s *System) shellUid() int {
	if s.cfg.Rooted {
		return 0
	}
	return 2000
}

func (s *System) newShell(ctx context.Context, args []string, ppid int, tty io.Writer) (*shell, error) {
	uid := s.shellUIDFrom(ctx)
	s.mu.Lock()
	p, err := s.newProcLocked(procOpts{ppid: ppid, uid: uid, name: "sh", args: args, kind: kindShell, parent: ctx, wchan: "do_wait"})
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start shell: %w", err)
	}
	sh := &shell{sys: s, proc: p, vars: defaultEnv(uid == 0), exported: map[string]bool{}, cwd: "/", params: []string{"sh"},
		uid: uid, jobs: &bgJobs{}, tty: tty}
	for k := range sh.vars {
		sh.exported[k] = true
	}
	return sh, nil
}

// sub returns a copy of the shell for a subshell running in process p.
func (sh *shell) sub(p *Process) *shell {
	c := *sh
	c.vars = make(map[string]string, len(sh.vars))
	for k, v := range sh.vars {
		c.vars[k] = v
	}
	c.exported = make(map[string]bool, len(sh.exported))
	for k, v := range sh.exported {
		c.exported[k] = v
	}
	c.params = append([]string(nil), sh.params...)
	c.exited = false
	c.loopCtl = 0
	if p != nil {
		c.proc = p
		c.jobs = &bgJobs{}
	}
	return &c
}

func (sh *shell) finish() {
	sh.jobs.mu.Lock()
	for _, c := range sh.jobs.cancel {
		c()
	}
	sh.jobs.mu.Unlock()
	sh.jobs.wg.Wait()
}

func (sh *shell) errorf(tio ioTable, format string, a ...any) {
	fmt.Fprintf(tio.err, shName+": "+format+"\n", a...)
}

func (sh *shell) getVar(name string) (string, bool) {
	switch name {
	case "?":
		return strconv.Itoa(sh.status), true
	case "$":
		return strconv.Itoa(sh.proc.Pid), true
	case "!":
		if sh.lastBg == 0 {
			return "", false
		}
		return strconv.Itoa(sh.lastBg), true
	case "#":
		return strconv.Itoa(len(sh.params) - 1), true
	case "@", "*":
		return strings.Join(sh.params[1:], " "), true
	case "-":
		return "hB", true
	case "PWD":
		return sh.cwd, true
	case "RANDOM":
		sh.sys.mu.Lock()
		n := sh.sys.rng.Intn(32768)
		sh.sys.mu.Unlock()
		return strconv.Itoa(n), true
	case "PPID":
		return strconv.Itoa(sh.proc.PPid), true
	}
	if len(name) == 1 && name[0] >= '0' && name[0] <= '9' {
		i := int(name[0] - '0')
		if i < len(sh.params) {
			return sh.params[i], true
		}
		return "", false
	}
	v, ok := sh.vars[name]
	return v, ok
}

func (sh *shell) runSource(ctx context.Context, src string, tio ioTable) int {
	l, err := parseScript(src)
	if err != nil {
		sh.errorf(tio, "%s", err.Error())
		sh.status = 1
		if strings.HasPrefix(err.Error(), "syntax error") {
			sh.status = 1
		}
		return sh.status
	}
	return sh.runList(sh.proc.ctx, l, tio)
}

func (sh *shell) alive(ctx context.Context) bool { return ctx.Err() == nil && sh.proc.ctx.Err() == nil }

func (sh *shell) runList(ctx context.Context, l *list, tio ioTable) int {
	for _, ao := range l.items {
		if sh.exited || sh.loopCtl != 0 || !sh.alive(ctx) {
			break
		}
		if ao.bg {
			sh.startBackground(ctx, ao, tio)
			sh.status = 0
			continue
		}
		sh.status = sh.runAndOr(ctx, ao, tio)
	}
	return sh.status
}

func (sh *shell) startBackground(ctx context.Context, ao *andOr, tio ioTable) {
	s := sh.sys
	s.mu.Lock()
	p, err := s.newProcLocked(procOpts{ppid: sh.proc.Pid, uid: sh.uid, name: "sh", args: []string{"sh"}, kind: kindShell, parent: sh.proc.ctx, sid: sh.proc.sid, wchan: "do_wait"})
	s.mu.Unlock()
	if err != nil {
		sh.errorf(tio, "can't fork: %v", err)
		return
	}
	sh.lastBg = p.Pid
	child := sh.sub(p)
	fg := *ao
	fg.bg = false
	sh.jobs.mu.Lock()
	sh.jobs.cancel = append(sh.jobs.cancel, func() {
		s.mu.Lock()
		s.dieLocked(p, 1, "exit")
		s.mu.Unlock()
		s.afterDeaths()
	})
	sh.jobs.mu.Unlock()
	sh.jobs.wg.Add(1)
	go func() {
		defer sh.jobs.wg.Done()
		child.runAndOr(p.ctx, &fg, tio)
		child.finish()
		s.exitProcess(p)
	}()
}

func (sh *shell) runAndOr(ctx context.Context, ao *andOr, tio ioTable) int {
	st := sh.runPipeline(ctx, ao.pipes[0], tio)
	for i, op := range ao.ops {
		if sh.exited || sh.loopCtl != 0 || !sh.alive(ctx) {
			break
		}
		if (op == "&&" && st != 0) || (op == "||" && st == 0) {
			continue
		}
		st = sh.runPipeline(ctx, ao.pipes[i+1], tio)
	}
	return st
}

func (sh *shell) runPipeline(ctx context.Context, pl *pipeline, tio ioTable) int {
	var st int
	if len(pl.cmds) == 1 {
		st = sh.runCommand(ctx, pl.cmds[0], tio)
	} else {
		st = sh.runStages(ctx, pl.cmds, tio)
	}
	if pl.bang {
		if st == 0 {
			st = 1
		} else {
			st = 0
		}
	}
	sh.status = st
	return st
}

func (sh *shell) runStages(ctx context.Context, cmds []node, tio ioTable) int {
	n := len(cmds)
	statuses := make([]int, n)
	cancels := make([]context.CancelFunc, n)
	ctxs := make([]context.Context, n)
	for i := range cmds {
		ctxs[i], cancels[i] = context.WithCancel(ctx)
	}
	var wg sync.WaitGroup
	in := tio.in
	for i, c := range cmds {
		stage := tio
		stage.in = in
		var pw *io.PipeWriter
		if i < n-1 {
			var pr *io.PipeReader
			pr, pw = pipeOf()
			stage.out = pw
			in = pr
		}
		sub := sh.sub(nil)
		prevReader := stage.in
		wg.Add(1)
		go func(i int, c node, stage ioTable, pw *io.PipeWriter) {
			defer wg.Done()
			statuses[i] = sub.runCommand(ctxs[i], c, stage)
			if pw != nil {
				pw.Close()
			}
			if r, ok := prevReader.(*io.PipeReader); ok {
				r.CloseWithError(io.ErrClosedPipe)
			}
			// nothing reads upstream output any more: end those stages
			// now rather than at their next write
			for j := 0; j < i; j++ {
				cancels[j]()
			}
		}(i, c, stage, pw)
	}
	wg.Wait()
	for _, c := range cancels {
		c()
	}
	return statuses[n-1]
}

func pipeOf() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func (sh *shell) runCommand(ctx context.Context, n node, tio ioTable) int {
	switch c := n.(type) {
	case *simpleCmd:
		return sh.runSimple(ctx, c, tio)
	case *groupCmd:
		cio, closeFn, ok := sh.applyRedirs(ctx, c.redirs, tio)
		if !ok {
			return 1
		}
		defer closeFn()
		if c.subshell {
			sub := sh.sub(nil)
			return sub.runList(ctx, c.body, cio)
		}
		return sh.runList(ctx, c.body, cio)
	case *ifCmd:
		cio, closeFn, ok := sh.applyRedirs(ctx, c.redirs, tio)
		if !ok {
			return 1
		}
		defer closeFn()
		for i, cond := range c.conds {
			if sh.runList(ctx, cond, cio) == 0 {
				return sh.runList(ctx, c.bodies[i], cio)
			}
			if sh.exited || !sh.alive(ctx) {
				return sh.status
			}
		}
		if c.els != nil {
			return sh.runList(ctx, c.els, cio)
		}
		return 0
	case *loopCmd:
		cio, closeFn, ok := sh.applyRedirs(ctx, c.redirs, tio)
		if !ok {
			return 1
		}
		defer closeFn()
		st := 0
		for sh.alive(ctx) && !sh.exited {
			cst := sh.runList(ctx, c.cond, cio)
			if (cst == 0) == c.until || sh.exited {
				break
			}
			st = sh.runList(ctx, c.body, cio)
			if sh.loopCtl == 1 {
				sh.loopCtl = 0
				break
			}
			sh.loopCtl = 0
		}
		return st
	case *forCmd:
		cio, closeFn, ok := sh.applyRedirs(ctx, c.redirs, tio)
		if !ok {
			return 1
		}
		defer closeFn()
		items := sh.params[1:]
		if c.hasIn {
			var err error
			items, err = sh.expandWords(ctx, c.items, cio)
			if err != nil {
				sh.errorf(cio, "%v", err)
				return 1
			}
		}
		st := 0
		for _, it := range items {
			if !sh.alive(ctx) || sh.exited {
				break
			}
			sh.vars[c.name] = it
			st = sh.runList(ctx, c.body, cio)
			if sh.loopCtl == 1 {
				sh.loopCtl = 0
				break
			}
			sh.loopCtl = 0
		}
		return st
	}
	return 1
}

func (sh *shell) runSimple(ctx context.Context, c *simpleCmd, tio ioTable) int {
	argv, err := sh.expandWords(ctx, c.words, tio)
	if err != nil {
		sh.errorf(tio, "%v", err)
		return 1
	}
	var env map[string]string
	for _, a := range c.assigns {
		v, err := sh.expandNoSplit(ctx, a.val, tio)
		if err != nil {
			sh.errorf(tio, "%v", err)
			return 1
		}
		if len(argv) == 0 {
			sh.vars[a.name] = v
		} else {
			if env == nil {
				env = map[string]string{}
			}
			env[a.name] = v
		}
	}
	cio, closeFn, ok := sh.applyRedirs(ctx, c.redirs, tio)
	if !ok {
		return 1
	}
	defer closeFn()
	if len(argv) == 0 {
		return 0
	}
	return sh.dispatch(ctx, argv, env, cio)
}

func (sh *shell) dispatch(ctx context.Context, argv []string, env map[string]string, tio ioTable) int {
	name := argv[0]
	if b, ok := builtins[name]; ok {
		c := &cmdCtx{ctx: ctx, sys: sh.sys, sh: sh, args: argv, stdin: tio.in, stdout: tio.out, stderr: tio.err, env: env}
		return runGuarded(c, b)
	}
	base := name
	if strings.Contains(name, "/") {
		dir := path.Dir(canon(sh.abs(name)))
		base = path.Base(name)
		switch dir {
		case "/system/bin", "/system/xbin", "/bin", "/vendor/bin", "/product/bin", "/system_ext/bin":
		default:
			if data, err := sh.sys.fs.readFile(sh.abs(name), sh.uid == 0); err == nil && !bytes.HasPrefix(data, []byte("\x7fELF")) {
				return sh.runExternal(ctx, "sh", append([]string{"sh", name}, argv[1:]...), env, tio)
			}
			base = ""
		}
	}
	if _, ok := commands[base]; !ok || base == "" {
		sh.errorf(tio, "%s: not found", name)
		return 127
	}
	return sh.runExternal(ctx, base, argv, env, tio)
}

// procImage is how some commands appear in ps (they are scripts that exec
// another program on a device).
var procImage = map[string][]string{
	"am": {"cmd", "activity"}, "pm": {"cmd", "package"}, "input": {"cmd", "input"},
	"settings": {"cmd", "settings"}, "wm": {"cmd", "window"}, "monkey": {"app_process", "/system/bin", "com.android.commands.monkey.Monkey"},
}

func (sh *shell) runExternal(ctx context.Context, base string, argv []string, env map[string]string, tio ioTable) int {
	s := sh.sys
	args := argv
	pname := path.Base(argv[0])
	if img, ok := procImage[base]; ok {
		args = append(append([]string(nil), img...), argv[1:]...)
		pname = img[0]
		if base == "monkey" {
			pname = "com.android.commands.monkey"
			args[0] = pname
		}
	}
	if base == "uiautomator" {
		args = append([]string{"uiautomator"}, argv[1:]...)
	}
	s.mu.Lock()
	wchan := "do_sys_poll"
	if base == "sleep" {
		wchan = "hrtimer_nanosleep"
	}
	p, err := s.newProcLocked(procOpts{ppid: sh.proc.Pid, uid: sh.uid, name: pname, args: args, kind: kindShell, parent: sh.proc.ctx, sid: sh.proc.sid, wchan: wchan})
	s.mu.Unlock()
	if err != nil {
		sh.errorf(tio, "can't fork")
		return 1
	}
	cctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	stopAfter := context.AfterFunc(ctx, cancel)
	defer stopAfter()
	var sigpipe atomic.Bool
	out := &sigpipeWriter{w: tio.out, onErr: func() { sigpipe.Store(true); cancel() }}
	c := &cmdCtx{ctx: cctx, sys: s, sh: sh, proc: p, args: argv, stdin: tio.in, stdout: out, stderr: tio.err, env: env}
	st := runGuarded(c, commands[base])
	s.exitProcess(p)
	if sig := p.Signal(); sig != 0 {
		return 128 + sig
	}
	if sigpipe.Load() {
		return 141
	}
	return st
}

// runGuarded turns a panic in a command into an error status.
func runGuarded(c *cmdCtx, fn func(*cmdCtx) int) (st int) {
	defer func() {
		if r := recover(); r != nil {
			c.errf("%s: internal error: %v\n", c.args[0], r)
			st = 1
		}
	}()
	return fn(c)
}

func (sh *shell) abs(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		return "/" + strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
	}
	return path.Join(sh.cwd, p)
}

// applyRedirs applies redirections left to right.
func (sh *shell) applyRedirs(ctx context.Context, rs []redir, tio ioTable) (ioTable, func(), bool) {
	nop := func() {}
	if len(rs) == 0 {
		return tio, nop, true
	}
	fds := map[int]any{0: tio.in, 1: tio.out, 2: tio.err}
	for _, r := range rs {
		target, err := sh.expandNoSplit(ctx, r.target, tio)
		if err != nil {
			sh.errorf(tio, "%v", err)
			return tio, nop, false
		}
		switch r.op {
		case "<":
			if target == "/dev/null" || target == "/dev/tty" || target == "/dev/zero" {
				fds[r.fd] = strings.NewReader("")
				continue
			}
			data, err := sh.sys.fs.readFile(sh.abs(target), sh.uid == 0)
			if err != nil {
				sh.errorf(tio, "can't open %s: %s", target, errnoText(err))
				return tio, nop, false
			}
			fds[r.fd] = bytes.NewReader(data)
		case "<<<":
			fds[r.fd] = strings.NewReader(target + "\n")
		case ">", ">>", "&>":
			var w io.Writer
			switch canon(sh.abs(target)) {
			case "/dev/null", "/dev/zero":
				w = io_Discard
			case "/dev/tty":
				w = sh.tty
			default:
				p := sh.abs(target)
				if err := sh.sys.fs.writeFile(p, nil, r.op == ">>", sh.uid == 0); err != nil {
					sh.errorf(tio, "can't create %s: %s", target, errnoText(err))
					return tio, nop, false
				}
				w = &fileWriter{fs: sh.sys.fs, path: p, root: sh.uid == 0}
			}
			if r.op == "&>" {
				fds[1], fds[2] = w, w
			} else {
				fds[r.fd] = w
			}
		case ">&", "<&":
			if target == "-" {
				if r.fd == 0 {
					fds[0] = strings.NewReader("")
				} else {
					fds[r.fd] = io_Discard
				}
				continue
			}
			n, err := strconv.Atoi(target)
			if err != nil {
				if r.op == ">&" && r.fd == 1 {
					// >&file is &>file
					p := sh.abs(target)
					if err := sh.sys.fs.writeFile(p, nil, false, sh.uid == 0); err != nil {
						sh.errorf(tio, "can't create %s: %s", target, errnoText(err))
						return tio, nop, false
					}
					w := &fileWriter{fs: sh.sys.fs, path: p, root: sh.uid == 0}
					fds[1], fds[2] = w, w
					continue
				}
				sh.errorf(tio, "%s: illegal file descriptor name", target)
				return tio, nop, false
			}
			v, ok := fds[n]
			if !ok {
				sh.errorf(tio, "%d: bad file descriptor", n)
				return tio, nop, false
			}
			fds[r.fd] = v
		}
	}
	out := tio
	if r, ok := fds[0].(io.Reader); ok {
		out.in = r
	}
	if w, ok := fds[1].(io.Writer); ok {
		out.out = w
	}
	if w, ok := fds[2].(io.Writer); ok {
		out.err = w
	}
	return out, nop, true
}

var io_Discard = io.Discard
