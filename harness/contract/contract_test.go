package contract

import (
	"strings"
	"testing"
	"time"
)

func TestFormatParseRoundTrip(t *testing.T) {
	long := strings.Repeat("呼叫&=%;$()`\n😀", 400) // ~8 KB of hostile text
	for _, path := range []string{"plugin-private://x?a=1&b=%20", long} {
		lines := Format(7, EvLaunchCalled, map[string]any{"appid": "wx0123456789abcdef", "path": path, "appType": 1})
		for _, l := range lines {
			if len(l) > MaxLine {
				t.Fatalf("line of %d bytes exceeds MaxLine", len(l))
			}
		}
		p := NewParser()
		t0 := time.Unix(100, 0)
		var got Event
		var done int
		for i, l := range lines {
			ev, ok, err := p.Feed(42, t0.Add(time.Duration(i)*time.Millisecond), l)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				got, done = ev, done+1
			}
		}
		if done != 1 {
			t.Fatalf("%d events from %d lines", done, len(lines))
		}
		if got.Name != EvLaunchCalled || got.Seq != 7 || got.Str("path") != path || got.Str("appid") != "wx0123456789abcdef" || !got.Time.Equal(t0) || got.Pid != 42 {
			t.Fatalf("got %+v", got)
		}
		if n, ok := got.Int("appType"); !ok || n != 1 {
			t.Fatalf("appType = %v %v", n, ok)
		}
	}
}

func TestParserErrors(t *testing.T) {
	p := NewParser()
	for _, l := range []string{"not json", `{"seq":1}`, `{"ev":3}`, `{"ev":"x"} trailing`, "~1", "~1 0/2 x", "~x 1/2 y", `{"ev":"x","seq":-1}`} {
		if _, _, err := p.Feed(1, time.Time{}, l); err == nil {
			t.Errorf("%q accepted", l)
		}
	}
}

func FuzzParser(f *testing.F) {
	for _, l := range Format(3, EvPushReceived, map[string]any{"msg": strings.Repeat("x", 9000)}) {
		f.Add(l)
	}
	f.Add(`{"ev":"voip_event","seq":2,"data":{"keepTime":3}}`)
	f.Fuzz(func(t *testing.T, line string) {
		p := NewParser()
		_, _, _ = p.Feed(1, time.Time{}, line)
		_, _, _ = p.Feed(1, time.Time{}, line)
	})
}
