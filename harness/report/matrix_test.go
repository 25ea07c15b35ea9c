package report

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// renderedSample merges the two nightly shards and returns the folder and
// its page.
func renderedSample(t testing.TB) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "merged")
	if _, err := Merge(out, []string{sample("nightly/shard-1"), sample("nightly/shard-2")}, MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	return out, readPage(t, out)
}

var (
	matrixRowRE  = regexp.MustCompile(`(?s)<tr(?: class="bad-row")?><th class="spec"><a href="#(s\d+)">([^<]*)</a></th>(.*?)</tr>`)
	matrixCellRE = regexp.MustCompile(`<td class="(m-[a-z]+)(?: first)?">(?:<a href="#([^"]+)"(?: title="([^"]*)")?>([^<]*)</a>|<span title="([^"]*)">([^<]*)</span>)</td>`)
	devHeaderRE  = regexp.MustCompile(`<th class="dev(?: first)?" title="[^"]*"><span>([^<]+)</span>`)
)

func TestPageOpensWithTheMatrix(t *testing.T) {
	dir, page := renderedSample(t)
	checkPage(t, page)
	m := strings.Index(page, `<section id="matrix">`)
	if m < 0 || m > strings.Index(page, `<section id="models">`) || m > strings.Index(page, `<section id="latency">`) {
		t.Fatal("the matrix is not the first section")
	}
	// Columns: devices grouped by model, models in order.
	var devs []string
	for _, d := range devHeaderRE.FindAllStringSubmatch(page, -1) {
		devs = append(devs, d[1])
	}
	if got := strings.Join(devs, " "); got != "panel-1 panel-2 slow-launch-1 tv-1 tv-2 tv-3" {
		t.Errorf("columns %s", got)
	}
	if !strings.Contains(page, `<th class="model" colspan="2">panel</th><th class="model" colspan="1">sim-slow-launch</th><th class="model" colspan="3">tv</th>`) {
		t.Error("model headers do not span their devices")
	}
	if !strings.Contains(page, `title="tv-3 · tv · excluded: adb: device offline at the start of the run"><span>tv-3</span> <span class="badge st-skipped">excluded</span>`) {
		t.Error("the excluded device's column does not say so")
	}
	// Rows: one per spec, a cell per device; every cell's link leads to
	// an anchor on the page.
	rows := matrixRowRE.FindAllStringSubmatch(page, -1)
	if len(rows) != len(sampleSpecs) {
		t.Fatalf("%d rows, want %d specs", len(rows), len(sampleSpecs))
	}
	grid := map[string]map[string][]string{}
	counts := map[string]int{}
	for _, r := range rows {
		if !strings.Contains(page, `<tr id="`+r[1]+`"`) {
			t.Errorf("row %s: no spec anchor %s", r[2], r[1])
		}
		cells := matrixCellRE.FindAllStringSubmatch(r[3], -1)
		if len(cells) != len(devs) {
			t.Fatalf("row %s: %d cells for %d devices", r[2], len(cells), len(devs))
		}
		spec := htmlUnescape(r[2])
		grid[spec] = map[string][]string{}
		for i, c := range cells {
			grid[spec][devs[i]] = c[1:]
			counts[c[1]]++
			if c[2] != "" && !strings.Contains(page, ` id="`+c[2]+`"`) {
				t.Errorf("%s on %s links to #%s, not on the page", spec, devs[i], c[2])
			}
		}
	}
	want := map[string]int{"m-passed": 26, "m-failed": 4, "m-flaky": 1, "m-lost": 4, "m-quarantined": 3, "m-skipped": 1, "m-none": 9}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %s cells, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
	check := func(spec, dev, class, titlePart string) []string {
		t.Helper()
		c := grid[spec][dev]
		if c == nil || c[0] != class || !strings.Contains(c[2]+c[4], titlePart) {
			t.Errorf("%s on %s: %v, want %s %q", spec, dev, c, class, titlePart)
		}
		return c
	}
	check(specLaunch, "tv-1", "m-passed", "")
	check(specCallEnd, "tv-2", "m-lost", "lost to adb-server")
	check(specRestart, "panel-1", "m-lost", "lost to device")
	check(specBadToken, "panel-2", "m-quarantined", "3 failed resets")
	check(specVideo, "panel-1", "m-skipped", "no camera")
	check(specVideo, "panel-2", "m-none", "not run: device quarantined")
	check(specLaunch, "tv-3", "m-none", "not run: device excluded")
	check(specRestart, "tv-1", "m-flaky", "flaky")
	failed := check(specTrial, "tv-1", "m-failed", "failed: Expected")

	// The failed cell's details: failure, evidence and the screenshot as a
	// thumbnail linking to the full image.
	detail := section(t, page, `<tbody data-state="failed" id="`+failed[1]+`">`, `</tbody>`)
	for _, want := range []string{"appType 2 (trial)", "suites/launch_test.go:", "evidence/tv-1/push_launch_appType_2_trial_launches_the_trial_build-819fce46/logcat.txt"} {
		if !strings.Contains(detail, want) {
			t.Errorf("details of the failed cell lack %s", want)
		}
	}
	shot := regexp.MustCompile(`<a class="shot" href="([^"]+)" title="[^"]*"><img src="([^"]+)" alt="[^"]*" loading="lazy"></a>`).FindStringSubmatch(detail)
	if shot == nil || shot[1] != shot[2] {
		t.Fatalf("no screenshot thumbnail linking to its image in\n%s", detail)
	}
	p, _ := url.PathUnescape(shot[1])
	if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("screenshot %s: %v", p, err)
	}
	// The flaky cell lists its attempts.
	flaky := section(t, page, `id="`+check(specRestart, "tv-1", "m-flaky", "")[1]+`">`, `</tbody>`)
	if !strings.Contains(flaky, `<li value="1"><span class="badge st-failed">failed</span>`) || !strings.Contains(flaky, `<li value="2"><span class="badge st-passed">passed</span>`) {
		t.Errorf("flaky cell's attempts:\n%s", flaky)
	}
	// The header counts every kind.
	for _, want := range []string{"26 passed", "4 failed", "1 flaky", "4 lost", "3 quarantined", "1 skipped", "0 interrupted", "9 not run", "39 cells on 6 devices · 8 specs"} {
		if !strings.Contains(section(t, page, `<div class="counts" id="counts">`, `</header>`), want) {
			t.Errorf("header lacks %q", want)
		}
	}
}

