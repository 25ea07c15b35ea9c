// Package loadgen generates open-loop load for release benchmarks: the
// times calls are meant to start at (constant, Poisson or ramping rate),
// fixed before the run so that a slow device cannot slow the schedule down
// (coordinated omission), and a log-linear histogram for the latencies,
// measured from those intended times.
package loadgen

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Arrival kinds.
const (
	Constant = "constant"
	Poisson  = "poisson"
	Ramp     = "ramp"
)

// Kinds lists the arrival kinds.
var Kinds = []string{Constant, Poisson, Ramp}

// Arrival is how calls arrive: at a constant rate, as a Poisson process, or
// at a rate ramping linearly from Rate to To over the run.
type Arrival struct {
	Kind string
	// Rate in calls per second (the start rate of a ramp).
	Rate float64
	// To is a ramp's rate at the end of the run.
	To float64
	// Seed makes Poisson arrivals repeatable.
	Seed uint64
}

// maxRate bounds a rate: far above what a farm can answer, low enough that
// a typo (1000/ms) is caught.
const maxRate = 1000

// ParseArrival reads "constant:RATE", "poisson:RATE" or "ramp:RATE-RATE",
// a RATE being calls per second or minute ("2/s", "30/min", "0.5").
func ParseArrival(s string) (Arrival, error) {
	kind, rates, ok := strings.Cut(s, ":")
	if !ok {
		return Arrival{}, fmt.Errorf("arrival %q: want KIND:RATE with KIND one of %s (e.g. poisson:2/s, ramp:1/s-5/s)", s, strings.Join(Kinds, ", "))
	}
	a := Arrival{Kind: kind, Seed: 1}
	var err error
	switch kind {
	case Constant, Poisson:
		a.Rate, err = parseRate(rates)
	case Ramp:
		from, to, ok := strings.Cut(rates, "-")
		if !ok {
			return Arrival{}, fmt.Errorf("arrival %q: a ramp wants FROM-TO, e.g. ramp:1/s-5/s", s)
		}
		if a.Rate, err = parseRate(from); err == nil {
			a.To, err = parseRate(to)
		}
		if err == nil && a.Rate == 0 && a.To == 0 {
			err = fmt.Errorf("a ramp from 0 to 0 places no call")
		}
	default:
		return Arrival{}, fmt.Errorf("arrival %q: kind %q: allowed %s", s, kind, strings.Join(Kinds, ", "))
	}
	if err != nil {
		return Arrival{}, fmt.Errorf("arrival %q: %w", s, err)
	}
	if kind != Ramp && a.Rate == 0 {
		return Arrival{}, fmt.Errorf("arrival %q: rate 0 places no call; want a rate above 0", s)
	}
	return a, nil
}

func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("rate %q: want a number of calls ≥ 0, per s or per min (e.g. 2/s, 30/min)", s)
	}
	switch unit {
	case "", "s":
	case "min":
		v /= 60
	default:
		return 0, fmt.Errorf("rate %q: unit %q: allowed s, min", s, unit)
	}
	if v > maxRate {
		return 0, fmt.Errorf("rate %q: at most %d calls/s", s, maxRate)
	}
	return v, nil
}

// String gives the arrival back in ParseArrival's form.
func (a Arrival) String() string {
	f := func(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) + "/s" }
	if a.Kind == Ramp {
		return a.Kind + ":" + f(a.Rate) + "-" + f(a.To)
	}
	return a.Kind + ":" + f(a.Rate)
}

// Scale returns the arrival with its rates multiplied by k: a farm's load
// split over its devices.
func (a Arrival) Scale(k float64) Arrival {
	a.Rate *= k
	a.To *= k
	return a
}

// Share is one device's part of a farm's arrival shared out over n
// devices: the rate divided by n, and a seed of its own drawn from the
// device's name, so that a device gets the same schedule in every run
// whatever the order its devices are run in.
func (a Arrival) Share(name string, n int) Arrival {
	s := a.Scale(1 / float64(max(n, 1)))
	h := fnv.New64a()
	h.Write([]byte(name))
	s.Seed = a.Seed ^ h.Sum64()
	return s
}

// Times returns the intended start of every call in a run of length d, as
// offsets from its start, in order. The schedule is fixed in advance:
// nothing a device does moves it.
func (a Arrival) Times(d time.Duration) []time.Duration {
	secs := d.Seconds()
	var out []time.Duration
	switch a.Kind {
	case Constant:
		for k := 0; ; k++ {
			t := float64(k) / a.Rate
			if t >= secs {
				break
			}
			out = append(out, seconds(t))
		}
	case Poisson:
		r := rand.New(rand.NewPCG(a.Seed, a.Seed^0x9e3779b97f4a7c15))
		for t := r.ExpFloat64() / a.Rate; t < secs; t += r.ExpFloat64() / a.Rate {
			out = append(out, seconds(t))
		}
	case Ramp:
		// Calls so far at time t: N(t) = r0·t + (r1−r0)·t²/(2d). The k-th
		// call starts where N(t) = k.
		r0, r1 := a.Rate, a.To
		slope := (r1 - r0) / secs
		for k := 0; ; k++ {
			var t float64
			if math.Abs(slope) < 1e-12 {
				t = float64(k) / r0
			} else {
				disc := r0*r0 + 2*slope*float64(k)
				if disc < 0 {
					break
				}
				t = (-r0 + math.Sqrt(disc)) / slope
			}
			if t >= secs || math.IsNaN(t) {
				break
			}
			out = append(out, seconds(t))
		}
	}
	return out
}

func seconds(t float64) time.Duration { return time.Duration(math.Round(t * float64(time.Second))) }

// MeanRate is the arrival's average rate over a run, in calls per second:
// a ramp's is halfway between its ends.
func (a Arrival) MeanRate() float64 {
	if a.Kind == Ramp {
		return (a.Rate + a.To) / 2
	}
	return a.Rate
}
