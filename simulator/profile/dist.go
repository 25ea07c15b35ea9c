// Package profile describes how a simulated device behaves: the timing of
// each step of a call as distributions, and the defects switched on.
// Profiles live as YAML in fixtures/profiles/.
package profile

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Dist is a distribution of durations. Its text form, used in YAML:
//
//	"150ms"                           a constant
//	"uniform(100ms, 300ms)"           uniform between the two
//	"normal(200ms, 20ms)"             mean, standard deviation (clamped at 0)
//	"lognormal(150ms, 600ms)"         median, 99th percentile
type Dist struct {
	kind string
	a, b time.Duration
	text string
}

// Const returns a constant distribution.
func Const(d time.Duration) Dist { return Dist{kind: "const", a: d, text: d.String()} }

// LogNormal returns a log-normal distribution with the given median and 99th
// percentile.
func LogNormal(median, p99 time.Duration) Dist {
	return Dist{kind: "lognormal", a: median, b: p99, text: fmt.Sprintf("lognormal(%v, %v)", median, p99)}
}

// Uniform returns a uniform distribution between lo and hi (lo <= hi).
func Uniform(lo, hi time.Duration) Dist {
	return Dist{kind: "uniform", a: lo, b: hi, text: fmt.Sprintf("uniform(%v, %v)", lo, hi)}
}

// ParseDist parses the text form.
func ParseDist(s string) (Dist, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Dist{}, fmt.Errorf("empty: allowed forms are 150ms, uniform(A, B), normal(MEAN, SD), lognormal(MEDIAN, P99)")
	}
	open := strings.IndexByte(t, '(')
	if open < 0 {
		d, err := parseDur(t)
		if err != nil {
			return Dist{}, err
		}
		return Dist{kind: "const", a: d, text: t}, nil
	}
	if !strings.HasSuffix(t, ")") {
		return Dist{}, fmt.Errorf("%q: missing ')'", s)
	}
	kind := strings.TrimSpace(t[:open])
	args := strings.Split(t[open+1:len(t)-1], ",")
	if len(args) != 2 {
		return Dist{}, fmt.Errorf("%q: %s takes two durations", s, kind)
	}
	a, err := parseDur(args[0])
	if err != nil {
		return Dist{}, fmt.Errorf("%q: %w", s, err)
	}
	b, err := parseDur(args[1])
	if err != nil {
		return Dist{}, fmt.Errorf("%q: %w", s, err)
	}
	switch kind {
	case "uniform":
		if b < a {
			return Dist{}, fmt.Errorf("%q: uniform(A, B) needs A <= B", s)
		}
	case "normal":
	case "lognormal":
		if a <= 0 || b < a {
			return Dist{}, fmt.Errorf("%q: lognormal(MEDIAN, P99) needs 0 < MEDIAN <= P99", s)
		}
	default:
		return Dist{}, fmt.Errorf("%q: distribution %q: allowed uniform, normal, lognormal", s, kind)
	}
	return Dist{kind: kind, a: a, b: b, text: t}, nil
}

func parseDur(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("duration %q has no unit: write e.g. %sms", s, s)
		}
		return 0, fmt.Errorf("duration %q: %v", s, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// Range is where the draws fall: exactly for a constant or a uniform
// distribution, mean ± 3 SD (clamped at 0) for a normal one, 1st to 99th
// percentile for a log-normal one.
func (d Dist) Range() (lo, hi time.Duration) {
	switch d.kind {
	case "const":
		return d.a, d.a
	case "uniform":
		return d.a, d.b
	case "normal":
		return max(0, d.a-3*d.b), max(0, d.a+3*d.b)
	case "lognormal":
		// the log is symmetric about the median: p1 = median²/p99
		return time.Duration(float64(d.a) * float64(d.a) / float64(d.b)), d.b
	}
	return 0, 0
}

// String is the text form.
func (d Dist) String() string { return d.text }

// IsZero reports an unset distribution.
func (d Dist) IsZero() bool { return d.kind == "" }

// Sample draws one duration.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	switch d.kind {
	case "const":
		return d.a
	case "uniform":
		return d.a + time.Duration(r.Float64()*float64(d.b-d.a))
	case "normal":
		return max(0, d.a+time.Duration(r.NormFloat64()*float64(d.b)))
	case "lognormal":
		// p99 = median * exp(2.326 sigma)
		sigma := math.Log(float64(d.b)/float64(d.a)) / 2.3263478740
		return time.Duration(float64(d.a) * math.Exp(sigma*r.NormFloat64()))
	}
	return 0
}

// Scale returns the distribution with every duration multiplied by f.
func (d Dist) Scale(f float64) Dist {
	if d.kind == "" {
		return d
	}
	out := d
	out.a = time.Duration(float64(d.a) * f)
	out.b = time.Duration(float64(d.b) * f)
	if d.kind == "normal" {
		out.b = time.Duration(float64(d.b) * f)
	}
	out.text = fmt.Sprintf("%s*%g", d.text, f)
	return out
}

// UnmarshalText lets YAML and JSON decoders read the text form.
func (d *Dist) UnmarshalText(b []byte) error {
	v, err := ParseDist(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes the text form.
func (d Dist) MarshalText() ([]byte, error) { return []byte(d.text), nil }
