package android

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// logcat's filter expressions (TAG:PRIORITY) and output formats (-v).

// ---- filters ----

const (
	levelDefault = 1
	levelVerbose = 2
	levelDebug   = 3
	levelSilent  = 8
)

type logFilter struct {
	global int
	rules  []tagRule // most recent first
}

type tagRule struct {
	tag string
	pri int
}

func newLogFilter() *logFilter { return &logFilter{global: levelVerbose} }

// filterCharToPri: -1 for unknown.
func filterCharToPri(c byte) int {
	switch c {
	case 'v', 'V':
		return levelVerbose
	case 'd', 'D':
		return levelDebug
	case 'i', 'I':
		return 4
	case 'w', 'W':
		return 5
	case 'e', 'E':
		return 6
	case 'f', 'F':
		return 7
	case 's', 'S':
		return levelSilent
	case '*':
		return levelDefault
	}
	if c >= '0' && c <= '9' {
		if int(c-'0') >= levelSilent {
			return levelVerbose
		}
		return int(c - '0')
	}
	return -1
}

func (f *logFilter) addRule(expr string) bool {
	n := strings.IndexByte(expr, ':')
	if n < 0 {
		n = len(expr)
	}
	if n == 0 {
		return false
	}
	pri := levelDefault
	if n < len(expr) {
		c := byte(0)
		if n+1 < len(expr) {
			c = expr[n+1]
		}
		pri = filterCharToPri(c)
		if pri < 0 {
			return false
		}
	}
	tag := expr[:n]
	if tag == "*" {
		if pri == levelDefault {
			pri = levelDebug
		}
		f.global = pri
		return true
	}
	if pri == levelDefault {
		pri = levelVerbose
	}
	f.rules = append([]tagRule{{tag, pri}}, f.rules...)
	return true
}

func (f *logFilter) addString(s string) bool {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if !f.addRule(part) {
			return false
		}
	}
	return true
}

func (f *logFilter) allows(tag string, prio Priority) bool {
	min := f.global
	for _, r := range f.rules {
		if r.tag == tag {
			min = r.pri
			if min == levelDefault {
				min = f.global
			}
			break
		}
	}
	return prio.level() >= min
}

// ---- formatting ----

// logFormat renders entries like liblog's android_log_formatLogLine.
type logFormat struct {
	Format                                   string // brief process tag thread raw time threadtime long
	Color, Usec, Nsec, Printable, Year, Zone bool
	Epoch, Monotonic, Uid                    bool
	Loc                                      *time.Location
	clock                                    *Clock
}

// setFormat applies one -v word; it returns 1 for a format verb, 0 for a
// modifier and -1 for an unknown word.
func (f *logFormat) setFormat(w string) int {
	switch w {
	case "brief", "process", "tag", "thread", "raw", "time", "threadtime", "long":
		f.Format = w
		return 1
	case "color", "colour":
		f.Color = true
	case "usec":
		f.Usec = true
	case "nsec":
		f.Nsec = true
	case "printable":
		f.Printable = true
	case "year":
		f.Year = true
	case "zone":
		f.Zone = !f.Zone
	case "epoch":
		f.Epoch = true
	case "monotonic":
		f.Monotonic = true
	case "uid":
		f.Uid = true
	case "descriptive":
	default:
		var loc *time.Location
		if strings.EqualFold(w, "UTC") || strings.EqualFold(w, "GMT") {
			loc = time.UTC
		} else {
			l, err := time.LoadLocation(w)
			if err != nil || w == "Local" || w == "" {
				return -1
			}
			loc = l
		}
		f.Loc = loc
		f.Zone = !f.Zone
	}
	return 0
}

func logColor(level int) int {
	switch level {
	case 3:
		return 34
	case 4:
		return 32
	case 5:
		return 33
	case 6, 7:
		return 31
	}
	return 39
}

