package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// The synthetic run of these tests: two models, a real and a simulated one.
const (
	modelPixel = "Pixel 7"
	modelSim   = `Redmi Note 12 <Pro> & "5G"`
	hostileMsg = "expected answer within 1000ms, took 1432.5ms\n<script>alert(\"x\")</script> & friends"
)

var fixtureStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func fixtureBudgets() map[string]latency.SegmentBudget {
	ms := time.Millisecond
	return map[string]latency.SegmentBudget{
		"delivery":    {Max: 1500 * ms, P90: 800 * ms},
		"handling":    {Max: 300 * ms, P90: 150 * ms},
		"launch-cold": {Max: 3500 * ms, P90: 3000 * ms},
		"launch-warm": {Max: 1500 * ms, P90: 1000 * ms},
		"answer":      {Max: 1000 * ms, P90: 600 * ms},
		"total":       {Max: 5000 * ms, P90: 4000 * ms},
	}
}

// synthCall makes call i: stamps on the host clock, durations from them,
// and truth errors on simulated devices. Every ninth call never got
// answered; every thirteenth lost its push-received stamp.
func synthCall(i int, rng *rand.Rand) CallResult {
	sim := i%3 == 0
	model, serial := modelPixel, "pixel-a"
	if sim {
		model, serial = modelSim, fmt.Sprintf("sim-%d", i%2+1)
	}
	start := "cold"
	if i%2 == 1 {
		start = "warm"
	}
	jit := func(base float64) time.Duration {
		return time.Duration(base * (0.6 + 0.8*rng.Float64()) * float64(time.Millisecond))
	}
	t0 := fixtureStart.Add(time.Duration(i) * 10 * time.Second)
	launch := 1800.0
	if start == "warm" {
		launch = 600
	}
	if i == 5 {
		launch = 4200 // over the cold budget
	}
	st := map[latency.Stage]time.Time{latency.Placed: t0}
	st[latency.PushReceived] = st[latency.Placed].Add(jit(250))
	st[latency.LaunchCalled] = st[latency.PushReceived].Add(jit(40))
	st[latency.PageShown] = st[latency.LaunchCalled].Add(jit(launch))
	st[latency.Answered] = st[latency.PageShown].Add(jit(300))
	if i%9 == 4 {
		delete(st, latency.Answered)
	}
	if i%13 == 7 {
		delete(st, latency.PushReceived)
	}
	c := latency.Call{ID: fmt.Sprintf("g-%03d", i), RoomID: fmt.Sprintf("room-%d", i), Device: serial, Model: model, Start: start, Stamps: st}
	res := CallResult{Spec: "answers calls", Call: c, Durations: map[string]float64{}}
	for _, seg := range latency.Segments {
		if d, ok := c.Duration(seg); ok {
			res.Durations[seg.Name] = float64(d) / float64(time.Millisecond)
			if sim {
				if res.TruthErrors == nil {
					res.TruthErrors = map[string]float64{}
				}
				e := (rng.Float64() - 0.5) * 1.6
				if seg.Name == "handling" && i%6 == 0 {
					e = 3.4 // a harness error over the target
				}
				res.TruthErrors[seg.Name] = e
			}
		}
	}
	return res
}

