package farm

import (
	"strings"
	"testing"
)

func TestDefaultFarmFileLoads(t *testing.T) {
	c, err := Load("../../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range c.Simulated {
		n += g.Count
	}
	if n != 4 || c.WeChat.Mode != "simulated" {
		t.Fatalf("default farm: %d simulated devices, wechat %q", n, c.WeChat.Mode)
	}
}

func TestBadFieldsAreNamed(t *testing.T) {
	base := "version: 1\nadbServers: [{name: local, address: start}]\nwechat: {mode: simulated}\nbudgets: fixtures/budgets.yaml\nprofiles: fixtures/profiles\n"
	cases := []struct{ yaml, want string }{
		{base + "simulated: [{count: 0, profile: panel}]", "simulated[0].count 0: allowed 1..256"},
		{base + "simulated: [{count: 1, profile: pnael}]", `simulated[0].profile "pnael": allowed panel, tv`},
		{base + "simulated: [{count: 1, profile: panel, defects: [slow]}]", `defect "slow": allowed values are`},
		{base + "simulated: [{count: 1, profile: panel, clockOffset: soon}]", `simulated[0].clockOffset: "soon"`},
		{base + "simulated: [{count: 2, profile: panel, port: 5554}]", "5555-5585"},
		{base + "simulated: [{count: 1, profile: panel, adbServer: lab}]", `simulated[0].adbServer "lab": allowed local`},
		{base + "simulated: [{count: 1, profile: panel, loss: melt}]", `simulated[0].loss "melt": allowed power-off, freeze`},
		{base + "simulated: [{count: 1, profile: panel, loseAtPush: -1}]", `simulated[0].loseAtPush -1: want a push count of 1 or more, or 0 (never)`},
		{base + "simulated: [{count: 1, profile: panel, lifetime: soon}]", `simulated[0].lifetime "soon": want a positive duration like 20s`},
		{base + "simulated: [{count: 1, profile: panel, colour: red}]", "field colour not found"},
		{base + "devices: [{serial: 10.0.0.2:5555, sn: X, modelId: M, hostPackage: com.v.app, push: carrier}]", `devices[0].push "carrier": allowed inject, wechat, pushapi`},
		{base + "devices: [{serial: usb123, connect: true, sn: X, modelId: M, hostPackage: com.v.app, push: inject}]", "only network devices can be connected"},
		{base + "devices: [{serial: a:1, sn: X, modelId: M, hostPackage: app, push: inject}]", `devices[0].hostPackage "app"`},
		{base + "devices: [{serial: a:1, sn: X, modelId: M, hostPackage: com.v.app, push: inject, ui: {answer: 接听}}]", `devices[0].ui.answer "接听": want text=`},
		{strings.Replace(base, "mode: simulated", "mode: cloud", 1) + "simulated: [{count: 1, profile: panel}]", `wechat.mode "cloud": allowed simulated, url, real`},
		{strings.Replace(base, "address: start", "address: tcp:host:99999", 1) + "simulated: [{count: 1, profile: panel}]", `adbServers[0].address "tcp:host:99999"`},
		{strings.Replace(base, "version: 1", "version: 2", 1) + "simulated: [{count: 1, profile: panel}]", "version 2: allowed 1"},
		{base, "no devices"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.yaml), "../..")
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
