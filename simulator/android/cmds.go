package android

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cmdCtx is what a shell command runs with.
type cmdCtx struct {
	ctx    context.Context
	sys    *System
	sh     *shell
	proc   *Process // the command's own process; nil for shell builtins
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    map[string]string // NAME=value prefix assignments
}

func (c *cmdCtx) outf(format string, a ...any) { fmt.Fprintf(c.stdout, format, a...) }
func (c *cmdCtx) errf(format string, a ...any) { fmt.Fprintf(c.stderr, format, a...) }
func (c *cmdCtx) root() bool                   { return c.sh.uid == 0 }
func (c *cmdCtx) abs(p string) string {
	if p == "/proc/self" || strings.HasPrefix(p, "/proc/self/") {
		pid := c.sh.proc.Pid
		if c.proc != nil {
			pid = c.proc.Pid
		}
		p = "/proc/" + strconv.Itoa(pid) + strings.TrimPrefix(p, "/proc/self")
	}
	return c.sh.abs(p)
}

// capture redirects the command's output to memory until the returned
// function is called, which writes it out. Commands use it so that they
// never write (and maybe block on a pipe) while holding the system lock.
func (c *cmdCtx) capture() (flush func()) {
	out, errw := c.stdout, c.stderr
	var ob, eb bytes.Buffer
	c.stdout, c.stderr = &ob, &eb
	return func() {
		c.stdout, c.stderr = out, errw
		if eb.Len() > 0 {
			c.stderr.Write(eb.Bytes())
		}
		if ob.Len() > 0 {
			c.stdout.Write(ob.Bytes())
		}
	}
}

// fail prints "NAME: msg" on stderr and returns 1, like toybox error_msg.
func (c *cmdCtx) fail(format string, a ...any) int {
	c.errf("%s: %s\n", path.Base(c.args[0]), fmt.Sprintf(format, a...))
	return 1
}

// unknownOpt is toybox's message for a bad option.
func (c *cmdCtx) unknownOpt(opt string) int {
	name := path.Base(c.args[0])
	c.errf("%s: Unknown option '%s' (see \"%s --help\")\n", name, strings.TrimLeft(opt, "-"), name)
	return 1
}

func (c *cmdCtx) getenv(name string) (string, bool) {
	if v, ok := c.env[name]; ok {
		return v, true
	}
	if c.sh.exported[name] {
		v, ok := c.sh.vars[name]
		return v, ok
	}
	return "", false
}

// writeFile writes a device file, with /dev/tty going to stdout.
func (c *cmdCtx) writeFile(p string, data []byte, appendTo bool) error {
	switch canon(c.abs(p)) {
	case "/dev/tty":
		_, err := c.stdout.Write(data)
		return err
	case "/dev/null":
		return nil
	}
	return c.sys.fs.writeFile(c.abs(p), data, appendTo, c.root())
}

func (c *cmdCtx) readFile(p string) ([]byte, error) {
	if p == "-" {
		return io.ReadAll(c.stdin)
	}
	return c.sys.fs.readFile(c.abs(p), c.root())
}

// sleep waits d or until the command is cancelled.
func (c *cmdCtx) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// splitFlags separates toybox-style single-letter flags from operands; flags
// listed in withArg take the next argument (or the rest of the cluster).
func splitFlags(args []string, known, withArg string) (flags map[byte]string, rest []string, bad string) {
	flags = map[byte]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			return
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			f := a[j]
			if strings.IndexByte(withArg, f) >= 0 {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return flags, rest, "-" + string(f)
					}
					i++
					v = args[i]
				}
				flags[f] = v
				break
			}
			if strings.IndexByte(known, f) < 0 {
				return flags, rest, string(f)
			}
			flags[f] = ""
		}
	}
	return
}

var builtins map[string]func(*cmdCtx) int
var commands map[string]func(*cmdCtx) int

func init() {
	builtins = map[string]func(*cmdCtx) int{
		"cd": biCd, "pwd": biPwd, "exit": biExit, "export": biExport, "unset": biUnset, "exec": biExec,
		"eval": biEval, ".": biSource, "source": biSource, "read": biRead, "echo": biEcho, "true": biTrue,
		"false": biFalse, ":": biTrue, "test": biTest, "[": biTest, "wait": biWait, "set": biSet,
		"shift": biShift, "type": biType, "command": biCommand, "break": biBreak, "continue": biContinue,
		"return": biExit, "local": biExport, "alias": biTrue, "ulimit": biUlimit, "umask": biUmask,
		"trap": biTrue, "times": biTrue, "print": biEcho,
	}
	commands = map[string]func(*cmdCtx) int{
		"sh": cmdSh, "cat": cmdCat, "ls": cmdLs, "rm": cmdRm, "rmdir": cmdRmdir, "mkdir": cmdMkdir,
		"touch": cmdTouch, "cp": cmdCp, "mv": cmdMv, "printf": cmdPrintf, "sleep": cmdSleep, "id": cmdId,
		"whoami": cmdWhoami, "uname": cmdUname, "date": cmdDate, "getprop": cmdGetprop, "setprop": cmdSetprop,
		"env": cmdEnv, "printenv": cmdEnv, "which": cmdWhich, "basename": cmdBasename, "dirname": cmdDirname,
		"seq": cmdSeq, "yes": cmdYes, "pidof": cmdPidof, "ps": cmdPs, "kill": cmdKill, "killall": cmdKillall,
		"grep": cmdGrep, "egrep": cmdGrep, "fgrep": cmdGrep, "head": cmdHead, "tail": cmdTail, "wc": cmdWc,
		"sort": cmdSort, "cut": cmdCut, "uniq": cmdUniq, "tr": cmdTr, "tee": cmdTee, "xargs": cmdXargs,
		"log": cmdLog, "logcat": cmdLogcat, "am": cmdAm, "cmd": cmdCmd, "pm": cmdPm, "dumpsys": cmdDumpsys,
		"input": cmdInput, "uiautomator": cmdUiautomator, "settings": cmdSettings, "wm": cmdWm,
		"monkey": cmdMonkey, "stat": cmdStat, "uptime": cmdUptime, "true": biTrue, "false": biFalse,
		"echo": biEcho, "test": biTest, "[": biTest, "nproc": cmdNproc, "df": cmdDf, "free": cmdFree,
		"toybox": cmdToybox, "pwd": biPwd,
	}
}

