package farm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/internal/strictyaml"
)

// testProvider is a provider for the tests of the farm file: it owns the
// section "fakes" (a list of {count, model}) and serves wechat.mode fake.
type testProvider struct{}

type fakeGroup struct {
	Count int    `yaml:"count"`
	Model string `yaml:"model"`
}

type fakeSupplier struct{ planned []Planned }

func (testProvider) Name() string                                            { return "fake" }
func (testProvider) Sections() []string                                      { return []string{"fakes"} }
func (testProvider) WeChatModes() []WeChatMode                               { return []WeChatMode{"fake"} }
func (s *fakeSupplier) Planned() []Planned                                   { return s.planned }
func (s *fakeSupplier) Up(context.Context, UpEnv, []string) (*Supply, error) { return &Supply{}, nil }

func (testProvider) Configure(c *Config, sections map[string]*yaml.Node) (Supplier, error) {
	var groups []fakeGroup
	if n := sections["fakes"]; n != nil {
		if err := strictyaml.Decode(n, "fakes", &groups); err != nil {
			return nil, err
		}
	}
	s := &fakeSupplier{}
	for gi, g := range groups {
		for i := range g.Count {
			s.planned = append(s.planned, Planned{Name: fmt.Sprintf("%s-%d", g.Model, i+1), Model: g.Model, Field: "fakes"})
		}
		_ = gi
	}
	return s, nil
}

func init() { Register(testProvider{}) }

const base = "version: 1\nadbServers: [{name: local, address: start}]\nwechat: {mode: fake}\n"

