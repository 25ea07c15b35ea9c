package android

import (
	"testing"
	"time"
)

func TestClockSkewAndDrift(t *testing.T) {
	for _, tc := range []struct {
		offset time.Duration
		ppm    float64
	}{
		{0, 0}, {3 * time.Second, 0}, {-90 * time.Minute, 0}, {0, 50}, {0, -120},
		{1234567 * time.Microsecond, 37.5}, {-400 * 24 * time.Hour, 500}, {17 * time.Hour, -999},
	} {
		h := &fakeHost{t: hostEpoch}
		c := newClock(ClockConfig{Offset: tc.offset, DriftPPM: tc.ppm, Host: h.Now})
		if got := c.Now(); !got.Equal(hostEpoch.Add(tc.offset)) {
			t.Errorf("%+v: at boot Now = %v, want host+offset", tc, got)
		}
		h.Advance(1000 * time.Second)
		wantDrift := time.Duration(tc.ppm * 1e-6 * float64(1000*time.Second))
		want := hostEpoch.Add(1000*time.Second + tc.offset + wantDrift)
		if d := c.Now().Sub(want); d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("%+v: Now off by %v", tc, d)
		}
		if up, wantUp := c.Uptime(), 1000*time.Second+wantDrift; up-wantUp > time.Microsecond || wantUp-up > time.Microsecond {
			t.Errorf("%+v: Uptime %v want %v", tc, up, wantUp)
		}
		// wall minus uptime is the boot time
		if d := c.Now().Sub(c.Boot()) - c.Uptime(); d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("%+v: wall-uptime drifts by %v", tc, d)
		}
		for _, dt := range []time.Duration{0, time.Nanosecond, 1500 * time.Millisecond, -time.Hour, 30 * 24 * time.Hour, -365 * 24 * time.Hour, 5 * 365 * 24 * time.Hour} {
			host := hostEpoch.Add(dt)
			dev := c.ToDevice(host)
			back := c.ToHost(dev)
			if d := back.Sub(host); d > time.Microsecond || d < -time.Microsecond {
				t.Errorf("%+v dt=%v: ToHost(ToDevice(t)) off by %v", tc, dt, d)
			}
			if d := c.ToDevice(c.ToHost(host)).Sub(host); d > time.Microsecond || d < -time.Microsecond {
				t.Errorf("%+v dt=%v: ToDevice(ToHost(t)) off by %v", tc, dt, d)
			}
			if dev.Sub(host) != tc.offset+scaleDur(dt, tc.ppm*1e-6) {
				t.Errorf("%+v dt=%v: skew %v", tc, dt, dev.Sub(host))
			}
		}
	}
}

func TestClockDrivesDevice(t *testing.T) {
	s, h := newFixedSys(t, Config{Seed: 1, Clock: ClockConfig{Offset: -2 * time.Hour, DriftPPM: 100}})
	if got := mustRun(t, s, "date +%H:%M:%S"); got != "11:06:07\n" {
		t.Errorf("date with offset: %q", got)
	}
	h.Advance(10000 * time.Second) // +1 s of drift
	if got := mustRun(t, s, "date +%H:%M:%S"); got != "13:52:48\n" {
		t.Errorf("date with drift: %q", got)
	}
	e := s.Log(Entry{Tag: "T", Msg: "m"})
	if !e.Time.Equal(s.Clock().ToDevice(h.Now())) {
		t.Errorf("log time %v", e.Time)
	}
	if got := mustRun(t, s, "cat /proc/uptime"); got[:9] != "10001.00 " {
		t.Errorf("/proc/uptime %q", got)
	}
	// logcat -v monotonic shows the device uptime
	out := mustRun(t, s, "logcat -d -v monotonic -b main T:V *:S")
	if want := "--------- beginning of main\n 10001.000     0     0 I T       : m\n"; out != want {
		t.Errorf("monotonic: %q want %q", out, want)
	}
	// time zone follows persist.sys.timezone
	s.SetProp("persist.sys.timezone", "America/New_York")
	if got := mustRun(t, s, "date +%Z"); got != "EST\n" {
		t.Errorf("zone: %q", got)
	}
}
