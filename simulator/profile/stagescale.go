package profile

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// StageTimings names the stages of a call whose timing a simulated farm
// can scale (stageScale in devices.yaml), as the harness's figures name
// them, with the timing fields each covers: scaling a stage by 1.3 makes
// it about 30% slower, for rehearsing how a release gate sees a
// regression of that size.
var StageTimings = map[string][]string{
	"delivery":    {"pushDelivery"},
	"handling":    {"appHandle", "notificationShow", "autoAccept"},
	"launch":      {"mpColdStart", "mpWarmStart", "prefetchSaving"},
	"launch-cold": {"mpColdStart", "prefetchSaving"},
	"launch-warm": {"mpWarmStart"},
	"answer":      {"autoAnswer", "tapAnswer"},
}

// Stage scale factors allowed.
const (
	MinStageScale = 0.1
	MaxStageScale = 10
)

// StageNames lists the stages StageTimings knows, sorted.
func StageNames() []string {
	out := make([]string, 0, len(StageTimings))
	for k := range StageTimings {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckStageScale reports the first stage name or factor that is not
// allowed, or two stages scaling the same timing (launch and launch-warm).
func CheckStageScale(scale map[string]float64) error {
	owner := map[string]string{}
	for _, st := range sortedStages(scale) {
		f := scale[st]
		fields, ok := StageTimings[st]
		if !ok {
			return fmt.Errorf("stage %q: allowed %s", st, strings.Join(StageNames(), ", "))
		}
		if !(f >= MinStageScale && f <= MaxStageScale) {
			return fmt.Errorf("%s %g: allowed factors %g..%g", st, f, float64(MinStageScale), float64(MaxStageScale))
		}
		for _, fl := range fields {
			if o, dup := owner[fl]; dup {
				return fmt.Errorf("%s and %s both scale timing.%s: give one of them", o, st, fl)
			}
			owner[fl] = st
		}
	}
	return nil
}

func sortedStages(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ScaleStages returns a copy of the profile with the timing of the named
// stages multiplied by their factors; the profile itself is unchanged.
func (p *Profile) ScaleStages(scale map[string]float64) (*Profile, error) {
	if err := CheckStageScale(scale); err != nil {
		return nil, fmt.Errorf("profile %s: stageScale: %w", p.Name, err)
	}
	out := *p
	tv := reflect.ValueOf(&out.Timing).Elem()
	byTag := map[string]reflect.Value{}
	for i := range tv.NumField() {
		byTag[strings.Split(tv.Type().Field(i).Tag.Get("yaml"), ",")[0]] = tv.Field(i)
	}
	for _, st := range sortedStages(scale) {
		for _, fl := range StageTimings[st] {
			v, ok := byTag[fl]
			if !ok {
				return nil, fmt.Errorf("profile %s: stageScale: %s: no timing.%s", p.Name, st, fl)
			}
			d := v.Interface().(Dist)
			v.Set(reflect.ValueOf(d.Scale(scale[st])))
		}
	}
	return &out, nil
}
