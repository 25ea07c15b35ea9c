package protocol

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeURIComponent(t *testing.T) {
	// Expected values are what JavaScript's encodeURIComponent returns.
	cases := map[string]string{
		"":                       "",
		"abcXYZ019":              "abcXYZ019",
		"-_.!~*'()":              "-_.!~*'()",
		"a b":                    "a%20b",
		"a+b":                    "a%2Bb",
		`"&=%;$()`:               "%22%26%3D%25%3B%24()",
		"`cmd`":                  "%60cmd%60",
		"line1\nline2\r\t":       "line1%0Aline2%0D%09",
		"/?:@#[]{}|\\^<>,":       "%2F%3F%3A%40%23%5B%5D%7B%7D%7C%5C%5E%3C%3E%2C",
		"中文":                     "%E4%B8%AD%E6%96%87",
		"😀":                      "%F0%9F%98%80",
		"é":                      "%C3%A9",
		"\x00\x7f":               "%00%7F",
		"\u00a0\u2028":           "%C2%A0%E2%80%A8",
		"%20 already":            "%2520%20already",
		"Robert'); DROP TABLE--": "Robert')%3B%20DROP%20TABLE--",
		"$(rm -rf /)":            "%24(rm%20-rf%20%2F)",
		"x=1&callerName=Mallory": "x%3D1%26callerName%3DMallory",
	}
	for in, want := range cases {
		if got := EncodeURIComponent(in); got != want {
			t.Errorf("EncodeURIComponent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuildPushMessageExactBytes(t *testing.T) {
	p := CallParams{RoomType: "video", SN: "SN-001", NickName: "Alice Smith & Bob", EnvVersion: "develop", CustomQuery: "a=1&b=two"}
	got, err := BuildPushMessage(p, "g0123", ExampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"path":"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=video&groupId=g0123&listenerId=SN-001&callerName=Alice%20Smith%20%26%20Bob&a=1&b=two","appType":1,"appid":"wx0123456789abcdef"}`
	if got != want {
		t.Fatalf("push message\n got %s\nwant %s", got, want)
	}
	for env, appType := range map[string]string{"": `"appType":0`, "release": `"appType":0`, "develop": `"appType":1`, "trial": `"appType":2`} {
		p := CallParams{RoomType: "voice", SN: "s", NickName: "n", EnvVersion: env}
		msg, err := BuildPushMessage(p, "g", ExampleAppID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, appType) {
			t.Errorf("envVersion %q: %s lacks %s", env, msg, appType)
		}
		if strings.Contains(msg, "&") && strings.HasSuffix(strings.SplitN(msg, `"`, 5)[3], "&") {
			t.Errorf("envVersion %q: empty customQuery left a trailing '&': %s", env, msg)
		}
	}
}

func TestBuildPushMessageErrors(t *testing.T) {
	base := CallParams{RoomType: "voice", SN: "sn1", NickName: "n"}
	cases := []struct {
		name  string
		mod   func(*CallParams)
		group string
		appID string
		code  int
		field string
	}{
		{"roomType", func(p *CallParams) { p.RoomType = "audio" }, "g", ExampleAppID, CodeRoomType, "roomType"},
		{"sn", func(p *CallParams) { p.SN = "" }, "g", ExampleAppID, CodeSN, "sn"},
		{"nickName", func(p *CallParams) { p.NickName = "" }, "g", ExampleAppID, CodeNickName, "nickName"},
		{"envVersion", func(p *CallParams) { p.EnvVersion = "beta" }, "g", ExampleAppID, CodeEnvVersion, "envVersion"},
		{"customQuery", func(p *CallParams) { p.CustomQuery = "&a=1" }, "g", ExampleAppID, CodeCustomQuery, "customQuery"},
		{"huge nickName", func(p *CallParams) { p.NickName = strings.Repeat("名", 600) }, "g", ExampleAppID, CodeNickName, "nickName"},
		{"huge customQuery", func(p *CallParams) { p.CustomQuery = "q=" + strings.Repeat("x", 5200) }, "g", ExampleAppID, CodeCustomQuery, "customQuery"},
		{"groupId", nil, "", ExampleAppID, 0, "groupId"},
		{"appid", nil, "g", "wxNOTHEX", 0, "appid"},
	}
	for _, c := range cases {
		p := base
		if c.mod != nil {
			c.mod(&p)
		}
		_, err := BuildPushMessage(p, c.group, c.appID)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %q does not name %s", c.name, err, c.field)
		}
		var ce *CallError
		if c.code != 0 && (!errors.As(err, &ce) || ce.ErrCode != c.code) {
			t.Errorf("%s: error %v, want code %d", c.name, err, c.code)
		}
		if strings.HasPrefix(c.name, "huge") && !strings.Contains(err.Error(), "5120") {
			t.Errorf("%s: error %q does not give the limit", c.name, err)
		}
	}
}

