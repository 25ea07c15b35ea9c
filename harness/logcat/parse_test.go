package logcat

import (
	"errors"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	cases := []struct {
		line string
		want Entry
	}{
		{"         1764160558.123456  1234  1250 I WmpfVoipHook: {\"ev\":\"x\"}",
			Entry{Time: time.Unix(1764160558, 123456000), Pid: 1234, Tid: 1250, Prio: 'I', Tag: "WmpfVoipHook", Msg: `{"ev":"x"}`}},
		{"         1764160558.123  1234  1234 D T       : hello: world",
			Entry{Time: time.Unix(1764160558, 123000000), Pid: 1234, Tid: 1234, Prio: 'D', Tag: "T", Msg: "hello: world"}},
		{"11-26 20:35:58.123  1234  1250 W ActivityManager: Force stopping com.tencent.wmpf",
			Entry{Time: time.Date(2026, 11, 26, 20, 35, 58, 123000000, sh), Pid: 1234, Tid: 1250, Prio: 'W', Tag: "ActivityManager", Msg: "Force stopping com.tencent.wmpf"}},
		{"2026-11-26 20:35:58.123456  u0_a12  1234  1250 E tag with space: boom",
			Entry{Time: time.Date(2026, 11, 26, 20, 35, 58, 123456000, sh), Pid: 1234, Tid: 1250, Prio: 'E', Tag: "tag with space", Msg: "boom"}},
		{"         1764160558.000001  1  1 I empty   : ",
			Entry{Time: time.Unix(1764160558, 1000), Pid: 1, Tid: 1, Prio: 'I', Tag: "empty"}},
		{"I/ActivityManager(  567): Displayed com.x/.A: +1s2ms",
			Entry{Pid: 567, Prio: 'I', Tag: "ActivityManager", Msg: "Displayed com.x/.A: +1s2ms"}},
	}
	for _, c := range cases {
		got, err := ParseLine(c.line, sh, 2026)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if !got.Time.Equal(c.want.Time) || got.Pid != c.want.Pid || got.Tid != c.want.Tid || got.Prio != c.want.Prio || got.Tag != c.want.Tag || got.Msg != c.want.Msg {
			t.Errorf("%q:\n got %+v\nwant %+v", c.line, got, c.want)
		}
	}
}

func TestParseLineRejects(t *testing.T) {
	for _, l := range []string{"--------- beginning of main", "", "   "} {
		if _, err := ParseLine(l, nil, 0); !errors.Is(err, ErrNotEntry) {
			t.Errorf("%q: got %v, want ErrNotEntry", l, err)
		}
	}
	for _, l := range []string{"garbage", "123 x y z", "1.x 1 1 I t: m", "1.5 1 1 II t: m", "1.5 a 1 I t: m"} {
		if _, err := ParseLine(l, nil, 0); err == nil || errors.Is(err, ErrNotEntry) {
			t.Errorf("%q: accepted or wrong error: %v", l, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("         1764160558.123456  1234  1250 I WmpfVoipHook: {}")
	f.Add("11-26 20:35:58.123  1234  1250 W AM: x")
	f.Add("I/T( 1): m")
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = ParseLine(line, time.UTC, 2026)
	})
}
