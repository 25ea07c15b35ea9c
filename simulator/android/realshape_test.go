package android

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/clock"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/logcat"
)

// The simulator's output of the commands the harness reads has the shape of
// real devices' output: the same header lines, columns, field names and
// XML attributes, compared on structure, not values. The real output is the
// harness's testdata/real (SOURCES.md there says where each file comes
// from); each rule below is checked on the real files first, so a rule that
// real devices break is a broken test, not a passing one.

const realRoot = "../../harness"

// realOutput reads real files matching glob (relative to harness/).
func realOutput(t *testing.T, glob string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(realRoot, glob))
	if err != nil || len(files) == 0 {
		t.Fatalf("no real output %s: %v", glob, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(f, realRoot+"/")] = string(b)
	}
	return out
}

// shapeApp shows one screen with an answer button, drawn at once.
type shapeApp struct{}

func (shapeApp) OnProcessStart(p *Process)  { p.Log(Info, "ShapeApp", "started") }
func (shapeApp) OnReceive(*Process, Intent) {}
func (shapeApp) StartActivity(p *Process, a *Activity, in Intent) {
	a.SetContent(&Node{Class: "android.widget.FrameLayout", Bounds: Rect{0, 0, 1080, 1920}, Enabled: true, Children: []*Node{
		{Class: "android.widget.TextView", Text: "来电 <caller> & \"x\"", ResourceID: "com.example.shape:id/title", Bounds: Rect{0, 100, 1080, 200}, Enabled: true},
		{Class: "android.widget.Button", Text: "接听", ContentDesc: "answer", ResourceID: "com.example.shape:id/accept", Bounds: Rect{100, 1500, 500, 1700},
			Clickable: true, Enabled: true, Focusable: true},
		{Class: "android.widget.ImageButton", Bounds: Rect{600, 1500, 1000, 1700}, Clickable: true, Enabled: true},
	}})
	a.Displayed()
}

const shapePkg = "com.example.shape"

// shapeDevice boots a simulated device with the app installed and its
// activity started (cold) with `am start -W`; it returns that command's
// output too.
func shapeDevice(t *testing.T) (*System, string) {
	t.Helper()
	s := newSys(t, Config{Seed: 11})
	err := s.Install(&Package{Name: shapePkg, VersionName: "1.2.3", VersionCode: 123, Label: "Shape",
		Activities: []ActivityInfo{{Class: ".CallActivity", Launcher: true, Exported: true}}, App: shapeApp{}})
	if err != nil {
		t.Fatal(err)
	}
	return s, mustRun(t, s, "am start -W -n "+shapePkg+"/.CallActivity")
}

func TestRealShapeDumpsysActivities(t *testing.T) {
	s, _ := shapeDevice(t)
	sim := mustRun(t, s, "dumpsys activity activities")
	// Every record as ActivityRecord{HASH uUSER PKG/CLS tTASK} (Android 9,
	// 11, 16) or ActivityRecord{HASH uUSER PKG/CLS} tTASK} (an Android 13
	// build), and a display's resumed line the parser reads.
	record := regexp.MustCompile(`ActivityRecord\{[0-9a-f]+ u\d+ [\w.]+/[\w.$]+(\})? t-?\d+( f)?\}`)
	check := func(name, out string) {
		t.Helper()
		for _, head := range []string{"ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n", "Display #0 (activities from top to bottom):\n"} {
			if !strings.Contains(out, head) {
				t.Errorf("%s: no line %q", name, strings.TrimSpace(head))
			}
		}
		if n, good := strings.Count(out, "ActivityRecord{"), len(record.FindAllString(out, -1)); n == 0 || n != good {
			t.Errorf("%s: %d of %d ActivityRecord{...} not of the form HASH uN PKG/CLS tN", name, n-good, n)
		}
		display := false
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "ResumedActivity: ActivityRecord{") {
				display = true
			}
		}
		if !display {
			t.Errorf("%s: no display ResumedActivity line", name)
		}
		if _, err := device.ParseResumedActivity(out); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, out := range realOutput(t, "device/testdata/real/dumpsys-activity-activities/*.txt") {
		check(name, out)
	}
	check("simulator", sim)
	if got, err := device.ParseResumedActivity(sim); err != nil || got != shapePkg+"/.CallActivity" {
		t.Errorf("simulator: resumed %q, %v; want %s/.CallActivity", got, err, shapePkg)
	}
}