// hostileNames are caller names that break naive path building.
var hostileNames = []string{
	`"quoted" 'single'`,
	"a&b",
	"a=b",
	"100%",
	"%41%zz%",
	"semi;colon",
	"$(reboot)",
	"`id`",
	"line1\nline2",
	"tab\tcr\r",
	"😀👨‍👩‍👧",
	strings.Repeat("通", 200),
	"x&callerName=Mallory&isClickedHangOnBtn=1",
	"?#/\\+ ",
	"<script>alert(1)</script>",
	"\u2028\u2029\ufeff",
	" leading and trailing ",
}

// checkPathRoundTrip parses a push message and checks its query: the plugin's
// four parameters in order with the expected values, then customQuery.
func checkPathRoundTrip(t *testing.T, msg, roomType, groupID, sn, name, customQuery string) {
	t.Helper()
	var m PushMessage
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatalf("push message is not JSON: %v: %s", err, msg)
	}
	page, query, ok := strings.Cut(m.Path, "?")
	if !ok || page != CallPagePath {
		t.Fatalf("path %q: page %q", m.Path, page)
	}
	pairs := strings.Split(query, "&")
	wantCustom := 0
	if customQuery != "" {
		wantCustom = len(strings.Split(customQuery, "&"))
	}
	if len(pairs) != 4+wantCustom {
		t.Fatalf("name %q: %d query pairs, want %d: %q", name, len(pairs), 4+wantCustom, query)
	}
	want := []struct{ key, value string }{{"roomType", roomType}, {"groupId", groupID}, {"listenerId", sn}, {"callerName", name}}
	for i, w := range want {
		k, v, ok := strings.Cut(pairs[i], "=")
		if !ok || k != w.key {
			t.Fatalf("name %q: pair %d is %q, want key %s", name, i, pairs[i], w.key)
		}
		if strings.ContainsAny(v, "&=?# \n+") {
			t.Errorf("name %q: %s value %q has a raw delimiter", name, k, v)
		}
		dec, err := url.PathUnescape(v)
		if err != nil {
			t.Fatalf("name %q: PathUnescape(%q): %v", name, v, err)
		}
		if dec != w.value {
			t.Errorf("%s round trip: got %q, want %q", k, dec, w.value)
		}
	}
	if customQuery != "" && strings.Join(pairs[4:], "&") != customQuery {
		t.Errorf("customQuery: got %q, want %q", strings.Join(pairs[4:], "&"), customQuery)
	}
}

func TestPathRoundTripHostileNames(t *testing.T) {
	for _, name := range hostileNames {
		for _, sn := range []string{"SN-42", "SN&listenerId=x%2F;$(id)"} {
			for _, cq := range []string{"", "a=1&b=%26x"} {
				p := CallParams{RoomType: "video", SN: sn, NickName: name, CustomQuery: cq}
				msg, err := BuildPushMessage(p, "g42", ExampleAppID)
				if err != nil {
					t.Fatalf("name %q: %v", name, err)
				}
				if len(msg) > MaxPushMsgBytes {
					t.Fatalf("name %q: message %d bytes", name, len(msg))
				}
				checkPathRoundTrip(t, msg, "video", "g42", sn, name, cq)
			}
		}
	}
}

// TestPathRoundTripProperty checks the round trip for random names mixing
// delimiters, escapes, control characters and characters from every plane.
func TestPathRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pool := []rune("&=%;$()`'\"\n\r\t ?#/+\\<>{}|^~!*._-aZ09中😀\u0000\u007f\u2028")
	for i := 0; i < 3000; i++ {
		n := 1 + rng.IntN(60)
		var b strings.Builder
		for j := 0; j < n; j++ {
			if rng.IntN(3) == 0 {
				r := rune(rng.IntN(0x10FFFF))
				if utf8.ValidRune(r) {
					b.WriteRune(r)
					continue
				}
			}
			b.WriteRune(pool[rng.IntN(len(pool))])
		}
		name := b.String()
		msg, err := BuildPushMessage(CallParams{RoomType: "voice", SN: "s", NickName: name}, "g", ExampleAppID)
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		checkPathRoundTrip(t, msg, "voice", "g", "s", name, "")
		if enc := EncodeURIComponent(name); strings.ContainsAny(enc, " +") {
			t.Fatalf("name %q encoded with a space or plus: %q", name, enc)
		}
	}
}