// ---- builtins ----

func biTrue(c *cmdCtx) int  { return 0 }
func biFalse(c *cmdCtx) int { return 1 }

func biCd(c *cmdCtx) int {
	dir := "/"
	if len(c.args) > 1 {
		dir = c.args[1]
	}
	if dir == "-" {
		dir, _ = c.sh.vars["OLDPWD"]
		if dir == "" {
			dir = "/"
		}
	}
	p := path.Clean(c.abs(dir))
	fi, err := c.sys.fs.stat(p)
	if err != nil {
		c.sh.errorf(ioTable{err: c.stderr}, "cd: %s: %s", dir, errnoText(err))
		return 2
	}
	if !fi.dir {
		c.sh.errorf(ioTable{err: c.stderr}, "cd: %s: Not a directory", dir)
		return 2
	}
	if err := c.sys.fs.readable(canon(p), c.root()); err != nil {
		c.sh.errorf(ioTable{err: c.stderr}, "cd: %s: Permission denied", dir)
		return 2
	}
	c.sh.vars["OLDPWD"] = c.sh.cwd
	c.sh.cwd = p
	return 0
}

func biPwd(c *cmdCtx) int {
	c.outf("%s\n", c.sh.cwd)
	return 0
}

func biExit(c *cmdCtx) int {
	st := c.sh.status
	if len(c.args) > 1 {
		n, err := strconv.Atoi(c.args[1])
		if err != nil {
			c.sh.errorf(ioTable{err: c.stderr}, "%s: %s: bad number", c.args[0], c.args[1])
			st = 1
		} else {
			st = n & 0xff
		}
	}
	c.sh.exited = true
	c.sh.status = st
	return st
}

func biExport(c *cmdCtx) int {
	if len(c.args) == 1 || (len(c.args) == 2 && c.args[1] == "-p") {
		for _, k := range sortedStrKeys(c.sh.vars) {
			if c.sh.exported[k] {
				c.outf("export %s=%s\n", k, shQuote(c.sh.vars[k]))
			}
		}
		return 0
	}
	for _, a := range c.args[1:] {
		if a == "-p" {
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if name == "" || !isNameStart(name[0]) {
			c.sh.errorf(ioTable{err: c.stderr}, "%s: %s: is not an identifier", c.args[0], a)
			return 1
		}
		if hasVal {
			c.sh.vars[name] = val
		}
		if c.args[0] == "export" {
			c.sh.exported[name] = true
		}
	}
	return 0
}

func shQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func sortedStrKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func biUnset(c *cmdCtx) int {
	for _, a := range c.args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		delete(c.sh.vars, a)
		delete(c.sh.exported, a)
	}
	return 0
}

func biExec(c *cmdCtx) int {
	if len(c.args) == 1 {
		return 0
	}
	st := c.sh.dispatch(c.ctx, c.args[1:], c.env, ioTable{in: c.stdin, out: c.stdout, err: c.stderr})
	c.sh.exited = true
	c.sh.status = st
	return st
}

func biEval(c *cmdCtx) int {
	return c.sh.runSource(c.ctx, strings.Join(c.args[1:], " "), ioTable{in: c.stdin, out: c.stdout, err: c.stderr})
}

func biSource(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.sh.errorf(ioTable{err: c.stderr}, "%s: missing argument", c.args[0])
		return 1
	}
	data, err := c.readFile(c.args[1])
	if err != nil {
		c.sh.errorf(ioTable{err: c.stderr}, "%s: %s: %s", c.args[0], c.args[1], errnoText(err))
		return 1
	}
	return c.sh.runSource(c.ctx, string(data), ioTable{in: c.stdin, out: c.stdout, err: c.stderr})
}

