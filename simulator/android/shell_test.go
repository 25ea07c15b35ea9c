package android

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestShellBasics(t *testing.T) {
	s, _ := newFixedSys(t, Config{Seed: 11})
	tests := []struct {
		cmd, out, err string
		status        int
	}{
		{"echo hi", "hi\n", "", 0},
		{"echo -n hi", "hi", "", 0},
		{`echo 'a  b'   "c  d"  e\ f`, "a  b c  d e f\n", "", 0},
		{`echo "a\nb"`, "a\nb\n", "", 0},
		{`echo -e 'x\ty'`, "x\ty\n", "", 0},
		{`echo -E 'x\ty'`, "x\\ty\n", "", 0},
		{`echo "it's" 'say "hi"' \$HOME`, "it's say \"hi\" $HOME\n", "", 0},
		{"true; echo $?; false; echo $?", "0\n1\n", "", 0},
		{"false && echo no || echo yes", "yes\n", "", 0},
		{"true && echo a && echo b", "a\nb\n", "", 0},
		{"exit 3", "", "", 3},
		{"echo before; exit 4; echo after", "before\n", "", 4},
		{"nosuchcmd", "", "/system/bin/sh: nosuchcmd: not found\n", 127},
		{"nosuchcmd; echo $?", "127\n", "/system/bin/sh: nosuchcmd: not found\n", 0},
		{"/system/bin/echo x", "x\n", "", 0},
		{"X=1; echo $X ${X} ${Y:-def} ${#X}", "1 1 def 1\n", "", 0},
		{"export A=b; sh -c 'echo $A'", "b\n", "", 0},
		{"A=local; sh -c 'echo [$A]'", "[]\n", "", 0},
		{"A=env sh -c 'echo $A'", "env\n", "", 0},
		{"sh -c 'exit 7'; echo $?", "7\n", "", 0},
		{`sh -c 'echo $0 $1 $#' zero one`, "zero one 1\n", "", 0},
		{"echo $(echo nested $(echo deep))", "nested deep\n", "", 0},
		{"echo `echo back`", "back\n", "", 0},
		{"v=$(printf 'a b'); echo \"[$v]\"", "[a b]\n", "", 0},
		{"echo $((1+2*3)) $(( (1+2)*3 ))", "7 9\n", "", 0},
		{"printf '%s-%d\\n' a 1 b 2", "a-1\nb-2\n", "", 0},
		{"printf '%05.1f|%x|%c\\n' 3.14159 255 xyz", "003.1|ff|x\n", "", 0},
		{"printf '%d|%s|' 12x a; echo $?", "0|a|1\n", "printf: invalid number '12x'\n", 0},
		{"printf '%.1f|' 1.5y; echo $?", "0.0|1\n", "printf: invalid number '1.5y'\n", 0},
		{"echo a | cat", "a\n", "", 0},
		{"printf 'b\\na\\nc\\n' | sort", "a\nb\nc\n", "", 0},
		{"printf 'b\\na\\nb\\n' | sort -u | wc -l", "2\n", "", 0},
		{"printf 'x 1\\ny 2\\n' | cut -d ' ' -f 2", "1\n2\n", "", 0},
		{"printf 'l1\\nl2\\nl3\\n' | head -n 2", "l1\nl2\n", "", 0},
		{"printf 'l1\\nl2\\nl3\\n' | tail -1", "l3\n", "", 0},
		{"printf 'a\\nB\\nc\\n' | grep -i b", "B\n", "", 0},
		{"printf 'a\\nb\\n' | grep -v a", "b\n", "", 0},
		{"printf 'a\\nb\\na\\n' | grep -c a", "2\n", "", 0},
		{"printf 'a\\nb\\n' | grep -n b", "2:b\n", "", 0},
		{"printf 'ab\\n' | grep -q a && echo found", "found\n", "", 0},
		{"printf 'a+b\\n' | grep -F a+b", "a+b\n", "", 0},
		{"printf 'aab\\n' | grep -E 'a+b'", "aab\n", "", 0},
		{"printf 'a+b\\n' | grep 'a+b'", "a+b\n", "", 0},
		{"printf 'abc\\n' | grep 'x'; echo $?", "1\n", "", 0},
		{"echo abc | tr a-c A-C", "ABC\n", "", 0},
		{"echo x y | xargs echo got", "got x y\n", "", 0},
		{"echo err 1>&2", "", "err\n", 0},
		{"echo err >&2 2>/dev/null", "", "err\n", 0},
		{"echo gone 2>/dev/null >&2", "", "", 0},
		{"(echo sub; exit 2); echo $?", "sub\n2\n", "", 0},
		{"{ echo g1; echo g2; } | wc -l", "2\n", "", 0},
		{"for i in a b c; do echo $i; done", "a\nb\nc\n", "", 0},
		{"for i in 1 2 3; do if [ $i = 2 ]; then continue; fi; echo $i; done", "1\n3\n", "", 0},
		{"i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done", "0\n1\n2\n", "", 0},
		{"until true; do echo never; done; echo ok", "ok\n", "", 0},
		{"if false; then echo a; elif true; then echo b; else echo c; fi", "b\n", "", 0},
		{"[ -z '' ] && [ -n x ] && [ a != b ] && echo t", "t\n", "", 0},
		{"test 3 -gt 2 -a 1 -le 1; echo $?", "0\n", "", 0},
		{"! false; echo $?", "0\n", "", 0},
		{"echo a; # comment\necho b", "a\nb\n", "", 0},
		{"read x y <<< 'one two three'; echo $y", "two three\n", "", 0},
		{"set -- p q; echo $# $2", "2 q\n", "", 0},
		{"eval 'echo ev'", "ev\n", "", 0},
		{"exec echo replaced; echo never", "replaced\n", "", 0},
		{"cd /sdcard && pwd", "/sdcard\n", "", 0},
		{"cd /nope", "", "/system/bin/sh: cd: /nope: No such file or directory\n", 2},
		{"echo 'unterminated", "", "/system/bin/sh: no closing quote\n", 1},
		{"echo a |", "", "/system/bin/sh: syntax error: unexpected EOF\n", 1},
		{"; echo", "", "/system/bin/sh: syntax error: ';' unexpected\n", 1},
		{"if true; then echo", "", "/system/bin/sh: syntax error: 'if' unmatched\n", 1},
		{"while true; do echo", "", "/system/bin/sh: syntax error: 'done' expected\n", 1},
		{"cat <<EOF", "", "/system/bin/sh: here documents are not supported\n", 1},
		{"echo ${", "", "/system/bin/sh: syntax error: missing '}'\n", 1},
		{"echo $((1/0))", "", "/system/bin/sh: divide by zero\n", 1},
		{"whoami; id -u; id -un", "shell\n2000\nshell\n", "", 0},
		{"uname; uname -m", "Linux\naarch64\n", "", 0},
		{"getprop ro.build.version.sdk; getprop no.such.prop; getprop no.such dflt", "30\n\ndflt\n", "", 0},
		{"setprop debug.x 1 && getprop debug.x", "1\n", "", 0},
		{"setprop ro.build.version.sdk 99", "", "Failed to set property 'ro.build.version.sdk' to '99'.\nSee dmesg for error reason.\n", 1},
		{"pidof system_server zygote64 | wc -w", "2\n", "", 0},
		{"pidof nothing; echo $?", "1\n", "", 0},
		{"sleep 0.01; echo slept", "slept\n", "", 0},
		{"sleep x", "", "sleep: Not a number 'x'\n", 1},
		{"date +%Y-%m-%d_%H:%M:%S.%N_%z_%Z_%s", "2021-03-04_13:06:07.123456789_+0800_CST_1614834367\n", "", 0},
		{"date", "Thu Mar  4 13:06:07 CST 2021\n", "", 0},
		{"date -u +%T", "05:06:07\n", "", 0},
		{"ls -z", "", "ls: Unknown option 'z' (see \"ls --help\")\n", 1},
		{"cat /nope", "", "cat: /nope: No such file or directory\n", 1},
		{"wm size", "Physical size: 1080x1920\n", "", 0},
		{"settings put global foo 1; settings get global foo; settings get global missing", "1\nnull\n", "", 0},
	}
	for _, tc := range tests {
		out, errs, st := run(t, s, tc.cmd)
		if out != tc.out || errs != tc.err || st != tc.status {
			t.Errorf("%q:\n got out=%q err=%q status=%d\nwant out=%q err=%q status=%d", tc.cmd, out, errs, st, tc.out, tc.err, tc.status)
		}
	}
}

