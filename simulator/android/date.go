package android

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// strftime formats t like C strftime for the common conversions.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		pad := byte(0)
		if format[i] == '-' || format[i] == '_' || format[i] == '0' {
			pad = format[i]
			if i+1 >= len(format) {
				b.WriteByte('%')
				b.WriteByte(pad)
				break
			}
			i++
		}
		num := func(v, width int, def byte) {
			p := def
			if pad != 0 {
				p = pad
			}
			switch p {
			case '-':
				b.WriteString(strconv.Itoa(v))
			case '_':
				fmt.Fprintf(&b, "%*d", width, v)
			default:
				fmt.Fprintf(&b, "%0*d", width, v)
			}
		}
		switch format[i] {
		case 'Y':
			num(t.Year(), 4, '0')
		case 'C':
			num(t.Year()/100, 2, '0')
		case 'y':
			num(t.Year()%100, 2, '0')
		case 'm':
			num(int(t.Month()), 2, '0')
		case 'd':
			num(t.Day(), 2, '0')
		case 'e':
			num(t.Day(), 2, '_')
		case 'H':
			num(t.Hour(), 2, '0')
		case 'k':
			num(t.Hour(), 2, '_')
		case 'I':
			num((t.Hour()+11)%12+1, 2, '0')
		case 'l':
			num((t.Hour()+11)%12+1, 2, '_')
		case 'M':
			num(t.Minute(), 2, '0')
		case 'S':
			num(t.Second(), 2, '0')
		case 'j':
			num(t.YearDay(), 3, '0')
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			num(wd, 1, '0')
		case 'w':
			num(int(t.Weekday()), 1, '0')
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'N':
			fmt.Fprintf(&b, "%09d", t.Nanosecond())
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'F':
			b.WriteString(fmt.Sprintf("%04d-%02d-%02d", t.Year(), t.Month(), t.Day()))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'c':
			b.WriteString(strftime("%a %b %e %H:%M:%S %Y", t))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if pad != 0 {
				b.WriteByte(pad)
			}
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// cmdDate is toybox date: the default format, +FORMAT, -u, -r FILE.
func cmdDate(c *cmdCtx) int {
	args := c.args[1:]
	loc := c.sys.Location()
	var t time.Time
	haveT := false
	format := "%a %b %e %H:%M:%S %Z %Y"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-u" || a == "--utc":
			loc = time.UTC
		case a == "-r" && i+1 < len(args):
			i++
			fi, err := c.sys.fs.stat(c.abs(args[i]))
			if err != nil {
				return c.fail("%s: %s", args[i], errnoText(err))
			}
			t, haveT = fi.mtime, true
		case a == "-d" && i+1 < len(args):
			i++
			v := strings.TrimPrefix(args[i], "@")
			if sec, err := strconv.ParseFloat(v, 64); err == nil && strings.HasPrefix(args[i], "@") {
				t, haveT = time.Unix(0, int64(sec*1e9)), true
				continue
			}
			pt, err := time.ParseInLocation("2006-01-02 15:04:05", args[i], loc)
			if err != nil {
				return c.fail("bad date '%s'", args[i])
			}
			t, haveT = pt, true
		case strings.HasPrefix(a, "+"):
			format = a[1:]
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return c.unknownOpt(a)
		default:
			c.errf("date: cannot set date: Operation not permitted\n")
			return 1
		}
	}
	if !haveT {
		t = c.sys.clock.Now()
	}
	c.outf("%s\n", strftime(format, t.In(loc)))
	return 0
}
