package android

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func fmtSys(t *testing.T) (*System, *fakeHost) {
	s, h := newFixedSys(t, Config{Seed: 7})
	mustRun(t, s, "logcat -b all -c")
	return s, h
}

func TestLogcatFormatsByteExact(t *testing.T) {
	s, _ := fmtSys(t)
	// 2021-03-04 05:06:07.123456789 UTC = 13:06:07 in Asia/Shanghai; 5.5 s after boot
	at := hostEpoch.Add(5500 * time.Millisecond)
	s.Log(Entry{Time: at, Pid: 1234, Tid: 5678, Uid: 10123, Prio: Info, Tag: "MyTag", Msg: "hello"})
	tests := []struct {
		args, want string
	}{
		{"", "03-04 13:06:12.623  1234  5678 I MyTag   : hello\n"},
		{"-v threadtime", "03-04 13:06:12.623  1234  5678 I MyTag   : hello\n"},
		{"-v brief", "I/MyTag   ( 1234): hello\n"},
		{"-v process", "I( 1234) hello  (MyTag)\n"},
		{"-v tag", "I/MyTag   : hello\n"},
		{"-v thread", "I( 1234: 5678) hello\n"},
		{"-v raw", "hello\n"},
		{"-v time", "03-04 13:06:12.623 I/MyTag   ( 1234): hello\n"},
		{"-v long", "[ 03-04 13:06:12.623  1234: 5678 I/MyTag    ]\nhello\n\n"},
		{"-v epoch", "         1614834372.623  1234  5678 I MyTag   : hello\n"},
		{"-v epoch,usec", "         1614834372.623456  1234  5678 I MyTag   : hello\n"},
		{"-v threadtime -v usec", "03-04 13:06:12.623456  1234  5678 I MyTag   : hello\n"},
		{"-v nsec", "03-04 13:06:12.623456789  1234  5678 I MyTag   : hello\n"},
		{"-v year", "2021-03-04 13:06:12.623  1234  5678 I MyTag   : hello\n"},
		{"-v zone", "03-04 13:06:12.623 +0800  1234  5678 I MyTag   : hello\n"},
		{"-v UTC", "03-04 05:06:12.623 +0000  1234  5678 I MyTag   : hello\n"},
		{"-v monotonic", "     5.500  1234  5678 I MyTag   : hello\n"},
		{"-v uid", "03-04 13:06:12.623 10123  1234  5678 I MyTag   : hello\n"},
		{"-v brief,uid", "I/MyTag   (10123: 1234): hello\n"},
		{"-v time,year,usec", "2021-03-04 13:06:12.623456 I/MyTag   ( 1234): hello\n"},
		{"-v color,brief", "\x1b[32mI/MyTag   ( 1234): hello\x1b[0m\n"},
	}
	for _, tc := range tests {
		out, errs, st := run(t, s, "logcat -d -b main "+tc.args)
		want := "--------- beginning of main\n" + tc.want
		if st != 0 || out != want {
			t.Errorf("logcat %s:\n got %q (exit %d, stderr %q)\nwant %q", tc.args, out, st, errs, want)
		}
	}
}

func TestLogcatLineShapes(t *testing.T) {
	s, _ := fmtSys(t)
	at := hostEpoch
	for _, e := range []Entry{
		{Pid: 1, Tid: 2, Prio: Warn, Tag: "ML", Msg: "first\nsecond"},
		{Pid: 1, Tid: 2, Prio: Debug, Tag: "Trail", Msg: "only\n"},
		{Pid: 1, Tid: 2, Prio: Error, Tag: "Empty", Msg: ""},
		{Pid: 1, Tid: 2, Prio: Verbose, Tag: "ActivityManager", Msg: "long tag"},
		{Pid: 1, Tid: 2, Prio: Fatal, Tag: "Bin", Msg: "a\x01b\\c\td"},
		{Pid: 1, Tid: 2, Uid: 2000, Prio: Info, Tag: "Sh", Msg: "x"},
	} {
		e.Time = at
		s.Log(e)
	}
	out := mustRun(t, s, "logcat -d -v brief")
	want := "--------- beginning of main\n" +
		"W/ML      (    1): first\n" +
		"W/ML      (    1): second\n" +
		"D/Trail   (    1): only\n" +
		"E/Empty   (    1): \n" +
		"V/ActivityManager(    1): long tag\n" +
		"F/Bin     (    1): a\x01b\\c\td\n" +
		"I/Sh      (    1): x\n"
	if out != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
	out = mustRun(t, s, "logcat -d -v tag,printable Bin:F *:S")
	if want := "--------- beginning of main\nF/Bin     : a\\1b\\\\c\td\n"; out != want {
		t.Errorf("printable: got %q want %q", out, want)
	}
	out = mustRun(t, s, "logcat -d -v threadtime,uid Sh:I *:S")
	if want := "--------- beginning of main\n03-04 13:06:07.123 shell     1     2 I Sh      : x\n"; out != want {
		t.Errorf("uid name: got %q want %q", out, want)
	}
}