func TestShellFiles(t *testing.T) {
	s := newSys(t, Config{Seed: 12})
	tests := []struct {
		cmd, out, err string
		status        int
	}{
		{"echo hi > /sdcard/f.txt; cat /sdcard/f.txt", "hi\n", "", 0},
		{"echo more >> /storage/emulated/0/f.txt; cat /sdcard/f.txt", "hi\nmore\n", "", 0},
		{"wc -l < /sdcard/f.txt", "2\n", "", 0},
		{"cat /storage/self/primary/f.txt | grep more", "more\n", "", 0},
		{"ls /sdcard/*.txt", "/sdcard/f.txt\n", "", 0},
		{"cd /sdcard; ls f*", "f.txt\n", "", 0},
		{"mkdir -p /data/local/tmp/a/b && touch /data/local/tmp/a/b/c && ls /data/local/tmp/a/b", "c\n", "", 0},
		{"mkdir /data/local/tmp/a", "", "mkdir: '/data/local/tmp/a': File exists\n", 1},
		{"rm /data/local/tmp/a", "", "rm: /data/local/tmp/a: Is a directory\n", 1},
		{"rm -r /data/local/tmp/a && ls /data/local/tmp", "", "", 0},
		{"rm /nope", "", "rm: /nope: No such file or directory\n", 1},
		{"rm -f /nope", "", "", 0},
		{"echo x > /system/x", "", "/system/bin/sh: can't create /system/x: Read-only file system\n", 1},
		{"echo x > /data/x", "", "/system/bin/sh: can't create /data/x: Permission denied\n", 1},
		{"ls /data", "", "ls: /data: Permission denied\n", 1},
		{"cat < /nope", "", "/system/bin/sh: can't open /nope: No such file or directory\n", 1},
		{"echo t > /dev/null; cat /dev/null", "", "", 0},
		{"echo tty > /dev/tty", "tty\n", "", 0},
		{"cp /sdcard/f.txt /data/local/tmp/ && cat /data/local/tmp/f.txt", "hi\nmore\n", "", 0},
		{"mv /data/local/tmp/f.txt /data/local/tmp/g && ls /data/local/tmp", "g\n", "", 0},
		{"cat /proc/1/cmdline | tr '\\0' ' '", "init second_stage ", "", 0},
		{"cat /proc/uptime | grep -cE '^[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2}$'", "1\n", "", 0},
		{"ls -l /sdcard/f.txt | cut -d ' ' -f 1", "-rw-rw----\n", "", 0},
	}
	for _, tc := range tests {
		out, errs, st := run(t, s, tc.cmd)
		if out != tc.out || errs != tc.err || st != tc.status {
			t.Errorf("%q:\n got out=%q err=%q status=%d\nwant out=%q err=%q status=%d", tc.cmd, out, errs, st, tc.out, tc.err, tc.status)
		}
	}
	root := newSys(t, Config{Seed: 12, Rooted: true})
	mustRun(t, root, "echo x > /data/x && cat /data/x && ls /data | grep -c x")
}

