package android

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

type psField struct {
	name  string
	title string
	width int // negative: left-justified
}

var psWidths = map[string]int{
	"PID": 5, "PPID": 5, "PRI": 3, "NI": 3, "ADDR": 12, "SZ": 5, "RSS": 6, "PGID": 5, "VSZ": 7,
	"MAJFL": 6, "MINFL": 6, "PR": 2, "PSR": 3, "RTPRIO": 6, "SCH": 3, "CPU": 3, "TID": 5, "TCNT": 4,
	"BIT": 3, "TTY": -8, "WCHAN": -6, "LABEL": -30, "COMM": -27, "NAME": -27, "COMMAND": -27,
	"CMDLINE": -27, "ARGS": -27, "CMD": -15, "UID": 5, "USER": -12, "RUID": 4, "RUSER": -8,
	"GID": 8, "GROUP": -8, "RGID": 4, "RGROUP": -8, "TIME": 8, "ELAPSED": 11, "TIME+": 9,
	"C": 1, "%VSZ": 5, "%MEM": 5, "%CPU": 4, "STIME": 5, "F": 1, "S": -1, "STAT": -5, "PCY": 3,
}

var psAliases = map[string]string{"VSIZE": "VSZ", "NICE": "NI", "SCHED": "SCH", "ETIME": "ELAPSED", "PCPU": "%CPU", "UNAME": "USER"}

// parsePsFields parses "FIELD[:WIDTH][=TITLE],..." lists.
func parsePsFields(list string) ([]psField, string) {
	var out []psField
	for _, item := range strings.Split(list, ",") {
		if item == "" {
			continue
		}
		spec, title, hasTitle := strings.Cut(item, "=")
		name, width, hasWidth := strings.Cut(spec, ":")
		uname := strings.ToUpper(name)
		if a, ok := psAliases[uname]; ok {
			uname = a
		}
		w, ok := psWidths[uname]
		if !ok {
			return nil, item
		}
		if hasWidth {
			n, err := strconv.Atoi(width)
			if err != nil || n < 0 || n > 1000 {
				return nil, item
			}
			if w < 0 {
				n = -n
			}
			w = n
		}
		if !hasTitle {
			title = uname
		}
		out = append(out, psField{name: uname, title: title, width: w})
	}
	return out, ""
}

func (s *System) selinuxLabel(p *Process) string {
	switch p.kind {
	case kindKernel:
		return "u:r:kernel:s0"
	case kindShell:
		if p.Uid == 0 {
			return "u:r:su:s0"
		}
		return "u:r:shell:s0"
	case kindNative:
		switch p.Name {
		case "zygote64", "zygote":
			return "u:r:zygote:s0"
		case "adbd":
			if p.Uid == 0 {
				return "u:r:su:s0"
			}
			return "u:r:adbd:s0"
		}
		return "u:r:" + path.Base(p.Name) + ":s0"
	}
	switch {
	case p.Name == "system_server":
		return "u:r:system_server:s0"
	case p.Uid == 1000:
		return "u:r:system_app:s0"
	case p.Uid%100000 < 10000:
		return "u:r:radio:s0"
	}
	app := p.Uid%100000 - 10000
	if p.Package == systemuiPkg || p.Package == launcherPkg {
		return fmt.Sprintf("u:r:platform_app:s0:c%d,c%d,c512,c768", app&0xff, 256+(app>>8&0xff))
	}
	return fmt.Sprintf("u:r:untrusted_app:s0:c%d,c%d,c512,c768", app&0xff, 256+(app>>8&0xff))
}

func (p *Process) exeName() string {
	switch p.kind {
	case kindKernel:
		return ""
	case kindApp:
		return "app_process64"
	case kindShell:
		if p.Name == "sh" || p.Name == "cmd" || p.Name == "logcat" || p.Name == "dumpsys" {
			return p.Name
		}
		if p.Name == "uiautomator" || p.Name == "com.android.commands.monkey" {
			return "app_process64"
		}
		return "toybox"
	}
	if len(p.Args) > 0 {
		if p.Name == "zygote64" {
			return "app_process64"
		}
		if p.Name == "zygote" {
			return "app_process32"
		}
		return path.Base(p.Args[0])
	}
	return p.Name
}