func biRead(c *cmdCtx) int {
	var names []string
	raw := false
	for _, a := range c.args[1:] {
		switch {
		case a == "-r":
			raw = true
		case strings.HasPrefix(a, "-"):
		default:
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		names = []string{"REPLY"}
	}
	var line []byte
	buf := make([]byte, 1)
	got := false
	for {
		n, err := c.stdin.Read(buf)
		if n > 0 {
			got = true
			if buf[0] == '\n' {
				break
			}
			line = append(line, buf[0])
		}
		if err != nil {
			break
		}
	}
	s := string(line)
	if !raw {
		s = strings.ReplaceAll(s, "\\", "")
	}
	fields := strings.Fields(s)
	for i, n := range names {
		switch {
		case i == len(names)-1 && i < len(fields):
			// the last name takes the rest of the line
			rest := strings.TrimLeft(s, " \t")
			for k := 0; k < i; k++ {
				rest = strings.TrimLeft(strings.TrimPrefix(rest, fields[k]), " \t")
			}
			c.sh.vars[n] = strings.TrimRight(rest, " \t")
		case i < len(fields):
			c.sh.vars[n] = fields[i]
		default:
			c.sh.vars[n] = ""
		}
	}
	if !got {
		return 1
	}
	return 0
}

// echoEscapes interprets backslash escapes; it reports false at \c.
func echoEscapes(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'c':
			return b.String(), false
		case 'e':
			b.WriteByte(27)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case '\\':
			b.WriteByte('\\')
		case '0':
			v, j := 0, i+1
			for ; j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7'; j++ {
				v = v*8 + int(s[j]-'0')
			}
			b.WriteByte(byte(v))
			i = j - 1
		case 'x':
			v, j := 0, i+1
			for ; j < len(s) && j < i+3 && isHex(s[j]); j++ {
				v = v*16 + hexVal(s[j])
			}
			if j == i+1 {
				b.WriteString("\\x")
				continue
			}
			b.WriteByte(byte(v))
			i = j - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// biEcho is mksh's echo: -n, -e, -E; escapes are interpreted by default.
func biEcho(c *cmdCtx) int {
	args := c.args[1:]
	newline, escapes := true, true
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		for _, f := range args[0][1:] {
			switch f {
			case 'n':
				newline = false
			case 'e':
				escapes = true
			case 'E':
				escapes = false
			}
		}
		args = args[1:]
	}
	s := strings.Join(args, " ")
	if escapes {
		var more bool
		s, more = echoEscapes(s)
		if !more {
			newline = false
		}
	}
	if newline {
		s += "\n"
	}
	_, err := io.WriteString(c.stdout, s)
	if err != nil {
		return 1
	}
	return 0
}

func biWait(c *cmdCtx) int {
	done := make(chan struct{})
	go func() { c.sh.jobs.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-c.ctx.Done():
	}
	return 0
}

func biSet(c *cmdCtx) int {
	if len(c.args) == 1 {
		for _, k := range sortedStrKeys(c.sh.vars) {
			c.outf("%s=%s\n", k, shQuote(c.sh.vars[k]))
		}
		return 0
	}
	args := c.args[1:]
	for len(args) > 0 && (strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[0], "+")) {
		if args[0] == "--" {
			args = args[1:]
			c.sh.params = append(c.sh.params[:1], args...)
			return 0
		}
		if args[0] == "-o" || args[0] == "+o" {
			args = args[1:]
		}
		if len(args) > 0 {
			args = args[1:]
		}
	}
	if len(args) > 0 {
		c.sh.params = append(c.sh.params[:1], args...)
	}
	return 0
}

func biShift(c *cmdCtx) int {
	n := 1
	if len(c.args) > 1 {
		v, err := strconv.Atoi(c.args[1])
		if err != nil || v < 0 {
			c.sh.errorf(ioTable{err: c.stderr}, "shift: %s: bad number", c.args[1])
			return 1
		}
		n = v
	}
	if n > len(c.sh.params)-1 {
		c.sh.errorf(ioTable{err: c.stderr}, "shift: nothing to shift")
		return 1
	}
	c.sh.params = append(c.sh.params[:1], c.sh.params[1+n:]...)
	return 0
}

func biBreak(c *cmdCtx) int {
	c.sh.loopCtl = 1
	return 0
}

func biContinue(c *cmdCtx) int {
	c.sh.loopCtl = 2
	return 0
}

func biUlimit(c *cmdCtx) int {
	c.outf("unlimited\n")
	return 0
}

func biUmask(c *cmdCtx) int {
	if len(c.args) == 1 {
		c.outf("0000\n")
	}
	return 0
}

func biType(c *cmdCtx) int {
	st := 0
	for _, a := range c.args[1:] {
		switch {
		case builtins[a] != nil:
			c.outf("%s is a shell builtin\n", a)
		case commands[a] != nil:
			c.outf("%s is a tracked alias for /system/bin/%s\n", a, a)
		default:
			c.outf("%s not found\n", a)
			st = 1
		}
	}
	return st
}

func biCommand(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) > 0 && (args[0] == "-v" || args[0] == "-V") {
		st := 0
		for _, a := range args[1:] {
			switch {
			case builtins[a] != nil:
				c.outf("%s\n", a)
			case commands[a] != nil:
				c.outf("/system/bin/%s\n", a)
			default:
				st = 1
			}
		}
		return st
	}
	if len(args) == 0 {
		return 0
	}
	return c.sh.dispatch(c.ctx, args, c.env, ioTable{in: c.stdin, out: c.stdout, err: c.stderr})
}

// biTest is test / [.
func biTest(c *cmdCtx) int {
	args := c.args[1:]
	if c.args[0] == "[" {
		if len(args) == 0 || args[len(args)-1] != "]" {
			c.sh.errorf(ioTable{err: c.stderr}, "[: missing ]")
			return 2
		}
		args = args[:len(args)-1]
	}
	t := &testEval{c: c, args: args}
	v, err := t.or()
	if err == nil && t.pos < len(t.args) {
		err = fmt.Errorf("%s: unexpected operator", t.args[t.pos])
	}
	if err != nil {
		c.sh.errorf(ioTable{err: c.stderr}, "%s: %v", c.args[0], err)
		return 2
	}
	if v {
		return 0
	}
	return 1
}

type testEval struct {
	c    *cmdCtx
	args []string
	pos  int
}

func (t *testEval) peek() string {
	if t.pos < len(t.args) {
		return t.args[t.pos]
	}
	return ""
}

func (t *testEval) or() (bool, error) {
	v, err := t.and()
	for err == nil && t.peek() == "-o" {
		t.pos++
		var r bool
		r, err = t.and()
		v = v || r
	}
	return v, err
}

func (t *testEval) and() (bool, error) {
	v, err := t.not()
	for err == nil && t.peek() == "-a" {
		t.pos++
		var r bool
		r, err = t.not()
		v = v && r
	}
	return v, err
}

