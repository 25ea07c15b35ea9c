package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readSamples reads sample runs and puts their records together as one
// run's (the first run record wins), so that one run holds every state.
func readSamples(t testing.TB, rels ...string) *Results {
	t.Helper()
	var all bytes.Buffer
	for _, rel := range rels {
		b, err := os.ReadFile(filepath.Join(samplesDir, filepath.FromSlash(rel), ResultsFile))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	res, err := Read(&all)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// xmlNode is an element of a parsed XML document.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []xmlNode  `xml:",any"`
}

func (n xmlNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n xmlNode) children(name string) []xmlNode {
	var out []xmlNode
	for _, c := range n.Children {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

func parseJUnit(t testing.TB, data []byte) xmlNode {
	t.Helper()
	if err := parseXML(string(data)); err != nil {
		t.Fatalf("junit.xml is not XML: %v", err)
	}
	var root xmlNode
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	return root
}

// junitShape is junit-10.xsd as data: per element, its attributes (true:
// required) and the children it may have.
var junitShape = map[string]struct {
	attrs    map[string]bool
	children []string
}{
	"testsuites": {map[string]bool{"name": false, "time": false, "tests": false, "failures": false, "errors": false}, []string{"testsuite"}},
	"testsuite": {map[string]bool{"name": true, "tests": true, "failures": true, "errors": true, "group": false, "time": false, "skipped": false,
		"timestamp": false, "hostname": false, "id": false, "package": false, "file": false, "log": false, "url": false},
		[]string{"testsuite", "properties", "testcase", "system-out", "system-err"}},
	"properties": {map[string]bool{}, []string{"property"}},
	"property":   {map[string]bool{"name": true, "value": true}, nil},
	"testcase": {map[string]bool{"name": true, "time": false, "classname": false, "group": false},
		[]string{"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError", "system-out", "system-err"}},
	"failure":      {map[string]bool{"type": false, "message": false}, nil},
	"error":        {map[string]bool{"type": false, "message": false}, nil},
	"skipped":      {map[string]bool{"type": false, "message": false}, nil},
	"system-out":   {map[string]bool{}, nil},
	"system-err":   {map[string]bool{}, nil},
	"rerunFailure": {map[string]bool{"type": true, "message": false}, []string{"stackTrace", "system-out", "system-err"}},
	"rerunError":   {map[string]bool{"type": true, "message": false}, []string{"stackTrace", "system-out", "system-err"}},
	"flakyFailure": {map[string]bool{"type": true, "message": false}, []string{"stackTrace", "system-out", "system-err"}},
	"flakyError":   {map[string]bool{"type": true, "message": false}, []string{"stackTrace", "system-out", "system-err"}},
	"stackTrace":   {map[string]bool{}, nil},
}

var surefireTime = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`)

// checkJUnitShape checks a junit.xml element by element against the shape
// of junit-10.xsd, so the structure is checked even without xmllint.
func checkJUnitShape(t testing.TB, n xmlNode, path string) {
	t.Helper()
	name := n.XMLName.Local
	shape, ok := junitShape[name]
	if !ok {
		t.Errorf("%s: element <%s> not in junit-10.xsd", path, name)
		return
	}
	for _, a := range n.Attrs {
		if _, ok := shape.attrs[a.Name.Local]; !ok {
			t.Errorf("%s: <%s> attribute %s not in junit-10.xsd", path, name, a.Name.Local)
		}
	}
	for a, required := range shape.attrs {
		v, ok := n.attr(a)
		if required && !ok {
			t.Errorf("%s: <%s> lacks required attribute %s", path, name, a)
		}
		if a == "time" && ok && (name == "testsuite" || name == "testsuites") && !surefireTime.MatchString(v) {
			t.Errorf("%s: <%s time=%q> is not a SUREFIRE_TIME", path, name, v)
		}
	}
	for _, c := range n.Children {
		allowed := false
		for _, a := range shape.children {
			allowed = allowed || a == c.XMLName.Local
		}
		if !allowed {
			t.Errorf("%s: <%s> may not contain <%s>", path, name, c.XMLName.Local)
		}
		checkJUnitShape(t, c, path+"/"+c.XMLName.Local)
	}
}

// validateJUnitXSD runs xmllint against Jenkins xunit's junit-10.xsd.
func validateJUnitXSD(t testing.TB, path string) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatalf("xmllint is required to check junit.xml against junit-10.xsd (apt-get install -y libxml2-utils): %v", err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/junit/junit-10.xsd", path).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint --schema junit-10.xsd: %v\n%s", err, out)
	}
}

func writeJUnitFile(t testing.TB, r *Results) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), JUnitFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

func TestJUnitOneSuitePerDevice(t *testing.T) {
	res := readSamples(t, "nightly/shard-1", "nightly/shard-2")
	path, data := writeJUnitFile(t, res)
	validateJUnitXSD(t, path)
	root := parseJUnit(t, data)
	checkJUnitShape(t, root, "testsuites")

	var names []string
	suites := map[string]xmlNode{}
	for _, s := range root.children("testsuite") {
		n, _ := s.attr("name")
		names = append(names, n)
		suites[n] = s
	}
	if got := strings.Join(names, " "); got != "panel-1 panel-2 slow-launch-1 tv-1 tv-2 tv-3" {
		t.Fatalf("suites %s: want one per device, by model then name", got)
	}
	props := map[string]string{}
	for _, p := range suites["tv-1"].children("properties")[0].children("property") {
		n, _ := p.attr("name")
		v, _ := p.attr("value")
		props[n] = v
	}
	for k, want := range map[string]string{"name": "tv-1", "model": "tv", "sn": "TV55A0001", "serial": "192.0.2.31:5555",
		"androidVersion": "11", "hostPackage": "com.example.callhost", "hostVersion": "4.2.0 (4020000)", "install.build": "ci-1187"} {
		if props[k] != want {
			t.Errorf("tv-1 property %s = %q, want %q", k, props[k], want)
		}
	}
	if len(props["install.sha256"]) != 64 {
		t.Errorf("install.sha256 %q", props["install.sha256"])
	}
	for name, s := range suites {
		ts, _ := s.attr("timestamp")
		host, _ := s.attr("hostname")
		if name != "tv-3" {
			if _, err := time.Parse(time.RFC3339, ts); err != nil || host == "" {
				t.Errorf("suite %s: timestamp %q hostname %q", name, ts, host)
			}
		}
	}
	if ts, _ := suites["tv-1"].attr("timestamp"); ts != "2026-03-02T01:00:05Z" {
		t.Errorf("tv-1 timestamp %s, want its first start", ts)
	}

	// Every cell is a test case named "spec [device]" in class
	// wmpf-hil.<device>; what did not pass says how.
	cases := map[string]xmlNode{}
	for name, s := range suites {
		counts := map[string]int{}
		for _, c := range s.children("testcase") {
			n, _ := c.attr("name")
			cls, _ := c.attr("classname")
			if !strings.HasSuffix(n, " ["+name+"]") || cls != "wmpf-hil."+name {
				t.Errorf("suite %s: case %q class %q", name, n, cls)
			}
			if regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|:\d{2,5}\b`).MatchString(n + cls) {
				t.Errorf("address or port in a test name: %q %q", n, cls)
			}
			cases[n] = c
			counts["tests"]++
			counts["failures"] += len(c.children("failure"))
			counts["errors"] += len(c.children("error"))
			counts["skipped"] += len(c.children("skipped"))
		}
		for k, n := range counts {
			if v, _ := s.attr(k); v != strconv.Itoa(n) {
				t.Errorf("suite %s: %s=%s, counted %d", name, k, v, n)
			}
		}
	}
	if n := len(cases); n != 39 {
		t.Errorf("%d test cases, want the 39 cells (panel-2 was quarantined before its video cell)", n)
	}
	only := func(name, elem string) xmlNode {
		t.Helper()
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no test case %q", name)
		}
		var found []xmlNode
		for _, ch := range c.Children {
			if ch.XMLName.Local != "system-out" {
				found = append(found, ch)
			}
		}
		if elem == "" {
			if len(found) != 0 {
				t.Errorf("%s: passed case has <%s>", name, found[0].XMLName.Local)
			}
			return xmlNode{}
		}
		if len(found) != 1 || found[0].XMLName.Local != elem {
			t.Errorf("%s: children %v, want one <%s>", name, found, elem)
			return xmlNode{}
		}
		return found[0]
	}
	attrIs := func(n xmlNode, k, want string) {
		t.Helper()
		if v, _ := n.attr(k); v != want {
			t.Errorf("<%s %s=%q>, want %q", n.XMLName.Local, k, v, want)
		}
	}
	only(specLaunch+" [tv-1]", "")
	f := only(specTrial+" [tv-2]", "failure")
	attrIs(f, "type", "failed")
	attrIs(f, "message", "Expected")
	if !strings.Contains(f.Text, `"appType": 2 (trial)`) || !strings.Contains(f.Text, "suites/launch_test.go:") {
		t.Errorf("failure body %q", f.Text)
	}
	attrIs(only(specCallEnd+" [tv-2]", "error"), "type", "lost: adb-server")
	attrIs(only(specRestart+" [panel-1]", "error"), "type", "lost: device")
	attrIs(only(specCallEnd+" [panel-1]", "error"), "type", "lost: wechat")
	attrIs(only(specCallEnd+" [slow-launch-1]", "error"), "type", "lost: worker")
	q := only(specBadToken+" [panel-2]", "error")
	attrIs(q, "type", "quarantined")
	attrIs(q, "message", "panel-2 quarantined: 3 failed resets in a row")
	attrIs(only(specVideo+" [panel-1]", "skipped"), "message", "does not apply: the device has no camera (profile feature camera=false)")
	ff := only(specRestart+" [tv-1]", "flakyFailure")
	attrIs(ff, "type", "failed")
	attrIs(ff, "message", "WMPF did not come back within 10s after kill -9 (budget 8s)")
	// The cell lost on panel-1 and passed on panel-2 passes, its lost
	// attempt a flakyError.
	fe := only(specWarm+" [panel-1]", "flakyError")
	attrIs(fe, "type", "lost: device")

	out := cases[specTrial+" [tv-2]"].children("system-out")
	if len(out) != 1 || !strings.Contains(out[0].Text, "[[ATTACHMENT|evidence/tv-2/push_launch_appType_2_trial_launches_the_trial_build-819fce46/screenshot.png]]") {
		t.Errorf("attachments %v", out)
	}
	for _, line := range strings.Split(out[0].Text, "\n") {
		if !regexp.MustCompile(`^\[\[ATTACHMENT\|evidence/[^\]]+\]\]$`).MatchString(line) {
			t.Errorf("system-out line %q", line)
		}
	}
}

