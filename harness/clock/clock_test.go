package clock

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

func TestFitRecoversOffsetAndDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_764_000_000, 0)
	const offset = 3*time.Second + 217*time.Millisecond
	const drift = 80e-6
	var points []Sample
	for i := range 10 {
		h := base.Add(time.Duration(i) * 30 * time.Second)
		// asymmetric noise within the round trip
		rtt := time.Duration(300+rng.IntN(400)) * time.Microsecond
		noise := time.Duration((rng.Float64() - 0.5) * float64(rtt))
		points = append(points, Sample{Host: h, Offset: offset + time.Duration(drift*float64(h.Sub(base))) + noise/2, RTT: rtt})
	}
	m, err := Fit(points)
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []time.Duration{0, 90 * time.Second, 300 * time.Second} {
		h := base.Add(dt)
		dev := h.Add(offset + time.Duration(drift*float64(dt)))
		if e := m.ToHost(dev).Sub(h); e > 500*time.Microsecond || e < -500*time.Microsecond {
			t.Errorf("at +%v: ToHost error %v (model %v)", dt, e, m)
		}
		if back := m.ToHost(m.ToDevice(h)); back.Sub(h).Abs() > time.Microsecond {
			t.Errorf("ToHost(ToDevice) off by %v", back.Sub(h))
		}
	}
	if m.Drift < 70e-6 || m.Drift > 90e-6 {
		t.Errorf("drift %v, want about 80e-6", m.Drift)
	}
}

func TestMeasureKeepsTightest(t *testing.T) {
	const offset = -5 * time.Second
	calls := 0
	read := func(ctx context.Context) (time.Time, error) {
		calls++
		return time.Now().Add(offset), nil
	}
	e := NewEstimator(read, 25, 4)
	m, err := e.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls != 25 {
		t.Fatalf("%d reads, want 25", calls)
	}
	if d := (m.Offset - offset).Abs(); d > time.Millisecond {
		t.Fatalf("offset %v, want %v", m.Offset, offset)
	}
}

func TestParseDate(t *testing.T) {
	if got, err := ParseDate("1764160558123456789\n"); err != nil || got.UnixNano() != 1764160558123456789 {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range []string{"1764160558N", "", "hello", "12"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