// writeFixture writes a synthetic run to dir: devices, calls, restarts,
// specs with evidence, one damaged line, and an end record if end is set.
// It returns the time of the last record.
func writeFixture(t testing.TB, dir string, calls int, end bool) time.Time {
	t.Helper()
	w, err := OpenWriter(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	at := fixtureStart
	put := func(r Record) {
		t.Helper()
		at = at.Add(time.Second)
		r.At = at
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	put(Record{Kind: KindRun, Run: &RunInfo{ID: "2026-03-01T10-00-00-fixture", Started: fixtureStart, FarmFile: "devices.yaml", Workers: 2, Host: "hil-01", GoVersion: "go1.26.8", Budgets: fixtureBudgets()}})
	put(Record{Kind: KindDevice, Device: &DeviceInfo{Name: "pixel-a", Serial: "pixel-a", Model: modelPixel, SN: "SN-PX-1", Status: "healthy", ClockOffsetEstimated: 1500 * time.Microsecond, ClockDriftPPM: 3.2}})
	put(Record{Kind: KindDevice, Device: &DeviceInfo{Name: "sim-1", Serial: "sim-1", Model: modelSim, SN: "SN-SIM-1", Simulated: true, Profile: "slow-launch", Defects: []string{"drop-push"}, Status: "healthy", ClockOffsetSet: 120 * time.Millisecond, ClockOffsetEstimated: 120400 * time.Microsecond, ClockDriftPPM: 40}})
	put(Record{Kind: KindDevice, Device: &DeviceInfo{Name: "sim-2", Serial: "sim-2", Model: modelSim, SN: "SN-SIM-2", Simulated: true, Status: "healthy"}})
	put(Record{Kind: KindDevice, Device: &DeviceInfo{Name: "pixel-b", Serial: "pixel-b", Model: modelPixel, Status: "excluded", Reason: "adb offline at start"}})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range calls {
		c := synthCall(i, rng)
		put(Record{Kind: KindCall, Call: &c})
	}
	put(Record{Kind: KindDevice, Device: &DeviceInfo{Name: "sim-2", Serial: "sim-2", Model: modelSim, Simulated: true, Status: "lost", Reason: "adb connection closed"}})
	put(Record{Kind: KindRestart, Restart: &RestartInfo{Spec: "survives kill", Device: "sim-1", Model: modelSim, Kill: "kill-9", Restarted: true, RestartMs: 2310.4, PushVerdict: "delivered", PushMs: 2875.1, Detail: "push held by the server, delivered after activation"}})
	put(Record{Kind: KindRestart, Restart: &RestartInfo{Spec: "survives kill", Device: "pixel-a", Model: modelPixel, Kill: "force-stop", Restarted: false, PushVerdict: "lost", PushMs: 10000, Detail: "no push within 10s"}})

	ev, err := Evidence(dir, "pixel-a", "answers within budget", 1, map[string]string{"logcat.txt": "I/WMPF: …", "ui dump.xml": "<hierarchy/>"})
	if err != nil {
		t.Fatal(err)
	}
	ev2, err := Evidence(dir, "sim-2", "survives kill", 1, map[string]string{"contract#events.jsonl": "{}"})
	if err != nil {
		t.Fatal(err)
	}
	put(Record{Kind: KindSpec, Spec: &SpecResult{Name: "answers a cold call", Labels: []string{"latency", "cold"}, Device: "pixel-a", Model: modelPixel, State: StatePassed, Duration: 12300 * time.Millisecond}})
	put(Record{Kind: KindSpec, Spec: &SpecResult{Name: "answers within budget", Labels: []string{"latency"}, Device: "pixel-a", Model: modelPixel, State: StateFailed, Duration: 15 * time.Second, Failure: hostileMsg, Location: "suites/latency_test.go:88", Evidence: ev}})
	put(Record{Kind: KindSpec, Spec: &SpecResult{Name: "survives kill", Labels: []string{"restart"}, Device: "sim-2", Model: modelSim, State: StateDeviceLost, Duration: 4 * time.Second, Failure: "device sim-2 lost: adb connection closed", Evidence: ev2}})
	put(Record{Kind: KindSpec, Spec: &SpecResult{Name: "leaves the call page", Labels: []string{"ui"}, State: StateSkipped}})
	put(Record{Kind: KindSpec, Spec: &SpecResult{Name: "answers a warm call", Labels: []string{"latency", "warm"}, Device: "sim-1", Model: modelSim, State: StateFlaky, Duration: 800 * time.Millisecond,
		Attempts: []Attempt{{Attempt: 1, State: StateFailed, Failure: "no answer"}, {Attempt: 2, State: StatePassed}}}})
	last := at
	if end {
		put(Record{Kind: KindEnd, End: &EndInfo{Finished: fixtureStart.Add(time.Hour), Passed: 1, Failed: 1, Flaky: 1, Lost: 1, Skipped: 1, Verdict: VerdictFail, ExitCode: ExitFailed}})
		last = at
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A run killed mid-write leaves a torn line.
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, `{"kind":"call","at":"2026-03-01T12:00:00Z","call":{"spec":"answ`+"\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return last
}

func readPage(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRenderUnfinishedRun(t *testing.T) {
	dir := t.TempDir()
	last := writeFixture(t, dir, 40, false)
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page := readPage(t, dir)
	checkPage(t, page)
	checkFixturePage(t, page)

	if !strings.Contains(page, "Run did not finish: results up to "+escForTest(fmtTime(last))) {
		t.Errorf("no did-not-finish banner with the last record time %s", fmtTime(last))
	}
	if !strings.Contains(page, "1 damaged line in results.jsonl") {
		t.Error("damaged line not reported")
	}
	// Verdict summarised from the specs: one failed.
	if !regexp.MustCompile(`class="verdict v-fail"[^>]*>FAIL<`).MatchString(page) {
		t.Error("verdict FAIL not shown in red")
	}
	if got := len(svgFragments(page)); got != 2*len(latency.Segments) {
		t.Errorf("%d charts, want %d", got, 2*len(latency.Segments))
	}

	// Every evidence link resolves in the run directory.
	links := regexp.MustCompile(`href="(evidence/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) != 3 {
		t.Errorf("%d evidence links, want 3", len(links))
	}
	for _, l := range links {
		p, err := url.PathUnescape(strings.ReplaceAll(l[1], "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("evidence link %s: %v", l[1], err)
		}
	}

	// junit.xml is there and is XML.
	jb, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := parseXML(string(jb)); err != nil {
		t.Errorf("junit.xml: %v", err)
	}
	if !strings.Contains(string(jb), `type="lost: device"`) {
		t.Error("junit.xml lacks the lost-to-device error")
	}
	checkNoTempFiles(t, dir)
}

func TestRenderFinishedRun(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir, 40, true)
	// A previous render is replaced.
	if err := os.WriteFile(filepath.Join(dir, HTMLFile), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page := readPage(t, dir)
	checkPage(t, page)
	checkFixturePage(t, page)
	if strings.Contains(page, "did not finish") {
		t.Error("finished run marked as not finished")
	}
	if !strings.Contains(page, escForTest(fmtTime(fixtureStart.Add(time.Hour)))) {
		t.Error("finish time missing")
	}
	if _, err := os.Stat(filepath.Join(dir, JUnitFile)); err != nil {
		t.Error(err)
	}
	checkNoTempFiles(t, dir)
}

func TestRenderMissingResults(t *testing.T) {
	if err := Render(t.TempDir()); err == nil {
		t.Fatal("no error for a directory without results")
	}
}

func TestRenderEmptyResults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page := readPage(t, dir)
	checkPage(t, page)
	for _, want := range []string{"NO TESTS", "did not finish", "No call was measured"} {
		if !strings.Contains(page, want) {
			t.Errorf("empty run: page lacks %q", want)
		}
	}
}

func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestLatest(t *testing.T) {
	reports := t.TempDir()
	for _, run := range []string{"run-1", "run-2"} {
		if err := os.Mkdir(filepath.Join(reports, run), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, run := range []string{"run-1", "run-2"} {
		if err := Latest(reports, filepath.Join(reports, run)); err != nil {
			t.Fatal(err)
		}
		target, err := os.Readlink(filepath.Join(reports, LatestLink))
		if err != nil {
			// No symbolic links here: the pointer file instead.
			b, err2 := os.ReadFile(filepath.Join(reports, LatestText))
			if err2 != nil {
				t.Fatalf("neither link (%v) nor %s (%v)", err, LatestText, err2)
			}
			target = strings.TrimSpace(string(b))
		}
		if target != run {
			t.Errorf("latest → %q, want %q (relative)", target, run)
		}
		if fi, err := os.Stat(filepath.Join(reports, LatestLink)); err == nil && !fi.IsDir() {
			t.Error("latest does not lead to a directory")
		}
	}
	checkNoTempFiles(t, reports)
	if err := Latest(reports, filepath.Join(reports, "nope")); err == nil {
		t.Error("no error for a missing run directory")
	}
}

func TestLatestFallsBackToText(t *testing.T) {
	reports := t.TempDir()
	run := filepath.Join(reports, "run-1")
	// "latest" is a real directory: no link can replace it.
	for _, d := range []string{run, filepath.Join(reports, LatestLink, "x")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := Latest(reports, run); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(reports, LatestText))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != "run-1" {
		t.Errorf("%s = %q", LatestText, b)
	}
	checkNoTempFiles(t, reports)
}

// Helpers shared with html_test.go.

var svgRE = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)

func svgFragments(page string) []string { return svgRE.FindAllString(page, -1) }

func parseXML(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var (
	networkRefRE = regexp.MustCompile(`(?i)\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//`)
	cssURLRE     = regexp.MustCompile(`(?i)url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import`)
)

// checkPage checks what every rendered page of the fixture must satisfy.
func checkPage(t *testing.T, page string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Error("not a whole HTML document")
	}
	for i, frag := range svgFragments(page) {
		if err := parseXML(frag); err != nil {
			t.Errorf("svg %d is not valid XML: %v\n%.300s", i, err, frag)
		}
	}
	if m := networkRefRE.FindString(page); m != "" {
		t.Errorf("network reference %q", m)
	}
	if m := cssURLRE.FindString(page); m != "" {
		t.Errorf("network reference in CSS %q", m)
	}
	for _, s := range []string{"http://", "https://", "NaN", "Inf", "ZgotmplZ", "%!"} {
		if strings.Contains(page, s) {
			t.Errorf("page contains %q", s)
		}
	}
}

// checkFixturePage checks the content of a page of the full fixture.
func checkFixturePage(t *testing.T, page string) {
	t.Helper()
	for _, seg := range latency.Segments {
		if !strings.Contains(page, `id="seg-`+seg.Name+`"`) {
			t.Errorf("segment %s missing", seg.Name)
		}
	}
	for _, m := range []string{modelPixel, modelSim} {
		if !strings.Contains(page, escForTest(m)) {
			t.Errorf("model %q missing", m)
		}
	}
	// The failure message is escaped, not markup.
	if strings.Contains(page, `<script>alert`) {
		t.Error("failure message not escaped")
	}
	if !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; friends`) {
		t.Error("escaped failure message missing")
	}
	if strings.Contains(page, modelSim) {
		t.Error("model name not escaped")
	}
}

func escForTest(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}