func TestLogcatDividers(t *testing.T) {
	s, _ := fmtSys(t)
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "A", Msg: "m1"})
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "B", Msg: "s1", Buffer: "system"})
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "A", Msg: "m2"})
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "E", Msg: "e1", Buffer: "events"})
	tests := []struct{ args, want string }{
		{"-d -v raw", "--------- beginning of main\nm1\n--------- beginning of system\ns1\nm2\n"},
		{"-d -D -v raw", "--------- beginning of main\nm1\n--------- beginning of system\ns1\n--------- switch to main\nm2\n"},
		{"-d -v raw -b main", "--------- beginning of main\nm1\nm2\n"},
		{"-d -v raw -b events", "--------- beginning of events\ne1\n"},
		{"-d -v raw -b all", "--------- beginning of main\nm1\n--------- beginning of system\ns1\nm2\n--------- beginning of events\ne1\n"},
		{"-d -v raw -b main,events", "--------- beginning of main\nm1\nm2\n--------- beginning of events\ne1\n"},
		// dividers are printed for entries read even if filtered out
		{"-d -v raw -s B", "--------- beginning of main\n--------- beginning of system\ns1\n"},
	}
	for _, tc := range tests {
		if out := mustRun(t, s, "logcat "+tc.args); out != tc.want {
			t.Errorf("logcat %s: got %q want %q", tc.args, out, tc.want)
		}
	}
}

func TestLogcatFilters(t *testing.T) {
	s, h := fmtSys(t)
	add := func(pid int, p Priority, tag, msg string) {
		s.Log(Entry{Time: h.Now(), Pid: pid, Tid: pid, Prio: p, Tag: tag, Msg: msg})
		h.Advance(time.Second)
	}
	add(10, Verbose, "A", "a-verbose")
	add(10, Error, "A", "a-error")
	add(20, Debug, "B", "b-debug")
	add(20, Info, "C", "c-info")
	add(30, Warn, "C", "c-warn")
	tests := []struct{ args, want string }{
		{"", "a-verbose a-error b-debug c-info c-warn"},
		{"A:E *:S", "a-error"},
		{"'A:E *:S'", "a-error"},
		{"A:E,B:D *:S", "a-error b-debug"},
		{"-s A", "a-verbose a-error"},
		{"-s A:E C", "a-error c-info c-warn"},
		{"*:W", "a-error c-warn"},
		{"'*'", "a-error b-debug c-info c-warn"},
		{"*:I A:S", "c-info c-warn"},
		{"A:S A:V *:S", "a-verbose a-error"},
		{"--pid=20", "b-debug c-info"},
		{"--pid 30", "c-warn"},
		{"-e 'c-.*'", "c-info c-warn"},
		{"--regex=^a", "a-verbose a-error"},
		{"-m 2", "a-verbose a-error"},
		{"-m 1 -e info", "c-info"},
		{"-t 2", "c-info c-warn"},
		{"-t 2 A:V *:S", ""},
		{"-t '03-04 13:06:09.000'", "b-debug c-info c-warn"},
		{"-t '2021-03-04 13:06:10.123'", "c-info c-warn"},
		{"-t 1614834370.123", "c-info c-warn"},
		{"-T 1", "c-warn"},
		{"'*:5'", "a-error c-warn"},
	}
	for _, tc := range tests {
		out, errs, st := run(t, s, "logcat -d -v raw -b main "+tc.args)
		var got []string
		for _, l := range lines(out) {
			if !strings.HasPrefix(l, "---------") {
				got = append(got, l)
			}
		}
		if strings.Join(got, " ") != tc.want || st != 0 {
			t.Errorf("logcat %s: got %q (exit %d, stderr %q), want %q", tc.args, strings.Join(got, " "), st, errs, tc.want)
		}
	}
	// ANDROID_LOG_TAGS applies only without filterspec arguments
	out := mustRun(t, s, "ANDROID_LOG_TAGS='A:E *:S' logcat -d -v raw -b main")
	if got := strings.Join(lines(out)[1:], " "); got != "a-error" {
		t.Errorf("ANDROID_LOG_TAGS: got %q", got)
	}
	out = mustRun(t, s, "export ANDROID_LOG_TAGS='A:E *:S'; logcat -d -v raw -b main C:I")
	if got := strings.Join(lines(out)[1:], " "); got != "a-verbose a-error b-debug c-info c-warn" {
		t.Errorf("ANDROID_LOG_TAGS with args: got %q", got)
	}
	// what adb logcat sends
	out = mustRun(t, s, `export ANDROID_LOG_TAGS="''"; exec logcat '-d' '-v' 'raw' '-b' 'main'`)
	if got := strings.Join(lines(out)[1:], " "); got != "a-verbose a-error b-debug c-info c-warn" {
		t.Errorf("adb logcat form: got %q", got)
	}
}