func (t *testEval) not() (bool, error) {
	if t.peek() == "!" && t.pos+1 < len(t.args) {
		t.pos++
		v, err := t.not()
		return !v, err
	}
	return t.prim()
}

func (t *testEval) prim() (bool, error) {
	if t.pos >= len(t.args) {
		if len(t.args) == 0 {
			return false, nil
		}
		return false, fmt.Errorf("argument expected")
	}
	a := t.args[t.pos]
	if a == "(" {
		t.pos++
		v, err := t.or()
		if err != nil {
			return false, err
		}
		if t.peek() != ")" {
			return false, fmt.Errorf("')' expected")
		}
		t.pos++
		return v, nil
	}
	if t.pos+2 < len(t.args) {
		op, b := t.args[t.pos+1], t.args[t.pos+2]
		switch op {
		case "=", "==":
			t.pos += 3
			return a == b, nil
		case "!=":
			t.pos += 3
			return a != b, nil
		case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
			x, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
			y, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
			if err1 != nil {
				return false, fmt.Errorf("%s: bad number", a)
			}
			if err2 != nil {
				return false, fmt.Errorf("%s: bad number", b)
			}
			t.pos += 3
			switch op {
			case "-eq":
				return x == y, nil
			case "-ne":
				return x != y, nil
			case "-lt":
				return x < y, nil
			case "-le":
				return x <= y, nil
			case "-gt":
				return x > y, nil
			}
			return x >= y, nil
		}
	}
	if len(a) == 2 && a[0] == '-' && t.pos+1 < len(t.args) {
		b := t.args[t.pos+1]
		switch a[1] {
		case 'z':
			t.pos += 2
			return b == "", nil
		case 'n':
			t.pos += 2
			return b != "", nil
		case 'e', 'f', 'd', 's', 'r', 'w', 'x', 'L', 'h':
			t.pos += 2
			fi, err := t.c.sys.fs.stat(t.c.abs(b))
			if err != nil {
				return false, nil
			}
			switch a[1] {
			case 'f':
				return !fi.dir, nil
			case 'd':
				return fi.dir, nil
			case 's':
				return fi.size > 0, nil
			case 'L', 'h':
				return false, nil
			}
			return true, nil
		}
	}
	t.pos++
	return a != "", nil
}

// ---- file commands ----

func cmdSh(c *cmdCtx) int {
	args := c.args[1:]
	sub := c.sh.sub(c.proc)
	// a new shell sees only the environment
	sub.vars = map[string]string{}
	for k := range sub.exported {
		if v, ok := c.sh.vars[k]; ok {
			sub.vars[k] = v
		}
	}
	for k, v := range c.env {
		sub.vars[k] = v
		sub.exported[k] = true
	}
	sub.params = []string{"sh"}
	tio := ioTable{in: c.stdin, out: c.stdout, err: c.stderr}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-c" {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "-c" {
		if len(args) < 2 {
			c.errf("%s: -c: option requires an argument\n", shName)
			return 1
		}
		if len(args) > 2 {
			sub.params = append([]string{args[2]}, args[3:]...)
		}
		st := sub.runSource(c.ctx, args[1], tio)
		sub.finish()
		return st
	}
	var src []byte
	var err error
	if len(args) > 0 {
		src, err = c.readFile(args[0])
		if err != nil {
			c.errf("%s: %s: No such file or directory\n", shName, args[0])
			return 127
		}
		sub.params = args
	} else {
		src, err = io_ReadAllCtx(c.ctx, c.stdin)
		if err != nil {
			return 1
		}
	}
	st := sub.runSource(c.ctx, string(src), tio)
	sub.finish()
	return st
}

// io_ReadAllCtx reads r to the end or until ctx is done.
func io_ReadAllCtx(ctx context.Context, r io.Reader) ([]byte, error) {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- res{b, err}
	}()
	select {
	case x := <-ch:
		return x.b, x.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lines calls fn for each line of the named files (or stdin), stopping
// when fn returns false or the command is cancelled.
func (c *cmdCtx) eachLine(files []string, fn func(file, line string) bool) int {
	st := 0
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		var r io.Reader
		if f == "-" {
			r = c.stdin
		} else {
			data, err := c.readFile(f)
			if err != nil {
				c.fail("%s: %s", f, errnoText(err))
				st = 1
				continue
			}
			r = strings.NewReader(string(data))
		}
		br := bufio.NewReaderSize(r, 64*1024)
		for {
			if c.ctx.Err() != nil {
				return st
			}
			line, err := br.ReadString('\n')
			if line != "" {
				if !fn(f, strings.TrimSuffix(line, "\n")) {
					return st
				}
			}
			if err != nil {
				break
			}
		}
	}
	return st
}

