package latency

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(ds)
	if s.N != 1000 || s.P50 != 500*time.Millisecond || s.P90 != 900*time.Millisecond || s.P99 != 990*time.Millisecond || s.P999 != 999*time.Millisecond || s.Max != time.Second || s.Min != time.Millisecond {
		t.Fatalf("%+v", s)
	}
	if Summarize(nil).N != 0 {
		t.Fatal("empty")
	}
}

func TestHistogramCoversAll(t *testing.T) {
	ds := []time.Duration{50 * time.Microsecond, time.Millisecond, 1100 * time.Microsecond, 3 * time.Second}
	h := Histogram(ds)
	n := 0
	for i, b := range h {
		n += b.Count
		if i > 0 && b.Lo != h[i-1].Hi {
			t.Fatalf("gap between buckets %d and %d", i-1, i)
		}
	}
	if n != len(ds) {
		t.Fatalf("%d counted of %d", n, len(ds))
	}
	for _, d := range ds {
		found := false
		for _, b := range h {
			if d >= b.Lo && d < b.Hi {
				found = b.Count > 0
			}
		}
		if !found {
			t.Errorf("%v not in its bucket", d)
		}
	}
}

func TestShippedBudgetsAndCheck(t *testing.T) {
	b, err := LoadBudgets("../../fixtures/budgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	c := Call{Start: "cold", Stamps: map[Stage]time.Time{
		Placed: t0, PushReceived: t0.Add(200 * time.Millisecond), LaunchCalled: t0.Add(220 * time.Millisecond),
		PageShown: t0.Add(6 * time.Second), Answered: t0.Add(6100 * time.Millisecond)}}
	v := b.Check(c)
	if len(v) != 2 || v[0].Key != "launch-cold" || v[1].Key != "total" {
		t.Fatalf("violations %v", v)
	}
}

func TestBudgetErrors(t *testing.T) {
	cases := map[string]string{
		"segments: {delivery: {max: 1s, p90: 2s}}":       "p90 2s is above max",
		"segments: {nope: {max: 1s, p90: 1s}}":           "unknown segment",
		"restart: 5":                                     "",
		"segments: {}\nrestart: 1s\nleave: 1s\nbogus: 1": "bogus",
	}
	for in, want := range cases {
		_, err := ParseBudgets([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v (want %q)", in, err, want)
		}
	}
}

// A call's JSON leaves out what is unknown: no zero times.
func TestCallJSONLeavesUnknownOut(t *testing.T) {
	b, err := json.Marshal(Call{ID: "g-1", Stamps: map[Stage]time.Time{Placed: time.Unix(1000, 0).UTC()}})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "0001-01-01") || strings.Contains(s, "intended") || !strings.Contains(s, `"placed":"1970-01-01T00:16:40Z"`) {
		t.Errorf("call JSON %s", s)
	}
}