func psElapsed(secs int64) string {
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	switch {
	case d > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	case h > 0:
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", m, s)
}

func (s *System) psValue(p *Process, f string, self *Process, loc *time.Location) string {
	now := s.clock.Now()
	cpu := now.Sub(p.Started).Seconds() / 300
	if p.kind == kindShell || p.kind == kindKernel {
		cpu = 0
	}
	switch f {
	case "PID", "TID", "PGID":
		return strconv.Itoa(p.Pid)
	case "PPID":
		return strconv.Itoa(p.PPid)
	case "USER", "RUSER", "GROUP", "RGROUP":
		return userName(p.Uid)
	case "UID", "RUID", "GID", "RGID":
		return strconv.Itoa(p.Uid)
	case "VSZ":
		return strconv.Itoa(p.vsz)
	case "SZ":
		return strconv.Itoa(p.vsz / 4)
	case "RSS":
		return strconv.Itoa(p.rss)
	case "WCHAN":
		if p == self {
			return "0"
		}
		return p.wchan
	case "ADDR", "F", "C", "RTPRIO", "SCH", "MAJFL":
		if f == "RTPRIO" {
			return "-"
		}
		return "0"
	case "MINFL":
		return strconv.Itoa(p.rss / 3)
	case "S":
		if p == self || p.running.Load() {
			return "R"
		}
		return "S"
	case "STAT":
		st := "S"
		if p == self {
			st = "R"
		}
		if p.sid == p.Pid {
			st += "s"
		}
		return st
	case "NAME":
		if len(p.Args) == 0 {
			return "[" + p.comm + "]"
		}
		return p.Args[0]
	case "CMDLINE", "ARGS":
		if len(p.Args) == 0 {
			return "[" + p.comm + "]"
		}
		args := append([]string(nil), p.Args...)
		if f == "ARGS" {
			args[0] = path.Base(args[0])
		}
		return strings.Join(args, " ")
	case "COMM", "COMMAND":
		if e := p.exeName(); e != "" {
			if f == "COMMAND" && p.kind == kindApp {
				return "/system/bin/app_process64"
			}
			return e
		}
		return "[" + p.comm + "]"
	case "CMD":
		return p.comm
	case "TTY":
		return "?"
	case "LABEL":
		return s.selinuxLabel(p)
	case "TIME", "TIME+":
		secs := int64(cpu)
		if f == "TIME+" {
			return fmt.Sprintf("%d:%02d.%02d", secs/60, secs%60, int(cpu*100)%100)
		}
		return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	case "ELAPSED":
		return psElapsed(int64(now.Sub(p.Started).Seconds()))
	case "STIME":
		return p.Started.In(loc).Format("15:04")
	case "PRI":
		if p.kind == kindApp && s.topProcessLocked() == p {
			return "29"
		}
		return "19"
	case "PR":
		return "20"
	case "NI":
		if p.kind == kindApp && s.topProcessLocked() == p {
			return "-10"
		}
		return "0"
	case "PSR", "CPU":
		return strconv.Itoa(p.Pid % 8)
	case "TCNT":
		switch p.kind {
		case kindApp:
			return strconv.Itoa(20 + p.Pid%60)
		case kindNative:
			return strconv.Itoa(1 + p.Pid%9)
		}
		return "1"
	case "BIT":
		if p.Name == "zygote" {
			return "32"
		}
		return "64"
	case "%CPU":
		return "0.0"
	case "%MEM", "%VSZ":
		v := p.rss
		if f == "%VSZ" {
			v = p.vsz
		}
		return fmt.Sprintf("%.1f", float64(v)*100/3761664)
	case "PCY":
		switch {
		case p.kind != kindApp:
			return "fg"
		case s.topProcessLocked() == p:
			return "ta"
		}
		return "bg"
	}
	return "?"
}

func psHeader(fields []psField) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%*s", f.width, f.title)
	}
	return b.String()
}

// psRow lays a row out like toybox show_ps in non-tty (-w) mode: fields
// that overflow borrow the padding of the following fields.
func psRow(fields []psField, vals []string) string {
	var b strings.Builder
	extra := 0
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		out := vals[i]
		abslen := f.width
		left := f.width < 0
		if left {
			abslen = -abslen
		}
		olen := len(out)
		if olen > abslen {
			extra += olen - abslen
			abslen = olen
		} else if extra > 0 && olen < abslen {
			unused := abslen - olen
			if unused > extra {
				unused = extra
			}
			abslen -= unused
			extra -= unused
		}
		switch {
		case i == len(fields)-1 && left:
			b.WriteString(out)
		case left:
			fmt.Fprintf(&b, "%-*s", abslen, out)
		default:
			fmt.Fprintf(&b, "%*s", abslen, out)
		}
	}
	return b.String()
}

const psDefault = "USER,PID,PPID,VSIZE,RSS,WCHAN:10,ADDR:10,S,NAME"

