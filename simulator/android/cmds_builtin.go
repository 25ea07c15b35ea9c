package android

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Shell builtins: commands that run inside the shell process itself
// (cd, export, read, echo, test, set, ...).

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