// uiAttrs is the attribute names of every node of a dump, in order, with
// uiautomator's leading NAF mark left out.
func uiAttrs(t *testing.T, dump string) [][]string {
	t.Helper()
	var out [][]string
	tag := regexp.MustCompile(`<node ([^>]*?)/?>`)
	attr := regexp.MustCompile(`([\w-]+)="[^"]*"`)
	for _, m := range tag.FindAllStringSubmatch(dump, -1) {
		var names []string
		for _, a := range attr.FindAllStringSubmatch(m[1], -1) {
			names = append(names, a[1])
		}
		if len(names) > 0 && names[0] == "NAF" {
			names = names[1:]
		}
		out = append(out, names)
	}
	if len(out) == 0 {
		t.Fatalf("no <node> in %q", dump[:min(len(dump), 200)])
	}
	return out
}

func TestRealShapeUIDump(t *testing.T) {
	const prolog = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="`
	bounds := regexp.MustCompile(`bounds="([^"]*)"`)
	boundsForm := regexp.MustCompile(`^\[-?\d+,-?\d+\]\[-?\d+,-?\d+\]$`)
	// The attribute lists real dumpers write.
	var shapes [][]string
	check := func(name, out string) {
		t.Helper()
		if !strings.HasPrefix(out, prolog) {
			t.Errorf("%s: starts %q, want %q", name, out[:min(len(out), len(prolog))], prolog)
		}
		for _, b := range bounds.FindAllStringSubmatch(out, -1) {
			if !boundsForm.MatchString(b[1]) {
				t.Errorf("%s: bounds %q", name, b[1])
			}
		}
		if _, err := device.ParseUIDump(out); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, out := range realOutput(t, "device/testdata/real/uiautomator-dump/*.xml") {
		check(name, out)
		for _, a := range uiAttrs(t, out) {
			if !slices.ContainsFunc(shapes, func(s []string) bool { return slices.Equal(s, a) }) {
				shapes = append(shapes, a)
			}
		}
	}
	s, _ := shapeDevice(t)
	sim := mustRun(t, s, "uiautomator dump /dev/tty")
	check("simulator", sim)
	for i, a := range uiAttrs(t, sim) {
		if !slices.ContainsFunc(shapes, func(s []string) bool { return slices.Equal(s, a) }) {
			t.Errorf("simulator node %d has attributes %q; real dumps have one of %q", i, a, shapes)
		}
	}
	// uiautomator's closing line after the XML (AOSP DumpCommand prints
	// "UI hierchary dumped to: %s" with println).
	if !strings.HasSuffix(sim, "</hierarchy>UI hierchary dumped to: /dev/tty\n") {
		t.Errorf("simulator dump ends %q", sim[max(0, len(sim)-80):])
	}
	root, err := device.ParseUIDump(sim)
	if err != nil {
		t.Fatal(err)
	}
	n := device.Selector{Kind: "text", Value: "接听"}.Find(root)
	if n == nil || n.ContentDesc != "answer" || n.Bounds != [4]int{100, 1500, 500, 1700} || !n.Clickable {
		t.Errorf("answer button %+v", n)
	}
	if n := (device.Selector{Kind: "id", Value: "com.example.shape:id/title"}).Find(root); n == nil || n.Text != `来电 <caller> & "x"` {
		t.Errorf("title %+v", n)
	}
}

// Logcat lines: threadtime puts the priority in column 31 (time 18, then
// " %5d %5d "); -v epoch right-aligns the seconds in 19 columns, so with
// milliseconds the priority is in column 36 and with microseconds (the
// harness's -v epoch,usec) in column 39. Tags shorter than 8 are padded to
// 8 before ": ".
func checkLogcatColumns(t *testing.T, name, out string, prioCol int) int {
	t.Helper()
	entries := 0
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(l, "--------- ") {
			continue
		}
		e, err := logcat.ParseLine(l, time.UTC, 2024)
		if err != nil {
			t.Errorf("%s:%d: %v", name, i+1, err)
			continue
		}
		entries++
		if e.Pid >= 100000 || e.Tid >= 100000 {
			continue
		}
		if len(l) <= prioCol+2 || l[prioCol] != e.Prio || l[prioCol-1] != ' ' || l[prioCol+1] != ' ' {
			t.Errorf("%s:%d: priority not in column %d: %q", name, i+1, prioCol, l)
			continue
		}
		if tag := l[prioCol+2:]; len(e.Tag) < 8 && !strings.HasPrefix(tag, e.Tag+strings.Repeat(" ", 8-len(e.Tag))+": ") {
			t.Errorf("%s:%d: tag %q not padded to 8: %q", name, i+1, e.Tag, l)
		}
	}
	return entries
}

