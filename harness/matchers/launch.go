// Package matchers holds the suites' Gomega matchers. Their failure
// messages show expected and actual side by side, parameter by parameter.
package matchers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
)

// Launch is what launchMiniProgram was (or should be) called with.
type Launch struct {
	AppID   string
	AppType int
	Path    string
}

// LaunchOf reads a launch_called contract event.
func LaunchOf(ev contract.Event) (Launch, error) {
	if ev.Name != contract.EvLaunchCalled {
		return Launch{}, fmt.Errorf("event %s is not %s", ev.Name, contract.EvLaunchCalled)
	}
	t, ok := ev.Int("appType")
	if !ok {
		return Launch{}, fmt.Errorf("launch_called line without an integer appType: %s", ev.Raw)
	}
	return Launch{AppID: ev.Str("appid"), AppType: t, Path: ev.Str("path")}, nil
}

// Param is one query parameter as it appears in a path.
type Param struct {
	Key     string
	Raw     string // as written, percent-encoded
	Decoded string // decodeURIComponent of Raw
	Bad     bool   // Raw is not valid percent-encoding
}

// SplitPath splits a page path into its base and its parameters, in order.
func SplitPath(path string) (string, []Param) {
	base, q, _ := strings.Cut(path, "?")
	var out []Param
	if q == "" {
		return base, nil
	}
	for _, part := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(part, "=")
		p := Param{Key: k, Raw: v}
		d, err := url.PathUnescape(v)
		if err != nil {
			p.Bad = true
			d = v
		}
		p.Decoded = d
		out = append(out, p)
	}
	return base, out
}

// Diff is the comparison of one part of a launch.
type Diff struct {
	Name     string
	Expected string
	Actual   string
	Verdict  string // "ok", "DIFFERS", "MISSING", "UNEXPECTED"
}

// ComparePaths compares two page paths parameter by parameter. Values are
// compared as written, so an encoding difference is a difference.
func ComparePaths(expected, actual string) []Diff {
	eb, ep := SplitPath(expected)
	ab, ap := SplitPath(actual)
	var out []Diff
	out = append(out, diff("path", eb, ab))
	used := make([]bool, len(ap))
	for _, e := range ep {
		found := -1
		for i, a := range ap {
			if !used[i] && a.Key == e.Key {
				found = i
				break
			}
		}
		if found < 0 {
			out = append(out, Diff{Name: "  " + e.Key, Expected: show(e), Actual: "(absent)", Verdict: "MISSING"})
			continue
		}
		used[found] = true
		d := diff("  "+e.Key, show(e), show(ap[found]))
		if ap[found].Raw != e.Raw {
			d.Verdict = "DIFFERS"
		}
		out = append(out, d)
	}
	for i, a := range ap {
		if !used[i] {
			out = append(out, Diff{Name: "  " + a.Key, Expected: "(absent)", Actual: show(a), Verdict: "UNEXPECTED"})
		}
	}
	return out
}

func show(p Param) string {
	s := fmt.Sprintf("%q", p.Raw)
	if p.Bad {
		return s + " (invalid percent-encoding)"
	}
	if p.Decoded != p.Raw {
		s += fmt.Sprintf(" = %q", p.Decoded)
	}
	return s
}

func diff(name, e, a string) Diff {
	d := Diff{Name: name, Expected: e, Actual: a, Verdict: "ok"}
	if e != a {
		d.Verdict = "DIFFERS"
	}
	return d
}

// Table renders diffs, one a line, marking the ones that are not ok.
func Table(diffs []Diff) string {
	wName := 0
	for _, d := range diffs {
		wName = max(wName, len(d.Name))
	}
	var b strings.Builder
	for _, d := range diffs {
		mark := "  "
		if d.Verdict != "ok" {
			mark = "✗ "
		}
		fmt.Fprintf(&b, "%s%-*s  expected %s\n%s%-*s  actual   %s   %s\n", mark, wName, d.Name, d.Expected, "  ", wName, "", d.Actual, d.Verdict)
	}
	return b.String()
}

// Bad returns the diffs that are not ok.
func Bad(diffs []Diff) []Diff {
	var out []Diff
	for _, d := range diffs {
		if d.Verdict != "ok" {
			out = append(out, d)
		}
	}
	return out
}

type launchMatcher struct {
	expected Launch
	diffs    []Diff
	actual   Launch
}

// MatchLaunch succeeds when a launch_called event (or a Launch) has exactly
// the expected appid, appType and path: the same base path and every query
// parameter written the same way, none missing and none extra.
func MatchLaunch(expected Launch) types.GomegaMatcher { return &launchMatcher{expected: expected} }

func (m *launchMatcher) Match(actual any) (bool, error) {
	switch a := actual.(type) {
	case Launch:
		m.actual = a
	case contract.Event:
		l, err := LaunchOf(a)
		if err != nil {
			return false, err
		}
		m.actual = l
	default:
		return false, fmt.Errorf("MatchLaunch expects a contract.Event or a matchers.Launch, got %T", actual)
	}
	m.diffs = []Diff{
		diff("appid", fmt.Sprintf("%q", m.expected.AppID), fmt.Sprintf("%q", m.actual.AppID)),
		diff("appType", fmt.Sprint(m.expected.AppType), fmt.Sprint(m.actual.AppType)),
	}
	m.diffs = append(m.diffs, ComparePaths(m.expected.Path, m.actual.Path)...)
	return len(Bad(m.diffs)) == 0 && m.expected.Path == m.actual.Path, nil
}

func (m *launchMatcher) FailureMessage(actual any) string {
	var names []string
	for _, d := range Bad(m.diffs) {
		names = append(names, strings.TrimSpace(d.Name))
	}
	head := "launchMiniProgram was not called with what the push asked for"
	if len(names) > 0 {
		head += ": " + strings.Join(names, ", ") + " differ"
	} else {
		head += ": the parameters are in a different order"
	}
	return fmt.Sprintf("%s\n%s\nexpected path: %s\nactual path:   %s", head, Table(m.diffs), m.expected.Path, m.actual.Path)
}

func (m *launchMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("launchMiniProgram was called with exactly appid %s, appType %d, path %s", m.actual.AppID, m.actual.AppType, m.actual.Path)
}
