package report

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// The sample runs in testdata/runs are a nightly farm run of two shards
// (testdata/runs/nightly/shard-1, shard-2) and a second shard 2 that was
// killed before its end record (testdata/runs/crashed/shard-2). They are
// written through Writer and Evidence, as a run writes them; regenerate
// them with
//
//	go test ./harness/report -run TestWriteSamples -update-samples
var updateSamples = flag.Bool("update-samples", false, "write the sample runs in testdata/runs")

const (
	samplesDir = "testdata/runs"
	sampleRun  = "nightly-20260302"
)

var sampleStart = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// The specs of the sample runs, as Ginkgo names them (no device).
const (
	specLaunch   = "push → launch: launchMiniProgram gets the plugin's appid, appType 0 and the call-page path"
	specTrial    = "push → launch: appType 2 (trial) launches the trial build"
	specCold     = "answer latency: a cold call is answered within the budget"
	specWarm     = "answer latency: a warm call is answered within the budget"
	specRestart  = "WMPF restart: WMPF comes back after kill -9 and no push is lost"
	specCallEnd  = "call end: the device leaves the call page when the caller hangs up"
	specBadToken = "bad input: callWMPF with another device's pushToken fails with errCode 14"
	specVideo    = "video call: the device's camera is on when enableListenerCamera is true"
)

var sampleSpecs = []string{specLaunch, specTrial, specCold, specWarm, specRestart, specCallEnd, specBadToken, specVideo}

var sampleLabels = map[string][]string{
	specLaunch: {"smoke", "launch"}, specTrial: {"launch"}, specCold: {"latency"}, specWarm: {"latency"},
	specRestart: {"restart"}, specCallEnd: {"call-end"}, specBadToken: {"bad-input"}, specVideo: {"video"},
}