func TestShellProcesses(t *testing.T) {
	s := newSys(t, Config{Seed: 13})
	out := mustRun(t, s, "ps -A")
	ls := lines(out)
	if ls[0] != "USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME                       " {
		t.Errorf("ps -A header %q", ls[0])
	}
	if ls[1] != "root             1     0 10782796  9556 do_epoll_wait       0 S init" {
		t.Errorf("init row %q", ls[1])
	}
	row := regexp.MustCompile(`^(\S+) +(\d+) +(\d+) +(\d+) +(\d+) (\S+) +0 ([RS]) (.+)$`)
	var shPid string
	for _, l := range ls[1:] {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("odd ps row %q", l)
			continue
		}
		if m[8] == "sh" {
			shPid = m[2]
		}
		if m[8] == "ps" && (m[7] != "R" || m[3] != shPid || m[1] != "shell") {
			t.Errorf("ps row %q (sh pid %s)", l, shPid)
		}
	}
	if !strings.Contains(out, " com.android.systemui\n") || !regexp.MustCompile(`\nu0_a\d+ +\d+ +\d+ `).MatchString(out) {
		t.Error("app rows missing")
	}
	// plain ps shows the session only
	plain := lines(mustRun(t, s, "ps"))
	if len(plain) != 3 || !strings.HasSuffix(plain[1], " sh") || !strings.HasSuffix(plain[2], " ps") {
		t.Errorf("plain ps %q", plain)
	}
	// -o and -p
	pid := s.Process("system_server").Pid
	out = mustRun(t, s, fmt.Sprintf("ps -o PID,PPID,USER,NAME -p %d", pid))
	want := fmt.Sprintf("  PID  PPID USER         NAME                       \n%5d %5d system       system_server\n", pid, s.Process("zygote64").Pid)
	if out != want {
		t.Errorf("ps -o -p:\n%q\n%q", out, want)
	}
	out = mustRun(t, s, "ps -o PID,ARGS,CMD,S,RSS -p 1")
	if !regexp.MustCompile(`^  PID ARGS                        CMD             S    RSS\n    1 init second_stage           init            S   9556\n$`).MatchString(out) {
		t.Errorf("ps -o ARGS,CMD: %q", out)
	}
	if _, errs, st := run(t, s, "ps -o BOGUS"); st != 1 || errs != "ps: bad -o BOGUS\n" {
		t.Errorf("bad field: %d %q", st, errs)
	}
	// a long-running command is visible while it runs
	started := make(chan *Process, 64)
	stopWatch := s.OnProcessStart(func(p *Process) {
		if p.Name == "sleep" {
			started <- p
		}
	})
	defer stopWatch()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- s.Exec(ctx, "sleep 30", Stdio{}) }()
	sp := waitFor(t, started, "sleep to start")
	out = mustRun(t, s, fmt.Sprintf("ps -o PID,PPID,USER,NAME,ARGS,WCHAN -p %d", sp.Pid))
	if want := fmt.Sprintf("%5d %5d shell        sleep                       sleep 30                    hrtimer_nanosleep\n", sp.Pid, sp.PPid); lines(out)[1]+"\n" != want {
		t.Errorf("sleep in ps:\n%q\n%q", out, want)
	}
	if parent := s.ProcessByPid(sp.PPid); parent == nil || parent.Name != "sh" || parent.Args[2] != "sleep 30" {
		t.Errorf("sleep's parent %+v", parent)
	}
	cancel()
	if st := waitFor(t, done, "sleep to end"); st != 130 {
		t.Errorf("cancelled sleep status %d", st)
	}
	// killing the command's process ends it with 128+sig
	done2 := make(chan int, 1)
	var out2 bytes.Buffer
	go func() {
		done2 <- s.Exec(context.Background(), "sleep 30; echo status $?", Stdio{Stdout: &out2})
	}()
	sp = waitFor(t, started, "second sleep")
	mustRun(t, s, fmt.Sprintf("kill %d", sp.Pid))
	if st := waitFor(t, done2, "killed sleep"); st != 0 || out2.String() != "status 143\n" {
		t.Errorf("script after its sleep was killed: %d %q", st, out2.String())
	}
}

