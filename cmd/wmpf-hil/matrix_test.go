package main

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// A farm of 2 panels and 2 TV boxes whose host app maps appType the wrong
// way round: every run fails (exit 1); the appType spec ran on all four
// devices and failed on exactly the two TVs; two runs give the same test
// names, none holding an address; each failure has its screenshot, shown
// in report.html.
func TestMatrixCatchesADefectOfOneModel(t *testing.T) {
	farm := writeFarm(t, `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
simulated:
  - {count: 2, profile: panel}
  - {count: 2, profile: tv, defects: [wrong-apptype]}
`)
	reports := t.TempDir()
	const appTypeSpec = "Launch launches with appType 0, 1 and 2 for envVersion release, develop and trial"
	var names [2][]string
	for i, id := range []string{"one", "two"} {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "run", "-devices", farm, "-reports", reports, "-run-id", id, "-label-filter", "launch && !smoke")
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		cancel()
		if code := cmd.ProcessState.ExitCode(); code != exitFailed {
			t.Fatalf("run %s: exit %d, want %d (a product failure)\n%s", id, code, exitFailed, tail(string(out)))
		}
		runDir := filepath.Join(reports, id)
		res, err := report.ReadDir(runDir)
		if err != nil {
			t.Fatal(err)
		}
		ran := map[string]report.State{}
		for _, c := range res.Cells() {
			names[i] = append(names[i], c.TestName())
			if c.Name == appTypeSpec {
				ran[c.Device] = c.State
			}
			if c.State == report.StateFailed && c.Name != appTypeSpec {
				t.Errorf("run %s: %s failed, but only the appType spec should: %s", id, c.TestName(), firstLineOf(c.Failure))
			}
			if c.State == report.StateFailed && c.Screenshot == "" {
				t.Errorf("run %s: %s failed without a screenshot", id, c.TestName())
			}
		}
		want := map[string]report.State{"panel-1": report.StatePassed, "panel-2": report.StatePassed,
			"tv-1": report.StateFailed, "tv-2": report.StateFailed}
		for dev, st := range want {
			if ran[dev] != st {
				t.Errorf("run %s: the appType spec on %s: %q, want %q (all: %v)", id, dev, ran[dev], st, ran)
			}
		}
		page, err := os.ReadFile(filepath.Join(runDir, report.HTMLFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Cells() {
			if c.Screenshot != "" && !strings.Contains(string(page), `src="`+c.Screenshot+`"`) {
				t.Errorf("run %s: report.html does not show %s's screenshot %s", id, c.TestName(), c.Screenshot)
			}
			if c.Screenshot != "" {
				png, err := os.ReadFile(filepath.Join(runDir, c.Screenshot))
				if err != nil || !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
					t.Errorf("run %s: screenshot %s is not a PNG (%v)", id, c.Screenshot, err)
				}
			}
		}
		junitNames(t, filepath.Join(runDir, report.JUnitFile), &names[i])
		for dev, props := range junitProperties(t, filepath.Join(runDir, report.JUnitFile)) {
			for _, p := range []string{"name", "model", "sn", "serial", "androidVersion", "hostPackage", "hostVersion"} {
				if props[p] == "" {
					t.Errorf("run %s: junit suite %s has no property %s: %v", id, dev, p, props)
				}
			}
		}
		sort.Strings(names[i])
	}
	if strings.Join(names[0], "\n") != strings.Join(names[1], "\n") {
		t.Errorf("two runs of the same farm gave different test names:\n%v\n%v", names[0], names[1])
	}
	addr := regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|:\d{4,5}\b`)
	for _, n := range names[0] {
		if addr.MatchString(n) {
			t.Errorf("test name %q holds an address", n)
		}
	}
}

// junitNames adds junit.xml's testcase names and suite names to names.
func junitNames(t *testing.T, path string, names *[]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Suites {
		*names = append(*names, "suite "+s.Name)
		for _, c := range s.Cases {
			*names = append(*names, "junit "+c.Classname+" / "+c.Name)
		}
	}
}

// junitProperties returns each testsuite's properties by suite name.
func junitProperties(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Props []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, s := range doc.Suites {
		out[s.Name] = map[string]string{}
		for _, p := range s.Props {
			out[s.Name][p.Name] = p.Value
		}
	}
	return out
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
