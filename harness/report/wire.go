package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/latency"
)

// The JSON of the records: durations in ms as numbers with an Ms suffix,
// times absent when unknown. Decoding also accepts the records of runs
// written before schema v1 (durations in ns, budgets as Go field names,
// the call nested under "call", "procs", an attempt count), so old runs
// still render.

// toMs is a duration in ms.
func toMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fromMs is ms as a duration; non-finite or absurd figures are clamped to
// ±maxAbsMs.
func fromMs(ms float64) time.Duration {
	if math.IsNaN(ms) {
		return 0
	}
	ms = math.Max(-maxAbsMs, math.Min(maxAbsMs, ms))
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// budgetMs is a segment budget on the wire.
type budgetMs struct {
	MaxMs float64 `json:"maxMs"`
	P90Ms float64 `json:"p90Ms"`
}

// budgetIn reads a budget of either schema.
type budgetIn struct {
	MaxMs *float64 `json:"maxMs"`
	P90Ms *float64 `json:"p90Ms"`
	Max   *int64   `json:"Max"` // before v1: ns
	P90   *int64   `json:"P90"`
}

func (b budgetIn) budget() latency.SegmentBudget {
	var s latency.SegmentBudget
	switch {
	case b.MaxMs != nil:
		s.Max = fromMs(*b.MaxMs)
	case b.Max != nil:
		s.Max = time.Duration(*b.Max)
	}
	switch {
	case b.P90Ms != nil:
		s.P90 = fromMs(*b.P90Ms)
	case b.P90 != nil:
		s.P90 = time.Duration(*b.P90)
	}
	return s
}

// MarshalJSON writes budgets as {KEY: {maxMs, p90Ms}}.
func (r RunInfo) MarshalJSON() ([]byte, error) {
	type alias RunInfo
	w := struct {
		alias
		Budgets map[string]budgetMs `json:"budgets,omitempty"`
	}{alias: alias(r)}
	if len(r.Budgets) > 0 {
		w.Budgets = make(map[string]budgetMs, len(r.Budgets))
		for k, b := range r.Budgets {
			w.Budgets[k] = budgetMs{MaxMs: toMs(b.Max), P90Ms: toMs(b.P90)}
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a run of either schema.
func (r *RunInfo) UnmarshalJSON(b []byte) error {
	type alias RunInfo
	w := struct {
		*alias
		Budgets map[string]budgetIn `json:"budgets"`
		Procs   int                 `json:"procs"` // before v1
	}{alias: (*alias)(r)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if r.Workers == 0 {
		r.Workers = w.Procs
	}
	if len(w.Budgets) > 0 {
		r.Budgets = make(map[string]latency.SegmentBudget, len(w.Budgets))
		for k, v := range w.Budgets {
			r.Budgets[k] = v.budget()
		}
	}
	return nil
}

// MarshalJSON writes the clock offsets in ms.
func (d DeviceInfo) MarshalJSON() ([]byte, error) {
	type alias DeviceInfo
	w := struct {
		alias
		ClockOffsetEstimatedMs float64 `json:"clockOffsetEstimatedMs,omitempty"`
		ClockOffsetSetMs       float64 `json:"clockOffsetSetMs,omitempty"`
	}{alias: alias(d), ClockOffsetEstimatedMs: toMs(d.ClockOffsetEstimated), ClockOffsetSetMs: toMs(d.ClockOffsetSet)}
	if math.IsNaN(d.ClockDriftPPM) || math.IsInf(d.ClockDriftPPM, 0) {
		return nil, fmt.Errorf("device %q: clockDriftPPM is %v", d.Name, d.ClockDriftPPM)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a device of either schema.
func (d *DeviceInfo) UnmarshalJSON(b []byte) error {
	type alias DeviceInfo
	w := struct {
		*alias
		EstMs *float64 `json:"clockOffsetEstimatedMs"`
		SetMs *float64 `json:"clockOffsetSetMs"`
		EstNs *int64   `json:"clockOffsetEstimated"` // before v1
		SetNs *int64   `json:"clockOffsetSet"`
	}{alias: (*alias)(d)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d.ClockOffsetEstimated = msOrNs(w.EstMs, w.EstNs)
	d.ClockOffsetSet = msOrNs(w.SetMs, w.SetNs)
	return nil
}

func msOrNs(ms *float64, ns *int64) time.Duration {
	switch {
	case ms != nil:
		return fromMs(*ms)
	case ns != nil:
		return time.Duration(*ns)
	}
	return 0
}

// MarshalJSON writes the attempt's duration in ms.
func (a Attempt) MarshalJSON() ([]byte, error) {
	type alias Attempt
	return json.Marshal(struct {
		alias
		DurationMs float64 `json:"durationMs"`
	}{alias(a), toMs(a.Duration)})
}

// UnmarshalJSON reads an attempt.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	type alias Attempt
	w := struct {
		*alias
		DurationMs float64 `json:"durationMs"`
	}{alias: (*alias)(a)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.Duration = fromMs(w.DurationMs)
	a.State, a.LostTo = normalizeState(a.State, a.LostTo)
	return nil
}

// MarshalJSON writes the duration in ms.
func (s SpecResult) MarshalJSON() ([]byte, error) {
	type alias SpecResult
	return json.Marshal(struct {
		alias
		DurationMs float64 `json:"durationMs"`
	}{alias(s), toMs(s.Duration)})
}

// UnmarshalJSON reads a spec of either schema: before v1 "duration" was
// ns, "attempts" a count, and lost cells "device-lost".
func (s *SpecResult) UnmarshalJSON(b []byte) error {
	type alias SpecResult
	w := struct {
		*alias
		DurationMs *float64        `json:"durationMs"`
		DurationNs *int64          `json:"duration"`
		Attempts   json.RawMessage `json:"attempts"`
	}{alias: (*alias)(s)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	s.Duration = msOrNs(w.DurationMs, w.DurationNs)
	s.Attempts = nil
	if a := bytes.TrimSpace(w.Attempts); len(a) > 0 && a[0] == '[' {
		if err := json.Unmarshal(a, &s.Attempts); err != nil {
			return fmt.Errorf("attempts: %w", err)
		}
	}
	s.State, s.LostTo = normalizeState(s.State, s.LostTo)
	return nil
}

// normalizeState turns the states of runs before v1 into v1 states.
func normalizeState(st State, to LostTo) (State, LostTo) {
	switch st {
	case StateDeviceLost:
		if to == "" {
			to = LostToDevice
		}
		return StateLost, to
	case StatePanicked:
		return StateFailed, to
	}
	return st, to
}

// callWire is a call record on the wire: the call flattened.
type callWire struct {
	Spec string `json:"spec"`
	// Device is the device's name; Serial its adb serial when it differs.
	Device             string                      `json:"device,omitempty"`
	Serial             string                      `json:"serial,omitempty"`
	Model              string                      `json:"model,omitempty"`
	ID                 string                      `json:"id,omitempty"`
	RoomID             string                      `json:"roomId,omitempty"`
	Start              string                      `json:"start,omitempty"`
	Placed             time.Time                   `json:"placed,omitzero"`
	Stamps             map[latency.Stage]time.Time `json:"stamps,omitempty"`
	Truth              map[latency.Stage]time.Time `json:"truth,omitempty"`
	Observed           map[latency.Stage]time.Time `json:"observed,omitempty"`
	Intended           time.Time                   `json:"intended,omitzero"`
	ClockUncertaintyMs float64                     `json:"clockUncertaintyMs,omitempty"`
	DurationsMs        map[string]float64          `json:"durationsMs,omitempty"`
	TruthErrorsMs      map[string]float64          `json:"truthErrorsMs,omitempty"`
	Violations         []string                    `json:"violations,omitempty"`
}

// stamps copies a stage map without zero times (and without skip).
func stamps(m map[latency.Stage]time.Time, skip latency.Stage) map[latency.Stage]time.Time {
	var out map[latency.Stage]time.Time
	for k, v := range m {
		if v.IsZero() || k == skip {
			continue
		}
		if out == nil {
			out = make(map[latency.Stage]time.Time, len(m))
		}
		out[k] = v
	}
	return out
}

func finiteMap(field string, m map[string]float64) error {
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s.%s is %v, not a number of ms", field, k, v)
		}
	}
	return nil
}

// MarshalJSON writes the call flat: "placed" apart, the other stages'
// stamps under "stamps", figures in ms.
func (c CallResult) MarshalJSON() ([]byte, error) {
	if err := finiteMap("durationsMs", c.Durations); err != nil {
		return nil, err
	}
	if err := finiteMap("truthErrorsMs", c.TruthErrors); err != nil {
		return nil, err
	}
	lc := c.Call
	w := callWire{Spec: c.Spec, Device: c.Device, Model: lc.Model, ID: lc.ID, RoomID: lc.RoomID, Start: lc.Start,
		Placed: lc.Stamps[latency.Placed], Stamps: stamps(lc.Stamps, latency.Placed), Truth: stamps(lc.Truth, ""),
		Observed: stamps(lc.Observed, ""), Intended: lc.Intended, ClockUncertaintyMs: toMs(lc.ClockUncertainty),
		DurationsMs: c.Durations, TruthErrorsMs: c.TruthErrors, Violations: c.Violations}
	if w.Device == "" {
		w.Device = lc.Device
	} else if lc.Device != w.Device {
		w.Serial = lc.Device
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a call of either schema (before v1 the call was
// nested under "call" and the figures were "durations", "truthErrors").
func (c *CallResult) UnmarshalJSON(b []byte) error {
	var w struct {
		callWire
		Legacy      *latency.Call      `json:"call"`
		Durations   map[string]float64 `json:"durations"`
		TruthErrors map[string]float64 `json:"truthErrors"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = CallResult{Spec: w.Spec, Device: w.Device, Violations: w.Violations}
	if w.Legacy != nil {
		c.Call = *w.Legacy
		c.Call.Stamps = stamps(c.Call.Stamps, "")
		c.Call.Truth = stamps(c.Call.Truth, "")
		c.Call.Observed = stamps(c.Call.Observed, "")
		c.Device = c.Call.Device
		c.Durations, c.TruthErrors = w.Durations, w.TruthErrors
		return nil
	}
	serial := w.Serial
	if serial == "" {
		serial = w.Device
	}
	c.Call = latency.Call{ID: w.ID, RoomID: w.RoomID, Device: serial, Model: w.Model, Start: w.Start,
		Stamps: stamps(w.Stamps, ""), Truth: w.Truth, Observed: w.Observed, Intended: w.Intended,
		ClockUncertainty: fromMs(w.ClockUncertaintyMs)}
	if !w.Placed.IsZero() {
		if c.Call.Stamps == nil {
			c.Call.Stamps = map[latency.Stage]time.Time{}
		}
		c.Call.Stamps[latency.Placed] = w.Placed
	}
	c.Durations, c.TruthErrors = w.DurationsMs, w.TruthErrorsMs
	return nil
}
