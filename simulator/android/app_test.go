package android

import (
	"context"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeApp is a small App: each activity shows a title and a button; the
// first frame is drawn after drawDelay.
type fakeApp struct {
	drawDelay time.Duration

	mu       sync.Mutex
	events   []string
	received chan Intent
	clicks   chan string
	backs    chan string
	texts    chan string
	noDraw   bool
}

func newFakeApp() *fakeApp {
	return &fakeApp{drawDelay: 30 * time.Millisecond, received: make(chan Intent, 16), clicks: make(chan string, 16),
		backs: make(chan string, 16), texts: make(chan string, 16)}
}

func (f *fakeApp) record(format string, a ...any) {
	f.mu.Lock()
	f.events = append(f.events, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

func (f *fakeApp) Events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

func (f *fakeApp) OnProcessStart(p *Process) {
	f.record("process %s", p.Name)
	p.Log(Info, "FakeApp", "Application.onCreate in "+p.Name)
}

func (f *fakeApp) StartActivity(p *Process, a *Activity, in Intent) {
	f.record("activity %s in %s", a.Component(), p.Name)
	name := a.Component().Class
	root := &Node{Class: "android.widget.FrameLayout", Bounds: Rect{0, 0, 1080, 1920}, Children: []*Node{
		{Class: "android.widget.LinearLayout", ResourceID: "com.example.app:id/content", Bounds: Rect{0, 63, 1080, 1920}, Enabled: true,
			Clickable: true, OnClick: func() { f.clicks <- "background" }, Children: []*Node{
				{Class: "android.widget.TextView", Text: "Title <" + name + "> & \"quotes\"", ResourceID: "com.example.app:id/title", Bounds: Rect{0, 100, 1080, 200}, Enabled: true},
				{Class: "android.widget.Button", Text: "OK", ResourceID: "com.example.app:id/ok", Bounds: Rect{100, 300, 500, 400}, Clickable: true, Enabled: true, Focusable: true,
					OnClick: func() { f.clicks <- "ok" }},
				{Class: "android.widget.Button", Text: "Off", Bounds: Rect{600, 300, 1000, 400}, Clickable: true, Enabled: false,
					OnClick: func() { f.clicks <- "disabled" }},
				{Class: "android.widget.ImageButton", Bounds: Rect{100, 500, 200, 600}, Clickable: true, Enabled: true,
					OnClick: func() { f.clicks <- "icon" }},
			}},
	}}
	a.SetContent(root)
	if strings.HasSuffix(name, ".Custom") {
		a.OnBack(func() { f.backs <- name })
	}
	a.OnTextInput(func(s string) { f.texts <- s })
	if f.noDraw {
		return
	}
	time.AfterFunc(f.drawDelay, a.Displayed)
}

func (f *fakeApp) OnReceive(p *Process, in Intent) {
	f.record("receive %s in %s", in.Action, p.Name)
	f.received <- in
}

func installFake(t *testing.T, s *System) *fakeApp {
	t.Helper()
	app := newFakeApp()
	err := s.Install(&Package{
		Name: "com.example.app", VersionName: "2.3.4", VersionCode: 234, Label: "Example",
		Activities: []ActivityInfo{
			{Class: ".Main", Launcher: true, Exported: true},
			{Class: ".Second", Exported: true},
			{Class: ".Remote", Process: ":remote", Exported: true},
			{Class: ".Secret"},
			{Class: "com.example.app.Custom", Exported: true},
			{Class: ".Viewer", Exported: true, Actions: []string{ActionView}, TaskAffinity: "com.example.viewer"},
		},
		Receivers: []ReceiverInfo{{Class: ".Recv", Actions: []string{"com.example.PING"}, Exported: true}},
		App:       app,
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func start(t *testing.T, s *System, cls string) StartResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.StartActivity(ctx, Intent{Component: ComponentName{"com.example.app", cls}}, true)
	if err != nil {
		t.Fatalf("start %s: %v", cls, err)
	}
	return res
}

func TestBootState(t *testing.T) {
	s := newSys(t, Config{Seed: 42})
	a := s.ResumedActivity()
	if a == nil || a.Component().String() != "com.android.launcher3/.Launcher" {
		t.Fatalf("resumed after boot: %v", a)
	}
	for _, name := range []string{"init", "ueventd", "logd", "servicemanager", "zygote64", "system_server", "surfaceflinger", "adbd", "com.android.systemui", "com.android.launcher3"} {
		if s.Process(name) == nil {
			t.Errorf("process %s not running", name)
		}
	}
	if p := s.Process("init"); p.Pid != 1 {
		t.Errorf("init pid %d", p.Pid)
	}
	// same seed, same pids
	s2 := newSys(t, Config{Seed: 42})
	if fmt.Sprint(sortedPids(s.Processes())) != fmt.Sprint(sortedPids(s2.Processes())) {
		t.Error("pids differ for the same seed")
	}
	ps := s.Processes()
	for i := 1; i < len(ps); i++ {
		if ps[i].Pid <= ps[i-1].Pid {
			t.Fatal("Processes not ordered by pid")
		}
	}
	if u := s.Process("com.android.launcher3").Uid; u < 10000 || u >= 20000 {
		t.Errorf("launcher uid %d", u)
	}
	log := mustRun(t, s, "logcat -d")
	for _, want := range []string{"I ActivityTaskManager: START u0 {act=android.intent.action.MAIN cat=[android.intent.category.HOME]", "I ActivityTaskManager: Displayed com.android.launcher3/.Launcher: +"} {
		if !strings.Contains(log, want) {
			t.Errorf("boot log lacks %q", want)
		}
	}
}

func TestStartActivityColdWarmHot(t *testing.T) {
	s := newSys(t, Config{Seed: 1})
	app := installFake(t, s)
	res := start(t, s, "com.example.app.Main")
	if res.Status != "ok" || res.LaunchState != "COLD" || res.Activity.String() != "com.example.app/.Main" {
		t.Fatalf("cold start: %+v", res)
	}
	if res.TotalTime < app.drawDelay || res.WaitTime < res.TotalTime {
		t.Errorf("times: total %v wait %v (draw %v)", res.TotalTime, res.WaitTime, app.drawDelay)
	}
	ev := app.Events()
	if len(ev) != 2 || ev[0] != "process com.example.app" || ev[1] != "activity com.example.app/.Main in com.example.app" {
		t.Errorf("callbacks %q", ev)
	}
	if s.ResumedActivity() != res.Record || !res.Record.Resumed() {
		t.Error("started activity not resumed")
	}
	// same process, new activity: WARM, same task (affinity)
	res2 := start(t, s, "com.example.app.Second")
	if res2.LaunchState != "WARM" || res2.Record.TaskID() != res.Record.TaskID() {
		t.Errorf("warm start: %+v task %d vs %d", res2, res2.Record.TaskID(), res.Record.TaskID())
	}
	// another process of the package: COLD, OnProcessStart again
	res3 := start(t, s, "com.example.app.Remote")
	if res3.LaunchState != "COLD" || res3.Record.Process().Name != "com.example.app:remote" {
		t.Errorf("remote start: %+v", res3)
	}
	if got := app.Events(); got[len(got)-2] != "process com.example.app:remote" {
		t.Errorf("events %q", got)
	}
	// HOME, then am start of the task root: brought to front (HOT)
	mustRun(t, s, "input keyevent KEYCODE_HOME")
	if s.ResumedActivity().Component().Package != launcherPkg {
		t.Fatal("HOME did not resume the launcher")
	}
	out := mustRun(t, s, "am start -W -n com.example.app/.Main")
	re := regexp.MustCompile(`^Starting: Intent \{ cmp=com.example.app/.Main \}
Warning: Activity not started, its current task has been brought to the front
Status: ok
LaunchState: HOT
Activity: com.example.app/.Remote
TotalTime: \d+
WaitTime: \d+
Complete
$`)
	if !re.MatchString(out) {
		t.Errorf("am start -W (hot) output:\n%s", out)
	}
	if s.ResumedActivity() != res3.Record {
		t.Errorf("resumed %v, want %v", s.ResumedActivity(), res3.Record)
	}
	// the same again while it is in front
	out = mustRun(t, s, "am start -W -n com.example.app/.Main")
	if !strings.Contains(out, "LaunchState: HOT\n") || !strings.Contains(out, "TotalTime: 0\n") {
		t.Errorf("already in front:\n%s", out)
	}
	// activities, top to bottom
	var names []string
	for _, a := range s.Activities() {
		names = append(names, a.Component().String())
	}
	if got := strings.Join(names, ","); got != "com.example.app/.Remote,com.example.app/.Second,com.example.app/.Main,com.android.launcher3/.Launcher" {
		t.Errorf("activities %s", got)
	}
}

func TestAmStartOutput(t *testing.T) {
	s := newSys(t, Config{Seed: 2})
	installFake(t, s)
	out := mustRun(t, s, "am start -W -n com.example.app/.Main --es key value --ez flag true")
	re := regexp.MustCompile(`^Starting: Intent \{ cmp=com.example.app/.Main \(has extras\) \}
Status: ok
LaunchState: COLD
Activity: com.example.app/.Main
TotalTime: (\d+)
WaitTime: (\d+)
Complete
$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("am start -W output:\n%s", out)
	}
	in := s.ResumedActivity().Intent()
	if in.Extras["key"] != "value" || in.Extras["flag"] != true || in.Flags&FlagActivityNewTask == 0 {
		t.Errorf("intent delivered: %+v", in)
	}
	log := mustRun(t, s, "logcat -d -s ActivityTaskManager ActivityManager")
	for _, want := range []string{
		"I ActivityTaskManager: START u0 {flg=0x10000000 cmp=com.example.app/.Main (has extras)} from uid 2000",
		"I ActivityManager: Start proc ",
		":com.example.app/u0a",
		" for pre-top-activity {com.example.app/com.example.app.Main}",
		"I ActivityTaskManager: Displayed com.example.app/.Main: +" + m[1] + "ms",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// by package name (MAIN/LAUNCHER), without waiting
	out, errs, st := run(t, s, "am start com.example.app")
	if st != 0 || out != "Starting: Intent { act=android.intent.action.MAIN cat=[android.intent.category.LAUNCHER] pkg=com.example.app }\n" {
		t.Errorf("am start pkg: %q %q %d", out, errs, st)
	}
	// implicit VIEW resolves by declared action, into its own task
	out = mustRun(t, s, "am start -W -a android.intent.action.VIEW -d https://example.com/x")
	if !strings.Contains(out, "Activity: com.example.app/.Viewer\n") || !strings.Contains(out, "LaunchState: WARM\n") {
		t.Errorf("implicit start:\n%s", out)
	}
	errCases := []struct{ cmd, stdout, stderr string }{
		{"am start -n com.example.app/.Nope", "Starting: Intent { cmp=com.example.app/.Nope }\n", "Error type 3\nError: Activity class {com.example.app/com.example.app.Nope} does not exist.\n"},
		{"am start -W -n com.nope/.X", "Starting: Intent { cmp=com.nope/.X }\nError type 3\nError: Activity class {com.nope/com.nope.X} does not exist.\n", ""},
		{"am start -a com.example.NOTHING", "Starting: Intent { act=com.example.NOTHING }\n", "Error: Activity not started, unable to resolve Intent { act=com.example.NOTHING flg=0x10000000 }\n"},
	}
	for _, tc := range errCases {
		out, errs, st := run(t, s, tc.cmd)
		if st != 1 || out != tc.stdout || errs != tc.stderr {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", tc.cmd, st, out, errs)
		}
	}
	_, errs, st = run(t, s, "am start -n com.example.app/.Secret")
	if st != 255 || !strings.Contains(errs, "java.lang.SecurityException: Permission Denial: starting Intent { flg=0x10000000 cmp=com.example.app/.Secret } from null (pid=-1, uid=2000) not exported from uid 1") {
		t.Errorf("non-exported: %d %q", st, errs)
	}
	_, errs, st = run(t, s, "am start -W --bogus x")
	if st != 255 || !strings.HasPrefix(errs, "\nException occurred while executing 'start':\njava.lang.IllegalArgumentException: Unknown option: --bogus\n\tat ") {
		t.Errorf("bad option: %d %q", st, errs)
	}
	_, errs, _ = run(t, s, "am start --ei n notanumber -n com.example.app/.Main")
	if !strings.Contains(errs, "java.lang.NumberFormatException: For input string: \"notanumber\"") {
		t.Errorf("bad int: %q", errs)
	}
	// -S force-stops first
	out = mustRun(t, s, "am start -S -W -n com.example.app/.Main")
	if !strings.HasPrefix(out, "Stopping: com.example.app\nStarting: ") || !strings.Contains(out, "LaunchState: COLD") {
		t.Errorf("am start -S:\n%s", out)
	}
}

func TestBroadcasts(t *testing.T) {
	s := newSys(t, Config{Seed: 3})
	app := installFake(t, s)
	out := mustRun(t, s, "am broadcast -a com.example.PING --es who shell --ei n 7")
	if out != "Broadcasting: Intent { act=com.example.PING flg=0x400000 (has extras) }\nBroadcast completed: result=0\n" {
		t.Errorf("am broadcast output %q", out)
	}
	in := waitFor(t, app.received, "manifest broadcast")
	if in.Extras["who"] != "shell" || in.Extras["n"] != 7 || in.Component.Class != "com.example.app.Recv" {
		t.Errorf("received %+v", in)
	}
	if ev := app.Events(); ev[0] != "process com.example.app" || ev[1] != "receive com.example.PING in com.example.app" {
		t.Errorf("receiver process not started first: %q", ev)
	}
	out = mustRun(t, s, "am broadcast -n com.example.app/.Recv -a other --receiver-foreground")
	if out != "Broadcasting: Intent { act=other flg=0x10400000 cmp=com.example.app/.Recv }\nBroadcast completed: result=0\n" {
		t.Errorf("explicit broadcast %q", out)
	}
	waitFor(t, app.received, "explicit broadcast")

	p := s.Process("com.example.app")
	got := make(chan Intent, 4)
	unreg := p.RegisterReceiver("com.example.DYN", func(in Intent) { got <- in })
	if n := s.SendBroadcast(Intent{Action: "com.example.DYN", Extras: map[string]any{"x": 1}}); n != 1 {
		t.Errorf("dynamic receivers reached: %d", n)
	}
	if in := waitFor(t, got, "dynamic broadcast"); in.Extras["x"] != 1 {
		t.Errorf("dynamic got %+v", in)
	}
	unreg()
	if n := s.SendBroadcast(Intent{Action: "com.example.DYN"}); n != 0 {
		t.Errorf("after unregister: %d", n)
	}
	p.RegisterReceiver("com.example.DYN", func(in Intent) { got <- in })
	if err := s.Kill(p.Pid, 9); err != nil {
		t.Fatal(err)
	}
	if n := s.SendBroadcast(Intent{Action: "com.example.DYN"}); n != 0 {
		t.Errorf("receiver survived its process: %d", n)
	}
	// force-stopped packages get no implicit broadcasts until launched again
	s.ForceStop("com.example.app")
	if n := s.SendBroadcast(Intent{Action: "com.example.PING"}); n != 0 {
		t.Errorf("stopped package got broadcast")
	}
	if n := s.SendBroadcast(Intent{Action: "com.example.PING", Flags: FlagIncludeStoppedPackages}); n != 1 {
		t.Errorf("--include-stopped-packages: %d", n)
	}
	waitFor(t, app.received, "broadcast to stopped package")
}

func TestForceStopAndKill(t *testing.T) {
	s := newSys(t, Config{Seed: 4})
	installFake(t, s)
	res := start(t, s, "com.example.app.Main")
	start(t, s, "com.example.app.Remote")
	deaths := make(chan *Process, 8)
	cancel := s.OnProcessDeath(func(p *Process) {
		if p.Package == "com.example.app" {
			deaths <- p
		}
	})
	defer cancel()
	main := s.Process("com.example.app")
	mustRun(t, s, "am force-stop com.example.app")
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		got[waitFor(t, deaths, "death").Name] = true
	}
	if !got["com.example.app"] || !got["com.example.app:remote"] {
		t.Errorf("deaths %v", got)
	}
	if main.Alive() || s.Process("com.example.app:remote") != nil {
		t.Error("processes survive force-stop")
	}
	select {
	case <-res.Record.Done():
	default:
		t.Error("activity not done after force-stop")
	}
	if a := s.ResumedActivity(); a.Component().Package != launcherPkg {
		t.Errorf("resumed after force-stop: %v", a)
	}
	log := mustRun(t, s, "logcat -d -b system -s ActivityManager")
	if !regexp.MustCompile(`I ActivityManager: Force stopping com.example.app appid=\d+ user=0: from pid \d+\n`).MatchString(log) {
		t.Errorf("force-stop log:\n%s", log)
	}

	// Kill of the process owning the resumed activity
	res = start(t, s, "com.example.app.Main")
	p := res.Record.Process()
	if err := s.Kill(p.Pid, 9); err != nil {
		t.Fatal(err)
	}
	if d := waitFor(t, deaths, "kill death"); d != p || d.Signal() != 9 {
		t.Errorf("death %v sig %d", d, d.Signal())
	}
	if s.ResumedActivity().Component().Package != launcherPkg {
		t.Error("launcher not resumed after kill")
	}
	log = mustRun(t, s, "logcat -d")
	for _, want := range []string{
		fmt.Sprintf("I ActivityManager: Process com.example.app (pid %d) has died: fg  TOP", p.Pid),
		fmt.Sprintf("I Zygote  : Process %d exited due to signal 9 (Killed)", p.Pid),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if err := s.Kill(p.Pid, 9); err == nil {
		t.Error("killing a dead pid succeeded")
	}
	// shell kill: not permitted for app processes unless rooted
	res = start(t, s, "com.example.app.Main")
	pid := res.Record.Process().Pid
	_, errs, st := run(t, s, fmt.Sprintf("kill %d", pid))
	if st != 1 || errs != fmt.Sprintf("kill: pid %d: Operation not permitted\n", pid) {
		t.Errorf("non-root kill: %d %q", st, errs)
	}
	_, errs, st = run(t, s, "kill -9 99999")
	if st != 1 || errs != "kill: pid 99999: No such process\n" {
		t.Errorf("kill missing: %d %q", st, errs)
	}
	root := newSys(t, Config{Seed: 4, Rooted: true})
	installFake(t, root)
	r := start(t, root, "com.example.app.Main")
	mustRun(t, root, fmt.Sprintf("kill -9 %d", r.Record.Process().Pid))
	if r.Record.Process().Alive() {
		t.Error("root kill did not kill")
	}
	if out := mustRun(t, root, "id"); !strings.HasPrefix(out, "uid=0(root) gid=0(root)") {
		t.Errorf("rooted id: %q", out)
	}
	// am kill spares the foreground process
	r = start(t, root, "com.example.app.Main")
	mustRun(t, root, "am kill com.example.app")
	if !r.Record.Process().Alive() {
		t.Error("am kill killed the foreground app")
	}
	mustRun(t, root, "input keyevent 3; am kill com.example.app")
	if r.Record.Process().Alive() {
		t.Error("am kill spared a background app")
	}
}

func TestTapBackHome(t *testing.T) {
	s := newSys(t, Config{Seed: 5})
	app := installFake(t, s)
	res := start(t, s, "com.example.app.Main")
	changes := make(chan string, 16)
	stop := s.OnResumedChange(func(a *Activity) { changes <- a.Component().String() })
	defer stop()

	tap := func(x, y int) {
		mustRun(t, s, fmt.Sprintf("input tap %d %d", x, y))
	}
	tap(200, 350)
	if c := waitFor(t, app.clicks, "click"); c != "ok" {
		t.Errorf("tap on button: %s", c)
	}
	tap(700, 350) // disabled button: the clickable parent gets it
	if c := waitFor(t, app.clicks, "click"); c != "background" {
		t.Errorf("tap on disabled button: %s", c)
	}
	if n := s.Tap(150, 550); n == nil || n.Class != "android.widget.ImageButton" {
		t.Errorf("Tap returned %+v", n)
	}
	waitFor(t, app.clicks, "icon click")
	if n := s.Tap(500, 10); n != nil {
		t.Errorf("tap on nothing hit %+v", n)
	}
	mustRun(t, s, "input text hello%sworld")
	if txt := waitFor(t, app.texts, "text"); txt != "hello world" {
		t.Errorf("text %q", txt)
	}
	if _, errs, st := run(t, s, "input tap 1"); st != 1 || !strings.HasPrefix(errs, "Error: Invalid arguments for command: tap\nUsage: input") {
		t.Errorf("bad tap: %d %q", st, errs)
	}
	// BACK finishes by default
	second := start(t, s, "com.example.app.Second")
	waitFor(t, changes, "resume change")
	mustRun(t, s, "input keyevent 4")
	if got := waitFor(t, changes, "resume after back"); got != "com.example.app/.Main" {
		t.Errorf("after BACK resumed %s", got)
	}
	select {
	case <-second.Record.Done():
	default:
		t.Error("BACK did not finish the activity")
	}
	// custom handler
	start(t, s, "com.example.app.Custom")
	waitFor(t, changes, "custom resumed")
	mustRun(t, s, "input keyevent KEYCODE_BACK")
	if got := waitFor(t, app.backs, "custom back"); got != "com.example.app.Custom" {
		t.Errorf("custom back %s", got)
	}
	if s.ResumedActivity().Component().Class != "com.example.app.Custom" {
		t.Error("custom BACK handler should not finish")
	}
	// HOME keeps the app's activities
	mustRun(t, s, "input keyevent 3")
	if got := waitFor(t, changes, "home"); got != "com.android.launcher3/.Launcher" {
		t.Errorf("HOME resumed %s", got)
	}
	if res.Record.Resumed() || len(s.Activities()) < 3 {
		t.Error("HOME state wrong")
	}
	// BACK on the launcher does nothing
	mustRun(t, s, "input keyevent 4")
	if s.ResumedActivity().Component().Package != launcherPkg {
		t.Error("launcher finished on BACK")
	}
	// the launcher shows an icon per launchable app; tapping it starts the app
	home := s.ResumedActivity().Content()
	icon := home.Find(func(n *Node) bool { return n.Text == "Example" })
	if icon == nil {
		t.Fatal("no launcher icon for the app")
	}
	s.Tap(icon.Bounds.Left+1, icon.Bounds.Top+1)
	if got := waitFor(t, changes, "launch from icon"); got != "com.example.app/.Custom" {
		t.Errorf("icon launch resumed %s", got)
	}
	// MoveTaskToBack and Finish
	top := s.ResumedActivity()
	top.MoveTaskToBack()
	if got := waitFor(t, changes, "move to back"); got != "com.android.launcher3/.Launcher" {
		t.Errorf("after MoveTaskToBack: %s", got)
	}
	s.BringToFront(res.Record)
	if got := waitFor(t, changes, "bring to front"); got != "com.example.app/.Main" {
		t.Errorf("after BringToFront: %s", got)
	}
}

type xmlNode struct {
	Index    string    `xml:"index,attr"`
	Text     string    `xml:"text,attr"`
	Class    string    `xml:"class,attr"`
	Package  string    `xml:"package,attr"`
	Bounds   string    `xml:"bounds,attr"`
	NAF      string    `xml:"NAF,attr"`
	Children []xmlNode `xml:"node"`
}

type xmlHierarchy struct {
	XMLName  xml.Name  `xml:"hierarchy"`
	Rotation string    `xml:"rotation,attr"`
	Nodes    []xmlNode `xml:"node"`
}

func TestUiautomatorDump(t *testing.T) {
	s := newSys(t, Config{Seed: 6})
	installFake(t, s)
	start(t, s, "com.example.app.Main")
	out := mustRun(t, s, "uiautomator dump /dev/tty")
	const tail = "UI hierchary dumped to: /dev/tty\n"
	if !strings.HasSuffix(out, "</hierarchy>"+tail) {
		t.Fatalf("dump tail: %q", out[max(0, len(out)-80):])
	}
	doc := strings.TrimSuffix(out, tail)
	const head = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0"><node index="0" text="" resource-id="" class="android.widget.FrameLayout" package="com.example.app" content-desc="" checkable="false" checked="false" clickable="false" enabled="false" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,0][1080,1920]">`
	if !strings.HasPrefix(doc, head) {
		t.Errorf("dump head:\n%s", doc[:min(len(doc), 600)])
	}
	var h xmlHierarchy
	if err := xml.Unmarshal([]byte(doc), &h); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	content := h.Nodes[0].Children[0]
	if content.Children[0].Text != `Title <com.example.app.Main> & "quotes"` {
		t.Errorf("text attr %q", content.Children[0].Text)
	}
	if content.Children[3].NAF != "true" || content.Children[1].NAF != "" {
		t.Errorf("NAF marks wrong: %+v", content.Children)
	}
	if !strings.Contains(doc, `text="Title &lt;com.example.app.Main&gt; &amp; &quot;quotes&quot;"`) {
		t.Error("attribute not escaped like KXmlSerializer")
	}
	if !strings.Contains(doc, `bounds="[100,300][500,400]" />`) {
		t.Error("leaf node not self-closed")
	}
	out = mustRun(t, s, "uiautomator dump")
	if out != "UI hierchary dumped to: /sdcard/window_dump.xml\n" {
		t.Errorf("dump to file: %q", out)
	}
	file := mustRun(t, s, "cat /storage/emulated/0/window_dump.xml")
	if file != doc {
		t.Error("file differs from tty dump")
	}
}

func TestDumpsysActivityAndPackage(t *testing.T) {
	s := newSys(t, Config{Seed: 8})
	installFake(t, s)
	res := start(t, s, "com.example.app.Main")
	out := mustRun(t, s, "dumpsys activity activities")
	rec := res.Record.String()
	if !regexp.MustCompile(`^ActivityRecord\{[0-9a-f]{7} u0 com.example.app/.Main t\d+\}$`).MatchString(rec) {
		t.Errorf("record %s", rec)
	}
	for _, want := range []string{
		"ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\nDisplay #0 (activities from top to bottom):\n",
		"    mResumedActivity: " + rec + "\n",
		"\n ResumedActivity: " + rec + "\n",
		"      * Hist #0: " + rec + "\n",
		"  Stack #" + fmt.Sprint(res.Record.TaskID()) + ": type=standard mode=fullscreen\n",
		": type=home mode=fullscreen\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dumpsys activity activities lacks %q", want)
		}
	}
	if n := strings.Count(out, "mResumedActivity:"); n != 1 {
		t.Errorf("%d mResumedActivity lines", n)
	}
	out = mustRun(t, s, "dumpsys window windows | grep -E 'mCurrentFocus|mFocusedApp'")
	if !regexp.MustCompile(`^  mCurrentFocus=Window\{[0-9a-f]+ u0 com.example.app/com.example.app.Main\}\n  mFocusedApp=` + regexp.QuoteMeta(rec) + "\n$").MatchString(out) {
		t.Errorf("dumpsys window: %q", out)
	}
	out = mustRun(t, s, "dumpsys package com.example.app")
	for _, want := range []string{"versionName=2.3.4\n", "versionCode=234 minSdk=", "userId=" + fmt.Sprint(res.Record.Process().Uid) + "\n", "Package [com.example.app] ("} {
		if !strings.Contains(out, want) {
			t.Errorf("dumpsys package lacks %q", want)
		}
	}
	out = mustRun(t, s, "pm path com.example.app")
	if !regexp.MustCompile(`^package:/data/app/~~[A-Za-z0-9_-]{22}==/com.example.app-[A-Za-z0-9_-]{22}==/base.apk\n$`).MatchString(out) {
		t.Errorf("pm path %q", out)
	}
	if _, _, st := run(t, s, "pm path com.nope"); st != 1 {
		t.Error("pm path of a missing package should fail")
	}
	if out := mustRun(t, s, "pm list packages -3"); out != "package:com.example.app\n" {
		t.Errorf("pm list packages -3: %q", out)
	}
	if out := mustRun(t, s, "cmd package list packages example"); out != "package:com.example.app\n" {
		t.Errorf("cmd package list: %q", out)
	}
	if out := mustRun(t, s, "pm list packages -U com.example"); !regexp.MustCompile(`^package:com.example.app uid:1\d{4}\n$`).MatchString(out) {
		t.Errorf("pm list -U: %q", out)
	}
}

func TestInstallValidation(t *testing.T) {
	s := newSys(t, Config{Seed: 9})
	for _, p := range []*Package{nil, {Name: "nodots"}, {Name: "a.b", Activities: []ActivityInfo{{}}},
		{Name: "a.b", Activities: []ActivityInfo{{Class: ".X"}, {Class: "a.b.X"}}}} {
		if err := s.Install(p); err == nil {
			t.Errorf("Install(%+v) accepted", p)
		}
	}
	if err := s.Install(&Package{Name: "a.b", Uid: 10555}); err != nil {
		t.Fatal(err)
	}
	if s.Package("a.b").Uid != 10555 {
		t.Error("explicit uid ignored")
	}
	if err := s.Install(&Package{Name: "c.d"}); err != nil {
		t.Fatal(err)
	}
	if u := s.Package("c.d").Uid; u < 10000 || u > 19999 {
		t.Errorf("assigned uid %d", u)
	}
	if err := s.Uninstall("c.d"); err != nil || s.Package("c.d") != nil {
		t.Error("uninstall")
	}
}
