package android_test

import (
	"bufio"
	"image/png"
	"os"
	"regexp"
	"strings"
	"testing"
)

// surfaceCheck is how a device answers one command of the surface: its
// exit status and patterns its stdout (and stderr) must match. The texts
// come from real devices (Android 11 toybox, mksh and framework commands).
type surfaceCheck struct {
	code   int
	stdout string // regexp, matched against the whole output
	stderr string // regexp; "" means stderr must be empty
	check  func(t *testing.T, out string)
}

var surface = map[string]surfaceCheck{
	"getprop":                               {stdout: `(?s)^(\[[a-z0-9_.]+\]: \[[^\n]*\]\n)+$`, check: hasLine(`[ro.build.version.sdk]: [30]`)},
	"getprop ro.product.model":              {stdout: `^sargo-model\n$`},
	"getprop ro.build.version.sdk":          {stdout: `^30\n$`},
	"getprop sys.boot_completed":            {stdout: `^1\n$`},
	"echo ping":                             {stdout: `^ping\n$`},
	"id -u":                                 {stdout: `^0\n$`},
	"id":                                    {stdout: `^uid=0\(root\) gid=0\(root\) groups=0\(root\).* context=u:r:su:s0\n$`},
	"whoami":                                {stdout: `^root\n$`},
	"date +%s%N":                            {stdout: `^\d{19}\n$`},
	"ls /data/local/tmp":                    {stdout: `^$`},
	"mkdir -p /data/local/tmp/wmpf-hil/bin": {stdout: `^$`},
	"touch /data/local/tmp/wmpf-hil/bin/agent":     {stdout: `^$`},
	"chmod 755 /data/local/tmp/wmpf-hil/bin/agent": {stdout: `^$`},
	"stat -c %s /system/bin/sh":                    {stdout: `^4\n$`},
	"df /data": {stdout: `^Filesystem       1K-blocks    Used Available Use% Mounted on\n` +
		`/dev/block/sda45 +\d+ +\d+ +\d+ +\d+% /data\n$`},
	"rm -rf /data/local/tmp/wmpf-hil":               {stdout: `^$`},
	"pm list packages":                              {stdout: `(?s)^(package:[a-z0-9_.]+\n)+$`, check: hasLine("package:com.android.settings")},
	"pm list packages -3":                           {stdout: `^$`},
	"pm list instrumentation":                       {stdout: `^$`},
	"pm path com.android.settings":                  {stdout: `^package:/\S+\.apk\n$`},
	"cmd package list packages":                     {stdout: `(?s)^(package:[a-z0-9_.]+\n)+$`, check: hasLine("package:com.android.settings")},
	"dumpsys package com.android.settings":          {stdout: `(?s)Packages:\n  Package \[com.android.settings\].*\n    versionCode=\d+ .*\n    versionName=\S+\n`},
	"settings get global animator_duration_scale":   {stdout: `^1\.0\n$`},
	"settings put global animator_duration_scale 0": {stdout: `^$`},
	"wm size":                     {stdout: `^Physical size: 1080x1920\n$`},
	"wm density":                  {stdout: `^Physical density: 420\n$`},
	"dumpsys window":              {stdout: `(?s)  mCurrentFocus=Window\{[0-9a-f]+ u0 com.android.launcher3/com.android.launcher3.Launcher\}\n`},
	"dumpsys activity activities": {stdout: `(?s)ACTIVITY MANAGER ACTIVITIES \(dumpsys activity activities\)\n.*mResumedActivity: ActivityRecord\{[0-9a-f]+ u0 com.android.launcher3/.Launcher t\d+\}`},
	"am start -W -a android.intent.action.MAIN -c android.intent.category.LAUNCHER -p com.android.settings": {
		stdout: `(?s)^Starting: Intent \{ act=android.intent.action.MAIN cat=\[android.intent.category.LAUNCHER\] pkg=com.android.settings \}\nStatus: ok\nLaunchState: COLD\nActivity: com.android.settings/.Settings\nTotalTime: \d+\nWaitTime: \d+\nComplete\n$`},
	"am force-stop com.android.settings": {stdout: `^$`},
	"am instrument -w x/y": {code: 1,
		stdout: `^INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo\{x/y\}\nINSTRUMENTATION_STATUS: id=ActivityManagerService\nINSTRUMENTATION_STATUS_CODE: -1\n$`,
		stderr: `^android.util.AndroidException: INSTRUMENTATION_FAILED: x/y\n(\tat [^\n]+\n)+$`},
	"pidof system_server":                   {stdout: `^\d+\n$`},
	"ps -A":                                 {stdout: `(?s)^USER +PID +PPID +VSZ +RSS +WCHAN +ADDR S NAME +\nroot +1 +0 +\d+ +\d+ \S+ +0 S init\n.*\n`},
	"input keyevent KEYCODE_BACK":           {stdout: `^$`},
	"input tap 100 300":                     {stdout: `^$`},
	"uiautomator dump /dev/tty":             {stdout: `^<\?xml version='1.0' encoding='UTF-8' standalone='yes' \?><hierarchy rotation="0">.*</hierarchy>UI hierchary dumped to: /dev/tty\n$`},
	"screencap -p":                          {stdout: `(?s)^.PNG\r\n`, check: isPNG},
	"logcat -d -v epoch,usec -t 1":          {stdout: `^(--------- beginning of \w+\n)?\s*\d+\.\d{6} +\d+ +\d+ [VDIWEF] [^\n]*\n$`},
	"logcat -c":                             {stdout: `^$`},
	"kill -9 $(pidof com.android.systemui)": {stdout: `^$`},
}

