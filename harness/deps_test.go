// Package harness holds no code of its own: this test keeps the project's
// dependency rule (docs/development.md, "Who may import whom"). It reads the
// packages' non-test imports, transitively, with `go list -deps -json`.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// rule forbids the packages matching from (but not those in except) to
// depend, directly or through others, on those matching forbid (but not
// those in allow). Patterns are relative to the module: "harness/..." is
// harness and everything below it, "harness/runner" that package alone.
type rule struct {
	from   string
	except []string
	forbid string
	allow  []string
	why    string
}

var rules = []rule{
	{from: "harness/...", forbid: "simulator/...",
		why: "the harness stands alone: it reaches devices over ADB and the WeChat side over HTTP; the simulator is one provider of devices among others and registers itself with harness/farm"},
	{from: "harness/...", except: []string{"harness/runner"}, forbid: "harness/runner",
		why: "harness/runner, the supervisor, sits on top: harness/framework and the packages below it never reach up to it"},
	{from: "harness/...", except: []string{"harness/framework", "harness/runner"}, forbid: "harness/framework",
		why: "harness/framework sits on top of the other harness packages; they never reach up to it"},
	{from: "simulator/...", forbid: "harness/framework",
		why: "the simulator may use the harness's leaf packages (protocol, contract, farm, device, adb), never the Ginkgo glue"},
	{from: "simulator/...", forbid: "harness/runner",
		why: "the simulator may use the harness's leaf packages (protocol, contract, farm, device, adb), never the supervisor"},
	{from: "simulator/...", forbid: "suites/...",
		why: "the simulator knows nothing of the specs that test it"},
	{from: "suites/...", forbid: "harness/runner",
		why: "specs use the framework; the supervisor runs them, not the other way round"},
	{from: "suites/...", forbid: "simulator/...", allow: []string{"simulator/wechat"},
		why: "specs must run on any provider's devices; only simulator/wechat's DeviceClient is allowed (one bad-input spec activates a second device on a simulated WeChat side); the provider is registered by the commands and suites_test.go"},
}

// pkg is what the rule needs of `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	DepOnly    bool
	Standard   bool
}

// graph is the packages of the module (and their dependencies) by path.
type graph struct {
	module string
	pkgs   map[string]*pkg
}

// match says whether a module-relative package path matches a pattern.
func match(pattern, rel string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

func matchAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		if match(p, rel) {
			return true
		}
	}
	return false
}

// rel gives a package's path relative to the module, or false for a
// package outside it.
func (g *graph) rel(path string) (string, bool) {
	return strings.CutPrefix(path, g.module+"/")
}

// chain is the shortest import path from one package to another, by their
// direct imports, module-relative.
func (g *graph) chain(from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var out []string
			for p := to; p != ""; p = prev[p] {
				r, ok := g.rel(p)
				if !ok {
					r = p
				}
				out = append([]string{r}, out...)
			}
			return out
		}
		p := g.pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	return []string{from, "…", to}
}

// check returns every broken rule, one line each, and the rules whose from
// matched no package of the module (a renamed package would otherwise turn
// its rule off without a word).
func (g *graph) check(rules []rule) (violations, unused []string) {
	var roots []string
	for path, p := range g.pkgs {
		if _, ok := g.rel(path); ok && !p.DepOnly {
			roots = append(roots, path)
		}
	}
	sort.Strings(roots)
	for _, r := range rules {
		used := false
		for _, root := range roots {
			from, _ := g.rel(root)
			if !match(r.from, from) || matchAny(r.except, from) {
				continue
			}
			used = true
			for _, dep := range g.pkgs[root].Deps {
				to, ok := g.rel(dep)
				if !ok || !match(r.forbid, to) || matchAny(r.allow, to) {
					continue
				}
				violations = append(violations, fmt.Sprintf("%s depends on %s (%s): %s",
					from, to, strings.Join(g.chain(root, dep), " → "), r.why))
			}
		}
		if !used {
			unused = append(unused, fmt.Sprintf("%s must not depend on %s: no package matches %s", r.from, r.forbid, r.from))
		}
	}
	return violations, unused
}

// listModule reads `go list -deps -json ./...` at the module's root.
func listModule(t *testing.T) *graph {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-json=ImportPath,Imports,Deps,DepOnly,Standard", "./...")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list -deps -json ./... in %s: %v\n%s", root, err, stderr.String())
	}
	modCmd := exec.CommandContext(ctx, "go", "list", "-m")
	modCmd.Dir = root
	mod, err := modCmd.Output()
	if err != nil {
		t.Fatalf("go list -m in %s: %v", root, err)
	}
	g := &graph{module: strings.TrimSpace(string(mod)), pkgs: map[string]*pkg{}}
	dec := json.NewDecoder(&stdout)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if !p.Standard {
			g.pkgs[p.ImportPath] = &p
		}
	}
	return g
}

func TestDependencyRule(t *testing.T) {
	g := listModule(t)
	if len(g.pkgs) == 0 || g.module == "" {
		t.Fatalf("go list found no packages (module %q)", g.module)
	}
	violations, unused := g.check(rules)
	for _, v := range violations {
		t.Error(v)
	}
	for _, u := range unused {
		t.Error("a rule checks nothing: " + u)
	}
}

// TestDependencyRuleCatches runs the check on a made-up module, so that
// the rule is known to fail when it should.
func TestDependencyRuleCatches(t *testing.T) {
	const m = "example.com/m"
	p := func(path string, imports, deps []string) *pkg {
		return &pkg{ImportPath: m + "/" + path, Imports: imports, Deps: deps}
	}
	full := func(rel ...string) []string {
		var out []string
		for _, r := range rel {
			out = append(out, m+"/"+r)
		}
		return out
	}
	g := &graph{module: m, pkgs: map[string]*pkg{}}
	for _, x := range []*pkg{
		p("harness/farm", full("internal/fake"), full("internal/fake", "simulator/adbd", "internal/wire")),
		p("internal/fake", full("simulator/adbd"), full("simulator/adbd", "internal/wire")),
		p("simulator/adbd", full("internal/wire"), full("internal/wire")),
		p("internal/wire", nil, nil),
		p("harness/framework", full("harness/runner"), full("harness/runner")),
		p("harness/runner", full("harness/framework"), nil),
		p("suites", full("simulator/wechat", "simulator/adbd"), full("simulator/wechat", "simulator/adbd", "internal/wire")),
		p("simulator/wechat", nil, nil),
	} {
		g.pkgs[x.ImportPath] = x
	}
	violations, unused := g.check(rules)
	want := []string{
		"harness/farm depends on simulator/adbd (harness/farm → internal/fake → simulator/adbd)",
		"harness/framework depends on harness/runner (harness/framework → harness/runner)",
		"suites depends on simulator/adbd (suites → simulator/adbd)",
	}
	if len(violations) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(violations), len(want), strings.Join(violations, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(violations[i], w+": ") {
			t.Errorf("violation %d = %q, want it to start with %q", i, violations[i], w)
		}
	}
	if len(unused) != 0 {
		t.Errorf("every rule matches a package of the made-up module, got unused: %q", unused)
	}

	// A rule whose packages are gone is reported, not passed.
	_, unused = g.check([]rule{{from: "gone/...", forbid: "simulator/..."}})
	if len(unused) != 1 || !strings.Contains(unused[0], "no package matches gone/...") {
		t.Errorf("unused = %q, want the rule for gone/... named", unused)
	}
}