func TestPerModelSummary(t *testing.T) {
	_, page := renderedSample(t)
	models := section(t, page, `<section id="models">`, `</section>`)
	for _, want := range []string{
		`<tr><td>tv</td><td><span class="badge v-fail">FAIL</span></td><td>3: tv-1, tv-2, tv-3</td><td class="num">13/16</td>`,
		"failed: " + htmlEscape(specTrial) + " on tv-1, tv-2",
		"lost: " + htmlEscape(specCallEnd) + " on tv-2",
		"flaky: " + htmlEscape(specRestart) + " on tv-1",
		`<tr><td>panel</td><td><span class="badge v-fail">FAIL</span></td><td>2: panel-1, panel-2</td><td class="num">8/15 <span class="muted">(1 skipped)</span></td>`,
		"quarantined: " + htmlEscape(specBadToken) + " on panel-2",
		`<tr><td>sim-slow-launch</td><td><span class="badge v-fail">FAIL</span></td><td>1: slow-launch-1</td><td class="num">6/8</td>`,
	} {
		if !strings.Contains(models, want) {
			t.Errorf("model summary lacks %s", want)
		}
	}
	// A model whose cells all pass passes, whatever the others do.
	r := &Results{Specs: []SpecResult{
		{Name: "a", Device: "tv-1", Model: "tv", State: StatePassed},
		{Name: "a", Device: "p-1", Model: "panel", State: StateLost, LostTo: LostToDevice},
	}}
	page = renderString(t, r)
	if !strings.Contains(page, `<tr><td>tv</td><td><span class="badge v-pass">PASS</span>`) || !strings.Contains(page, `<tr><td>panel</td><td><span class="badge v-warn">INCOMPLETE</span>`) {
		t.Error("model verdicts")
	}
}

