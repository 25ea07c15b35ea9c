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
