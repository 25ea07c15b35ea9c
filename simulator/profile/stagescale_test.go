package profile

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A launch scaled by 1.3 moves the median of the Mini Program starts the
// simulated device sleeps by 30%, and leaves the other stages alone.
func TestStageScaleMovesTheMedian(t *testing.T) {
	panel, err := Find(profilesDir, "panel")
	if err != nil {
		t.Fatal(err)
	}
	slow, err := panel.ScaleStages(map[string]float64{"launch": 1.3})
	if err != nil {
		t.Fatal(err)
	}
	median := func(p *Profile, seed int64, d func(Timing) Dist) time.Duration {
		s := NewSampler(seed)
		v := make([]time.Duration, 4001)
		for i := range v {
			v[i] = s.Sample(d(p.Timing))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for name, d := range map[string]func(Timing) Dist{
		"mpWarmStart": func(t Timing) Dist { return t.MPWarmStart },
		"mpColdStart": func(t Timing) Dist { return t.MPColdStart },
	} {
		// Independent draws: the median of 4001 is within about 2% of the
		// distribution's (σ of the logarithm 0.36 at most).
		ratio := float64(median(slow, 2, d)) / float64(median(panel, 1, d))
		if ratio < 1.26 || ratio > 1.34 {
			t.Errorf("%s: median moved ×%.3f, want about 1.3", name, ratio)
		}
		t.Logf("%s: median ×%.3f", name, ratio)
	}
	if slow.Timing.PushDelivery.String() != panel.Timing.PushDelivery.String() || slow.Timing.MPWarmStart.String() == panel.Timing.MPWarmStart.String() {
		t.Errorf("scaled %s and %s; want only the launch scaled", slow.Timing.PushDelivery, slow.Timing.MPWarmStart)
	}
	if panel.Timing.MPWarmStart.String() != "lognormal(350ms, 800ms)" {
		t.Errorf("the profile itself changed: %s", panel.Timing.MPWarmStart)
	}
}

func TestStageScaleErrorsNameTheStageAndAllowedValues(t *testing.T) {
	for _, tc := range []struct {
		scale map[string]float64
		want  string
	}{
		{map[string]float64{"lanuch": 1.3}, `stage "lanuch": allowed answer, delivery, handling, launch, launch-cold, launch-warm`},
		{map[string]float64{"launch": 0}, "launch 0: allowed factors 0.1..10"},
		{map[string]float64{"answer": 11}, "answer 11: allowed factors 0.1..10"},
		{map[string]float64{"launch": 1.2, "launch-warm": 1.1}, "launch and launch-warm both scale timing.mpWarmStart"},
	} {
		err := CheckStageScale(tc.scale)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.scale, err, tc.want)
		}
	}
	if err := CheckStageScale(map[string]float64{"launch-cold": 2, "launch-warm": 0.5, "delivery": 1}); err != nil {
		t.Errorf("valid scale refused: %v", err)
	}
	// Every stage names timing fields the profile has.
	p, _ := Find(profilesDir, "panel")
	for _, st := range StageNames() {
		if _, err := p.ScaleStages(map[string]float64{st: 2}); err != nil {
			t.Errorf("%s: %v", st, err)
		}
	}
}
