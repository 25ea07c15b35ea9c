package android

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ---- time arguments ----

var (
	reMDTime  = regexp.MustCompile(`^\s*(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d*)`)
	reYMDTime = regexp.MustCompile(`^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d*)`)
	reEpoch   = regexp.MustCompile(`^(\d+)\.(\d*)`)
)

func fracNanos(s string) int {
	n, mul := 0, 100000000
	for i := 0; i < len(s) && mul > 0; i++ {
		n += int(s[i]-'0') * mul
		mul /= 10
	}
	return n
}

// parseLogTime parses logcat -t/-T times; rest is what was not consumed.
func parseLogTime(s string, now time.Time, loc *time.Location) (t time.Time, rest string, ok bool) {
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	if m := reMDTime.FindStringSubmatch(s); m != nil {
		t = time.Date(now.In(loc).Year(), time.Month(atoi(m[1])), atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5]), fracNanos(m[6]), loc)
		return t, s[len(m[0]):], true
	}
	if m := reYMDTime.FindStringSubmatch(s); m != nil {
		t = time.Date(atoi(m[1]), time.Month(atoi(m[2])), atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6]), fracNanos(m[7]), loc)
		return t, s[len(m[0]):], true
	}
	if m := reEpoch.FindStringSubmatch(s); m != nil {
		sec, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || sec > 1<<40 {
			return t, s, false
		}
		return time.Unix(sec, int64(fracNanos(m[2]))), s[len(m[0]):], true
	}
	return t, s, false
}

// ---- the command ----

type logcatOpt struct {
	name   string
	hasArg int // 0 none, 1 required, 2 optional
	short  byte
}

var logcatLong = []logcatOpt{
	{"binary", 0, 'B'}, {"buffer", 1, 'b'}, {"buffer-size", 2, 'g'}, {"clear", 0, 'c'}, {"debug", 0, 0},
	{"dividers", 0, 'D'}, {"file", 1, 'f'}, {"format", 1, 'v'}, {"grep", 1, 'e'}, {"head", 1, 'm'},
	{"help", 0, 'h'}, {"id", 1, 0}, {"last", 0, 'L'}, {"max-count", 1, 'm'}, {"pid", 1, 0},
	{"print", 0, 0}, {"prune", 2, 'p'}, {"regex", 1, 'e'}, {"rotate-count", 1, 'n'},
	{"rotate-kbytes", 1, 'r'}, {"statistics", 0, 'S'}, {"tail", 1, 't'}, {"wrap", 2, 0},
}

const logcatShort = "cdDhLt:T:gG:sQf:r:n:v:b:BSpP:m:e:"

type parsedOpt struct {
	c    byte   // short option letter, 0 for long-only
	long string // long-only name
	arg  string
	has  bool
}

// getoptLong parses like bionic getopt_long with argument permutation.
func getoptLong(args []string) (opts []parsedOpt, operands []string, err string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			return
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			var match *logcatOpt
			for k := range logcatLong {
				o := &logcatLong[k]
				if o.name == name {
					match = o
					break
				}
				if strings.HasPrefix(o.name, name) && name != "" {
					if match != nil && match.short != o.short {
						return nil, nil, fmt.Sprintf("Unknown option '%s'.", a)
					}
					if match == nil {
						match = o
					}
				}
			}
			if match == nil {
				return nil, nil, fmt.Sprintf("Unknown option '%s'.", a)
			}
			po := parsedOpt{c: match.short}
			if match.short == 0 {
				po.long = match.name
			}
			switch match.hasArg {
			case 0:
				if hasVal {
					return nil, nil, fmt.Sprintf("Unknown option '%s'.", a)
				}
			case 1:
				if !hasVal {
					if i+1 >= len(args) {
						return nil, nil, fmt.Sprintf("Option '%s' needs an argument.", a)
					}
					i++
					val = args[i]
				}
				po.arg, po.has = val, true
			case 2:
				po.arg, po.has = val, hasVal
			}
			opts = append(opts, po)
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(logcatShort, c)
			if k < 0 || c == ':' {
				return nil, nil, fmt.Sprintf("Unknown option '%s'.", a)
			}
			if k+1 < len(logcatShort) && logcatShort[k+1] == ':' {
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, nil, fmt.Sprintf("Option '%s' needs an argument.", a)
					}
					i++
					val = args[i]
				}
				opts = append(opts, parsedOpt{c: c, arg: val, has: true})
				break
			}
			opts = append(opts, parsedOpt{c: c})
		}
	}
	return
}