func TestRealShapeLogcat(t *testing.T) {
	for name, out := range realOutput(t, "logcat/testdata/real/threadtime/*.txt") {
		checkLogcatColumns(t, name, out, 31)
	}
	for name, out := range realOutput(t, "logcat/testdata/real/epoch/*padded*.txt") {
		checkLogcatColumns(t, name, out, 36)
	}
	s, _ := shapeDevice(t)
	if n := checkLogcatColumns(t, "simulator threadtime", mustRun(t, s, "logcat -d -v threadtime"), 31); n == 0 {
		t.Error("simulator threadtime: no entries")
	}
	if n := checkLogcatColumns(t, "simulator epoch,usec", mustRun(t, s, "logcat -d "+logcat.Args), 39); n == 0 {
		t.Error("simulator epoch,usec: no entries")
	}
	// -v brief: "P/TAG(%5d): " (the tag is not padded).
	brief := regexp.MustCompile(`^[VDIWEFA]/[^(]*\(([ \d]{5})\): `)
	checkBrief := func(name, out string) {
		t.Helper()
		n := 0
		for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if strings.HasPrefix(l, "--------- ") {
				continue
			}
			if !brief.MatchString(l) {
				t.Errorf("%s:%d: not P/TAG(%%5d): %q", name, i+1, l)
			}
			if _, err := logcat.ParseLine(l, nil, 0); err != nil {
				t.Errorf("%s:%d: %v", name, i+1, err)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no entries", name)
		}
	}
	for name, out := range realOutput(t, "logcat/testdata/real/brief/*.txt") {
		checkBrief(name, out)
	}
	checkBrief("simulator brief", mustRun(t, s, "logcat -d -v brief"))
}

// The system's own lines that witness a launch, as Android 10–14 print
// them (Android 9's come from ActivityManager, Android 15's Displayed line
// adds " for user N"). The delay is TimeUtils.formatDuration's: "+1s2ms",
// "+117ms", and a bare "0" when it is zero.
var witness = []struct {
	tag  string
	what string
	msg  *regexp.Regexp
}{
	{"ActivityTaskManager", "START", regexp.MustCompile(`^START u\d+ \{.*\bcmp=[\w.]+/[\w.$]+.*\} from uid \d+$`)},
	{"ActivityTaskManager", "Displayed", regexp.MustCompile(`^Displayed [\w.]+/[\w.$]+: (\+(\d+s)?\d+ms|0)$`)},
	{"ActivityManager", "Start proc", regexp.MustCompile(`^Start proc \d+:[\w.:]+/(u\d+a\d+|\d+) for [\w-]+ `)},
}

func TestRealShapeWitnessLines(t *testing.T) {
	// Each rule holds on the real lines of its kind, and the simulator
	// writes each kind in that form.
	seen := map[string]bool{}
	scan := func(name, out string, real bool) {
		for _, l := range strings.Split(out, "\n") {
			e, err := logcat.ParseLine(l, time.UTC, 2024)
			if err != nil {
				continue
			}
			for _, w := range witness {
				if !strings.HasPrefix(e.Msg, w.what+" ") || (e.Tag != w.tag && !(real && w.what != "START" && e.Tag == "ActivityManager")) {
					continue
				}
				if strings.Contains(e.Msg, " for user ") {
					continue // Android 15 and later
				}
				if !w.msg.MatchString(e.Msg) {
					t.Errorf("%s: %s line %q does not match %s", name, w.what, e.Msg, w.msg)
				}
				seen[name+" "+w.what] = true
			}
		}
	}
	for name, out := range realOutput(t, "logcat/testdata/real/threadtime/*.txt") {
		scan(name, out, true)
	}
	s, _ := shapeDevice(t)
	scan("simulator", mustRun(t, s, "logcat -d -v threadtime"), false)
	for _, w := range witness {
		if !seen["simulator "+w.what] {
			t.Errorf("simulator wrote no %s %s line", w.tag, w.what)
		}
	}
	for _, want := range []string{"threadtime/9-gravitybox-2013.txt Start proc", "threadtime/11-vancedmanager-115.txt START", "threadtime/11-vancedmanager-115.txt Displayed", "threadtime/9-dotnet-performance-4779-oneplus3t.txt Displayed"} {
		if !seen["logcat/testdata/real/"+want] {
			t.Errorf("rule not checked on real line: %s", want)
		}
	}
}

