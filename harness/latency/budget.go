package latency

import (
	"bytes"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/fixtures"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Budgets are the project's answer-latency and timing budgets
// (fixtures/budgets.yaml). No budget is published by the vendor; Android
// calls a cold app start of 5 s or more excessive, which bounds "total".
type Budgets struct {
	// Segments: per call, a segment over Max fails the call; over a run,
	// a segment whose p90 exceeds P90 fails the gate.
	Segments map[string]SegmentBudget `yaml:"segments"`
	// Restart: WMPF killed → restarted and activated again.
	Restart time.Duration `yaml:"restart"`
	// Leave: the call ended → the device off the call page.
	Leave time.Duration `yaml:"leave"`
	// PushDelivery: how long a push may take to reach the host app before
	// it is reported lost.
	PushDelivery time.Duration `yaml:"pushDelivery"`
	// Reboot: `adb reboot` → the device back, booted, and its host app
	// ready for a call (WMPF running, activated, listening), by model.
	// Optional: DefaultReboot for a model the file does not name.
	Reboot RebootBudget `yaml:"reboot"`
}

// RebootBudget bounds reboot-to-callable, per device model.
type RebootBudget struct {
	Default time.Duration            `yaml:"default"`
	Models  map[string]time.Duration `yaml:"models"`
}

// DefaultReboot is the reboot budget of a model no budgets file names:
// real devices take 20–60 s to boot.
const DefaultReboot = 2 * time.Minute

// RebootFor is the reboot budget of a device model.
func (b *Budgets) RebootFor(model string) time.Duration {
	if d, ok := b.Reboot.Models[model]; ok && d > 0 {
		return d
	}
	if b.Reboot.Default > 0 {
		return b.Reboot.Default
	}
	return DefaultReboot
}

// SegmentBudget bounds one segment.
type SegmentBudget struct {
	Max time.Duration `yaml:"max"`
	P90 time.Duration `yaml:"p90"`
}

// segmentKeys are the budget keys: segment names, with "launch" split by
// cold and warm start.
func segmentKeys() []string {
	var keys []string
	for _, s := range Segments {
		if s.Name == "launch" {
			keys = append(keys, "launch-cold", "launch-warm")
			continue
		}
		keys = append(keys, s.Name)
	}
	return keys
}

// LoadBudgets reads and checks a budgets file.
func LoadBudgets(path string) (*Budgets, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	b, err := ParseBudgets(data)
	if err != nil {
		return nil, fmt.Errorf("budgets %s: %w", path, err)
	}
	return b, nil
}

// ParseBudgets decodes budgets; unknown keys and missing ones are errors.
func ParseBudgets(data []byte) (*Budgets, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var b Budgets
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	keys := segmentKeys()
	var missing []string
	for _, k := range keys {
		sb, ok := b.Segments[k]
		if !ok {
			missing = append(missing, "segments."+k)
			continue
		}
		if sb.Max <= 0 || sb.P90 <= 0 {
			return nil, fmt.Errorf("segments.%s: max and p90 must be positive durations (got max=%v p90=%v)", k, sb.Max, sb.P90)
		}
		if sb.P90 > sb.Max {
			return nil, fmt.Errorf("segments.%s: p90 %v is above max %v", k, sb.P90, sb.Max)
		}
	}
	for k := range b.Segments {
		if !contains(keys, k) {
			return nil, fmt.Errorf("segments.%s: unknown segment; allowed %s", k, strings.Join(keys, ", "))
		}
	}
	for name, d := range map[string]time.Duration{"restart": b.Restart, "leave": b.Leave, "pushDelivery": b.PushDelivery} {
		if d <= 0 {
			missing = append(missing, name)
		}
	}
	if b.Reboot.Default < 0 {
		return nil, fmt.Errorf("reboot.default %v: want a positive duration", b.Reboot.Default)
	}
	for m, d := range b.Reboot.Models {
		if d <= 0 {
			return nil, fmt.Errorf("reboot.models.%s %v: want a positive duration", m, d)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("missing or zero: %s", strings.Join(missing, ", "))
	}
	return &b, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Key is the budget key of a segment for a call ("launch-cold" for launch).
func (c Call) Key(seg Segment) string {
	if seg.Name == "launch" {
		if c.Start == "warm" {
			return "launch-warm"
		}
		return "launch-cold"
	}
	return seg.Name
}

// Violation is a segment over its budget.
type Violation struct {
	Key    string
	Got    time.Duration
	Budget time.Duration
}

func (v Violation) String() string {
	return fmt.Sprintf("%s took %v, budget %v", v.Key, v.Got.Round(100*time.Microsecond), v.Budget)
}

// Check returns the segments of a call over their Max.
func (b *Budgets) Check(c Call) []Violation {
	var out []Violation
	for _, seg := range Segments {
		d, ok := c.Duration(seg)
		if !ok {
			continue
		}
		key := c.Key(seg)
		if sb, ok := b.Segments[key]; ok && d > sb.Max {
			out = append(out, Violation{Key: key, Got: d, Budget: sb.Max})
		}
	}
	return out
}

// BuiltinBudgets are the budgets built into the binary
// (fixtures/budgets.yaml).
func BuiltinBudgets() (*Budgets, error) {
	data, err := fixtures.Read(fixtures.BudgetsFile)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	b, err := ParseBudgets(data)
	if err != nil {
		return nil, fmt.Errorf("built-in budgets: %w", err)
	}
	return b, nil
}
