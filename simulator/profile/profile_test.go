package profile

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const profilesDir = "../../fixtures/profiles"

func TestShippedProfilesLoad(t *testing.T) {
	names, err := List(profilesDir)
	if err != nil || len(names) < 2 {
		t.Fatalf("profiles in %s: %v %v", profilesDir, names, err)
	}
	for _, n := range names {
		p, err := Find(profilesDir, n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if p.Name != n {
			t.Errorf("%s.yaml names itself %q", n, p.Name)
		}
	}
	tv, _ := Find(profilesDir, "tv")
	panel, _ := Find(profilesDir, "panel")
	if tv.Timing.AppHandle.String() != panel.Timing.AppHandle.String() || tv.Device.Model == panel.Device.Model {
		t.Errorf("tv does not inherit panel's appHandle or overrides nothing: %+v", tv)
	}
}

func TestProfileErrorsNameTheField(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name+".yaml")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	cases := map[string]string{
		"name: x\ntiming:\n  pushDelivery: fast\n":        "fast",
		"name: x\ntiming:\n  pushDelivery: 150\n":         "no unit",
		"name: x\ntiming:\n  pushDeliver: 150ms\n":        "pushDeliver",
		"name: x\ntiming:\n  mpColdStart: gamma(1s,2s)\n": "allowed uniform, normal, lognormal",
		"name: x\n":                 "timing.pushDelivery",
		"name: x\ninherits: nope\n": "nope",
	}
	i := 0
	for body, want := range cases {
		i++
		_, err := Load(write("p"+string(rune('a'+i)), body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %q", body, err, want)
		}
	}
}

func TestDistributions(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	d, err := ParseDist("lognormal(100ms, 400ms)")
	if err != nil {
		t.Fatal(err)
	}
	var n, above int
	var below100 int
	for range 20000 {
		s := d.Sample(r)
		n++
		if s > 400*time.Millisecond {
			above++
		}
		if s < 100*time.Millisecond {
			below100++
		}
	}
	if p := float64(above) / float64(n); p > 0.02 {
		t.Errorf("%.3f above the p99", p)
	}
	if p := float64(below100) / float64(n); p < 0.45 || p > 0.55 {
		t.Errorf("%.3f below the median", p)
	}
	u, _ := ParseDist("uniform(1ms, 2ms)")
	for range 100 {
		if s := u.Sample(r); s < time.Millisecond || s > 2*time.Millisecond {
			t.Fatalf("uniform sample %v", s)
		}
	}
}

func TestParseDefects(t *testing.T) {
	s, err := ParseDefects([]string{"late-listener", "slow-launch"})
	if err != nil || !s.Has(LateListener) || !s.Has(SlowLaunch) || s.Has(CrashOnPush) {
		t.Fatalf("%v %v", s, err)
	}
	if _, err := ParseDefects([]string{"late-listner"}); err == nil || !strings.Contains(err.Error(), "late-listener") {
		t.Fatalf("typo accepted or error lacks the allowed values: %v", err)
	}
	if _, err := ParseDefects([]string{"raw-caller", "double-encode-caller"}); err == nil {
		t.Fatal("exclusive defects accepted")
	}
}

func TestBuiltinProfilesAreTheShippedOnes(t *testing.T) {
	disk, err := List(profilesDir)
	if err != nil {
		t.Fatal(err)
	}
	built, err := Builtin().List()
	if err != nil || strings.Join(built, ",") != strings.Join(disk, ",") {
		t.Fatalf("built-in %v (%v), on disk %v", built, err, disk)
	}
	for _, n := range built {
		if _, err := Builtin().Find(n); err != nil {
			t.Errorf("built-in %s: %v", n, err)
		}
	}
	if _, err := Builtin().Find("pnael"); err == nil || !strings.Contains(err.Error(), "allowed: panel, tv") {
		t.Errorf("unknown built-in profile: %v", err)
	}
}

func TestOptionalTimingDefaultsAndLimits(t *testing.T) {
	p, err := Find(profilesDir, "panel")
	if err != nil {
		t.Fatal(err)
	}
	if p.Timing.HookLag.String() != DefaultHookLag.String() || p.Timing.DoubleLaunchGap.String() != DefaultDoubleLaunchGap.String() {
		t.Errorf("panel leaves hookLag and doubleLaunchGap out: got %q and %q, want the defaults %q and %q",
			p.Timing.HookLag, p.Timing.DoubleLaunchGap, DefaultHookLag, DefaultDoubleLaunchGap)
	}
	if lo, hi := p.Timing.HookLag.Range(); lo != 300*time.Millisecond || hi != lo {
		t.Errorf("default hookLag spans %v..%v, want 300ms", lo, hi)
	}
	if lo, hi := p.Timing.DoubleLaunchGap.Range(); lo != 50*time.Millisecond || hi != 200*time.Millisecond {
		t.Errorf("default doubleLaunchGap spans %v..%v, want 50ms..200ms", lo, hi)
	}

	dir := t.TempDir()
	base, _ := os.ReadFile(filepath.Join(profilesDir, "panel.yaml"))
	write := func(name, extra string) string {
		path := filepath.Join(dir, name+".yaml")
		body := strings.Replace(string(base), "name: panel", "name: "+name, 1) + extra
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	set, err := Load(write("set", "  hookLag: 1500ms\n  doubleLaunchGap: uniform(10ms, 20ms)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if set.Timing.HookLag.String() != "1500ms" || set.Timing.DoubleLaunchGap.String() != "uniform(10ms, 20ms)" {
		t.Errorf("set values not kept: %q %q", set.Timing.HookLag, set.Timing.DoubleLaunchGap)
	}
	// A child inherits the values its parent sets.
	child := filepath.Join(dir, "child.yaml")
	os.WriteFile(child, []byte("name: child\ninherits: set\n"), 0o644)
	if c, err := Load(child); err != nil {
		t.Errorf("child of set: %v", err)
	} else if c.Timing.HookLag.String() != "1500ms" {
		t.Errorf("child of set: hookLag %q, want the parent's 1500ms", c.Timing.HookLag)
	}
	for extra, want := range map[string]string{
		"  hookLag: 0ms\n":                     "timing.hookLag 0ms: allowed a lag of more than 0 and at most 10s",
		"  hookLag: 11s\n":                     "timing.hookLag 11s",
		"  hookLag: uniform(0ms, 1s)\n":        "timing.hookLag uniform(0ms, 1s)",
		"  hookLag: lognormal(1s, 20s)\n":      "at most 10s",
		"  hookLag: soon\n":                    "soon",
		"  doubleLaunchGap: 6s\n":              "timing.doubleLaunchGap 6s: allowed at most 5s",
		"  doubleLaunchGap: normal(4s, 1s)\n":  "timing.doubleLaunchGap normal(4s, 1s)",
		"  doubleLaunchGap: uniform(2s, 1s)\n": "uniform(A, B) needs A <= B",
	} {
		_, err := Load(write("bad", extra))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %q", extra, err, want)
		}
	}
}

func TestDistRange(t *testing.T) {
	for text, want := range map[string][2]time.Duration{
		"150ms":                   {150 * time.Millisecond, 150 * time.Millisecond},
		"uniform(1ms, 3ms)":       {time.Millisecond, 3 * time.Millisecond},
		"normal(100ms, 50ms)":     {0, 250 * time.Millisecond},
		"lognormal(100ms, 400ms)": {25 * time.Millisecond, 400 * time.Millisecond},
	} {
		d, err := ParseDist(text)
		if err != nil {
			t.Fatal(err)
		}
		if lo, hi := d.Range(); lo != want[0] || hi != want[1] {
			t.Errorf("%s: range %v..%v, want %v..%v", text, lo, hi, want[0], want[1])
		}
	}
	// The log-normal range is where its draws fall, 98% of them.
	d, _ := ParseDist("lognormal(100ms, 400ms)")
	lo, hi := d.Range()
	r := rand.New(rand.NewPCG(3, 3))
	in := 0
	for range 20000 {
		if s := d.Sample(r); s >= lo && s <= hi {
			in++
		}
	}
	if f := float64(in) / 20000; f < 0.97 || f > 0.99 {
		t.Errorf("%.3f of log-normal draws within %v..%v, want about 0.98", f, lo, hi)
	}
}

func TestNewDefectsParse(t *testing.T) {
	s, err := ParseDefects([]string{"double-launch", "lagging-hooks", "no-token-refresh"})
	if err != nil || !s.Has(DoubleLaunch) || !s.Has(LaggingHooks) || !s.Has(NoTokenRefresh) {
		t.Fatalf("%v %v", s, err)
	}
	names := strings.Join(DefectNames(), " ")
	for _, n := range []string{"double-launch", "lagging-hooks", "no-token-refresh"} {
		if !strings.Contains(names, n) || Defects[Defect(n)] == "" {
			t.Errorf("defect %s not listed with a description: %s", n, names)
		}
	}
	if _, err := ParseDefects([]string{"double-lunch"}); err == nil || !strings.Contains(err.Error(), "double-launch") {
		t.Errorf("typo: %v", err)
	}
}