func cmdPs(c *cmdCtx) int {
	var fieldLists, addLists []string
	all := false
	var pids, ppids map[int]bool
	var users map[int]bool
	long, full, label := false, false, false
	args := c.args[1:]
	needArg := func(i int, opt string) (string, int, bool) {
		if i+1 >= len(args) {
			c.errf("ps: Missing argument to -%s (see \"ps --help\")\n", opt)
			return "", i, false
		}
		return args[i+1], i + 1, true
	}
	addInts := func(m *map[int]bool, list, opt string) bool {
		if *m == nil {
			*m = map[int]bool{}
		}
		for _, x := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
			n, err := strconv.Atoi(x)
			if err != nil || n < 1 {
				c.errf("ps: bad -%s '%s'\n", opt, x)
				return false
			}
			(*m)[n] = true
		}
		return true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		switch a {
		case "--pid":
			a = "-p"
		case "--ppid":
			a = "-P"
		case "--sort":
			a = "-k"
		case "--help":
			c.outf("usage: ps [-AadefLlnwZ] [-gG GROUP,] [-k FIELD,] [-o FIELD,] [-p PID,] [-t TTY,] [-uU USER,]\n")
			return 0
		}
		for j := 1; j < len(a); j++ {
			f := a[j]
			rest := a[j+1:]
			takeArg := func() (string, bool) {
				if rest != "" {
					j = len(a)
					return rest, true
				}
				v, ni, ok := needArg(i, string(f))
				i = ni
				j = len(a)
				return v, ok
			}
			switch f {
			case 'A', 'e':
				all = true
			case 'a', 'd', 'n', 'w', 'M', 'T', 'L':
			case 'f':
				full = true
			case 'l':
				long = true
			case 'Z':
				label = true
			case 'o', 'O', 'p', 'P', 'u', 'U', 'k', 'g', 'G', 's', 't':
				v, ok := takeArg()
				if !ok {
					return 1
				}
				switch f {
				case 'o':
					fieldLists = append(fieldLists, v)
				case 'O':
					addLists = append(addLists, v)
				case 'p':
					if !addInts(&pids, v, "p") {
						return 1
					}
				case 'P':
					if !addInts(&ppids, v, "P") {
						return 1
					}
				case 'u', 'U':
					if users == nil {
						users = map[int]bool{}
					}
					for _, x := range strings.Split(v, ",") {
						u := uidOfName(x)
						if n, err := strconv.Atoi(x); err == nil {
							u = n
						}
						if u < 0 {
							c.errf("ps: bad -%c '%s'\n", f, x)
							return 1
						}
						users[u] = true
					}
				}
			default:
				return c.unknownOpt(string(f))
			}
		}
	}
	spec := psDefault
	switch {
	case len(fieldLists) > 0:
		spec = strings.Join(fieldLists, ",")
	case long:
		spec = "F,S,UID,PID,PPID,C,PRI,NI,BIT,SZ,WCHAN,TTY,TIME,CMD"
	case full:
		spec = "USER:12=UID,PID,PPID,C,STIME,TTY,TIME,ARGS=CMD"
	}
	fields, bad := parsePsFields(spec)
	if bad != "" {
		c.errf("ps: bad -o %s\n", bad)
		return 1
	}
	if len(addLists) > 0 {
		extra, bad := parsePsFields(strings.Join(addLists, ","))
		if bad != "" {
			c.errf("ps: bad -O %s\n", bad)
			return 1
		}
		fields = append(fields[:2:2], append(extra, fields[2:]...)...)
	}
	if label {
		fields = append([]psField{{name: "LABEL", title: "LABEL", width: -30}}, fields...)
	}
	if len(fields) == 0 {
		c.errf("ps: bad -o %s\n", spec)
		return 1
	}
	s := c.sys
	if c.proc != nil {
		c.proc.running.Store(true)
	}
	var b strings.Builder
	b.WriteString(psHeader(fields))
	b.WriteByte('\n')
	loc := s.Location()
	s.mu.Lock()
	procs := s.processesLocked()
	for _, p := range procs {
		sel := pids != nil || ppids != nil || users != nil
		keep := false
		switch {
		case pids[p.Pid], ppids[p.PPid], users[p.Uid]:
			keep = true
		case sel:
		case all:
			keep = true
		default:
			keep = p.kind == kindShell && p.sid == c.sh.proc.sid
		}
		if !keep {
			continue
		}
		vals := make([]string, len(fields))
		for i, f := range fields {
			vals[i] = s.psValue(p, f.name, c.proc, loc)
		}
		b.WriteString(psRow(fields, vals))
		b.WriteByte('\n')
	}
	s.mu.Unlock()
	if c.proc != nil {
		c.proc.running.Store(false)
	}
	c.outf("%s", b.String())
	return 0
}

// ---- pidof / kill / killall ----

func (p *Process) matchesName(name string) bool {
	if p.Name == name || p.comm == name {
		return true
	}
	if len(p.Args) > 0 && (p.Args[0] == name || path.Base(p.Args[0]) == name) {
		return true
	}
	return false
}