func TestLogcatErrors(t *testing.T) {
	s, _ := fmtSys(t)
	tests := []struct{ args, stderr string }{
		{"-b nope", "logcat: Unknown buffer 'nope' listed for -b.\n"},
		{"-v nope", "logcat: Invalid parameter 'nope' to -v.\n"},
		{"-x", "logcat: Unknown option '-x'.\n"},
		{"--bogus", "logcat: Unknown option '--bogus'.\n"},
		{"-b", "logcat: Option '-b' needs an argument.\n"},
		{"-t abc", "logcat: -t 'abc' not in time format.\n"},
		{"-T 12:00", "logcat: -T '12:00' not in time format.\n"},
		{"Foo:Q", "logcat: Invalid filter expression 'Foo:Q'.\n"},
		{":V", "logcat: Invalid filter expression ':V'.\n"},
		{"-m 0", "logcat: -m '0' isn't an integer greater than zero.\n"},
		{"-m 2 -t 3", "logcat: Cannot use -m (--max-count) and -t together.\n"},
		{"--pid=abc", "logcat: pid abc out of range.\n"},
		{"-G 0", "logcat: -G must be specified as <num><multiplier>.\n"},
	}
	for _, tc := range tests {
		out, errs, st := run(t, s, "logcat -d "+tc.args)
		if st != 1 || errs != tc.stderr || out != "" {
			t.Errorf("logcat %s: exit %d stdout %q stderr %q; want exit 1 stderr %q", tc.args, st, out, errs, tc.stderr)
		}
	}
	out, errs, st := run(t, s, "logcat -d -t 0 -v raw")
	if st != 0 || errs != "WARNING: -t 0 invalid, setting to 1\n" {
		t.Errorf("-t 0: %q %q %d", out, errs, st)
	}
	_, errs, _ = run(t, s, "logcat -d -t '03-04 13:06:09.000xyz'")
	if errs != "WARNING: -t '03-04 13:06:09.000' 'xyz' time truncated\n" {
		t.Errorf("truncated time warning: %q", errs)
	}
}

func TestLogcatPayloadLimitAndRing(t *testing.T) {
	s, _ := newFixedSys(t, Config{Seed: 1, LogBufferBytes: 4096})
	long := strings.Repeat("x", 5000)
	e := s.Log(Entry{Tag: "Big", Msg: long})
	if got := 1 + len(e.Tag) + 1 + len(e.Msg) + 1; got != LoggerEntryMaxPayload {
		t.Errorf("payload = %d bytes, want %d", got, LoggerEntryMaxPayload)
	}
	if e.Buffer != "main" || e.Prio != Info || e.Time.IsZero() {
		t.Errorf("defaults not applied: %+v", e)
	}
	for i := 0; i < 200; i++ {
		s.Log(Entry{Tag: "T", Msg: strings.Repeat("y", 50)})
	}
	out := mustRun(t, s, "logcat -d -b main -v raw")
	if strings.Contains(out, "xxxx") {
		t.Error("oldest entry not dropped from a full ring")
	}
	if n := strings.Count(out, "\n") - 1; n < 20 || n > 200 {
		t.Errorf("ring holds %d entries", n)
	}
	if g := mustRun(t, s, "logcat -g -b main"); !strings.HasPrefix(g, "main: ring buffer is 4 KiB (") || !strings.HasSuffix(g, "max entry is 5120 B, max payload is 4068 B\n") {
		t.Errorf("logcat -g: %q", g)
	}
	mustRun(t, s, "logcat -c")
	if out := mustRun(t, s, "logcat -d -b main"); out != "" {
		t.Errorf("after -c: %q", out)
	}
}

