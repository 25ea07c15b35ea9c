package android

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newIntentApp is fakeApp that also takes intents for an activity that is
// already on top (onNewIntent).
type newIntentApp struct {
	*fakeApp
	newIntents chan Intent
}

func (n *newIntentApp) OnNewIntent(p *Process, a *Activity, in Intent) { n.newIntents <- in }

var epochLine = regexp.MustCompile(`(?m)^\s*(\d+)\.(\d{6})\s+\d+\s+\d+\s+I\s+(\S+)\s*: (.*)$`)

// epochLog reads `logcat -d -v epoch,usec` of the two tags: message → time.
func epochLog(t *testing.T, s *System) map[string][]time.Time {
	t.Helper()
	out := mustRun(t, s, "logcat -d -v epoch,usec -s ActivityTaskManager ActivityManager")
	got := map[string][]time.Time{}
	for _, m := range epochLine.FindAllStringSubmatch(out, -1) {
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		usec, _ := strconv.ParseInt(m[2], 10, 64)
		got[m[3]+": "+m[4]] = append(got[m[3]+": "+m[4]], time.Unix(sec, usec*1000))
	}
	return got
}

func TestWitnessLinesOfAStart(t *testing.T) {
	s := newSys(t, Config{Seed: 5, Clock: ClockConfig{Offset: -7 * time.Second, DriftPPM: 80}})
	app := &newIntentApp{fakeApp: newFakeApp(), newIntents: make(chan Intent, 4)}
	app.drawDelay = 120 * time.Millisecond
	if err := s.Install(&Package{Name: "com.example.app", VersionName: "1", VersionCode: 1,
		Activities: []ActivityInfo{{Class: ".Main", Launcher: true, Exported: true}}, App: app}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := Intent{Component: ComponentName{"com.example.app", "com.example.app.Main"}, Extras: map[string]any{"k": "v"}}
	res, err := s.StartActivity(ctx, in, true)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process("com.example.app")
	wantStart := "ActivityTaskManager: START u0 {flg=0x10000000 cmp=com.example.app/.Main (has extras)} from uid 2000"
	wantProc := "ActivityManager: Start proc " + strconv.Itoa(p.Pid) + ":com.example.app/" + formatUid(p.Uid) + " for pre-top-activity {com.example.app/com.example.app.Main}"
	if got := res.StartLine.Tag + ": " + res.StartLine.Msg; got != wantStart || res.StartLine.Buffer != "system" {
		t.Errorf("StartLine %q in %s, want %q in system", got, res.StartLine.Buffer, wantStart)
	}
	if got := res.ProcLine.Tag + ": " + res.ProcLine.Msg; got != wantProc {
		t.Errorf("ProcLine %q, want %q", got, wantProc)
	}
	disp, ok := res.Record.DisplayedLine()
	if !ok {
		t.Fatal("no Displayed line after am start -W returned")
	}
	wantDisp := "ActivityTaskManager: Displayed com.example.app/.Main: " + formatDurationMs(res.TotalTime.Milliseconds())
	if got := disp.Tag + ": " + disp.Msg; got != wantDisp || disp.Buffer != "main" {
		t.Errorf("Displayed line %q in %s, want %q in main", got, disp.Buffer, wantDisp)
	}
	// The +Nms of the Displayed line is the time from START to it.
	if d := disp.Time.Sub(res.StartLine.Time) - res.TotalTime; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("Displayed %v after START, but it says +%v", disp.Time.Sub(res.StartLine.Time), res.TotalTime)
	}
	if !res.StartLine.Time.Before(res.ProcLine.Time) || !res.ProcLine.Time.Before(disp.Time) {
		t.Errorf("order START %v, Start proc %v, Displayed %v", res.StartLine.Time, res.ProcLine.Time, disp.Time)
	}
	// logcat shows each line with the time the simulator returned for it.
	log := epochLog(t, s)
	for _, e := range []Entry{res.StartLine, res.ProcLine, disp} {
		times := log[e.Tag+": "+e.Msg]
		if len(times) != 1 || !times[0].Equal(e.Time.Truncate(time.Microsecond)) {
			t.Errorf("logcat -v epoch,usec has %q at %v, want once at %v", e.Msg, times, e.Time)
		}
	}

	// Started again while on top with SINGLE_TOP: START is logged and the
	// intent goes to the running activity; no process, no Displayed.
	again := in.Clone()
	again.Flags = FlagActivityNewTask | FlagActivitySingleTop
	res2, err := s.StartActivity(ctx, again, false)
	if err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, app.newIntents, "onNewIntent")
	if got.Extras["k"] != "v" || res2.Record != res.Record || res2.LaunchState != "HOT" {
		t.Errorf("second start: %+v, new intent %+v", res2, got)
	}
	if want := "START u0 {flg=0x30000000 cmp=com.example.app/.Main (has extras)} from uid 2000"; res2.StartLine.Msg != want {
		t.Errorf("second START %q, want %q", res2.StartLine.Msg, want)
	}
	if !res2.ProcLine.Time.IsZero() {
		t.Errorf("second start logged a process start: %+v", res2.ProcLine)
	}
	log = epochLog(t, s)
	n := 0
	for msg, times := range log {
		if strings.Contains(msg, "Displayed com.example.app/") {
			n += len(times)
		}
	}
	if n != 1 || len(log["ActivityTaskManager: "+res2.StartLine.Msg]) != 1 {
		t.Errorf("after the second start: %d Displayed lines (want 1), log %v", n, log)
	}
}

func TestDisplayedLineOfAFinishedActivity(t *testing.T) {
	s := newSys(t, Config{Seed: 6})
	app := installFake(t, s)
	app.noDraw = true
	res, err := s.StartActivity(context.Background(), Intent{Component: ComponentName{"com.example.app", "com.example.app.Main"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Record.DisplayedLine(); ok {
		t.Error("DisplayedLine before the first frame")
	}
	res.Record.Finish()
	res.Record.Displayed()
	if e, ok := res.Record.DisplayedLine(); ok {
		t.Errorf("a finished activity logged %q", e.Msg)
	}
}
