// Package clock estimates a device clock's offset from the host clock, and
// its drift, from round trips that read the device's time.
//
// Each round trip brackets the device's reading between two host readings;
// the offset is the device time minus the midpoint, and the round trip time
// bounds its error. Many round trips are made and the tightest is kept. Over
// a long run, the tightest sample of each refresh becomes a point of a
// least-squares line, so drift (ppm) is corrected as well as offset.
package clock

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sample is one round trip.
type Sample struct {
	// Host is the midpoint of the round trip on the host clock.
	Host time.Time
	// Offset is device time minus Host.
	Offset time.Duration
	// RTT is the round trip time; |error of Offset| <= RTT/2.
	RTT time.Duration
}

// ReadFunc reads the device clock once.
type ReadFunc func(ctx context.Context) (time.Time, error)

// Measure makes n round trips and returns them in order.
func Measure(ctx context.Context, read ReadFunc, n int) ([]Sample, error) {
	if n < 1 {
		return nil, fmt.Errorf("clock: %d round trips: allowed 1 or more", n)
	}
	out := make([]Sample, 0, n)
	for range n {
		t0 := time.Now()
		dev, err := read(ctx)
		t1 := time.Now()
		if err != nil {
			return out, fmt.Errorf("clock: read device time: %w", err)
		}
		rtt := t1.Sub(t0)
		mid := t0.Add(rtt / 2)
		out = append(out, Sample{Host: mid, Offset: dev.Sub(mid), RTT: rtt})
	}
	return out, nil
}

// Tightest returns the sample with the smallest round trip.
func Tightest(samples []Sample) (Sample, bool) {
	if len(samples) == 0 {
		return Sample{}, false
	}
	best := samples[0]
	for _, s := range samples[1:] {
		if s.RTT < best.RTT {
			best = s
		}
	}
	return best, true
}

// Model maps device time to host time: offset(h) = Offset + Drift*(h-Ref).
type Model struct {
	Ref    time.Time
	Offset time.Duration
	// Drift is d(offset)/d(host time): 50e-6 is a device 50 ppm fast.
	Drift float64
	// Uncertainty is half the round trip of the samples behind the model.
	Uncertainty time.Duration
	// Points is how many refreshes the model rests on.
	Points int
}

// OffsetAt is the modelled offset at host time h.
func (m Model) OffsetAt(h time.Time) time.Duration {
	return m.Offset + time.Duration(m.Drift*float64(h.Sub(m.Ref)))
}

// ToHost converts a device time stamp to the host clock.
func (m Model) ToHost(dev time.Time) time.Time {
	// dev - Ref = Offset + (1+Drift)*(h - Ref)
	y := float64(dev.Sub(m.Ref) - m.Offset)
	return m.Ref.Add(time.Duration(math.Round(y / (1 + m.Drift))))
}

// ToDevice converts a host time to the device clock.
func (m Model) ToDevice(h time.Time) time.Time { return h.Add(m.OffsetAt(h)) }

func (m Model) String() string {
	return fmt.Sprintf("offset %v ±%v drift %+.1fppm (%d points)", m.Offset, m.Uncertainty, m.Drift*1e6, m.Points)
}

// Fit computes a model from the tightest sample of each refresh. One point
// gives an offset with no drift; two or more give a least-squares line
// weighted by 1/RTT².
func Fit(points []Sample) (Model, error) {
	if len(points) == 0 {
		return Model{}, errors.New("clock: no samples")
	}
	ref := points[len(points)-1].Host
	var worst time.Duration
	for _, p := range points {
		worst = max(worst, p.RTT/2)
	}
	if len(points) == 1 || points[len(points)-1].Host.Sub(points[0].Host) < time.Second {
		best, _ := Tightest(points)
		return Model{Ref: best.Host, Offset: best.Offset, Uncertainty: best.RTT / 2, Points: len(points)}, nil
	}
	var sw, sx, sy, sxx, sxy float64
	for _, p := range points {
		rtt := max(float64(p.RTT), 1e3) // 1 µs floor
		w := 1 / (rtt * rtt)
		x := float64(p.Host.Sub(ref))
		y := float64(p.Offset)
		sw += w
		sx += w * x
		sy += w * y
		sxx += w * x * x
		sxy += w * x * y
	}
	den := sw*sxx - sx*sx
	if den == 0 {
		best, _ := Tightest(points)
		return Model{Ref: best.Host, Offset: best.Offset, Uncertainty: best.RTT / 2, Points: len(points)}, nil
	}
	b := (sw*sxy - sx*sy) / den
	a := (sy - b*sx) / sw
	return Model{Ref: ref, Offset: time.Duration(math.Round(a)), Drift: b, Uncertainty: worst, Points: len(points)}, nil
}

// Estimator keeps a device's model current.
type Estimator struct {
	read      ReadFunc
	perBurst  int
	maxPoints int

	mu     sync.Mutex
	points []Sample
	model  Model
	ok     bool
}

// NewEstimator makes perBurst round trips per refresh and keeps the last
// maxPoints refreshes.
func NewEstimator(read ReadFunc, perBurst, maxPoints int) *Estimator {
	if perBurst < 1 {
		perBurst = 20
	}
	if maxPoints < 1 {
		maxPoints = 32
	}
	return &Estimator{read: read, perBurst: perBurst, maxPoints: maxPoints}
}

// Refresh measures a burst and refits the model.
func (e *Estimator) Refresh(ctx context.Context) (Model, error) {
	samples, err := Measure(ctx, e.read, e.perBurst)
	best, ok := Tightest(samples)
	if !ok {
		return Model{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.points = append(e.points, best)
	if len(e.points) > e.maxPoints {
		e.points = e.points[len(e.points)-e.maxPoints:]
	}
	m, ferr := Fit(e.points)
	if ferr != nil {
		return Model{}, ferr
	}
	e.model, e.ok = m, true
	return m, err
}

// Model returns the current model; ok is false before the first Refresh.
func (e *Estimator) Model() (Model, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.model, e.ok
}

// Points returns the refresh points the model rests on.
func (e *Estimator) Points() []Sample {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Sample(nil), e.points...)
}

// DateCommand prints the device's time in nanoseconds since the epoch.
const DateCommand = "date +%s%N"

// ParseDate parses the output of DateCommand.
func ParseDate(out string) (time.Time, error) {
	s := strings.TrimSpace(out)
	if strings.HasSuffix(s, "N") {
		return time.Time{}, fmt.Errorf("clock: device `date` does not know %%N (printed %q): nanosecond time needs toybox date", s)
	}
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil || len(s) < 10 {
		return time.Time{}, fmt.Errorf("clock: `%s` printed %q: want nanoseconds since the epoch", DateCommand, clipStr(s))
	}
	return time.Unix(0, ns), nil
}

func clipStr(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
