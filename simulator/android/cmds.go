package android

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
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
		"toybox": cmdToybox, "pwd": biPwd, "screencap": cmdScreencap, "chmod": cmdChmod,
	}
}
