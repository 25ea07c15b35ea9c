package android

import (
	"math"
	"time"
)

// ClockConfig describes how the device clock relates to the host clock.
type ClockConfig struct {
	// Offset is the device wall clock minus the host clock at boot.
	Offset time.Duration
	// DriftPPM makes the device clock run fast (+) or slow (-) by this many
	// parts per million relative to the host clock.
	DriftPPM float64
	// Host is the host clock; time.Now when nil.
	Host func() time.Time
}

// Clock is the device clock: a skewed and drifting view of the host clock.
//
// Device wall time is host + Offset + DriftPPM*1e-6*(host - boot), and the
// device monotonic clock (uptime) is (host - boot)*(1 + DriftPPM*1e-6), so
// that wall time minus uptime stays constant, as on a device whose crystal
// runs fast or slow.
type Clock struct {
	host     func() time.Time
	hostBoot time.Time
	offset   time.Duration
	k        float64 // drift factor, DriftPPM * 1e-6
}

func newClock(cfg ClockConfig) *Clock {
	host := cfg.Host
	if host == nil {
		host = time.Now
	}
	return &Clock{host: host, hostBoot: host(), offset: cfg.Offset, k: cfg.DriftPPM * 1e-6}
}

// Now returns the device wall clock.
func (c *Clock) Now() time.Time { return c.ToDevice(c.host()) }

// Boot returns the device wall time at boot.
func (c *Clock) Boot() time.Time { return c.hostBoot.Add(c.offset).Round(0) }

// ToDevice converts a host time to the device wall clock.
func (c *Clock) ToDevice(host time.Time) time.Time {
	d := host.Sub(c.hostBoot)
	return host.Add(c.offset + scaleDur(d, c.k)).Round(0)
}

// ToHost converts a device wall time back to the host clock; it is the
// inverse of ToDevice.
func (c *Clock) ToHost(dev time.Time) time.Time {
	// dev = h + off + k*(h-B)  =>  h-B = (dev - off - B)/(1+k)
	x := dev.Sub(c.hostBoot.Add(c.offset))
	return c.hostBoot.Add(scaleDur(x, 1/(1+c.k)-1) + x).Round(0)
}

// Uptime is the device monotonic time since boot.
func (c *Clock) Uptime() time.Duration { return c.uptimeAtHost(c.host()) }

func (c *Clock) uptimeAtHost(h time.Time) time.Duration {
	d := h.Sub(c.hostBoot)
	return d + scaleDur(d, c.k)
}

// UptimeAt returns the device uptime at the given device wall time.
func (c *Clock) UptimeAt(dev time.Time) time.Duration {
	return dev.Sub(c.Boot())
}

// scaleDur returns d*f rounded to the nearest nanosecond, saturating.
func scaleDur(d time.Duration, f float64) time.Duration {
	if f == 0 || d == 0 {
		return 0
	}
	v := math.Round(float64(d) * f)
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	if v < math.MinInt64 {
		return math.MinInt64
	}
	return time.Duration(v)
}
