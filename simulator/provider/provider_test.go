package provider

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
)

func init() { Register() }

func TestDefaultFarmFileLoads(t *testing.T) {
	for _, load := range []func() (*farm.Config, error){
		func() (*farm.Config, error) { return farm.Load("../../devices.yaml") },
		farm.Builtin,
	} {
		c, err := load()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range c.Planned() {
			names = append(names, p.Name+"/"+p.Model)
		}
		if strings.Join(names, ",") != "panel-1/SimPanel-10,panel-2/SimPanel-10,tv-1/SimTV-S1,tv-2/SimTV-S1" || c.WeChat.Mode != WeChatSimulated {
			t.Fatalf("%s: devices %v, wechat %q", c.Path, names, c.WeChat.Mode)
		}
	}
}

func TestStableNames(t *testing.T) {
	c, err := farm.Parse([]byte(`version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
simulated:
  - {count: 2, profile: panel}
  - {count: 1, profile: panel, defects: [slow-launch]}
  - {count: 2, profile: tv, name: box}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.Planned() {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "panel-1,panel-2,panel-3,box-1,box-2" {
		t.Fatalf("names %v", names)
	}
	if SNOf("panel-3") != "SIM-PANEL-3" {
		t.Fatalf("sn %s", SNOf("panel-3"))
	}
}

func TestBadFieldsAreNamed(t *testing.T) {
	base := "version: 1\nadbServers: [{name: local, address: start}]\nwechat: {mode: simulated}\n"
	cases := []struct{ yaml, want string }{
		{base + "simulated: [{count: 0, profile: panel}]", "simulated[0].count 0: allowed 1..1000"},
		{base + "simulated: [{count: two, profile: panel}]", `simulated[0].count (line 4): got string "two", want an integer`},
		{base + "simulated: [{count: 1, profile: pnael}]", `simulated[0].profile "pnael": allowed panel, tv`},
		{base + "simulated: [{count: 1, profile: panel, defects: [slow]}]", `defect "slow": allowed values are`},
		{base + "simulated: [{count: 1, profile: panel, clockOffset: soon}]", `simulated[0].clockOffset: "soon"`},
		{base + "simulated: [{count: 2, profile: panel, port: 5554}]", "5555-5585"},
		{base + "simulated: [{count: 1, profile: panel, adbServer: lab}]", `simulated[0].adbServer "lab": allowed local`},
		{base + "simulated: [{count: 1, profile: panel, loss: melt}]", `simulated[0].loss "melt": allowed power-off, freeze`},
		{base + "simulated: [{count: 1, profile: panel, loseAtPush: -1}]", `simulated[0].loseAtPush -1: want a push count of 1 or more, or 0 (never)`},
		{base + "simulated: [{count: 1, profile: panel, lifetime: soon}]", `simulated[0].lifetime "soon": want a positive duration like 20s`},
		{base + "simulated: [{count: 1, profile: panel, colour: red}]", "simulated[0].colour (line 4): unknown field"},
		{base + "simulated: [{count: 1, profile: panel, auth: maybe}]", `simulated[0].auth (line 4): auth "maybe": allowed values are none, reject, accept`},
		{base + "simulated: [{count: 1, profile: panel, defect: [slow-launch]}]", "did you mean defects?"},
		{base + "simulated: [{count: 1, profile: panel}]\nprofiles: /nowhere\n", `profiles "/nowhere"`},
		{strings.Replace(base, "mode: simulated", "mode: real, url: https://api.weixin.qq.com, token: T", 1) + "simulated: [{count: 1, profile: panel}]", "simulated devices need wechat.mode simulated or url"},
		{strings.Replace(base, "{mode: simulated}", "{mode: simulated, faults: [melt]}", 1) + "simulated: [{count: 1, profile: panel}]", "wechat.faults: "},
		{strings.Replace(base, "{mode: simulated}", "{mode: container}", 1), "container: required with wechat.mode container"},
		{base + "container: {count: 1, profile: panel}\nsimulated: [{count: 1, profile: panel}]", "container: needs wechat.mode container"},
		{base + "simulated: [{count: 1, profile: panel}]\ndevices: [{name: panel-1, serial: a:1, sn: X, modelId: M, hostPackage: com.v.app, push: inject}]", `device name "panel-1" is also devices[0].name`},
	}
	for _, c := range cases {
		_, err := farm.Parse([]byte(c.yaml), "../..")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  error: %v\n  want it to contain: %s", c.yaml, err, c.want)
		}
	}
}

func TestParseOffset(t *testing.T) {
	o, err := ParseOffset("±4s", 3)
	if err != nil || o[0].Seconds() != -4 || o[1] != 0 || o[2].Seconds() != 4 {
		t.Fatalf("%v %v", o, err)
	}
	if _, err := ParseOffset("-±4s", 2); err == nil {
		t.Fatal("bad spread accepted")
	}
}

// The default farm comes up through the harness's farm with this provider:
// four healthy devices with their stable names.
func TestDefaultFarmComesUpHealthy(t *testing.T) {
	cfg, err := farm.Load("../../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	var names []string
	for _, d := range f.Spec.Devices {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "panel-1,panel-2,tv-1,tv-2" || len(f.Spec.Excluded) != 0 || f.Spec.WeChat.URL == "" {
		t.Fatalf("devices %v, excluded %+v, wechat %+v", names, f.Spec.Excluded, f.Spec.WeChat)
	}
	for _, d := range f.Spec.Devices {
		if d.AndroidVersion == "" || d.SN != SNOf(d.Name) {
			t.Errorf("%s: android %q sn %q", d.Name, d.AndroidVersion, d.SN)
		}
	}
}

// A shard brings up only its devices.
func TestShardBringsUpItsDevices(t *testing.T) {
	cfg, err := farm.Load("../../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	only := cfg.ShardDevices(farm.Shard{Index: 2, Count: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: t.Logf, Only: only})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	var names []string
	for _, d := range f.Spec.Devices {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != strings.Join(only, ",") || len(names) != 2 {
		t.Fatalf("shard 2/2: up %v, want %v", names, only)
	}
}

// The farm starts its adb server again each time it dies, with the devices
// reconnected, up to its limit; then it reports the server failed.
func TestServerStartedAgainUntilItKeepsDying(t *testing.T) {
	cfg, err := farm.Parse([]byte(`version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
simulated: [{count: 2, profile: panel}]
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events := make(chan farm.ServerEvent, 32)
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: t.Logf, ServerEvents: func(e farm.ServerEvent) { events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	ls := f.Servers()[0]
	addr := ls.Addr()
	next := func(phase string) farm.ServerEvent {
		t.Helper()
		select {
		case e := <-events:
			if e.Phase != phase {
				t.Fatalf("event %+v, want phase %s", e, phase)
			}
			return e
		case <-ctx.Done():
			t.Fatalf("no %s event", phase)
		}
		return farm.ServerEvent{}
	}
	const limit = 5
	for i := 0; i <= limit; i++ {
		if err := syscall.Kill(ls.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if e := next(farm.ServerExited); e.Exit != "signal: killed" {
			t.Errorf("exit %q, want signal: killed", e.Exit)
		}
		if i == limit {
			if e := next(farm.ServerFailed); e.Err == nil || !strings.Contains(e.Err.Error(), "not starting it again") {
				t.Errorf("after %d deaths: %+v", i+1, e)
			}
			break
		}
		e := next(farm.ServerRestarted)
		if len(e.Reconnected) != 2 || len(e.NotBack) != 0 {
			t.Fatalf("restart %d: reconnected %v, not back %v", i+1, e.Reconnected, e.NotBack)
		}
		if st, err := adb.NewClient(addr).Device(f.Spec.Devices[0].Serial).State(ctx); st != adb.StateDevice {
			t.Fatalf("restart %d: device state %s, %v", i+1, st, err)
		}
		t.Logf("restart %d: back with 2 devices in %v", i+1, e.Took)
	}
}