// sampleScreenshot is a small PNG standing in for a device's screen: the
// call page that did not open, drawn as a grey screen with a dark bar.
func sampleScreenshot(t testing.TB, seed uint8) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 90, 160))
	for y := range 160 {
		for x := range 90 {
			c := color.RGBA{0xe6, 0xe6, 0xe6 - seed, 0xff}
			if y < 14 {
				c = color.RGBA{0x24, 0x29, 0x2f, 0xff}
			}
			if y > 120 && y < 140 && x > 20 && x < 70 {
				c = color.RGBA{0xcf, 0x22, 0x2e, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// sampleWriter writes one shard: a clock that advances a second per record.
type sampleWriter struct {
	t       testing.TB
	dir     string
	at      time.Time
	writers map[int]*Writer
}

func newSampleWriter(t testing.TB, dir string, start time.Time) *sampleWriter {
	return &sampleWriter{t: t, dir: dir, at: start, writers: map[int]*Writer{}}
}

// put writes r as process proc (4242: the supervisor).
func (s *sampleWriter) put(proc int, r Record) {
	s.t.Helper()
	w := s.writers[proc]
	if w == nil {
		var err error
		if w, err = OpenWriter(s.dir, proc); err != nil {
			s.t.Fatal(err)
		}
		s.writers[proc] = w
	}
	s.at = s.at.Add(time.Second)
	r.At = s.at
	if err := w.Write(r); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sampleWriter) close() {
	for _, w := range s.writers {
		if err := w.Close(); err != nil {
			s.t.Fatal(err)
		}
	}
}

// cell writes a cell's start records and its spec record; evidence is
// written for the attempts and the cell that did not pass.
func (s *sampleWriter) cell(proc int, dev DeviceInfo, spec string, st State, to LostTo, reason, failure string, attempts ...Attempt) {
	s.t.Helper()
	if len(attempts) == 0 {
		attempts = []Attempt{{Attempt: 1, State: st, LostTo: to, Failure: failure}}
	}
	res := &SpecResult{Name: spec, Device: dev.Name, Model: dev.Model, SN: dev.SN, Labels: sampleLabels[spec],
		State: st, LostTo: to, Reason: reason, Failure: failure}
	if failure != "" {
		res.Location = "suites/" + sampleLabels[spec][len(sampleLabels[spec])-1] + "_test.go:" + fmt.Sprint(40+len(spec)%50)
	}
	for i := range attempts {
		a := &attempts[i]
		s.put(proc, Record{Kind: KindStart, Start: &StartInfo{Spec: spec, Device: dev.Name, Attempt: a.Attempt, OnDevice: a.OnDevice}})
		a.Started = s.at
		if a.Duration == 0 {
			a.Duration = time.Duration(3000+137*len(spec)+911*a.Attempt) * time.Millisecond
		}
		if st == StateQuarantined || st == StateSkipped {
			a.Duration = 0
		}
		s.at = s.at.Add(a.Duration)
		res.Duration += a.Duration
		if a.State != StatePassed && a.State != StateSkipped && a.State != StateQuarantined {
			files := map[string]string{
				"logcat.txt":           fmt.Sprintf("03-02 01:%02d:10.123  4120  4120 I WMPFHostHook: {\"step\":\"push_received\",\"sn\":%q}\n", a.Attempt, dev.SN),
				"contract-events.json": "[{\"step\":\"push_received\"},{\"step\":\"launch_called\",\"appType\":0}]\n",
				"activities.txt":       "  mResumedActivity: ActivityRecord{5e1 u0 com.tencent.wmpf/.app.WMPFHostActivity t42}\n",
			}
			if a.State == StateFailed {
				files["screenshot.png"] = sampleScreenshot(s.t, uint8(a.Attempt*20))
				files["ui.xml"] = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"/>\n"
			}
			paths, err := Evidence(s.dir, dev.Name, spec, a.Attempt, files)
			if err != nil {
				s.t.Fatal(err)
			}
			res.Evidence = append(res.Evidence, paths...)
			for _, p := range paths {
				if filepath.Base(p) == "screenshot.png" {
					res.Screenshot = p
				}
			}
		}
	}
	if len(attempts) > 1 || st == StateFlaky {
		res.Attempts = attempts
	}
	if st == StateSkipped {
		res.Duration = 0
		res.Evidence = nil
	}
	s.put(proc, Record{Kind: KindSpec, Spec: res})
}

// call writes a measured call on a device: delivery, handling, launch and
// answer in ms, with the simulator's truth on simulated devices.
func (s *sampleWriter) call(proc int, dev DeviceInfo, spec, start string, ms [4]float64, i int) {
	s.t.Helper()
	t0 := s.at.Add(500 * time.Millisecond)
	st := map[latency.Stage]time.Time{latency.Placed: t0}
	prev := t0
	for k, stage := range []latency.Stage{latency.PushReceived, latency.LaunchCalled, latency.PageShown, latency.Answered} {
		prev = prev.Add(time.Duration(ms[k] * float64(time.Millisecond)))
		st[stage] = prev
	}
	lc := latency.Call{ID: fmt.Sprintf("grp-%s-%03d", dev.Name, i), RoomID: fmt.Sprintf("room-%d", 880000+i), Device: dev.Serial,
		Model: dev.Model, Start: start, Stamps: st, ClockUncertainty: 400 * time.Microsecond,
		Observed: map[latency.Stage]time.Time{latency.PushReceived: st[latency.PushReceived].Add(700 * time.Microsecond)}}
	res := &CallResult{Spec: spec, Device: dev.Name, Call: lc, Durations: map[string]float64{}}
	if dev.Simulated {
		lc.Truth = map[latency.Stage]time.Time{}
		for stage, at := range st {
			if stage != latency.Placed {
				lc.Truth[stage] = at.Add(-time.Duration(300+100*(i%4)) * time.Microsecond)
			}
		}
		res.Call = lc
		res.TruthErrors = map[string]float64{}
	}
	for _, seg := range latency.Segments {
		if d, ok := lc.Duration(seg); ok {
			res.Durations[seg.Name] = toMs(d)
			if td, ok := lc.TruthDuration(seg); ok {
				res.TruthErrors[seg.Name] = toMs(d - td)
			}
		}
	}
	if res.Durations["total"] > 5000 {
		res.Violations = []string{fmt.Sprintf("total took %.1fms, budget 5s", res.Durations["total"])}
	}
	s.put(proc, Record{Kind: KindCall, Call: res})
}

func sampleBudgets() map[string]latency.SegmentBudget {
	ms := time.Millisecond
	return map[string]latency.SegmentBudget{
		"delivery": {Max: 1500 * ms, P90: 800 * ms}, "handling": {Max: 300 * ms, P90: 150 * ms},
		"launch-cold": {Max: 3500 * ms, P90: 3000 * ms}, "launch-warm": {Max: 1500 * ms, P90: 1000 * ms},
		"answer": {Max: 1000 * ms, P90: 600 * ms}, "total": {Max: 5000 * ms, P90: 4000 * ms},
	}
}

func sampleRunInfo(index, count int) *RunInfo {
	return &RunInfo{ID: sampleRun, Started: sampleStart, Tool: Tool{Name: ToolName, Version: "0.9.0"}, FarmFile: "farms/nightly.yaml",
		Host: fmt.Sprintf("hil-%02d", index), GoVersion: "go1.26.8", Labels: "!benchmark", Matrix: MatrixDevice,
		Shard: &Shard{Index: index, Count: count}, Workers: 3, FlakeAttempts: 2, Retries: Retries{Infrastructure: 1}, Budgets: sampleBudgets()}
}

func sampleInstall(build string) *Install {
	return &Install{APK: "builds/host-app-4.2.0-" + build + ".apk", Package: "com.example.callhost", VersionName: "4.2.0",
		VersionCode: 4020000, SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte("host-app-4.2.0-"+build))), Build: build}
}

var (
	sampleTV1 = DeviceInfo{Name: "tv-1", Serial: "192.0.2.31:5555", Server: "hil-01:5037", Model: "tv", ModelID: "m-tv-55",
		SN: "TV55A0001", AndroidVersion: "11", HostPackage: "com.example.callhost", HostVersionName: "4.2.0", HostVersionCode: 4020000,
		Install: sampleInstall("ci-1187"), Status: DeviceHealthy, ClockOffsetEstimated: -1843 * time.Millisecond, ClockDriftPPM: 4.1}
	sampleTV2 = DeviceInfo{Name: "tv-2", Serial: "192.0.2.32:5555", Server: "hil-01:5037", Model: "tv", ModelID: "m-tv-55",
		SN: "TV55A0002", AndroidVersion: "11", HostPackage: "com.example.callhost", HostVersionName: "4.2.0", HostVersionCode: 4020000,
		Install: sampleInstall("ci-1187"), Status: DeviceHealthy, ClockOffsetEstimated: 2210 * time.Millisecond, ClockDriftPPM: -2.7}
	samplePanel1 = DeviceInfo{Name: "panel-1", Serial: "PNL8X0001", Server: "hil-02:5037", Model: "panel", ModelID: "m-panel-8",
		SN: "PNL8X0001", AndroidVersion: "9", HostPackage: "com.example.callhost", HostVersionName: "4.2.0", HostVersionCode: 4020000,
		Install: sampleInstall("ci-1187"), Status: DeviceHealthy, ClockOffsetEstimated: 512 * time.Millisecond}
	samplePanel2 = DeviceInfo{Name: "panel-2", Serial: "PNL8X0002", Server: "hil-02:5037", Model: "panel", ModelID: "m-panel-8",
		SN: "PNL8X0002", AndroidVersion: "9", HostPackage: "com.example.callhost", HostVersionName: "4.2.0", HostVersionCode: 4020000,
		Install: sampleInstall("ci-1187"), Status: DeviceHealthy, ClockOffsetEstimated: -77 * time.Millisecond}
	sampleSlow1 = DeviceInfo{Name: "slow-launch-1", Serial: "127.0.0.1:47011", Server: "127.0.0.1:47000", Model: "sim-slow-launch",
		ModelID: "m-sim", SN: "SIM-SL-0001", AndroidVersion: "13", Simulated: true, Profile: "slow-launch", Container: "wmpf-sim-farm-7f3a",
		Defects: []string{"slow-cold-launch"}, HostPackage: "com.example.callhost", HostVersionName: "4.2.0", HostVersionCode: 4020000,
		Status: DeviceHealthy, ClockOffsetSet: 250 * time.Millisecond, ClockOffsetEstimated: 250400 * time.Microsecond, ClockDriftPPM: 20}
)

const supervisor = 4242

// writeShard1 is shard 1 of 2 on hil-01: tv-1 and tv-2.
func writeShard1(t testing.TB, dir string) {
	s := newSampleWriter(t, dir, sampleStart)
	defer s.close()
	s.put(supervisor, Record{Kind: KindRun, Run: sampleRunInfo(1, 2)})
	tv1, tv2 := sampleTV1, sampleTV2
	s.put(supervisor, Record{Kind: KindDevice, Device: &tv1})
	s.put(supervisor, Record{Kind: KindDevice, Device: &tv2})
	s.put(supervisor, Record{Kind: KindDevice, Device: &DeviceInfo{Name: "tv-3", Serial: "192.0.2.33:5555", Server: "hil-01:5037", Model: "tv",
		Status: DeviceExcluded, Reason: "adb: device offline at the start of the run"}})
	for i, spec := range []string{specLaunch, specCold, specWarm} {
		for w, dev := range []DeviceInfo{tv1, tv2} {
			if spec == specCold || spec == specWarm {
				start := map[string]string{specCold: "cold", specWarm: "warm"}[spec]
				for k := range 4 {
					launch := 1900.0 + float64(97*k)
					if start == "warm" {
						launch = 640 + float64(41*k)
					}
					s.call(w+1, dev, spec, start, [4]float64{180 + float64(13*k+w*9), 35 + float64(k), launch, 310 + float64(11*k)}, i*10+k)
				}
			}
			s.cell(w+1, dev, spec, StatePassed, "", "", "")
		}
	}
	trialFail := "Expected\n    <int>: 0\nto equal\n    <int>: 2\nlaunchMiniProgram appType for a push with \"appType\": 2 (trial)"
	s.cell(1, tv1, specTrial, StateFailed, "", "", trialFail)
	s.cell(2, tv2, specTrial, StateFailed, "", "", trialFail)
	s.cell(1, tv1, specRestart, StateFlaky, "", "", "",
		Attempt{Attempt: 1, State: StateFailed, Failure: "WMPF did not come back within 10s after kill -9 (budget 8s)"},
		Attempt{Attempt: 2, State: StatePassed})
	s.put(1, Record{Kind: KindRestart, Restart: &RestartInfo{Spec: specRestart, Device: "tv-1", Model: "tv", Kill: KillNine, Restarted: false,
		PushVerdict: "lost", PushMs: 10000, Detail: "attempt 1: no onWMPFRestart within 10s"}})
	s.put(1, Record{Kind: KindRestart, Restart: &RestartInfo{Spec: specRestart, Device: "tv-1", Model: "tv", Kill: KillNine, Restarted: true,
		RestartMs: 3120.5, PushVerdict: "delivered", PushMs: 3644.2, Detail: "attempt 2: push held by the server, delivered after activation"}})
	s.cell(2, tv2, specRestart, StatePassed, "", "", "")
	s.put(2, Record{Kind: KindRestart, Restart: &RestartInfo{Spec: specRestart, Device: "tv-2", Model: "tv", Kill: KillNine, Restarted: true,
		RestartMs: 2875.0, PushVerdict: "delivered", PushMs: 3301.9}})
	s.put(supervisor, Record{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentADBServerRestarted, Server: "hil-01", Addr: "hil-01:5037",
		Exit: "signal: killed", TookMs: 1840, Reconnected: []string{"tv-1"}, NotBack: map[string]string{"tv-2": "device offline"}}})
	s.cell(1, tv1, specCallEnd, StatePassed, "", "", "")
	s.cell(2, tv2, specCallEnd, StateLost, LostToADBServer, "", "device lost: adb server hil-01:5037 died mid-spec")
	s.put(supervisor, Record{Kind: KindDevice, Device: &DeviceInfo{Name: "tv-2", Status: DeviceHealthy, Reason: "back after adb reconnect"}})
	s.cell(1, tv1, specBadToken, StatePassed, "", "", "")
	s.cell(2, tv2, specBadToken, StatePassed, "", "", "")
	s.cell(1, tv1, specVideo, StatePassed, "", "", "")
	s.cell(2, tv2, specVideo, StatePassed, "", "", "")
	s.put(supervisor, Record{Kind: KindEnd, End: sampleEnd(t, dir, s.at.Add(time.Second))})
}

// sampleEnd is the end record a supervisor writes: the results summarised.
func sampleEnd(t testing.TB, dir string, at time.Time) *EndInfo {
	t.Helper()
	res, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Summarize()
	e.Finished = at
	return &e
}

// writeShard2 is shard 2 of 2 on hil-02: panel-1, panel-2 and a simulated
// device. crashed stops it early, as a killed supervisor leaves it.
func writeShard2(t testing.TB, dir string, crashed bool) {
	s := newSampleWriter(t, dir, sampleStart.Add(3*time.Second))
	defer s.close()
	s.put(supervisor, Record{Kind: KindRun, Run: sampleRunInfo(2, 2)})
	p1, p2, sl := samplePanel1, samplePanel2, sampleSlow1
	for _, d := range []*DeviceInfo{&p1, &p2, &sl} {
		s.put(supervisor, Record{Kind: KindDevice, Device: d})
	}
	for _, spec := range []string{specLaunch, specTrial} {
		s.cell(1, p1, spec, StatePassed, "", "", "")
		s.cell(2, p2, spec, StatePassed, "", "", "")
		s.cell(3, sl, spec, StatePassed, "", "", "")
	}
	for k := range 5 {
		s.call(3, sl, specCold, "cold", [4]float64{120 + float64(k), 20, 3600 + float64(150*k), 280}, 200+k)
	}
	s.cell(3, sl, specCold, StateFailed, "", "", "answer latency over budget: launch-cold took 4200.0ms, budget 3.5s\ntotal took 4630.4ms")
	if crashed {
		s.put(1, Record{Kind: KindStart, Start: &StartInfo{Spec: specCold, Device: "panel-1", Attempt: 1}})
		return // killed here: no more records, no end record
	}
	s.cell(1, p1, specCold, StatePassed, "", "", "")
	s.cell(2, p2, specCold, StatePassed, "", "", "")
	s.cell(1, p1, specWarm, StatePassed, "", "", "",
		Attempt{Attempt: 1, State: StateLost, LostTo: LostToDevice, Failure: "device lost: panel-1 went offline (adb: device offline)"},
		Attempt{Attempt: 2, OnDevice: "panel-2", State: StatePassed})
	s.cell(3, sl, specWarm, StatePassed, "", "", "")
	s.put(supervisor, Record{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentWeChatLost, Addr: "127.0.0.1:47100", Detail: "simulated WeChat side stopped answering"}})
	s.cell(1, p1, specCallEnd, StateLost, LostToWeChat, "", "device lost: the WeChat side at 127.0.0.1:47100 went away")
	s.put(supervisor, Record{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentWeChatRestarted, Addr: "127.0.0.1:47100", TookMs: 950}})
	s.cell(2, p2, specRestart, StateFailed, "", "", "reset before the spec failed: am force-stop com.example.callhost: exit 255")
	s.put(supervisor, Record{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentDeviceQuarantined, Device: "panel-2",
		Detail: "3 failed resets in a row"}})
	s.put(supervisor, Record{Kind: KindDevice, Device: &DeviceInfo{Name: "panel-2", Status: DeviceQuarantined, Reason: "3 failed resets in a row"}})
	for _, spec := range []string{specCallEnd, specBadToken, specWarm} {
		if spec == specWarm {
			continue
		}
		s.cell(supervisor, p2, spec, StateQuarantined, "", "panel-2 quarantined: 3 failed resets in a row", "")
	}
	s.cell(2, p2, specWarm, StateQuarantined, "", "panel-2 quarantined: 3 failed resets in a row", "")
	s.cell(3, sl, specRestart, StatePassed, "", "", "")
	s.put(3, Record{Kind: KindRestart, Restart: &RestartInfo{Spec: specRestart, Device: "slow-launch-1", Model: "sim-slow-launch", Kill: KillForceStop,
		Restarted: true, RestartMs: 1210.3, PushVerdict: "delivered", PushMs: 1502.8}})
	s.put(supervisor, Record{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentWorkerDied, Exit: "signal: segmentation fault",
		Device: "slow-launch-1", Detail: "worker 3 died running a spec; its device's cell is lost to the worker"}})
	s.cell(supervisor, sl, specCallEnd, StateLost, LostToWorker, "", "device lost: worker 3 died (signal: segmentation fault)")
	s.cell(1, p1, specRestart, StateLost, LostToDevice, "", "device lost: panel-1 went offline during kill -9 (adb: device offline)")
	s.put(supervisor, Record{Kind: KindIncident, Incident: &IncidentInfo{What: IncidentDeviceRebooted, Device: "panel-1", Server: "hil-02",
		Addr: "hil-02:5037", TookMs: 41200, Detail: "panel-1 rebooted by itself and came back"}})
	s.cell(1, p1, specBadToken, StatePassed, "", "", "")
	s.cell(3, sl, specBadToken, StatePassed, "", "", "")
	noCamera := "does not apply: the device has no camera (profile feature camera=false)"
	s.cell(1, p1, specVideo, StateSkipped, "", noCamera, "")
	s.cell(3, sl, specVideo, StatePassed, "", "", "")
	s.put(supervisor, Record{Kind: KindEnd, End: sampleEnd(t, dir, s.at.Add(time.Second))})
}

// TestWriteSamples writes the sample runs with -update-samples; without
// it, it checks that they are there.
func TestWriteSamples(t *testing.T) {
	dirs := map[string]func(testing.TB, string){
		"nightly/shard-1": writeShard1,
		"nightly/shard-2": func(t testing.TB, d string) { writeShard2(t, d, false) },
		"crashed/shard-2": func(t testing.TB, d string) { writeShard2(t, d, true) },
	}
	for rel, write := range dirs {
		dir := filepath.Join(samplesDir, filepath.FromSlash(rel))
		if *updateSamples {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			write(t, dir)
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, ResultsFile)); err != nil {
			t.Errorf("sample run %s: %v (write it with -update-samples)", rel, err)
		}
	}
}