func TestLogcatStreaming(t *testing.T) {
	s, _ := fmtSys(t)
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "Old", Msg: "old-1"})
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "Old", Msg: "old-2"})
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- s.Exec(ctx, "logcat -T 1 -v raw -b main", Stdio{Stdout: pw})
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	next := func() string {
		ch := make(chan string, 1)
		go func() {
			l, _ := br.ReadString('\n')
			ch <- l
		}()
		return waitFor(t, ch, "a logcat line")
	}
	if l := next(); l != "--------- beginning of main\n" {
		t.Fatalf("first line %q", l)
	}
	if l := next(); l != "old-2\n" {
		t.Fatalf("tail line %q", l)
	}
	s.Log(Entry{Pid: 1, Tid: 1, Prio: Info, Tag: "New", Msg: "fresh"})
	if l := next(); l != "fresh\n" {
		t.Fatalf("streamed line %q", l)
	}
	// an entry in a buffer not selected does not arrive, the next one does
	s.Log(Entry{Prio: Info, Tag: "Sys", Msg: "not-me", Buffer: "system"})
	s.Log(Entry{Prio: Info, Tag: "New", Msg: "fresh-2"})
	if l := next(); l != "fresh-2\n" {
		t.Fatalf("streamed line %q", l)
	}
	cancel()
	if st := waitFor(t, done, "logcat to end"); st != 130 {
		t.Errorf("exit status after cancel = %d, want 130", st)
	}
}

func TestLogcatStreamEndsOnClose(t *testing.T) {
	s, err := New(Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan int, 1)
	w := &notifyWriter{first: started}
	go func() { done <- s.Exec(context.Background(), "logcat -v raw", Stdio{Stdout: w}) }()
	waitFor(t, started, "logcat output")
	s.Close()
	if st := waitFor(t, done, "logcat to end at Close"); st != 143 {
		t.Errorf("status %d, want 143", st)
	}
}

type notifyWriter struct {
	first chan struct{}
	once  bool
}

func (n *notifyWriter) Write(p []byte) (int, error) {
	if !n.once {
		n.once = true
		close(n.first)
	}
	return len(p), nil
}

func TestLogcatPipeline(t *testing.T) {
	s, _ := fmtSys(t)
	for i := 0; i < 5; i++ {
		s.Log(Entry{Prio: Info, Tag: "P", Msg: "line"})
	}
	// grep -m ends early; the streaming logcat upstream gets SIGPIPE
	out := mustRun(t, s, "logcat -v raw -b main | grep -m 2 line")
	if out != "line\nline\n" {
		t.Errorf("got %q", out)
	}
	out = mustRun(t, s, "logcat -d -v raw | head -n 3 | wc -l")
	if strings.TrimSpace(out) != "3" {
		t.Errorf("got %q", out)
	}
}

func TestLogCommand(t *testing.T) {
	s, _ := fmtSys(t)
	mustRun(t, s, "log -p w -t Tagged hello there")
	mustRun(t, s, "log plain")
	out := mustRun(t, s, "logcat -d -v brief -b main")
	ls := lines(out)
	if len(ls) != 3 || !strings.HasPrefix(ls[1], "W/Tagged  (") || !strings.HasSuffix(ls[1], "): hello there") || !strings.HasPrefix(ls[2], "I/log     (") {
		t.Errorf("log output %q", out)
	}
	if _, errs, st := run(t, s, "log -p z x"); st != 1 || errs != "log: bad -p 'z'\n" {
		t.Errorf("bad prio: %q %d", errs, st)
	}
}