// The elements for retries and for interrupted cells.
func TestJUnitRetriesAndInterrupted(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	res := &Results{Run: &RunInfo{ID: "r", Host: "hil-01"}, Specs: []SpecResult{
		{Name: "fails twice", Device: "tv-1", State: StateFailed, Failure: "boom 2", Duration: 2 * time.Second, Finished: t0.Add(time.Minute),
			Attempts: []Attempt{{Attempt: 1, State: StateFailed, Failure: "boom 1\nstack"}, {Attempt: 2, State: StateFailed, Failure: "boom 2"}}},
		{Name: "lost twice", Device: "tv-1", State: StateLost, LostTo: LostToDevice, Failure: "gone",
			Attempts: []Attempt{{Attempt: 1, State: StateLost, LostTo: LostToWeChat}, {Attempt: 2, OnDevice: "tv-2", State: StateLost, LostTo: LostToDevice}}},
		{Name: "cut short", Device: "tv-1", State: StateInterrupted, Reason: "SIGTERM"},
		{Name: "no device", State: StateSkipped},
	}}
	path, data := writeJUnitFile(t, res)
	validateJUnitXSD(t, path)
	root := parseJUnit(t, data)
	checkJUnitShape(t, root, "testsuites")
	text := string(data)
	for _, want := range []string{
		`<rerunFailure message="boom 1" type="failed">`, `<stackTrace>boom 1&#xA;stack</stackTrace>`,
		`<failure message="boom 2" type="failed">boom 2</failure>`,
		`<rerunError type="lost: wechat"></rerunError>`, `<error message="gone" type="lost: device">gone</error>`,
		`<error message="SIGTERM" type="interrupted"></error>`,
		`<testsuite name="(no device)"`, `<skipped message="skipped"></skipped>`, `hostname="hil-01"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("junit.xml lacks %s", want)
		}
	}
	if strings.Count(text, "<rerunFailure") != 1 || strings.Contains(text, "flaky") {
		t.Errorf("the last attempt is the test case itself, earlier ones rerun elements:\n%s", text)
	}
}

// Two renders of one run name their suites and cases identically.
func TestJUnitNamesAreStable(t *testing.T) {
	a := readSamples(t, "nightly/shard-1")
	b := readSamples(t, "nightly/shard-1")
	b.Run.ID, b.Run.Host = "nightly-20260303", "hil-09"
	for i := range b.Devices {
		b.Devices[i].Serial, b.Devices[i].Server = "10.1.1.1:4444", "10.1.1.1:5037"
	}
	names := func(r *Results) []string {
		_, data := writeJUnitFile(t, r)
		var out []string
		for _, s := range parseJUnit(t, data).children("testsuite") {
			for _, c := range s.children("testcase") {
				n, _ := c.attr("name")
				cl, _ := c.attr("classname")
				out = append(out, n+"|"+cl)
			}
		}
		sort.Strings(out)
		return out
	}
	if x, y := names(a), names(b); strings.Join(x, "\n") != strings.Join(y, "\n") || len(x) == 0 {
		t.Errorf("names differ between runs:\n%v\n%v", x, y)
	}
}

var errWriter = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWriter }

func TestReportWritersPassOnWriteErrors(t *testing.T) {
	res := readSamples(t, "nightly/shard-1")
	for name, err := range map[string]error{
		"junit": WriteJUnit(failWriter{}, res),
		"ctrf":  WriteCTRF(failWriter{}, res, time.Now()),
		"html":  WriteHTML(failWriter{}, res),
	} {
		if !errors.Is(err, errWriter) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