func cmdPidof(c *cmdCtx) int {
	args := c.args[1:]
	single := false
	omit := map[int]bool{}
	var names []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-s":
			single = true
		case a == "-o" && i+1 < len(args):
			i++
			for _, x := range strings.Split(args[i], ",") {
				if x == "%PPID" {
					omit[c.sh.proc.Pid] = true
					continue
				}
				if n, err := strconv.Atoi(x); err == nil {
					omit[n] = true
				}
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return c.unknownOpt(a)
		default:
			names = append(names, a)
		}
	}
	var found []string
	for _, name := range names {
		for _, p := range c.sys.Processes() {
			if p.kind == kindKernel || omit[p.Pid] || (c.proc != nil && p == c.proc) {
				continue
			}
			if p.matchesName(name) {
				found = append(found, strconv.Itoa(p.Pid))
				if single {
					break
				}
			}
		}
	}
	if len(found) == 0 {
		return 1
	}
	c.outf("%s\n", strings.Join(found, " "))
	return 0
}

func parseSignal(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0 && n < 65
	}
	u := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for n, name := range signalNames {
		if name == u {
			return n, true
		}
	}
	return 0, false
}

func (c *cmdCtx) mayKill(p *Process) bool {
	return c.root() || p.Uid == c.sh.uid
}

func cmdKill(c *cmdCtx) int {
	args := c.args[1:]
	sig := 15
	if len(args) > 0 && args[0] == "-l" {
		if len(args) > 1 {
			if n, err := strconv.Atoi(args[1]); err == nil {
				if name, ok := signalNames[n&0x7f]; ok {
					c.outf("%s\n", name)
					return 0
				}
			} else if n, ok := parseSignal(args[1]); ok {
				c.outf("%d\n", n)
				return 0
			}
			return c.fail("unknown signal '%s'", args[1])
		}
		for _, n := range sortedKeys(signalNames) {
			c.outf("%2d) SIG%s\n", n, signalNames[n])
		}
		return 0
	}
	if len(args) > 0 && (args[0] == "-s" || args[0] == "-n") {
		if len(args) < 2 {
			c.errf("kill: Missing argument to -s (see \"kill --help\")\n")
			return 1
		}
		n, ok := parseSignal(args[1])
		if !ok {
			return c.fail("unknown signal '%s'", args[1])
		}
		sig, args = n, args[2:]
	} else if len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		n, ok := parseSignal(args[0][1:])
		if !ok {
			return c.fail("unknown signal '%s'", args[0][1:])
		}
		sig, args = n, args[1:]
	}
	if len(args) == 0 {
		c.errf("usage: kill [-l [SIGNAL] | -s SIGNAL | -SIGNAL] PID...\n\nSend signal to process(es).\n")
		return 1
	}
	st := 0
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			c.fail("not a number: %s", a)
			st = 1
			continue
		}
		p := c.sys.ProcessByPid(pid)
		if p == nil {
			c.fail("pid %d: No such process", pid)
			st = 1
			continue
		}
		if !c.mayKill(p) {
			c.fail("pid %d: Operation not permitted", pid)
			st = 1
			continue
		}
		if err := c.sys.kill(pid, sig, ""); err != nil {
			c.fail("pid %d: No such process", pid)
			st = 1
		}
	}
	return st
}

func cmdKillall(c *cmdCtx) int {
	args := c.args[1:]
	sig := 15
	quiet := false
	var names []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-q":
			quiet = true
		case a == "-v" || a == "-i":
		case a == "-s" && i+1 < len(args):
			i++
			n, ok := parseSignal(args[i])
			if !ok {
				return c.fail("unknown signal '%s'", args[i])
			}
			sig = n
		case strings.HasPrefix(a, "-") && len(a) > 1:
			n, ok := parseSignal(a[1:])
			if !ok {
				return c.unknownOpt(a)
			}
			sig = n
		default:
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		c.errf("usage: killall [-l] [-iqv] [-SIGNAL|-s SIGNAL] PROCESS_NAME...\n")
		return 1
	}
	st := 0
	for _, name := range names {
		killed := false
		for _, p := range c.sys.Processes() {
			if p.kind == kindKernel || p == c.proc || !p.matchesName(name) {
				continue
			}
			if !c.mayKill(p) {
				if !quiet {
					c.fail("pid %d: Operation not permitted", p.Pid)
				}
				st = 1
				killed = true
				continue
			}
			_ = c.sys.kill(p.Pid, sig, "")
			killed = true
		}
		if !killed {
			if !quiet {
				c.fail("%s: no process killed", name)
			}
			st = 1
		}
	}
	return st
}

// sortedPids returns pids in order (helper for tests and dumps).
func sortedPids(ps []*Process) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Pid
	}
	sort.Ints(out)
	return out
}
