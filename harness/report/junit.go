package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"sort"
	"strings"
)

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
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes junit.xml: one test suite per device model, one test
// case per spec run. A product failure is a <failure>; a spec whose device
// was lost is an <error type="device lost">, so CI tells them apart.
func WriteJUnit(path string, r *Results) error {
	bySuite := map[string]*junitSuite{}
	var total junitSuites
	total.Name = "wmpf-hil"
	var secs float64
	for _, s := range r.Specs {
		key := s.Model
		if key == "" {
			key = "farm"
		}
		su := bySuite[key]
		if su == nil {
			su = &junitSuite{Name: "wmpf-hil " + key}
			bySuite[key] = su
		}
		c := junitCase{Name: s.TestName(), Classname: "wmpf-hil." + strings.Join(s.Labels, "."), Time: fmt.Sprintf("%.3f", s.Duration().Seconds())}
		if s.Device != "" {
			c.Name += " [" + s.Device + "]"
		}
		body := s.Failure
		if s.Location != "" {
			body += "\n" + s.Location
		}
		if len(s.Evidence) > 0 {
			c.SystemOut = "evidence: " + strings.Join(s.Evidence, " ")
		}
		switch s.State {
		case StatePassed:
		case StateSkipped:
			c.Skipped = &junitMessage{Message: "skipped"}
			su.Skipped++
		case StateDeviceLost:
			c.Error = &junitMessage{Message: firstLine(s.Failure), Type: "device lost", Body: body}
			su.Errors++
		default:
			c.Failure = &junitMessage{Message: firstLine(s.Failure), Type: s.State, Body: body}
			su.Failures++
		}
		su.Tests++
		su.Cases = append(su.Cases, c)
		secs += s.Duration().Seconds()
	}
	keys := make([]string, 0, len(bySuite))
	for k := range bySuite {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		su := bySuite[k]
		var t float64
		for _, c := range su.Cases {
			var x float64
			fmt.Sscanf(c.Time, "%f", &x)
			t += x
		}
		su.Time = fmt.Sprintf("%.3f", t)
		total.Tests += su.Tests
		total.Failures += su.Failures
		total.Errors += su.Errors
		total.Suites = append(total.Suites, *su)
	}
	total.Time = fmt.Sprintf("%.3f", secs)
	b, err := xml.MarshalIndent(total, "", "  ")
	if err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	out := append([]byte(xml.Header), b...)
	out = append(out, '\n')
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}