func TestRealShapePs(t *testing.T) {
	header := []string{"USER", "PID", "PPID", "VSZ", "RSS", "WCHAN", "ADDR", "S", "NAME"}
	check := func(name, out string) {
		t.Helper()
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if got := strings.Fields(lines[0]); !slices.Equal(got, header) {
			t.Errorf("%s: header %q, want %q", name, got, header)
			return
		}
		// PID right-aligned under its heading.
		end := strings.Index(lines[0], " PID ") + len(" PID")
		for i, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 8 || len(l) < end || l[end-1] < '0' || l[end-1] > '9' || (len(l) > end && l[end] != ' ') {
				t.Errorf("%s:%d: row %q: pid not right-aligned at column %d", name, i+2, l, end)
			}
		}
	}
	for name, out := range realOutput(t, "device/testdata/real/ps-A/*.txt") {
		check(name, out)
	}
	s, _ := shapeDevice(t)
	check("simulator", mustRun(t, s, "ps -A"))
}

func TestRealShapePidof(t *testing.T) {
	digits := regexp.MustCompile(`^\d+$`)
	for name, out := range realOutput(t, "device/testdata/real/pidof/*.txt") {
		for _, f := range strings.Fields(out) {
			if f != "..." && !digits.MatchString(f) { // "..." is the reporter's cut
				t.Errorf("%s: %q in pidof output", name, f)
			}
		}
	}
	s, _ := shapeDevice(t)
	out := mustRun(t, s, "pidof "+shapePkg)
	if !regexp.MustCompile(`^\d+( \d+)*\n$`).MatchString(out) {
		t.Errorf("simulator pidof: %q", out)
	}
	if out, errs, st := run(t, s, "pidof no.such.process"); out != "" || errs != "" || st != 1 {
		t.Errorf("simulator pidof of no process: %q %q exit %d, want nothing and exit 1", out, errs, st)
	}
}

func TestRealShapeAmStartW(t *testing.T) {
	// The keys of the lines, in order. A "Warning: ..." line after
	// Starting (AOSP's ActivityManagerShellCommand prints one when the
	// task was only brought to the front) is left out.
	keys := func(out string) []string {
		var k []string
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			key, _, _ := strings.Cut(l, ":")
			if key != "Warning" {
				k = append(k, key)
			}
		}
		return k
	}
	real := realOutput(t, "device/testdata/real/am-start-W/*.txt")
	want := keys(real["device/testdata/real/am-start-W/10plus-encapp-portal.txt"])
	if !slices.Equal(want, []string{"Starting", "Status", "LaunchState", "Activity", "TotalTime", "WaitTime", "Complete"}) {
		t.Fatalf("real am start -W keys %q", want)
	}
	starting := regexp.MustCompile(`^Starting: Intent \{ .*\}$`)
	for name, out := range real {
		if l, _, _ := strings.Cut(out, "\n"); !starting.MatchString(l) {
			t.Errorf("%s: first line %q", name, l)
		}
	}
	s, cold := shapeDevice(t)
	if got := keys(cold); !slices.Equal(got, want) {
		t.Errorf("simulator am start -W:\n%s\nkeys %q, want %q", cold, got, want)
	}
	if l, _, _ := strings.Cut(cold, "\n"); !starting.MatchString(l) || !strings.Contains(cold, "\nLaunchState: COLD\n") {
		t.Errorf("simulator am start -W (cold):\n%s", cold)
	}
	mustRun(t, s, "input keyevent KEYCODE_HOME")
	if again := mustRun(t, s, "am start -W -n "+shapePkg+"/.CallActivity"); !slices.Equal(keys(again), want) {
		t.Errorf("simulator am start -W (again):\n%s", again)
	}
}