func splitDelims(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(",:; \t\n\r\f", r) })
}

func parseByteCount(s string) (int, bool) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"), strings.HasSuffix(s, "k"):
		mult, s = 1024, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1024*1024, s[:len(s)-1]
	case strings.HasSuffix(s, "G"), strings.HasSuffix(s, "g"):
		mult, s = 1024*1024*1024, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n) * mult, true
}

func formatSize(v int) (int, string) {
	units := []string{"", "Ki", "Mi", "Gi"}
	i := 0
	for i < len(units)-1 && v >= 1024 {
		v /= 1024
		i++
	}
	return v, units[i]
}

func cmdLogcat(c *cmdCtx) int {
	s := c.sys
	die := func(format string, a ...any) int {
		c.errf("logcat: "+format+"\n", a...)
		return 1
	}
	args := c.args[1:]
	if len(args) == 1 && args[0] == "--help" {
		c.errf("Usage: logcat [options] [filterspecs]\n")
		return 0
	}
	opts, operands, perr := getoptLong(args)
	if perr != "" {
		return die("%s", perr)
	}
	f := &logFormat{Loc: s.Location(), clock: s.clock}
	filter := newLogFilter()
	var mask uint
	dump, clear, getSize, printDividers, printAnyway := false, false, false, false, false
	setSize := 0
	tailLines := 0
	var tailTime time.Time
	gotT := false
	pid := 0
	maxCount := 0
	var re *regexp.Regexp
	outFile := ""
	hasFormat := false
	for _, o := range opts {
		switch o.c {
		case 0:
			switch o.long {
			case "pid":
				if pid != 0 {
					return die("Only one --pid argument can be provided.")
				}
				n, err := strconv.ParseUint(o.arg, 10, 31)
				if err != nil || n < 1 {
					return die("pid %s out of range.", o.arg)
				}
				pid = int(n)
			case "print":
				printAnyway = true
			case "wrap":
				dump = true
			}
		case 's':
			filter.addRule("*:s")
		case 'c':
			clear = true
		case 'L', 'd':
			dump = true
		case 't', 'T':
			if o.c == 't' {
				gotT = true
				dump = true
			}
			if strings.Trim(o.arg, "0123456789") != "" {
				t, rest, ok := parseLogTime(o.arg, s.clock.Now(), f.Loc)
				if !ok {
					return die("-%c '%s' not in time format.", o.c, o.arg)
				}
				if rest != "" {
					c.errf("WARNING: -%c '%s' '%s' time truncated\n", o.c, o.arg[:len(o.arg)-len(rest)], rest)
				}
				tailTime = t
			} else {
				n, err := strconv.ParseUint(o.arg, 10, 31)
				if err != nil || n < 1 {
					c.errf("WARNING: -%c %s invalid, setting to 1\n", o.c, o.arg)
					n = 1
				}
				tailLines = int(n)
			}
		case 'D':
			printDividers = true
		case 'e':
			r, err := regexp.Compile(o.arg)
			if err != nil {
				c.errf("libc++abi: terminating with uncaught exception of type std::__1::regex_error: %v\n", err)
				return 134
			}
			re = r
		case 'm':
			n, err := strconv.ParseUint(o.arg, 10, 31)
			if err != nil || n < 1 {
				return die("-%c '%s' isn't an integer greater than zero.", o.c, o.arg)
			}
			maxCount = int(n)
		case 'g':
			if !o.has {
				getSize = true
				break
			}
			fallthrough
		case 'G':
			n, ok := parseByteCount(o.arg)
			if !ok || n < 1 {
				return die("-G must be specified as <num><multiplier>.")
			}
			setSize = n
		case 'p', 'P', 'S', 'Q':
			return 0
		case 'b':
			for _, b := range splitDelims(o.arg) {
				switch b {
				case "default":
					mask |= 1<<0 | 1<<3 | 1<<4
				case "all":
					mask = ^uint(0)
				default:
					id := bufferID(b)
					if id < 0 {
						return die("Unknown buffer '%s' listed for -b.", b)
					}
					mask |= 1 << uint(id)
				}
			}
		case 'B':
			return die("Binary output is not supported by this device.")
		case 'f':
			outFile = o.arg
		case 'r', 'n':
			n, err := strconv.ParseUint(o.arg, 10, 31)
			if err != nil || n < 1 {
				return die("Invalid parameter '%s' to -%c.", o.arg, o.c)
			}
		case 'v':
			if o.arg == "help" || o.arg == "--help" {
				c.errf("-v <format>, --format=<format> options:\n  Sets log print format verb and adverbs, where <format> is:\n    brief long process raw tag thread threadtime time\n")
				return 0
			}
			for _, w := range splitDelims(o.arg) {
				r := f.setFormat(w)
				if r < 0 {
					return die("Invalid parameter '%s' to -v.", w)
				}
				if r > 0 {
					hasFormat = true
				}
			}
		case 'h':
			c.errf("Usage: logcat [options] [filterspecs]\n")
			return 0
		}
	}
	if maxCount > 0 && gotT {
		return die("Cannot use -m (--max-count) and -t together.")
	}
	if printAnyway && (re == nil || maxCount == 0) {
		c.errf("WARNING: --print ignored, to be used in combination with\n         --regex <expr> and --max-count <N>\n")
		printAnyway = false
	}
	if mask == 0 {
		mask = 1<<0 | 1<<3 | 1<<4 | 1<<5
	}
	if !hasFormat {
		if env, ok := c.getenv("ANDROID_PRINTF_LOG"); ok {
			for _, w := range splitDelims(env) {
				r := f.setFormat(w)
				if r < 0 {
					c.errf("invalid format in ANDROID_PRINTF_LOG '%s'\n", w)
				}
				if r > 0 {
					hasFormat = true
				}
			}
		}
		if !hasFormat {
			f.Format = "threadtime"
		}
	}
	if len(operands) == 0 {
		if env, ok := c.getenv("ANDROID_LOG_TAGS"); ok {
			if !filter.addString(env) {
				return die("Invalid filter expression in ANDROID_LOG_TAGS.")
			}
		}
	} else {
		for _, a := range operands {
			if !filter.addString(a) {
				return die("Invalid filter expression '%s'.", a)
			}
		}
	}
	if clear {
		s.logs.clear(mask)
	}
	if setSize > 0 {
		s.logs.setLimit(mask, setSize)
	}
	if getSize {
		for id, name := range bufferNames {
			if mask&(1<<uint(id)) == 0 {
				continue
			}
			limit, used := s.logs.sizes(id)
			lv, lu := formatSize(limit)
			uv, uu := formatSize(used)
			c.outf("%s: ring buffer is %d %sB (%d %sB consumed), max entry is %d B, max payload is %d B\n",
				name, lv, lu, uv, uu, loggerEntryMaxLen, LoggerEntryMaxPayload)
		}
	}
	if getSize || setSize > 0 || clear {
		return 0
	}

	out := c.stdout
	if outFile != "" {
		if err := c.writeFile(outFile, nil, true); err != nil {
			return die("Couldn't open output file: %s", errnoText(err))
		}
		out = &fileWriter{fs: s.fs, path: c.abs(outFile), root: c.root()}
	}
	w := bufio.NewWriterSize(out, 32*1024)
	lastID := -1
	printed := map[int]bool{}
	count := 0
	done := false
	emit := func(rec logRecord) {
		id := bufferID(rec.e.Buffer)
		if id != lastID {
			if !printed[id] || printDividers {
				verb := "beginning of"
				if printed[id] {
					verb = "switch to"
				}
				fmt.Fprintf(w, "--------- %s %s\n", verb, bufferNames[id])
			}
			lastID = id
			printed[id] = true
		}
		if !filter.allows(rec.e.Tag, rec.e.Prio) {
			return
		}
		match := re == nil || re.MatchString(rec.e.Msg)
		if match {
			count++
		}
		if match || printAnyway {
			w.WriteString(f.Line(rec.e))
		}
		if maxCount > 0 && count >= maxCount {
			done = true
		}
	}
	ch := s.logs.waitChan()
	recs, last := s.logs.snapshot(mask, 0)
	if pid != 0 {
		kept := recs[:0:0]
		for _, r := range recs {
			if r.e.Pid == pid {
				kept = append(kept, r)
			}
		}
		recs = kept
	}
	switch {
	case !tailTime.IsZero():
		i := 0
		for i < len(recs) && recs[i].e.Time.Before(tailTime) {
			i++
		}
		recs = recs[i:]
	case tailLines > 0 && len(recs) > tailLines:
		recs = recs[len(recs)-tailLines:]
	}
	for _, r := range recs {
		if done {
			break
		}
		emit(r)
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	if dump || done {
		return 0
	}
	for !done {
		select {
		case <-c.ctx.Done():
			return 0
		case <-ch:
		}
		ch = s.logs.waitChan()
		recs, last2 := s.logs.snapshot(mask, last)
		last = last2
		for _, r := range recs {
			if done {
				break
			}
			if pid != 0 && r.e.Pid != pid {
				continue
			}
			emit(r)
		}
		if err := w.Flush(); err != nil {
			return 1
		}
	}
	return 0
}

// ---- log ----

func cmdLog(c *cmdCtx) int {
	args := c.args[1:]
	tag := "log"
	prio := Info
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		a := args[0]
		switch {
		case a == "--":
			args = args[1:]
			goto done
		case a == "-p" || a == "-t":
			if len(args) < 2 {
				c.errf("log: Missing argument to %s (see \"log --help\")\n", a)
				return 1
			}
			if a == "-p" {
				p := args[1]
				switch strings.ToLower(p) {
				case "v", "verbose":
					prio = Verbose
				case "d", "debug":
					prio = Debug
				case "i", "info":
					prio = Info
				case "w", "warn":
					prio = Warn
				case "e", "error":
					prio = Error
				case "f", "fatal", "a", "assert":
					prio = Fatal
				default:
					return c.fail("bad -p '%s'", p)
				}
			} else {
				tag = args[1]
			}
			args = args[2:]
		case strings.HasPrefix(a, "-p") || strings.HasPrefix(a, "-t"):
			args = append([]string{a[:2], a[2:]}, args[1:]...)
		default:
			return c.unknownOpt(a)
		}
	}
done:
	if len(args) == 0 {
		c.errf("log: Needs 1 argument\n")
		return 1
	}
	p := c.proc
	e := Entry{Prio: prio, Tag: tag, Msg: strings.Join(args, " "), Uid: c.sh.uid}
	if p != nil {
		e.Pid, e.Tid = p.Pid, p.Pid
	} else {
		e.Pid, e.Tid = c.sh.proc.Pid, c.sh.proc.Pid
	}
	c.sys.Log(e)
	return 0
}

// FormatLog renders an entry as logcat prints it with "-v spec", e.g.
// "threadtime" (the default when spec is empty), "brief" or "time,usec,uid",
// in the device time zone.
func (s *System) FormatLog(e Entry, spec string) (string, error) {
	f := &logFormat{Loc: s.Location(), clock: s.clock, Format: "threadtime"}
	for _, w := range splitDelims(spec) {
		if f.setFormat(w) < 0 {
			return "", fmt.Errorf("format log entry: invalid format word %q", w)
		}
	}
	return f.Line(e), nil
}