func cmdCat(c *cmdCtx) int {
	_, files, bad := splitFlags(c.args[1:], "uvtenAbs", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	st := 0
	for _, f := range files {
		if f == "-" {
			if _, err := copyCtx(c.ctx, c.stdout, c.stdin); err != nil {
				return 1
			}
			continue
		}
		data, err := c.readFile(f)
		if err != nil {
			c.fail("%s: %s", f, errnoText(err))
			st = 1
			continue
		}
		if _, err := c.stdout.Write(data); err != nil {
			return 1
		}
	}
	return st
}

// copyCtx copies until EOF, a write error or cancellation.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 32*1024)
	var n int64
	for {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func cmdLs(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "laAdR1htrSFnCix", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, long := flags['l']
	_, all := flags['a']
	_, almost := flags['A']
	_, dirOnly := flags['d']
	_, numeric := flags['n']
	if len(paths) == 0 {
		paths = []string{"."}
	}
	st := 0
	type group struct {
		title string
		ents  []finfo
		dir   bool
	}
	var files []finfo
	var groups []group
	for _, p := range paths {
		ap := c.abs(p)
		fi, err := c.sys.fs.stat(ap)
		if err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
			continue
		}
		if !fi.dir || dirOnly {
			fi.name = p
			files = append(files, fi)
			continue
		}
		ents, err := c.sys.fs.list(ap, c.root())
		if err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
			continue
		}
		var shown []finfo
		if all {
			self := fi
			self.name = "."
			parent := fi
			parent.name = ".."
			shown = append(shown, self, parent)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.name, ".") && !all && !almost {
				continue
			}
			shown = append(shown, e)
		}
		groups = append(groups, group{title: p, ents: shown, dir: true})
	}
	now := c.sys.clock.Now()
	_ = now
	loc := c.sys.Location()
	render := func(ents []finfo, total bool) {
		if !long {
			for _, e := range ents {
				c.outf("%s\n", e.name)
			}
			return
		}
		wl, wo, wg, ws := 1, 1, 1, 1
		blocks := 0
		for _, e := range ents {
			o, g := e.owner, e.group
			if numeric {
				o, g = strconv.Itoa(uidOfName(o)), strconv.Itoa(uidOfName(g))
			}
			wl = max(wl, len(strconv.Itoa(e.links)))
			wo = max(wo, len(o))
			wg = max(wg, len(g))
			ws = max(ws, len(strconv.Itoa(e.size)))
			blocks += (e.size + 4095) / 4096 * 4
		}
		if total {
			c.outf("total %d\n", blocks)
		}
		for _, e := range ents {
			t := "-"
			if e.dir {
				t = "d"
			}
			o, g := e.owner, e.group
			if numeric {
				o, g = strconv.Itoa(uidOfName(o)), strconv.Itoa(uidOfName(g))
			}
			c.outf("%s%s %*d %-*s %-*s %*d %s %s\n", t, e.mode, wl, e.links, wo, o, wg, g, ws, e.size,
				e.mtime.In(loc).Format("2006-01-02 15:04"), e.name)
		}
	}
	if len(files) > 0 {
		render(files, false)
	}
	for i, g := range groups {
		if len(groups) > 1 || len(files) > 0 {
			if i > 0 || len(files) > 0 {
				c.outf("\n")
			}
			c.outf("%s:\n", g.title)
		}
		render(g.ents, true)
	}
	return st
}

