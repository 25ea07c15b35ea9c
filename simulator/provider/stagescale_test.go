package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/farm"
)

const stageScaleFarm = `version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
simulated:
  - {count: 1, profile: panel, stageScale: {launch: 1.3}}
  - {count: 1, profile: tv}
`

// stageScale reaches the simulated devices of its group only, as their
// profile's timing; bad names and factors are errors naming the field.
func TestStageScaleReachesTheGroupsDevices(t *testing.T) {
	for yaml, want := range map[string]string{
		strings.Replace(stageScaleFarm, "launch: 1.3", "lunch: 1.3", 1): `simulated[0].stageScale: stage "lunch": allowed answer, delivery, handling, launch, launch-cold, launch-warm`,
		strings.Replace(stageScaleFarm, "launch: 1.3", "launch: 40", 1): "simulated[0].stageScale: launch 40: allowed factors 0.1..10",
	} {
		if _, err := farm.Parse([]byte(yaml), "."); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	cfg, err := farm.Parse([]byte(stageScaleFarm), ".")
	if err != nil {
		t.Fatal(err)
	}
	sup, err := Simulated{}.Configure(cfg, cfg.Sections)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	supply, err := sup.Up(ctx, farm.UpEnv{ADBServer: func(string) string { return "" }, Logf: t.Logf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer supply.Close(ctx)
	got := map[string]string{}
	for _, d := range sup.(*simSupplier).sim.Devices {
		got[d.Profile().Name] = d.Profile().Timing.MPWarmStart.String()
	}
	if got["panel"] != "lognormal(350ms, 800ms)*1.3" || got["tv"] != "lognormal(500ms, 1100ms)" {
		t.Errorf("warm starts %v; want panel's scaled by 1.3, tv's as in its profile", got)
	}
}