func TestGoodFarmFiles(t *testing.T) {
	c, err := Parse([]byte(base+"fakes: [{count: 2, model: a}, {count: 1, model: b}]\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	if n := c.DeviceCount(); n != 3 || c.MatrixOrDefault() != MatrixDevice || c.LoadedBudgets() == nil {
		t.Fatalf("%d devices, matrix %s, budgets %v", n, c.MatrixOrDefault(), c.LoadedBudgets())
	}
	real := base + `devices:
  - {serial: 10.0.0.2:5555, connect: true, sn: SN-1, modelId: M, model: X, hostPackage: com.v.app, push: inject}
  - {name: lab-2, serial: R58N, sn: SN-2, modelId: M, hostPackage: com.v.app, push: inject}
run: {matrix: model, quarantineAfter: 3, retries: {infrastructure: 1}}
`
	c, err = Parse([]byte(real), ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.Planned() {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "SN-1,lab-2" || c.Run.Matrix != MatrixModel {
		t.Fatalf("names %v, matrix %s", names, c.Run.Matrix)
	}
}

func TestBuiltinFarmIsTheDefaultFile(t *testing.T) {
	disk, err := os.ReadFile("../../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built, err := os.ReadFile("../../fixtures/farms/default.yaml")
	if err != nil || string(built) != string(disk) {
		t.Fatalf("fixtures/farms/default.yaml differs from devices.yaml (%v): keep them the same", err)
	}
}

func TestBadFarmFilesNameTheField(t *testing.T) {
	dir := t.TempDir()
	notBudgets := filepath.Join(dir, "notes.yaml")
	if err := os.WriteFile(notBudgets, []byte("shopping: [milk]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dev := "devices: [{serial: 10.0.0.2:5555, sn: X, modelId: M, hostPackage: com.v.app, push: inject}]\n"
	cases := []struct{ yaml, want string }{
		{"", "the file is empty"},
		{"# nothing\n", "no YAML document"},
		{base + dev + "---\nversion: 1\n", "a second YAML document"},
		{base + "fakes: [{count: two, model: a}]\n", `fakes[0].count (line 4): got string "two", want an integer`},
		{base + "fake: [{count: 1, model: a}]\n", "fake (line 4): unknown field; did you mean fakes?"},
		{base + "devcies: []\n", "devcies (line 4): unknown field; did you mean devices?"},
		{base + "run: {latencyCalls: lots}\n" + dev, `run.latencyCalls (line 4): got string "lots", want an integer`},
		{base + "run: {matrx: model}\n" + dev, "run.matrx (line 4): unknown field; did you mean matrix?"},
		{base + "run: {matrix: all}\n" + dev, `run.matrix "all": allowed device, model, any`},
		{base + "devices: [{serial: 10.0.0.2:5555, sn: X, modelId: M, hostPackage: com.v.app, push: carrier}]", `devices[0].push "carrier": allowed inject, wechat, pushapi`},
		{base + "devices: [{serial: usb123, connect: true, sn: X, modelId: M, hostPackage: com.v.app, push: inject}]", "only network devices can be connected"},
		{base + "devices: [{serial: a:1, sn: X, modelId: M, hostPackage: app, push: inject}]", `devices[0].hostPackage "app"`},
		{base + "devices: [{serial: a:1, sn: X, modelId: M, hostPackage: com.v.app, push: inject, ui: {answer: 接听}}]", `devices[0].ui.answer "接听": want text=`},
		{base + "devices: [{serial: a:1, sn: X, modelId: M, hostPackage: com.v.app, push: inject}, {serial: b:1, sn: X, modelId: M, hostPackage: com.v.app, push: inject}]", `device name "X" is also devices[0].name`},
		{base + "devices: [{serial: a:1, name: 'my phone', sn: X, modelId: M, hostPackage: com.v.app, push: inject}]", `devices[0].name "my phone": want 1 to 63 letters`},
		{strings.Replace(base, "mode: fake", "mode: cloud", 1) + dev, `wechat.mode "cloud": allowed fake, url, real`},
		{strings.Replace(base, "address: start", "address: tcp:host:99999", 1) + dev, `adbServers[0].address "tcp:host:99999"`},
		{strings.Replace(base, "address: start", "address: start, shard: 300", 1) + dev, `adbServers[0].shard 300: allowed 1..256`},
		{strings.Replace(base, "version: 1", "version: 2", 1) + dev, "version 2: allowed 1"},
		{base + "budgets: " + notBudgets + "\n" + dev, `budgets "` + notBudgets + `": `},
		{base + "budgets: nowhere.yaml\n" + dev, `budgets "nowhere.yaml": `},
		{base, "no devices"},
		{base + "fakes: [{count: 1001, model: a}]\n", "the farm has 1001 devices; allowed at most 1000"},
		{base + "devices: [{serial: a:1, sn: X, modelId: M, hostPackage: com.v.app, push: inject, install: {apk: missing.apk}}]", `devices[0].install.apk "missing.apk"`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.yaml), dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  error: %v\n  want it to contain: %s", c.yaml, err, c.want)
		}
	}
}

func TestShardsSplitWholeDevicesByModel(t *testing.T) {
	c, err := Parse([]byte(base+"fakes: [{count: 4, model: a}, {count: 3, model: b}, {count: 1, model: c}]\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	perShardModels := []map[string]int{}
	for i := 1; i <= 3; i++ {
		got := c.ShardDevices(Shard{Index: i, Count: 3})
		again := c.ShardDevices(Shard{Index: i, Count: 3})
		if strings.Join(got, ",") != strings.Join(again, ",") {
			t.Fatalf("shard %d not deterministic: %v then %v", i, got, again)
		}
		models := map[string]int{}
		for _, n := range got {
			seen[n]++
			models[n[:1]]++
		}
		perShardModels = append(perShardModels, models)
		if len(got) < 2 || len(got) > 3 {
			t.Errorf("shard %d has %d devices: %v", i, len(got), got)
		}
	}
	if len(seen) != 8 {
		t.Fatalf("shards cover %d of 8 devices: %v", len(seen), seen)
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("%s in %d shards", n, k)
		}
	}
	for _, m := range []string{"a", "b"} {
		for i, models := range perShardModels {
			if models[m] == 0 {
				t.Errorf("shard %d has no device of model %s: %v", i+1, m, models)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for in, ok := range map[string]bool{"1/2": true, "2/2": true, "0/2": false, "3/2": false, "2": false, "a/b": false, "1/300": false} {
		if _, err := ParseShard(in); (err == nil) != ok {
			t.Errorf("ParseShard(%q): %v", in, err)
		}
	}
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	s, where, err := ShardFromEnv("", 4)
	if err != nil || s != (Shard{Index: 2, Count: 4}) || where != "JOB_COMPLETION_INDEX" {
		t.Fatalf("%v %s %v", s, where, err)
	}
	if _, _, err := ShardFromEnv("", 0); err == nil || !strings.Contains(err.Error(), "-shard-count") {
		t.Fatalf("index without count: %v", err)
	}
}
