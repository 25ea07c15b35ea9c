package report

import (
	"bytes"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

func renderString(t testing.TB, r *Results) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// synthResults is the fixture's run in memory, with n calls.
func synthResults(n int, end bool) *Results {
	rng := rand.New(rand.NewPCG(3, 4))
	r := &Results{Run: &RunInfo{ID: "bench", Started: fixtureStart, FarmFile: "devices.yaml", Workers: 4, Host: "hil-01", Budgets: fixtureBudgets()}}
	for i := range n {
		r.Calls = append(r.Calls, synthCall(i, rng))
	}
	r.Devices = []DeviceInfo{{Name: "pixel-a", Serial: "pixel-a", Model: modelPixel, Status: "healthy"}, {Name: "sim-1", Serial: "sim-1", Model: modelSim, Simulated: true, Status: "healthy"}}
	r.Specs = []SpecResult{
		{Name: "ok", State: StatePassed, Duration: time.Second},
		{Name: "bad", State: StateFailed, Failure: hostileMsg, Evidence: []string{"evidence/bad/logcat.txt"}},
	}
	if end {
		r.End = &EndInfo{Finished: fixtureStart.Add(time.Hour), Passed: 1, Failed: 1, Verdict: "FAIL"}
	}
	return r
}

func TestWriteHTMLFixture(t *testing.T) {
	page := renderString(t, synthResults(40, false))
	checkPage(t, page)
	checkFixturePage(t, page)
	// Without the records' own times the last call's stamps stand in.
	if !strings.Contains(page, "Run did not finish: results up to 2026-03-01 10:06:") {
		t.Error("did-not-finish banner missing or without a time")
	}
	// Budget marks: the launch of call 5 (cold) is over its max.
	if !strings.Contains(page, `<span class="bad">✗ fail</span>`) && !strings.Contains(page, `class="num over"`) {
		t.Error("no over-budget highlight in a run with an over-budget call")
	}
	if !strings.Contains(page, `<span class="tag">cold</span>`) || !strings.Contains(page, `<span class="tag">warm</span>`) {
		t.Error("launch not split by cold and warm start")
	}
	// Clock accuracy: the handling errors of 3.4 ms put p99 over the target.
	if !regexp.MustCompile(`<td>handling</td><td><span class="sw c1"></span>[^<]*</td><td class="num">\d+</td><td class="num">[^<]*</td><td class="num">[^<]*</td><td class="num over">3\.40</td>`).MatchString(page) {
		t.Error("clock accuracy over target not highlighted for handling")
	}
}

func TestWriteHTMLVerdicts(t *testing.T) {
	cases := []struct {
		specs []SpecResult
		end   *EndInfo
		want  string
	}{
		{nil, nil, `v-none" id="verdict">NO TESTS<`},
		{[]SpecResult{{State: StatePassed}}, nil, `v-pass" id="verdict">PASS<`},
		{[]SpecResult{{Name: "a", State: StatePassed}, {Name: "b", State: StateDeviceLost}}, nil, `v-warn" id="verdict">INCOMPLETE<`},
		{[]SpecResult{{Name: "a", State: StatePassed}, {Name: "b", State: StateInterrupted}}, nil, `v-int" id="verdict">INTERRUPTED<`},
		{[]SpecResult{{Name: "a", State: StatePassed}, {Name: "b", State: StatePanicked}}, nil, `v-fail" id="verdict">FAIL<`},
		{[]SpecResult{{Name: "a", State: StateSkipped}}, nil, `v-none" id="verdict">NO TESTS<`},
		{nil, &EndInfo{Verdict: "PASS (devices lost)", Passed: 3}, `v-warn" id="verdict">PASS (devices lost)<`},
		{nil, &EndInfo{Verdict: "PASS", Passed: 3}, `v-pass" id="verdict">PASS<`},
	}
	for i, c := range cases {
		page := renderString(t, &Results{Specs: c.specs, End: c.end})
		checkPage(t, page)
		if !strings.Contains(page, c.want) {
			t.Errorf("case %d: want %s", i, c.want)
		}
		if unfinished := strings.Contains(page, "did not finish"); unfinished != (c.end == nil) {
			t.Errorf("case %d: did-not-finish banner %v", i, unfinished)
		}
	}
}

func TestSpecsFailuresFirst(t *testing.T) {
	r := &Results{Specs: []SpecResult{
		{Name: "s-passed", State: StatePassed},
		{Name: "s-skipped", State: StateSkipped},
		{Name: "s-lost", State: StateDeviceLost, Failure: "lost"},
		{Name: "s-failed", State: StateFailed, Failure: "boom"},
		{Name: "s-passed-2", State: StatePassed},
		{Name: "s-panicked", State: StatePanicked, Failure: "panic"},
	}}
	page := renderString(t, r)
	got := regexp.MustCompile(`<tbody data-state="([^"]+)" id="c(\d+)-\d+">`).FindAllStringSubmatch(page, -1)
	var states []string
	for _, m := range got {
		states = append(states, m[1])
	}
	// Old states read as v1: panicked is a failure, device-lost a cell
	// lost to its device; passed cells are not in the details.
	want := "failed failed lost skipped"
	if strings.Join(states, " ") != want {
		t.Errorf("details order %v, want %s", states, want)
	}
	if !strings.Contains(page, `<span class="badge st-lost">lost</span> <span class="muted">to device</span>`) {
		t.Error("the device-lost spec is not shown as lost to the device")
	}
	if !regexp.MustCompile(`<tr id="s3"><td>s-passed</td><td></td><td>1 passed</td><td class="muted">\(no device\)</td></tr>`).MatchString(page) {
		t.Error("a passed spec is not summed up in the specs table, in name order")
	}
}

// Odd data must never panic nor put NaN or broken markup on the page.
func TestWriteHTMLOddData(t *testing.T) {
	t0 := fixtureStart
	one := func(d map[string]float64) CallResult {
		return CallResult{Call: latency.Call{Device: "d1", Model: "Solo", Stamps: map[latency.Stage]time.Time{latency.Placed: t0}}, Durations: d}
	}
	cases := map[string]*Results{
		"nil":      nil,
		"empty":    {},
		"run only": {Run: &RunInfo{ID: "r"}},
		"one call": {Run: &RunInfo{ID: "r", Budgets: fixtureBudgets()}, Calls: []CallResult{one(map[string]float64{"total": 1234.5})}},
		"zero durations": {Run: &RunInfo{Budgets: fixtureBudgets()}, Calls: []CallResult{
			one(map[string]float64{"delivery": 0, "handling": 0, "launch": 0, "answer": 0, "total": 0}),
			one(map[string]float64{"delivery": 0, "handling": 0, "launch": 0, "answer": 0, "total": 0}),
		}},
		"no stages": {Calls: []CallResult{{}, {Durations: map[string]float64{}}}},
		"weird values": {Run: &RunInfo{Budgets: map[string]latency.SegmentBudget{"total": {}, "delivery": {Max: -1}}}, Calls: []CallResult{
			one(map[string]float64{"delivery": math.NaN(), "handling": math.Inf(1), "launch": math.Inf(-1), "answer": -12.5, "total": 1e15}),
			one(map[string]float64{"delivery": 1e-9, "handling": 3, "total": 0.05}),
			{Call: latency.Call{Device: "unknown"}, Durations: map[string]float64{"total": 7}, TruthErrors: map[string]float64{"total": math.NaN(), "answer": 1e300}},
		}},
		"model from device": {Devices: []DeviceInfo{{Serial: "s9", Model: "From Device"}, {}}, Calls: []CallResult{{Call: latency.Call{Device: "s9"}, Durations: map[string]float64{"total": 5}}}},
		"odd specs and restarts": {
			Specs: []SpecResult{
				{Name: "odd", State: "exploded", Failure: "x", Evidence: []string{"/abs/path/log.txt", "javascript:alert(1)", `evidence\win\log.txt`, "C:/x/y", "", "evidence/a b/c#d?.txt"}, Duration: -time.Second},
				{},
			},
			Restarts: []RestartInfo{{}, {PushVerdict: "late", RestartMs: math.NaN(), PushMs: math.Inf(1)}},
			Devices:  []DeviceInfo{{ClockDriftPPM: math.NaN()}},
			Damaged:  3,
		},
	}
	// Many models: more than the palette has colours, overlaid bars.
	many := &Results{}
	for i := range 13 {
		for j := range 5 {
			many.Calls = append(many.Calls, CallResult{Call: latency.Call{Model: string(rune('A' + i))}, Durations: map[string]float64{"total": float64(100 * (j + 1) * (i + 1))}})
		}
	}
	cases["many models"] = many

	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			page := renderString(t, r)
			checkPage(t, page)
		})
	}

	page := renderString(t, cases["odd specs and restarts"])
	for _, bad := range []string{`href="/abs`, `href="javascript:`, `href="C:`} {
		if strings.Contains(page, bad) {
			t.Errorf("unsafe or absolute link %s", bad)
		}
	}
	for _, want := range []string{`href="evidence/win/log.txt"`, `href="./javascript:alert%281%29"`, `href="evidence/a%20b/c%23d%3F.txt"`, "3 damaged lines"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestCDFSampled(t *testing.T) {
	page := renderString(t, synthResults(5000, true))
	checkPage(t, page)
	for _, path := range regexp.MustCompile(`<path d="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if n := strings.Count(path[1], "V"); n > cdfMaxPoints+1 {
			t.Errorf("CDF with %d steps, want at most %d", n, cdfMaxPoints+1)
		}
	}
}

func TestPageSize1000Calls(t *testing.T) {
	page := renderString(t, synthResults(1000, true))
	if len(page) > 400<<10 {
		t.Errorf("page of %d bytes for 1000 calls", len(page))
	}
	t.Logf("1000 calls: %d bytes", len(page))
}

func BenchmarkWriteHTML(b *testing.B) {
	r := synthResults(5000, true)
	var buf bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "page-bytes")
}

func TestLatencyGateFails(t *testing.T) {
	r := &Results{Run: &RunInfo{ID: "slow", Budgets: fixtureBudgets()}}
	for i := range 20 {
		r.Calls = append(r.Calls, CallResult{Call: latency.Call{Model: "Slowpoke", Start: "warm"}, Durations: map[string]float64{"handling": 100 + float64(i)*10, "launch": 900}})
	}
	page := renderString(t, r)
	checkPage(t, page)
	// handling: p90 270 ms > 150 ms, and 0 over the 300 ms max; launch warm within.
	for _, want := range []string{
		`<span class="bad">1 of 2 over budget p90</span>`,
		`<li>handling on Slowpoke: p90 270.0 ms over 150.0 ms</li>`,
		`<td class="num over">270.0</td>`,
		`<span class="bad">✗ fail</span>`,
		`<span class="ok">✓ pass</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestIncidentsSection(t *testing.T) {
	page := renderString(t, &Results{Specs: []SpecResult{{State: StatePassed}}})
	if strings.Contains(page, `id="incidents"`) {
		t.Errorf("an incidents section without incidents")
	}
	page = renderString(t, &Results{Specs: []SpecResult{{State: StatePassed}}, Incidents: []IncidentInfo{
		{What: IncidentADBServerRestarted, Server: "local", Addr: "127.0.0.1:4000", Exit: "signal: killed", TookMs: 22.4,
			Reconnected: []string{"a", "b"}, NotBack: map[string]string{"c": "device offline"}},
		{What: IncidentADBServerFailed, Server: "local", Addr: "127.0.0.1:4000", Detail: "died 6 times"},
	}})
	checkPage(t, page)
	for _, want := range []string{`id="incidents"`, "adb-server-restarted", "local (127.0.0.1:4000)", "22 ms",
		"2 reconnected; c not back: device offline", `<span class="bad">adb-server-failed`, "died 6 times"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
