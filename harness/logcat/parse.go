// Package logcat parses the lines `adb logcat` prints and follows a device's
// log as a stream of entries.
//
// The harness reads logs with `-v epoch,usec` (threadtime layout, the time as
// seconds since the epoch on the device's clock, microseconds), which needs
// no knowledge of the device's time zone. ParseLine also reads the default
// threadtime layout (given a location and year) and brief.
package logcat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Entry is one parsed log line.
type Entry struct {
	// Time on the device's clock.
	Time time.Time
	Pid  int
	Tid  int
	// Prio is one of V D I W E F (A for assert, S silent).
	Prio byte
	Tag  string
	Msg  string
}

// ErrNotEntry is returned for lines that are not log entries, such as
// "--------- beginning of main".
var ErrNotEntry = errors.New("logcat: not an entry")

// Args are the logcat arguments whose output ParseLine reads best.
const Args = "-v epoch,usec"

// ParseLine parses one line of threadtime output, with epoch or calendar
// time stamps, or brief output (which has no time). loc and year complete
// calendar stamps ("MM-DD hh:mm:ss.mmm"); nil means UTC and the current year.
func ParseLine(line string, loc *time.Location, year int) (Entry, error) {
	line = strings.TrimRight(line, "\r\n")
	s := strings.TrimLeft(line, " ")
	if s == "" || strings.HasPrefix(s, "--------- ") {
		return Entry{}, ErrNotEntry
	}
	if len(s) >= 2 && s[1] == '/' {
		return parseBrief(s)
	}
	var e Entry
	var rest string
	var err error
	if isDigit(s[0]) && len(s) > 5 && s[2] == '-' && s[5] == ' ' {
		// "MM-DD hh:mm:ss.mmm"
		e.Time, rest, err = parseCalendar(s, loc, year)
	} else if isDigit(s[0]) && len(s) > 10 && s[4] == '-' && s[7] == '-' {
		// "YYYY-MM-DD hh:mm:ss.mmm" (-v year)
		e.Time, rest, err = parseCalendar(s[5:], loc, atoiOr(s[:4], year))
	} else {
		e.Time, rest, err = parseEpoch(s)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("logcat: %q: %w", clip(line), err)
	}
	// " [uid] PID TID P TAG: MSG". -v uid adds the uid, as a name ("root",
	// "u0_a123") or, for names longer than five, as a number ("10111"); the
	// priority letter after the ids tells the two layouts apart.
	var ids [3]string
	n := 0
	for n < len(ids) {
		f, r := nextField(rest)
		if f == "" || isPriority(f) {
			break
		}
		ids[n], rest = f, r
		n++
	}
	if n < 2 {
		return Entry{}, fmt.Errorf("logcat: %q: want [UID] PID TID before the priority", clip(line))
	}
	pid, tid := ids[n-2], ids[n-1]
	if e.Pid, err = strconv.Atoi(pid); err != nil {
		return Entry{}, fmt.Errorf("logcat: %q: pid %q", clip(line), pid)
	}
	if e.Tid, err = strconv.Atoi(tid); err != nil {
		return Entry{}, fmt.Errorf("logcat: %q: tid %q", clip(line), tid)
	}
	f, rest := nextField(rest)
	if !isPriority(f) {
		return Entry{}, fmt.Errorf("logcat: %q: priority %q: want one of %s", clip(line), f, priorities)
	}
	e.Prio = f[0]
	rest = strings.TrimLeft(rest, " ")
	// The tag is padded to 8 and followed by ": ". Tags may contain spaces
	// and colons, so take the first ": " after the tag's minimum width.
	i := strings.Index(rest, ": ")
	if i < 0 {
		if strings.HasSuffix(rest, ":") {
			i = len(rest) - 1
		} else {
			return Entry{}, fmt.Errorf("logcat: %q: no tag", clip(line))
		}
	}
	e.Tag = strings.TrimRight(rest[:i], " ")
	if i+2 <= len(rest) {
		e.Msg = rest[i+2:]
	}
	return e, nil
}

func parseBrief(s string) (Entry, error) {
	// "P/TAG     (  PID): MSG"
	e := Entry{Prio: s[0]}
	open := strings.Index(s[2:], "(") + 2
	closeP := strings.Index(s, "): ")
	if open < 2 || closeP < open {
		return Entry{}, fmt.Errorf("logcat: %q: not brief format", clip(s))
	}
	e.Tag = strings.TrimRight(s[2:open], " ")
	pid := strings.TrimSpace(s[open+1 : closeP])
	if i := strings.LastIndex(pid, " "); i >= 0 {
		pid = pid[i+1:]
	}
	var err error
	if e.Pid, err = strconv.Atoi(pid); err != nil {
		return Entry{}, fmt.Errorf("logcat: %q: pid %q", clip(s), pid)
	}
	e.Msg = s[closeP+3:]
	return e, nil
}

func parseEpoch(s string) (time.Time, string, error) {
	f, rest := nextField(s)
	sec, frac, ok := strings.Cut(f, ".")
	if !ok {
		return time.Time{}, "", fmt.Errorf("time %q: want SECONDS.FRACTION", f)
	}
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("time %q: %w", f, err)
	}
	ns, err := fraction(frac)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("time %q: %w", f, err)
	}
	return time.Unix(secs, ns), rest, nil
}

func parseCalendar(s string, loc *time.Location, year int) (time.Time, string, error) {
	if loc == nil {
		loc = time.UTC
	}
	if year == 0 {
		year = time.Now().In(loc).Year()
	}
	date, rest := nextField(s)
	clock, rest := nextField(rest)
	var mo, d, h, mi, sec int
	if _, err := fmt.Sscanf(date, "%d-%d", &mo, &d); err != nil {
		return time.Time{}, "", fmt.Errorf("date %q: %w", date, err)
	}
	hms, frac, _ := strings.Cut(clock, ".")
	if _, err := fmt.Sscanf(hms, "%d:%d:%d", &h, &mi, &sec); err != nil {
		return time.Time{}, "", fmt.Errorf("time %q: %w", clock, err)
	}
	ns, err := fraction(frac)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("time %q: %w", clock, err)
	}
	return time.Date(year, time.Month(mo), d, h, mi, sec, int(ns), loc), rest, nil
}

// fraction converts the digits after the point to nanoseconds.
func fraction(frac string) (int64, error) {
	if frac == "" || len(frac) > 9 {
		return 0, fmt.Errorf("fraction %q", frac)
	}
	n, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("fraction %q", frac)
	}
	for i := len(frac); i < 9; i++ {
		n *= 10
	}
	return n, nil
}

func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " ")
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// priorities are the letters logcat prints for a priority.
const priorities = "VDIWEFAS"

func isPriority(f string) bool { return len(f) == 1 && strings.IndexByte(priorities, f[0]) >= 0 }

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
