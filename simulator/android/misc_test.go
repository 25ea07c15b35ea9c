package android

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestComponentName(t *testing.T) {
	for _, tc := range []struct{ in, short, flat string }{
		{"com.x/.Main", "com.x/.Main", "com.x/com.x.Main"},
		{"com.x/com.x.ui.Main", "com.x/.ui.Main", "com.x/com.x.ui.Main"},
		{"com.x/org.other.Main", "com.x/org.other.Main", "com.x/org.other.Main"},
		{"com.tencent.wmpf/.app.ui.MainActivity", "com.tencent.wmpf/.app.ui.MainActivity", "com.tencent.wmpf/com.tencent.wmpf.app.ui.MainActivity"},
	} {
		c, err := ParseComponent(tc.in)
		if err != nil || c.String() != tc.short || c.Flatten() != tc.flat {
			t.Errorf("%s: %v %q %q", tc.in, err, c.String(), c.Flatten())
		}
	}
	for _, bad := range []string{"", "noslash", "/x", "pkg/"} {
		if _, err := ParseComponent(bad); err == nil {
			t.Errorf("ParseComponent(%q) accepted", bad)
		}
	}
}

func TestParseIntentArgs(t *testing.T) {
	in, rest, err := ParseIntentArgs(strings.Fields("-a act.X -d content://x/y -t text/plain -c c.B -c c.A -n com.x/.M -f 0x10 --es s v --ez b false --ei i -3 --el l 9000000000 --ef f 1.5 --esa arr a,b\\,c --eia ia 1,2 --esn nul --activity-clear-task --receiver-foreground extra1 extra2"))
	if err != nil {
		t.Fatal(err)
	}
	want := Intent{Action: "act.X", Data: "content://x/y", Type: "text/plain", Categories: []string{"c.B", "c.A"},
		Component: ComponentName{"com.x", "com.x.M"}, Flags: 0x10 | FlagActivityClearTask | FlagReceiverForeground,
		Extras: map[string]any{"s": "v", "b": false, "i": -3, "l": int64(9000000000), "f": 1.5, "arr": []string{"a", "b,c"}, "ia": []int{1, 2}, "nul": nil}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got  %+v\nwant %+v", in, want)
	}
	if !reflect.DeepEqual(rest, []string{"extra1", "extra2"}) {
		t.Errorf("rest %q", rest)
	}
	if got := in.String(); got != "Intent { act=act.X cat=[c.A,c.B] dat=content://x/y typ=text/plain flg=0x10008010 cmp=com.x/.M (has extras) }" {
		t.Errorf("String() = %s", got)
	}
	in, _, _ = ParseIntentArgs([]string{"com.x/.Main"})
	if in.Action != ActionMain || !in.HasCategory(CategoryLauncher) || in.Component.Class != "com.x.Main" {
		t.Errorf("bare component: %+v", in)
	}
	in, _, _ = ParseIntentArgs([]string{"https://example.com"})
	if in.Action != ActionView || in.Data != "https://example.com" {
		t.Errorf("bare uri: %+v", in)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--bogus"}, "Unknown option: --bogus"},
		{[]string{"-a"}, `Argument expected after "-a"`},
		{[]string{"--es", "k"}, `Argument expected after "--es"`},
		{[]string{"--ei", "k", "x"}, `For input string: "x"`},
		{[]string{"--ez", "k", "maybe"}, "Invalid boolean value: maybe"},
		{[]string{"-n", "nocomp"}, "Bad component name: nocomp"},
		{[]string{"-f", "0xZZ"}, `For input string: "0xZZ"`},
	} {
		_, _, err := ParseIntentArgs(tc.args)
		var ie *IntentError
		if err == nil || err.Error() != tc.msg || !errors.As(err, &ie) {
			t.Errorf("%q: err %v, want %q", tc.args, err, tc.msg)
		}
	}
}

func TestPsRowOverflow(t *testing.T) {
	fields, bad := parsePsFields(psDefault)
	if bad != "" {
		t.Fatal(bad)
	}
	got := psRow(fields, []string{"u0_a100", "12345", "678", "14690200", "123456", "SyS_epoll_wait", "0", "S", "com.example"})
	want := "u0_a100      12345   678 14690200 123456 SyS_epoll_wait     0 S com.example"
	if got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	if h := psHeader(fields); h != "USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME                       " {
		t.Errorf("header %q", h)
	}
	if f, bad := parsePsFields("pid:8=P,name=Process"); bad != "" || psHeader(f) != "       P Process                    " {
		t.Errorf("custom fields: %q %q", bad, psHeader(f))
	}
}

func TestFormatDuration(t *testing.T) {
	for ms, want := range map[int64]string{0: "0", 5: "+5ms", 999: "+999ms", 1000: "+1s0ms", 1234: "+1s234ms", 61005: "+1m1s5ms", 3600000: "+1h0m0s0ms"} {
		if got := formatDurationMs(ms); got != want {
			t.Errorf("%d: %q want %q", ms, got, want)
		}
	}
}

func TestUserNames(t *testing.T) {
	for uid, want := range map[int]string{0: "root", 1000: "system", 2000: "shell", 10123: "u0_a123", 1010123: "u10_a123", 99001: "u0_i9001", 4242: "4242"} {
		if got := userName(uid); got != want {
			t.Errorf("%d: %q want %q", uid, got, want)
		}
	}
	if formatUid(10123) != "u0a123" || formatUid(1000) != "1000" {
		t.Error("formatUid")
	}
}

func TestFormatLog(t *testing.T) {
	s, _ := newFixedSys(t, Config{Seed: 1})
	e := Entry{Time: hostEpoch, Pid: 5, Tid: 6, Prio: Debug, Tag: "T", Msg: "m"}
	if got, err := s.FormatLog(e, ""); err != nil || got != "03-04 13:06:07.123     5     6 D T       : m\n" {
		t.Errorf("%q %v", got, err)
	}
	if got, _ := s.FormatLog(e, "time,usec"); got != "03-04 13:06:07.123456 D/T       (    5): m\n" {
		t.Errorf("%q", got)
	}
	if _, err := s.FormatLog(e, "bogus"); err == nil {
		t.Error("bogus format accepted")
	}
}