// The page works offline and without its script: no external resource,
// every local link leads to a file of the run folder or an anchor.
func TestPageLinksResolve(t *testing.T) {
	dir, page := renderedSample(t)
	for _, m := range regexp.MustCompile(`(?:href|src)="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		link := htmlUnescape(m[1])
		if strings.HasPrefix(link, "#") {
			if !strings.Contains(page, ` id="`+link[1:]+`"`) {
				t.Errorf("anchor %s not on the page", link)
			}
			continue
		}
		p, err := url.PathUnescape(link)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("link %s: %v", link, err)
		}
	}
}

func section(t testing.TB, page, start, end string) string {
	t.Helper()
	i := strings.Index(page, start)
	if i < 0 {
		t.Fatalf("page lacks %s", start)
	}
	j := strings.Index(page[i:], end)
	if j < 0 {
		t.Fatalf("no %s after %s", end, start)
	}
	return page[i : i+j]
}

func htmlEscape(s string) string { return escForTest(s) }

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

// farmResults is a synthetic run of devices × specs, with a failure, a
// flaky cell, a lost and a skipped one per device every so often.
func farmResults(devices, specs int) *Results {
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	r := &Results{Run: &RunInfo{ID: "farm", Started: t0, Host: "hil-01", Workers: devices, Budgets: sampleBudgets()}}
	for d := range devices {
		model := fmt.Sprintf("model-%02d", d%12)
		name := fmt.Sprintf("%s-dev-%03d", model, d)
		r.Devices = append(r.Devices, DeviceInfo{Name: name, Serial: fmt.Sprintf("10.0.%d.%d:5555", d/250, d%250), Model: model,
			SN: fmt.Sprintf("SN%06d", d), AndroidVersion: "11", Status: DeviceHealthy, Install: sampleInstall("ci-2001")})
		for s := range specs {
			spec := fmt.Sprintf("spec %02d: %s", s, sampleSpecs[s%len(sampleSpecs)])
			c := SpecResult{Name: spec, Device: name, Model: model, State: StatePassed, Duration: time.Duration(2000+s*37+d) * time.Millisecond,
				Finished: t0.Add(time.Duration(s*30+d) * time.Second), Labels: []string{"nightly"}}
			switch (d*specs + s) % 53 {
			case 0:
				c.State, c.Failure = StateFailed, "Expected\n    <int>: 0\nto equal\n    <int>: 2"
				c.Evidence = []string{"evidence/" + name + "/x/logcat.txt"}
				c.Screenshot = "evidence/" + name + "/x/screenshot.png"
			case 7:
				c.State = StateFlaky
				c.Attempts = []Attempt{{Attempt: 1, State: StateFailed, Failure: "timeout"}, {Attempt: 2, State: StatePassed}}
			case 19:
				c.State, c.LostTo, c.Failure = StateLost, LostToDevice, "device lost: offline"
			case 31:
				c.State, c.Reason = StateSkipped, "does not apply"
			}
			r.Specs = append(r.Specs, c)
		}
	}
	return r
}

// BenchmarkRenderFarm200x20 renders report.html, junit.xml and ctrf.json
// for 200 devices × 20 specs and reports their sizes; it asserts nothing
// about time.
func BenchmarkRenderFarm200x20(b *testing.B) {
	r := farmResults(200, 20)
	var page, junit, ctrf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		page.Reset()
		if err := WriteHTML(&page, r); err != nil {
			b.Fatal(err)
		}
	}
	if err := WriteJUnit(&junit, r); err != nil {
		b.Fatal(err)
	}
	if err := WriteCTRF(&ctrf, r, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(page.Len()), "html-bytes")
	b.ReportMetric(float64(junit.Len()), "junit-bytes")
	b.ReportMetric(float64(ctrf.Len()), "ctrf-bytes")
}

// A farm-sized page is whole and its matrix complete.
func TestFarmPage(t *testing.T) {
	r := farmResults(200, 20)
	start := time.Now()
	page := renderString(t, r)
	took := time.Since(start)
	checkPage(t, page)
	rows := matrixRowRE.FindAllStringSubmatch(page, -1)
	if len(rows) != 20 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows {
		if n := len(matrixCellRE.FindAllString(row[3], -1)); n != 200 {
			t.Errorf("row %s: %d cells", row[2], n)
		}
	}
	t.Logf("200 devices × 20 specs: report.html %d bytes, rendered in %v (figures only; the machine is shared)", len(page), took.Round(time.Millisecond))
}
