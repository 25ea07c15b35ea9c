package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// JUnitFile is the JUnit XML report of a run directory.
const JUnitFile = "junit.xml"

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties *junitProps     `xml:"properties,omitempty"`
	Cases      []junitTestCase `xml:"testcase"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	// Earlier failed attempts: of a failed or lost cell (rerun…), of a
	// flaky one that passed in the end (flaky…), Surefire's elements.
	RerunFailures []junitRerun `xml:"rerunFailure,omitempty"`
	RerunErrors   []junitRerun `xml:"rerunError,omitempty"`
	FlakyFailures []junitRerun `xml:"flakyFailure,omitempty"`
	FlakyErrors   []junitRerun `xml:"flakyError,omitempty"`
	SystemOut     string       `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

type junitRerun struct {
	Message    string `xml:"message,attr,omitempty"`
	Type       string `xml:"type,attr"`
	StackTrace string `xml:"stackTrace,omitempty"`
}

// junitType is the type attribute of a cell or attempt that did not pass.
func junitType(st State, to LostTo) string {
	if st == StateLost {
		return "lost: " + string(to)
	}
	return string(st)
}

// WriteJUnit writes the run's junit.xml to w: one <testsuite> per device
// (the cells without a device in one named "(no device)"), one <testcase>
// per cell named "spec [device]" with classname "wmpf-hil.<device>", so
// names are identical from run to run. A failed cell is a <failure>; lost,
// quarantined and interrupted cells are <error>s whose type says which
// ("lost: device", "quarantined", …); a skipped cell is <skipped> with its
// reason; a flaky cell passes with a <flakyFailure> per failed attempt.
// Evidence files are [[ATTACHMENT|path]] lines (paths relative to the run
// directory) in <system-out>.
func WriteJUnit(w io.Writer, r *Results) error {
	total := junitSuites{Name: ToolName}
	if r.Run != nil && r.Run.ID != "" {
		total.Name = ToolName + " " + r.Run.ID
	}
	var secs float64
	for _, g := range groupByDevice(r) {
		su := junitSuite{Name: g.name, Properties: deviceProps(g.dev), Hostname: hostOf(r, g.dev.shard)}
		for _, s := range g.cells {
			su.Cases = append(su.Cases, junitCase(s))
			su.Tests++
			switch s.State {
			case StatePassed, StateFlaky:
			case StateSkipped:
				su.Skipped++
			case StateLost, StateQuarantined, StateInterrupted:
				su.Errors++
			default:
				su.Failures++
			}
		}
		first, last := g.span(r)
		if !first.IsZero() {
			su.Timestamp = first.UTC().Format(time.RFC3339)
		}
		wall := 0.0
		if !first.IsZero() && last.After(first) {
			wall = last.Sub(first).Seconds()
		}
		su.Time = fmtSecs(wall)
		secs += wall
		total.Tests += su.Tests
		total.Failures += su.Failures
		total.Errors += su.Errors
		total.Suites = append(total.Suites, su)
	}
	if !r.First.IsZero() && r.Last.After(r.First) {
		secs = r.Last.Sub(r.First).Seconds()
	}
	total.Time = fmtSecs(secs)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(total); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

func fmtSecs(s float64) string {
	if !(s > 0) {
		return "0.000"
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

func junitCase(s SpecResult) junitTestCase {
	c := junitTestCase{Name: s.TestName(), Classname: ToolName + "." + orNoDevice(s.Device), Time: fmtSecs(s.Duration.Seconds())}
	body := s.Failure
	if s.Location != "" {
		body = strings.TrimRight(body, "\n") + "\n" + s.Location
	}
	msg := firstLine(s.Failure)
	switch s.State {
	case StatePassed, StateFlaky:
	case StateSkipped:
		c.Skipped = &junitMessage{Message: orDefault(s.Reason, "skipped")}
	case StateLost:
		c.Error = &junitMessage{Message: orDefault(msg, s.Reason), Type: junitType(s.State, s.LostTo), Body: body}
	case StateQuarantined, StateInterrupted:
		c.Error = &junitMessage{Message: orDefault(s.Reason, msg), Type: string(s.State), Body: body}
	default:
		c.Failure = &junitMessage{Message: msg, Type: string(StateFailed), Body: body}
	}
	// The attempts before the last one that did not pass.
	for i, a := range s.Attempts {
		if i == len(s.Attempts)-1 || a.State == StatePassed || a.State == StateSkipped {
			continue
		}
		x := junitRerun{Message: firstLine(a.Failure), Type: junitType(a.State, a.LostTo), StackTrace: a.Failure}
		if a.OnDevice != "" && a.OnDevice != s.Device {
			x.Message = strings.TrimSpace(x.Message + " (attempt " + strconv.Itoa(a.Attempt) + " on " + a.OnDevice + ")")
		}
		failure := a.State == StateFailed
		switch {
		case s.State == StateFlaky || s.State == StatePassed:
			if failure {
				c.FlakyFailures = append(c.FlakyFailures, x)
			} else {
				c.FlakyErrors = append(c.FlakyErrors, x)
			}
		case failure:
			c.RerunFailures = append(c.RerunFailures, x)
		default:
			c.RerunErrors = append(c.RerunErrors, x)
		}
	}
	var out []string
	for _, e := range cellFiles(s) {
		out = append(out, "[[ATTACHMENT|"+e+"]]")
	}
	c.SystemOut = strings.Join(out, "\n")
	return c
}

// cellFiles are a cell's evidence files and its screenshot, once each.
func cellFiles(s SpecResult) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range append(append([]string(nil), s.Evidence...), s.Screenshot) {
		if e == "" || seen[e] {
			continue
		}
		seen[e] = true
		out = append(out, e)
	}
	return out
}

// deviceProps are a device's properties for its test suite, those known.
func deviceProps(d DeviceInfo) *junitProps {
	var p junitProps
	add := func(name, value string) {
		if value != "" {
			p.Props = append(p.Props, junitProp{name, value})
		}
	}
	add("name", d.Name)
	add("model", d.Model)
	add("modelId", d.ModelID)
	add("sn", d.SN)
	add("serial", d.Serial)
	add("androidVersion", d.AndroidVersion)
	add("status", string(d.Status))
	add("hostPackage", d.HostPackage)
	add("hostVersion", hostVersion(d))
	if d.Install != nil {
		add("install.package", d.Install.Package)
		add("install.sha256", d.Install.SHA256)
		add("install.build", d.Install.Build)
	}
	if len(p.Props) == 0 {
		return nil
	}
	return &p
}

// hostVersion is "versionName (versionCode)", what is known of it.
func hostVersion(d DeviceInfo) string {
	v := d.HostVersionName
	if d.HostVersionCode != 0 {
		v = strings.TrimSpace(v + " (" + strconv.FormatInt(d.HostVersionCode, 10) + ")")
	}
	return v
}

// hostOf is the host that ran a shard (0: the run's own).
func hostOf(r *Results, shard int) string {
	for _, s := range r.Shards {
		if s.Index == shard && s.Run != nil && s.Run.Host != "" {
			return s.Run.Host
		}
	}
	if r.Run != nil {
		return r.Run.Host
	}
	return ""
}

func orNoDevice(s string) string { return orDefault(s, noDevice) }

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(line); len(r) > 300 {
		line = string(r[:300]) + "…"
	}
	return line
}