func TestRealShapeGetprop(t *testing.T) {
	// [key]: [value], sorted by key. A value may hold line breaks (real
	// devices' persist.sys.boot.reason.history does): its first line
	// opens the bracket, a later one closes it.
	whole := regexp.MustCompile(`^\[([^\]]+)\]: \[.*\]$`)
	opens := regexp.MustCompile(`^\[([^\]]+)\]: \[`)
	check := func(name, out string) (keys []string, multi int) {
		t.Helper()
		open := ""
		for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			switch {
			case open != "":
				if strings.HasSuffix(l, "]") {
					open = ""
				}
			case l == "":
				// a blank line one real fixture holds
			case whole.MatchString(l):
				keys = append(keys, whole.FindStringSubmatch(l)[1])
			case opens.MatchString(l):
				open = opens.FindStringSubmatch(l)[1]
				keys = append(keys, open)
				multi++
			default:
				t.Errorf("%s:%d: %q is not [key]: [value]", name, i+1, l)
			}
		}
		if open != "" {
			t.Errorf("%s: value of %s never closed", name, open)
		}
		if !slices.IsSorted(keys) {
			t.Errorf("%s: keys not sorted", name)
		}
		return keys, multi
	}
	multi := 0
	for name, out := range realOutput(t, "device/testdata/real/getprop/*.txt") {
		_, m := check(name, out)
		multi += m
	}
	if multi == 0 {
		t.Error("no real value over several lines: the rule for them is not checked")
	}
	s, _ := shapeDevice(t)
	keys, _ := check("simulator", mustRun(t, s, "getprop"))
	for _, k := range []string{"ro.build.version.release", "ro.build.version.sdk", "ro.product.model", "ro.build.fingerprint"} {
		if !slices.Contains(keys, k) {
			t.Errorf("simulator getprop has no %s", k)
		}
	}
	if got := mustRun(t, s, "getprop ro.build.version.release"); !regexp.MustCompile(`^\d+(\.\d+)*\n$`).MatchString(got) {
		t.Errorf("getprop ro.build.version.release = %q", got)
	}
}

func TestRealShapeDumpsysPackage(t *testing.T) {
	pkgLine := regexp.MustCompile(`(?m)^  Package \[([\w.]+)\] \([0-9a-f]+\):$`)
	fields := []*regexp.Regexp{
		// userId= up to Android 14 or so; appId= on newer builds.
		regexp.MustCompile(`(?m)^    (userId|appId)=\d+$`),
		regexp.MustCompile(`(?m)^    versionCode=\d+ minSdk=\d+ targetSdk=\d+$`),
		regexp.MustCompile(`(?m)^    versionName=\S+$`),
		regexp.MustCompile(`(?m)^    codePath=/\S+$`),
	}
	check := func(name, out string) []string {
		t.Helper()
		if !strings.Contains(out, "\nPackages:\n") {
			t.Errorf("%s: no Packages: section", name)
		}
		var names []string
		for _, m := range pkgLine.FindAllStringSubmatch(out, -1) {
			names = append(names, m[1])
		}
		if len(names) == 0 {
			t.Errorf("%s: no Package [...] line", name)
		}
		// Each package block has the fields the install checks read.
		blocks := pkgLine.Split(out, -1)[1:]
		for i, b := range blocks {
			if next := strings.Index(b, "\n  Package ["); next >= 0 {
				b = b[:next]
			}
			for _, f := range fields {
				if !f.MatchString(b) {
					t.Errorf("%s: package %s has no line %s", name, names[i], f)
				}
			}
		}
		return names
	}
	const missing = "Unable to find package: "
	for name, out := range realOutput(t, "device/testdata/real/dumpsys-package/*.txt") {
		if strings.HasPrefix(out, missing) {
			// Android 13 and later for a package that is not installed.
			if strings.Contains(out, "Package [") || strings.Count(out, "\n") != 1 {
				t.Errorf("%s: %q", name, out)
			}
			continue
		}
		check(name, out)
	}
	s, _ := shapeDevice(t)
	// The simulator (Android 11) prints nothing for a package that is not
	// installed; Android 13 and later print the line above. Either way no
	// Package [...] line, which is how a reader tells it is missing.
	if gone := mustRun(t, s, "dumpsys package no.such.pkg"); strings.Contains(gone, "Package [") || (gone != "" && !strings.HasPrefix(gone, missing)) {
		t.Errorf("simulator: dumpsys package of a missing package printed %q", gone)
	}
	out := mustRun(t, s, "dumpsys package "+shapePkg)
	if names := check("simulator", out); !slices.Equal(names, []string{shapePkg}) {
		t.Errorf("simulator: packages %q", names)
	}
	if !strings.Contains(out, "\n    versionCode=123 ") || !strings.Contains(out, "\n    versionName=1.2.3\n") {
		t.Errorf("simulator: version lines missing:\n%s", out)
	}
}

// No real Android `date +%s%N` was found (clock/testdata/real/SOURCES.md);
// toybox, Android's date, prints the seconds and nine digits, one line.
func TestShapeDate(t *testing.T) {
	s, _ := shapeDevice(t)
	out := mustRun(t, s, clock.DateCommand)
	if !regexp.MustCompile(`^\d{19}\n$`).MatchString(out) {
		t.Errorf("%s printed %q", clock.DateCommand, out)
	}
	if _, err := clock.ParseDate(out); err != nil {
		t.Error(err)
	}
}
