package android

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	fuzzOnce sync.Once
	fuzzSys  *System
)

// FuzzShellParse feeds arbitrary command lines to the parser and to the
// shell: neither may panic, and the shell must always return a status.
func FuzzShellParse(f *testing.F) {
	for _, seed := range []string{
		"echo hi", `echo 'a b' "c $HOME" \x`, "a && b || c; d &", "ls | grep x | wc -l",
		"echo x > /sdcard/f 2>&1 < /dev/null", "export ANDROID_LOG_TAGS=\"''\"; exec logcat -d",
		"sh -c 'echo $(echo nested `echo back`)'", "if true; then echo a; elif false; then :; else echo b; fi",
		"for i in 1 2; do echo $i; done", "while false; do :; done", "{ echo g; } | cat", "(exit 3)",
		"${X:-default} ${#Y} $((1+2))", "echo $(( (1", "echo ${", "cat <<EOF", "a=1 b=2 env", "!", "\\",
		"'", "\"", "`", "$(", "echo \"$(echo \")\"", "logcat -d -v brief *:S", "am start -W -n a.b/.C",
		"ps -A -o PID,NAME", "input tap 1 2", "uiautomator dump /dev/tty", "kill -9 1", "2>&1 >&2 <&0",
		"echo $? $$ $! $# $@ $* $0 $9", "case x in esac", "f() { :; }", "echo ~ ~/x", "ls /sdcard/*",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = parseScript(src)
		fuzzOnce.Do(func() {
			s, err := New(Config{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			fuzzSys = s
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		st := fuzzSys.Exec(ctx, src, Stdio{Stdin: strings.NewReader("in\n"), Stdout: io.Discard, Stderr: io.Discard})
		if st < 0 || st > 255 {
			t.Fatalf("status %d out of range", st)
		}
	})
}