func convertPrintable(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&b, "\\x%02X", s[0])
			s = s[1:]
			continue
		}
		if size == 1 {
			c := s[0]
			switch {
			case c == '\a':
				b.WriteString(`\a`)
			case c == '\b':
				b.WriteString(`\b`)
			case c == '\t':
				b.WriteByte('\t')
			case c == '\v':
				b.WriteString(`\v`)
			case c == '\f':
				b.WriteString(`\f`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\\':
				b.WriteString(`\\`)
			case c < ' ' || c&0x80 != 0:
				fmt.Fprintf(&b, "\\%o", c)
			default:
				b.WriteByte(c)
			}
		} else {
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

// Line renders one entry (all its lines, with the trailing newline).
func (f *logFormat) Line(e Entry) string {
	loc := f.Loc
	if loc == nil {
		loc = time.UTC
	}
	t := e.Time
	var sec int64
	var nsec int64
	var tb strings.Builder
	zoneOK := false
	switch {
	case f.Monotonic:
		var up time.Duration
		if f.clock != nil {
			up = f.clock.UptimeAt(t)
		}
		if up < 0 {
			up = 0
		}
		sec, nsec = int64(up/time.Second), int64(up%time.Second)
		fmt.Fprintf(&tb, "%6d", sec)
	case f.Epoch:
		sec, nsec = t.Unix(), int64(t.Nanosecond())
		fmt.Fprintf(&tb, "%19d", sec)
	default:
		lt := t.In(loc)
		nsec = int64(lt.Nanosecond())
		if f.Year {
			tb.WriteString(strftime("%Y-%m-%d %H:%M:%S", lt))
		} else {
			tb.WriteString(strftime("%m-%d %H:%M:%S", lt))
		}
		zoneOK = true
	}
	switch {
	case f.Nsec:
		fmt.Fprintf(&tb, ".%09d", nsec)
	case f.Usec:
		fmt.Fprintf(&tb, ".%06d", nsec/1000)
	default:
		fmt.Fprintf(&tb, ".%03d", nsec/1000000)
	}
	if f.Zone && zoneOK {
		tb.WriteString(t.In(loc).Format(" -0700"))
	}
	timeBuf := tb.String()

	pri := e.Prio.char()
	var prefix, suffix strings.Builder
	if f.Color {
		fmt.Fprintf(&prefix, "\x1b[%dm", logColor(e.Prio.level()))
		suffix.WriteString("\x1b[0m")
	}
	uid := ""
	if f.Uid {
		if n := userName(e.Uid); e.Uid >= 0 && len(n) <= 5 {
			uid = fmt.Sprintf("%5s:", n)
		} else if e.Uid >= 0 {
			uid = fmt.Sprintf("%5d:", e.Uid)
		} else {
			uid = "      "
		}
	}
	tag := e.Tag
	headerFooter := false
	switch f.Format {
	case "tag":
		fmt.Fprintf(&prefix, "%c/%-8s: ", pri, tag)
		suffix.WriteString("\n")
	case "process":
		fmt.Fprintf(&prefix, "%c(%s%5d) ", pri, uid, e.Pid)
		fmt.Fprintf(&suffix, "  (%s)\n", tag)
	case "thread":
		fmt.Fprintf(&prefix, "%c(%s%5d:%5d) ", pri, uid, e.Pid, e.Tid)
		suffix.WriteString("\n")
	case "raw":
		suffix.WriteString("\n")
	case "time":
		fmt.Fprintf(&prefix, "%s %c/%-8s(%s%5d): ", timeBuf, pri, tag, uid, e.Pid)
		suffix.WriteString("\n")
	case "long":
		fmt.Fprintf(&prefix, "[ %s %s%5d:%5d %c/%-8s ]\n", timeBuf, uid, e.Pid, e.Tid, pri, tag)
		suffix.WriteString("\n\n")
		headerFooter = true
	case "brief":
		fmt.Fprintf(&prefix, "%c/%-8s(%s%5d): ", pri, tag, uid, e.Pid)
		suffix.WriteString("\n")
	default: // threadtime
		u := strings.Replace(uid, ":", " ", 1)
		fmt.Fprintf(&prefix, "%s %s%5d %5d %c %-8s: ", timeBuf, u, e.Pid, e.Tid, pri, tag)
		suffix.WriteString("\n")
	}
	pre, suf := prefix.String(), suffix.String()
	if len(pre) > 127 {
		pre = pre[:127]
	}
	if len(suf) > 127 {
		suf = suf[:126] + "\n"
	}
	msg := e.Msg
	var out strings.Builder
	if headerFooter {
		out.WriteString(pre)
		if f.Printable {
			out.WriteString(convertPrintable(msg))
		} else {
			out.WriteString(msg)
		}
		out.WriteString(suf)
		return out.String()
	}
	pos := 0
	for {
		end := strings.IndexByte(msg[pos:], '\n')
		line := msg[pos:]
		if end >= 0 {
			line = msg[pos : pos+end]
		}
		out.WriteString(pre)
		if f.Printable {
			out.WriteString(convertPrintable(line))
		} else {
			out.WriteString(line)
		}
		out.WriteString(suf)
		if end < 0 {
			break
		}
		pos += end + 1
		if pos >= len(msg) {
			break
		}
	}
	return out.String()
}