func TestShellDeadline(t *testing.T) {
	s := newSys(t, Config{Seed: 14})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if st := s.Exec(ctx, "while true; do echo y; done", Stdio{Stdout: &out}); st != 143 {
		t.Errorf("deadline status %d", st)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	// a command blocked reading a stdin that never ends still returns
	pr, pw := io.Pipe()
	defer pw.Close()
	if st := s.Exec(ctx2, "cat", Stdio{Stdin: pr, Stdout: io.Discard}); st != 143 {
		t.Errorf("blocked stdin status %d", st)
	}
	if st := s.Exec(context.Background(), "cat | wc -c", Stdio{Stdin: strings.NewReader("abc"), Stdout: &out}); st != 0 || !strings.HasSuffix(out.String(), "3\n") {
		t.Errorf("stdin: %d %q", st, out.String())
	}
	// background jobs end with the command line
	out.Reset()
	mustRun(t, s, "sleep 30 & echo started")
	if p := s.Process("sleep"); p != nil {
		t.Errorf("background sleep survived: %v", p)
	}
	if got := mustRun(t, s, "sleep 0.01 & wait; echo $!  | grep -c '^[0-9]'"); got != "1\n" {
		t.Errorf("$! and wait: %q", got)
	}
}

func TestInteractive(t *testing.T) {
	s := newSys(t, Config{Seed: 15})
	var out bytes.Buffer
	in := strings.NewReader("echo one\ncd /sdcard\nif true\nthen echo two; fi\nexit 5\necho never\n")
	st := s.Interactive(context.Background(), Stdio{Stdin: in, Stdout: &out, Stderr: &out})
	want := "sargo:/ $ one\nsargo:/ $ sargo:/sdcard $ > two\nsargo:/sdcard $ "
	if st != 5 || out.String() != want {
		t.Errorf("interactive: %d\n%q\n%q", st, out.String(), want)
	}
	root := newSys(t, Config{Seed: 15, Rooted: true, Props: map[string]string{"ro.product.device": "wmpfdev"}})
	out.Reset()
	st = root.Interactive(context.Background(), Stdio{Stdin: strings.NewReader("false\n"), Stdout: &out})
	if st != 1 || out.String() != "wmpfdev:/ # wmpfdev:/ # " {
		t.Errorf("rooted prompt: %d %q", st, out.String())
	}
}

func TestConcurrentShells(t *testing.T) {
	s := newSys(t, Config{Seed: 16})
	installFake(t, s)
	done := make(chan error, 40)
	for i := 0; i < 40; i++ {
		go func(i int) {
			cmd := []string{"ps -A | wc -l", "logcat -d | tail -n 3", "am start -n com.example.app/.Main", "dumpsys activity activities", "uiautomator dump /dev/tty", "log -t C hi" + fmt.Sprint(i), "echo x > /data/local/tmp/f" + fmt.Sprint(i%3)}[i%7]
			var out, errb bytes.Buffer
			st := s.Exec(context.Background(), cmd, Stdio{Stdout: &out, Stderr: &errb})
			if st != 0 {
				done <- fmt.Errorf("%s: %d %s", cmd, st, errb.String())
				return
			}
			done <- nil
		}(i)
		go func(i int) {
			p := s.Process("system_server")
			p.Log(Debug, "Spam", fmt.Sprint(i))
		}(i)
	}
	for i := 0; i < 40; i++ {
		if err := waitFor(t, done, "shell"); err != nil {
			t.Error(err)
		}
	}
}
