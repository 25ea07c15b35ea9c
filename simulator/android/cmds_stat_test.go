package android

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestStatFormat(t *testing.T) {
	s := newSys(t, Config{})
	mustRun(t, s, "echo -n 12345 > /data/local/tmp/f; mkdir /data/local/tmp/d; touch /data/local/tmp/empty")
	cases := map[string]string{
		"stat -c %s /data/local/tmp/f":                            "5\n",
		"stat -c '%n %s' /data/local/tmp/f /data/local/tmp/empty": "/data/local/tmp/f 5\n/data/local/tmp/empty 0\n",
		"stat -c %a /data/local/tmp/f":                            "666\n",
		"stat -c %A /data/local/tmp/d":                            "drwxrwxrwx\n",
		"stat -c '%U %G %u %g' /data/local/tmp/f":                 "shell shell 2000 2000\n",
		"stat -c %F /data/local/tmp/f":                            "regular file\n",
		"stat -c %F /data/local/tmp/empty":                        "regular empty file\n",
		"stat -c %F /data/local/tmp/d":                            "directory\n",
		"stat -c '%U:%G %a' /system/bin":                          "root:shell 755\n",
		"stat -c %N /data/local/tmp/f":                            "'/data/local/tmp/f'\n",
		"stat -c 100%% /data/local/tmp/f":                         "100%\n",
	}
	for cmd, want := range cases {
		if got := mustRun(t, s, cmd); got != want {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	y := mustRun(t, s, "stat -c %Y /data/local/tmp/f")
	if !regexp.MustCompile(`^\d{10}\n$`).MatchString(y) {
		t.Errorf("%%Y = %q", y)
	}
	if _, errs, st := run(t, s, "stat -c %s /nope"); st != 1 || errs != "stat: /nope: No such file or directory\n" {
		t.Errorf("stat of a missing file: %d %q", st, errs)
	}
	if _, errs, st := run(t, s, "stat -c %q /data/local/tmp/f"); st != 1 || !strings.Contains(errs, "bad -c '%q'") {
		t.Errorf("bad format: %d %q", st, errs)
	}
}

func TestDfPath(t *testing.T) {
	s := newSys(t, Config{})
	header := "Filesystem       1K-blocks    Used Available Use% Mounted on\n"
	for path, mount := range map[string]string{"/data/local/tmp": " /data\n", "/sdcard": " /storage/emulated\n", "/system/bin": " /\n", "/dev/null": " /dev\n"} {
		out := mustRun(t, s, "df "+path)
		l := lines(out)
		if len(l) != 2 || l[0]+"\n" != header || !strings.HasSuffix(out, mount) {
			t.Errorf("df %s = %q, want the header and the line of%s", path, out, mount)
		}
	}
	if all := mustRun(t, s, "df"); len(lines(all)) != 5 {
		t.Errorf("df: %q", all)
	}
	if _, errs, st := run(t, s, "df /nope"); st != 1 || errs != "df: /nope: No such file or directory\n" {
		t.Errorf("df /nope: %d %q", st, errs)
	}
}

func TestChmod(t *testing.T) {
	s := newSys(t, Config{})
	mustRun(t, s, "touch /data/local/tmp/agent && chmod 755 /data/local/tmp/agent")
	if got := mustRun(t, s, "stat -c %A /data/local/tmp/agent"); got != "-rwxr-xr-x\n" {
		t.Fatalf("after chmod 755: %q", got)
	}
	mustRun(t, s, "chmod go-rx,u-w /data/local/tmp/agent")
	if got := mustRun(t, s, "stat -c %a /data/local/tmp/agent"); got != "500\n" {
		t.Fatalf("after chmod go-rx,u-w: %q", got)
	}
	if _, errs, st := run(t, s, "chmod 755 /system/bin/sh"); st != 1 || errs != "chmod: chmod '/system/bin/sh' to 755: Read-only file system\n" {
		t.Fatalf("chmod on /system: %d %q", st, errs)
	}
	if _, errs, st := run(t, s, "chmod abc /data/local/tmp/agent"); st != 1 || errs != "chmod: bad mode 'abc'\n" {
		t.Fatalf("chmod abc: %d %q", st, errs)
	}
}

func TestScriptHasNoPrompt(t *testing.T) {
	s := newSys(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	st := s.Script(ctx, Stdio{Stdin: strings.NewReader("echo a\nif true; then\necho b\nfi\necho c"), Stdout: &out, Stderr: &out})
	if st != 0 || out.String() != "a\nb\nc\n" {
		t.Fatalf("Script: %d %q", st, out.String())
	}
	out.Reset()
	s.Interactive(ctx, Stdio{Stdin: strings.NewReader("echo a\n"), Stdout: &out, Stderr: &out})
	if !strings.HasPrefix(out.String(), "sargo:/ $ a\n") {
		t.Fatalf("Interactive: %q", out.String())
	}
}

// TestAmInstrumentLikeDevices compares the report with real devices'
// transcripts (testdata): the same lines in the same order.
func TestAmInstrumentLikeDevices(t *testing.T) {
	data, err := os.ReadFile("testdata/am_instrument_missing.txt")
	if err != nil {
		t.Fatal(err)
	}
	// The Android 10+ transcript: keys sorted, Error first.
	real := strings.SplitN(string(data), "== ", 3)[1]
	realLines := lines(real)[1:]
	s := newSys(t, Config{})
	out, errs, st := run(t, s, "am instrument -w -r -e debug false io.appium.uiautomator2.server.test/androidx.test.runner.AndroidJUnitRunner")
	got := lines(out)
	if st != 1 || len(got) != len(realLines) {
		t.Fatalf("exit %d, stdout %q", st, out)
	}
	for i := range got {
		gk, _, _ := strings.Cut(got[i], "=")
		rk, _, _ := strings.Cut(realLines[i], "=")
		if gk != rk {
			t.Errorf("line %d: %q, a device prints %q", i, got[i], realLines[i])
		}
	}
	if !strings.HasPrefix(errs, "android.util.AndroidException: INSTRUMENTATION_FAILED: io.appium.uiautomator2.server.test/androidx.test.runner.AndroidJUnitRunner\n\tat ") {
		t.Errorf("stderr %q", errs)
	}
	// Without -w there is no report, only the exception.
	out, _, st = run(t, s, "am instrument x/.Runner")
	if out != "" || st != 1 {
		t.Errorf("without -w: %d %q", st, out)
	}
	if _, errs, st := run(t, s, "am instrument -w"); st != 1 || errs != "Error: Argument expected after \"-w\"\n" {
		t.Errorf("no component: %d %q", st, errs)
	}
	if _, errs, st := run(t, s, "am instrument bogus"); st != 1 || errs != "Error: Bad component name: bogus\n" {
		t.Errorf("bad component: %d %q", st, errs)
	}
}