func cmdRm(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "rRfiv", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, r1 := flags['r']
	_, r2 := flags['R']
	_, force := flags['f']
	if len(paths) == 0 {
		if force {
			return 0
		}
		c.errf("rm: Needs 1 argument\n")
		return 1
	}
	st := 0
	for _, p := range paths {
		if err := c.sys.fs.remove(c.abs(p), r1 || r2, c.root()); err != nil {
			if force && errnoText(err) == errNoEnt.Error() {
				continue
			}
			c.fail("%s: %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdRmdir(c *cmdCtx) int {
	st := 0
	for _, p := range c.args[1:] {
		if strings.HasPrefix(p, "-") {
			continue
		}
		if err := c.sys.fs.rmdir(c.abs(p), c.root()); err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdMkdir(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "pv", "mZ")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, parents := flags['p']
	if len(paths) == 0 {
		c.errf("mkdir: Needs 1 argument\n")
		return 1
	}
	st := 0
	for _, p := range paths {
		if err := c.sys.fs.mkdir(c.abs(p), parents, c.root()); err != nil {
			c.fail("'%s': %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdTouch(c *cmdCtx) int {
	_, paths, bad := splitFlags(c.args[1:], "acmh", "dtr")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(paths) == 0 {
		c.errf("touch: Needs 1 argument\n")
		return 1
	}
	st := 0
	for _, p := range paths {
		if err := c.sys.fs.touch(c.abs(p), c.root()); err != nil {
			c.fail("'%s': %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdCp(c *cmdCtx) int {
	_, paths, bad := splitFlags(c.args[1:], "rRfpaivndlsuHLPF", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(paths) < 2 {
		c.errf("cp: Needs 2 arguments\n")
		return 1
	}
	dst := paths[len(paths)-1]
	st := 0
	for _, src := range paths[:len(paths)-1] {
		data, err := c.readFile(src)
		if err != nil {
			c.fail("%s: %s", src, errnoText(err))
			st = 1
			continue
		}
		target := c.abs(dst)
		if fi, err := c.sys.fs.stat(target); err == nil && fi.dir {
			target = path.Join(target, path.Base(src))
		}
		if err := c.sys.fs.writeFile(target, data, false, c.root()); err != nil {
			c.fail("'%s': %s", dst, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdMv(c *cmdCtx) int {
	if st := cmdCp(c); st != 0 {
		return st
	}
	_, paths, _ := splitFlags(c.args[1:], "fivnT", "")
	for _, src := range paths[:len(paths)-1] {
		_ = c.sys.fs.remove(c.abs(src), true, c.root())
	}
	return 0
}

func cmdStat(c *cmdCtx) int {
	_, paths, bad := splitFlags(c.args[1:], "fLt", "c")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	st := 0
	for _, p := range paths {
		fi, err := c.sys.fs.stat(c.abs(p))
		if err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
			continue
		}
		kind := "regular file"
		if fi.dir {
			kind = "directory"
		}
		ts := fi.mtime.In(c.sys.Location()).Format("2006-01-02 15:04:05.000000000 -0700")
		c.outf("  File: %s\n  Size: %d\t Blocks: %d\t IO Blocks: 4096\t%s\nAccess: (%s)\tUid: (%5d/%8s)\tGid: (%5d/%8s)\nAccess: %s\nModify: %s\nChange: %s\n",
			p, fi.size, (fi.size+511)/512, kind, fi.mode, uidOfName(fi.owner), fi.owner, uidOfName(fi.group), fi.group, ts, ts, ts)
	}
	return st
}

// ---- small commands ----

func cmdSleep(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("sleep: Needs 1 argument\n")
		return 1
	}
	var total time.Duration
	for _, a := range c.args[1:] {
		d, ok := parseSleep(a)
		if !ok {
			return c.fail("Not a number '%s'", a)
		}
		total += d
	}
	if !c.sleep(total) {
		return 130
	}
	return 0
}

func parseSleep(s string) (time.Duration, bool) {
	mult := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, mult = s[:len(s)-1], time.Hour
	case strings.HasSuffix(s, "d"):
		s, mult = s[:len(s)-1], 24*time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f || f > 1e7 || strings.ContainsAny(s, "xXpPeEnNiI") {
		return 0, false
	}
	return time.Duration(f * float64(mult)), true
}

var shellGroups = "1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid)"

func cmdId(c *cmdCtx) int {
	flags, rest, bad := splitFlags(c.args[1:], "ugGnrZ", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	uid := c.sh.uid
	name := userName(uid)
	if len(rest) > 0 {
		u := uidOfName(rest[0])
		if u < 0 {
			if n, err := strconv.Atoi(rest[0]); err == nil {
				u = n
			}
		}
		if u < 0 {
			return c.fail("unknown user '%s'", rest[0])
		}
		uid, name = u, userName(u)
	}
	_, n := flags['n']
	_, isU := flags['u']
	_, isG := flags['g']
	_, isGG := flags['G']
	switch {
	case isU || isG:
		if n {
			c.outf("%s\n", name)
		} else {
			c.outf("%d\n", uid)
		}
		return 0
	case isGG:
		if n {
			c.outf("%s input log adb sdcard_rw sdcard_r ext_data_rw ext_obb_rw net_bt_admin net_bt inet net_bw_stats readproc uhid\n", name)
		} else {
			c.outf("%d 1004 1007 1011 1015 1028 1078 1079 3001 3002 3003 3006 3009 3011\n", uid)
		}
		return 0
	}
	ctxLabel := "u:r:shell:s0"
	if uid == 0 {
		ctxLabel = "u:r:su:s0"
	}
	groups := fmt.Sprintf("%d(%s),%s", uid, name, shellGroups)
	if len(rest) > 0 && uid != 2000 && uid != 0 {
		groups = fmt.Sprintf("%d(%s)", uid, name)
	}
	line := fmt.Sprintf("uid=%d(%s) gid=%d(%s) groups=%s", uid, name, uid, name, groups)
	if len(rest) == 0 {
		line += " context=" + ctxLabel
	}
	c.outf("%s\n", line)
	return 0
}

func cmdWhoami(c *cmdCtx) int {
	c.outf("%s\n", userName(c.sh.uid))
	return 0
}

func cmdUname(c *cmdCtx) int {
	flags, _, bad := splitFlags(c.args[1:], "asnrvmpio", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	vals := map[byte]string{
		's': "Linux", 'n': "localhost", 'r': "4.9.223-g5d3a4b6",
		'v': "#1 SMP PREEMPT " + c.sys.GetProp("ro.build.date"), 'm': "aarch64", 'o': "Android",
	}
	if _, a := flags['a']; a {
		c.outf("%s %s %s %s %s %s\n", vals['s'], vals['n'], vals['r'], vals['v'], vals['m'], vals['o'])
		return 0
	}
	var out []string
	for _, f := range []byte("snrvmo") {
		if _, ok := flags[f]; ok {
			out = append(out, vals[f])
		}
	}
	if _, ok := flags['p']; ok {
		out = append(out, vals['m'])
	}
	if len(out) == 0 {
		out = []string{vals['s']}
	}
	c.outf("%s\n", strings.Join(out, " "))
	return 0
}

func cmdGetprop(c *cmdCtx) int {
	args := c.args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] != "-T" && args[0] != "-Z" {
			return c.unknownOpt(args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		props := c.sys.Props()
		for _, k := range sortedStrKeys(props) {
			c.outf("[%s]: [%s]\n", k, props[k])
		}
		return 0
	}
	v := c.sys.GetProp(args[0])
	if v == "" && len(args) > 1 {
		v = args[1]
	}
	c.outf("%s\n", v)
	return 0
}

func cmdSetprop(c *cmdCtx) int {
	if len(c.args) != 3 {
		c.errf("usage: setprop NAME VALUE\n\nSets an Android system property.\n")
		return 1
	}
	k, v := c.args[1], c.args[2]
	if strings.HasPrefix(k, "ro.") && c.sys.GetProp(k) != "" || len(v) > 91 && !strings.HasPrefix(k, "ro.") {
		c.errf("Failed to set property '%s' to '%s'.\nSee dmesg for error reason.\n", k, v)
		return 1
	}
	c.sys.SetProp(k, v)
	return 0
}

func cmdEnv(c *cmdCtx) int {
	env := map[string]string{}
	for k, ok := range c.sh.exported {
		if v, set := c.sh.vars[k]; ok && set {
			env[k] = v
		}
	}
	for k, v := range c.env {
		env[k] = v
	}
	args := c.args[1:]
	if c.args[0] == "printenv" {
		if len(args) == 0 {
			for _, k := range sortedStrKeys(env) {
				c.outf("%s=%s\n", k, env[k])
			}
			return 0
		}
		st := 0
		for _, a := range args {
			if v, ok := env[a]; ok {
				c.outf("%s\n", v)
			} else {
				st = 1
			}
		}
		return st
	}
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "=") {
		k, v, _ := strings.Cut(args[0], "=")
		env[k] = v
		args = args[1:]
	}
	if len(args) > 0 {
		return c.sh.dispatch(c.ctx, args, env, ioTable{in: c.stdin, out: c.stdout, err: c.stderr})
	}
	for _, k := range sortedStrKeys(env) {
		c.outf("%s=%s\n", k, env[k])
	}
	return 0
}

func cmdWhich(c *cmdCtx) int {
	st := 0
	for _, a := range c.args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if commands[a] != nil {
			c.outf("/system/bin/%s\n", a)
		} else {
			st = 1
		}
	}
	return st
}

func cmdBasename(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("basename: Needs 1 argument\n")
		return 1
	}
	b := path.Base(c.args[1])
	if len(c.args) > 2 {
		b = strings.TrimSuffix(b, c.args[2])
	}
	c.outf("%s\n", b)
	return 0
}

func cmdDirname(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("dirname: Needs 1 argument\n")
		return 1
	}
	c.outf("%s\n", path.Dir(c.args[1]))
	return 0
}

func cmdSeq(c *cmdCtx) int {
	var nums []int64
	for _, a := range c.args[1:] {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return c.fail("Not integer: %s", a)
		}
		nums = append(nums, n)
	}
	first, step, last := int64(1), int64(1), int64(0)
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, step, last = nums[0], nums[1], nums[2]
	default:
		c.errf("seq: Needs 1 argument\n")
		return 1
	}
	if step == 0 {
		return c.fail("Invalid increment '0'")
	}
	bw := bufio.NewWriter(c.stdout)
	defer bw.Flush()
	for i, n := first, 0; (step > 0 && i <= last) || (step < 0 && i >= last); i += step {
		fmt.Fprintf(bw, "%d\n", i)
		n++
		if n%1024 == 0 && c.ctx.Err() != nil {
			return 1
		}
	}
	return 0
}

func cmdYes(c *cmdCtx) int {
	s := "y"
	if len(c.args) > 1 {
		s = strings.Join(c.args[1:], " ")
	}
	line := []byte(s + "\n")
	for c.ctx.Err() == nil {
		if _, err := c.stdout.Write(line); err != nil {
			return 1
		}
	}
	return 1
}

func cmdUptime(c *cmdCtx) int {
	up := c.sys.clock.Uptime()
	now := c.sys.clock.Now().In(c.sys.Location())
	days := int(up.Hours()) / 24
	h := int(up.Hours()) % 24
	m := int(up.Minutes()) % 60
	ds := ""
	if days > 0 {
		ds = fmt.Sprintf("%d day%s, ", days, map[bool]string{true: "s", false: ""}[days != 1])
	}
	c.outf(" %s up %s%2d:%02d,  0 users,  load average: 0.52, 0.58, 0.59\n", now.Format("15:04:05"), ds, h, m)
	return 0
}

func cmdNproc(c *cmdCtx) int {
	c.outf("8\n")
	return 0
}

func cmdDf(c *cmdCtx) int {
	c.outf("%s", "Filesystem       1K-blocks    Used Available Use% Mounted on\n/dev/block/dm-4     2554280 2546424      7856 100% /\ntmpfs               1880832    1092   1879740   1% /dev\n/dev/block/sda45   53159224 9183784  43844368  18% /data\n/dev/fuse          53159224 9183784  43844368  18% /storage/emulated\n")
	return 0
}

func cmdFree(c *cmdCtx) int {
	c.outf("\t\ttotal        used        free      shared     buffers\nMem:        3851943936  3696766976   155176960    16314368     8237056\n-/+ buffers/cache:  3688529920   163414016\nSwap:       1073737728   406568960   667168768\n")
	return 0
}

func cmdToybox(c *cmdCtx) int {
	if len(c.args) < 2 {
		var names []string
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		c.outf("%s\n", strings.Join(names, " "))
		return 0
	}
	sub := *c
	sub.args = c.args[1:]
	fn := commands[c.args[1]]
	if fn == nil {
		c.errf("toybox: Unknown command %s\n", c.args[1])
		return 1
	}
	return fn(&sub)
}

// ---- printf ----

func cmdPrintf(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("printf: Needs 1 argument\n")
		return 1
	}
	format, args := c.args[1], c.args[2:]
	var b strings.Builder
	st := 0
	for {
		used, stop, err := printfOnce(&b, format, args)
		if err != nil {
			c.fail("%v", err)
			st = 1
		}
		args = args[used:]
		if stop || used == 0 || len(args) == 0 {
			break
		}
	}
	io.WriteString(c.stdout, b.String())
	return st
}

func printfOnce(b *strings.Builder, format string, args []string) (used int, stop bool, err error) {
	next := func() (string, bool) {
		if used < len(args) {
			used++
			return args[used-1], true
		}
		return "", false
	}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch == '\\' {
			str, next, more := printfEscape(format, i)
			b.WriteString(str)
			if !more {
				return used, true, nil
			}
			i = next - 1
			continue
		}
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			b.WriteString(format[i:])
			return used, false, nil
		}
		spec := format[i+1 : j]
		verb := format[j]
		i = j
		switch verb {
		case '%':
			b.WriteByte('%')
		case 's':
			a, _ := next()
			fmt.Fprintf(b, "%"+spec+"s", a)
		case 'b':
			a, _ := next()
			s, more := echoEscapes(a)
			fmt.Fprintf(b, "%"+spec+"s", s)
			if !more {
				return used, true, nil
			}
		case 'c':
			a, _ := next()
			if a != "" {
				b.WriteByte(a[0])
			}
		case 'd', 'i', 'u', 'x', 'X', 'o':
			a, _ := next()
			n, perr := parsePrintfInt(a)
			if perr != nil {
				err = perr
			}
			v := verb
			if v == 'i' || v == 'u' {
				v = 'd'
			}
			fmt.Fprintf(b, "%"+spec+string(v), n)
		case 'f', 'e', 'E', 'g', 'G':
			a, _ := next()
			f, perr := strconv.ParseFloat(strings.TrimSpace(a), 64)
			if perr != nil && a != "" {
				err = fmt.Errorf("invalid number '%s'", a)
			}
			fmt.Fprintf(b, "%"+spec+string(verb), f)
		default:
			return used, true, fmt.Errorf("bad %%%c", verb)
		}
	}
	return used, false, nil
}

func parsePrintfInt(a string) (int64, error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return 0, nil
	}
	if len(a) > 1 && (a[0] == '\'' || a[0] == '"') {
		return int64(a[1]), nil
	}
	n, err := strconv.ParseInt(a, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number '%s'", a)
	}
	return n, nil
}

// ---- settings / wm / monkey ----

func cmdSettings(c *cmdCtx) int {
	args := c.args[1:]
	for len(args) > 0 && (args[0] == "--user" || args[0] == "--lineage") {
		if len(args) < 2 {
			break
		}
		args = args[2:]
	}
	usage := func() int {
		c.errf("Settings provider (settings) commands:\n  get [--user <USER_ID> | current] NAMESPACE KEY\n  put [--user <USER_ID> | current] NAMESPACE KEY VALUE [TAG] [default]\n  delete [--user <USER_ID> | current] NAMESPACE KEY\n  list [--user <USER_ID> | current] NAMESPACE\n")
		return 255
	}
	if len(args) < 2 {
		return usage()
	}
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.settings[args[1]]
	if ns == nil {
		c.errf("Invalid namespace '%s'\n", args[1])
		return 255
	}
	switch args[0] {
	case "get":
		if len(args) < 3 {
			return usage()
		}
		if v, ok := ns[args[2]]; ok {
			c.outf("%s\n", v)
		} else {
			c.outf("null\n")
		}
	case "put":
		if len(args) < 4 {
			return usage()
		}
		ns[args[2]] = args[3]
	case "delete":
		if len(args) < 3 {
			return usage()
		}
		if _, ok := ns[args[2]]; ok {
			delete(ns, args[2])
			c.outf("Deleted 1 rows\n")
		} else {
			c.outf("Deleted 0 rows\n")
		}
	case "list":
		for _, k := range sortedStrKeys(ns) {
			c.outf("%s=%s\n", k, ns[k])
		}
	default:
		return usage()
	}
	return 0
}

func cmdWm(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) == 0 {
		c.errf("Window manager (window) commands:\n  help\n  size [reset|WxH|WdpxHdp] [-d DISPLAY_ID]\n  density [reset|DENSITY] [-d DISPLAY_ID]\n")
		return 255
	}
	switch args[0] {
	case "size":
		c.outf("Physical size: %dx%d\n", c.sys.cfg.Screen.Width, c.sys.cfg.Screen.Height)
	case "density":
		c.outf("Physical density: %s\n", c.sys.GetProp("ro.sf.lcd_density"))
	default:
		c.errf("Unknown command: %s\n", args[0])
		return 255
	}
	return 0
}

func cmdMonkey(c *cmdCtx) int {
	var pkg, cat string
	events := 0
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-p" && i+1 < len(args):
			i++
			pkg = args[i]
		case a == "-c" && i+1 < len(args):
			i++
			cat = args[i]
		case a == "-v" || a == "--ignore-crashes" || a == "--ignore-timeouts":
		case strings.HasPrefix(a, "-") && i+1 < len(args):
			i++
		default:
			n, err := strconv.Atoi(a)
			if err != nil {
				c.errf("** Error: Invalid argument: %s\n", a)
				return 1
			}
			events = n
		}
	}
	if events == 0 {
		c.errf("** Error: Count not specified\nusage: monkey [-p ALLOWED_PACKAGE [-p ALLOWED_PACKAGE] ...]\n")
		return 1
	}
	start := c.sys.clock.Uptime()
	if pkg != "" && (cat == "" || cat == CategoryLauncher) {
		_, err := c.sys.startActivity(c.ctx, startReq{in: Intent{Action: ActionMain, Categories: []string{CategoryLauncher}, Package: pkg, Flags: 0x10200000}, callerUid: c.sh.uid})
		if err != nil {
			c.errf("** No activities found to run, monkey aborted.\n")
			return 251
		}
	}
	c.outf("  bash arg: -p\n  bash arg: %s\n", pkg)
	c.outf("Events injected: %d\n", events)
	el := (c.sys.clock.Uptime() - start).Milliseconds() + 20
	c.outf("## Network stats: elapsed time=%dms (0ms mobile, 0ms wifi, %dms not connected)\n", el, el)
	return 0
}

// printfEscape decodes the backslash escape at format[i]; it returns the
// text, the index after the escape, and false at \c.
func printfEscape(format string, i int) (string, int, bool) {
	if i+1 >= len(format) {
		return "\\", i + 1, true
	}
	c := format[i+1]
	if c >= '0' && c <= '7' {
		v, j := 0, i+1
		for ; j < len(format) && j < i+4 && format[j] >= '0' && format[j] <= '7'; j++ {
			v = v*8 + int(format[j]-'0')
		}
		return string([]byte{byte(v)}), j, true
	}
	switch c {
	case 'c':
		return "", i + 2, false
	case '"', '\'':
		return string(c), i + 2, true
	}
	s, _ := echoEscapes(format[i : i+2])
	return s, i + 2, true
}