func hasLine(line string) func(t *testing.T, out string) {
	return func(t *testing.T, out string) {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if l == line {
				return
			}
		}
		t.Errorf("no line %q", line)
	}
}

func isPNG(t *testing.T, out string) {
	t.Helper()
	img, err := png.Decode(strings.NewReader(out))
	if err != nil {
		t.Errorf("not a PNG: %v", err)
		return
	}
	if b := img.Bounds(); b.Dx() != 1080 || b.Dy() != 1920 {
		t.Errorf("PNG of %v, want 1080x1920", b)
	}
}

// surfaceList reads the command surface from doc.go, in order.
func surfaceList(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "// # Command surface":
			in = true
		case in && strings.HasPrefix(l, "//\t"):
			cmd, _, ok := strings.Cut(strings.TrimPrefix(l, "//\t"), " — ")
			if !ok {
				t.Fatalf("doc.go surface line without \" — WHO\": %q", l)
			}
			cmds = append(cmds, cmd)
		case in && strings.HasPrefix(l, "// #"):
			in = false
		}
	}
	if len(cmds) == 0 {
		t.Fatal("doc.go has no command surface")
	}
	return cmds
}

// TestCommandSurface runs the command surface of doc.go, in its order,
// through the real adb on a rooted simulated device.
func TestCommandSurface(t *testing.T) {
	cmds := surfaceList(t)
	seen := map[string]bool{}
	for _, c := range cmds {
		if _, ok := surface[c]; !ok {
			t.Errorf("doc.go lists %q but the test has no check for it", c)
		}
		seen[c] = true
	}
	for c := range surface {
		if !seen[c] {
			t.Errorf("the test checks %q, which doc.go does not list", c)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	e := startSvc(t, svcOptions{debuggable: true, root: true, props: map[string]string{"ro.product.model": "sargo-model"}})
	for _, c := range cmds {
		want := surface[c]
		out, errOut, code := e.adb(t, nil, "shell", c)
		if code != want.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", c, code, want.code, errOut)
			continue
		}
		if !regexp.MustCompile(want.stdout).MatchString(out) {
			t.Errorf("%s: stdout %q does not match %q", c, clip(out), want.stdout)
		}
		if want.stderr == "" && errOut != "" || want.stderr != "" && !regexp.MustCompile(want.stderr).MatchString(errOut) {
			t.Errorf("%s: stderr %q, want %q", c, clip(errOut), want.stderr)
		}
		if want.check != nil {
			want.check(t, out)
		}
	}
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}
