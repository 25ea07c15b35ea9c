package hostapp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/simulator/hostapp"
)

// callPage is the wmpf-voip plugin's call page, written out here rather than
// taken from the simulator so that the test checks the parser against the
// vendor guide, not against itself.
const callPage = "plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin"

const validPath = callPage + "?roomType=video&groupId=g0123&listenerId=SN-001&callerName=Alice%20Smith%20%26%20Bob"

func TestParsePush(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want hostapp.PushMessage
		// wantErr are substrings the error must hold; empty: no error.
		wantErr []string
		// notErr are substrings the error must not hold.
		notErr []string
	}{
		{
			name: "valid push as the WeChat backend sends it",
			msg:  `{"path":"` + validPath + `","appType":0,"appid":"wx0123456789abcdef"}`,
			want: hostapp.PushMessage{Path: validPath, AppType: 0, AppID: "wx0123456789abcdef"},
		},
		{
			name: "valid push, development appType, custom query, keys in another order",
			msg:  `{"appid":"wx0123456789abcdef","appType":1,"path":"` + validPath + `&order=42&isPreLaunch=1"}`,
			want: hostapp.PushMessage{Path: validPath + "&order=42&isPreLaunch=1", AppType: 1, AppID: "wx0123456789abcdef"},
		},
		{
			name: "valid push, trial appType, unknown extra field ignored",
			msg:  `{"path":"` + callPage + `?roomType=voice&groupId=g&listenerId=s&callerName=%E5%BC%A0%E4%B8%89","appType":2,"appid":"wxffffffffffffffff","extra":{"a":[1,2]}}`,
			want: hostapp.PushMessage{Path: callPage + "?roomType=voice&groupId=g&listenerId=s&callerName=%E5%BC%A0%E4%B8%89", AppType: 2, AppID: "wxffffffffffffffff"},
		},
		{
			name: "valid push with JSON escapes in the path",
			msg:  `{"path":"plugin-private:\/\/wxf830863afde621eb\/pages\/call-page-plugin\/call-page-plugin\u003froomType=video&groupId=g&listenerId=s&callerName=x","appType":0,"appid":"wx0123456789abcdef"}`,
			want: hostapp.PushMessage{Path: callPage + "?roomType=video&groupId=g&listenerId=s&callerName=x", AppType: 0, AppID: "wx0123456789abcdef"},
		},
		{name: "empty message", msg: ``, wantErr: []string{"not a JSON object", "EOF"}},
		{name: "not JSON", msg: `roomType=video&groupId=g`, wantErr: []string{"not a JSON object"}},
		{name: "truncated JSON", msg: `{"path":"` + validPath, wantErr: []string{"not a JSON object"}},
		{name: "array", msg: `[{"path":"` + validPath + `","appType":0,"appid":"wx0123456789abcdef"}]`, wantErr: []string{"not a JSON object", "array"}},
		{name: "string", msg: `"` + validPath + `"`, wantErr: []string{"not a JSON object", "string"}},
		{name: "number", msg: `42`, wantErr: []string{"not a JSON object", "number"}},
		{name: "empty object", msg: `{}`, wantErr: []string{"missing path, appType, appid"}},
		{name: "null", msg: `null`, wantErr: []string{"not a JSON object", "null"}},
		{
			name:    "missing path",
			msg:     `{"appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"missing path"},
			notErr:  []string{"appType", "appid"},
		},
		{
			name:    "path null is not a string",
			msg:     `{"path":null,"appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path null: want a string"},
			notErr:  []string{"appType", "appid"},
		},
		{
			name:    "missing appType",
			msg:     `{"path":"` + validPath + `","appid":"wx0123456789abcdef"}`,
			wantErr: []string{"missing appType"},
			notErr:  []string{"path", "appid"},
		},
		{
			name:    "missing appid",
			msg:     `{"path":"` + validPath + `","appType":0}`,
			wantErr: []string{"missing appid"},
			notErr:  []string{"path", "appType"},
		},
		{
			name:    "missing appType and appid",
			msg:     `{"path":"` + validPath + `"}`,
			wantErr: []string{"missing appType, appid"},
		},
		{name: "path is a number", msg: `{"path":7,"appType":0,"appid":"wx0123456789abcdef"}`, wantErr: []string{"path 7: want a string"}},
		{name: "path is an object", msg: `{"path":{"p":"` + validPath + `"},"appType":0,"appid":"wx0123456789abcdef"}`, wantErr: []string{"path"}},
		{name: "appType is a string", msg: `{"path":"` + validPath + `","appType":"0","appid":"wx0123456789abcdef"}`, wantErr: []string{"appType", "allowed 0 (release)"}},
		{name: "appType is a fraction", msg: `{"path":"` + validPath + `","appType":1.5,"appid":"wx0123456789abcdef"}`, wantErr: []string{"appType"}},
		{name: "appType is a bool", msg: `{"path":"` + validPath + `","appType":true,"appid":"wx0123456789abcdef"}`, wantErr: []string{"appType"}},
		{name: "appType overflows int", msg: `{"path":"` + validPath + `","appType":1e40,"appid":"wx0123456789abcdef"}`, wantErr: []string{"appType"}},
		{name: "appid is a number", msg: `{"path":"` + validPath + `","appType":0,"appid":12}`, wantErr: []string{"appid 12: want a string"}},
		{name: "appType out of range", msg: `{"path":"` + validPath + `","appType":7,"appid":"wx0123456789abcdef"}`, wantErr: []string{"appType 7: allowed 0"}},
		{name: "keys are case-sensitive", msg: `{"PATH":"` + validPath + `","appType":0,"appid":"wx0123456789abcdef"}`, wantErr: []string{"missing path"}},
		{name: "duplicate key", msg: `{"path":"` + validPath + `","path":"x","appType":0,"appid":"wx0123456789abcdef"}`, wantErr: []string{`duplicate key "path"`}},
		{name: "text after the object", msg: `{"path":"` + validPath + `","appType":0,"appid":"wx0123456789abcdef"} {}`, wantErr: []string{"text after the object"}},
		{name: "appid is an array", msg: `{"path":"` + validPath + `","appType":0,"appid":["wx0123456789abcdef"]}`, wantErr: []string{"appid"}},
		{
			name:    "path of another page of the plugin",
			msg:     `{"path":"plugin-private://wxf830863afde621eb/pages/call-log/call-log?groupId=g","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
		{
			name:    "call page of another plugin",
			msg:     `{"path":"plugin-private://wx0000000000000000/pages/call-page-plugin/call-page-plugin?roomType=video&groupId=g&listenerId=s&callerName=x","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
		{
			name:    "a page whose name starts like the call page",
			msg:     `{"path":"` + callPage + `-evil?roomType=video&groupId=g","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
		{
			name:    "call page without a query",
			msg:     `{"path":"` + callPage + `","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
		{
			name:    "the vendor Mini Program's own page",
			msg:     `{"path":"pages/index/index?roomType=video","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
		{
			name:    "empty path",
			msg:     `{"path":"","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
		{
			name:    "call page path after leading space",
			msg:     `{"path":" ` + validPath + `","appType":0,"appid":"wx0123456789abcdef"}`,
			wantErr: []string{"path is not the wmpf-voip call page"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hostapp.ParsePush(tc.msg)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ParsePush(%q): unexpected error %v", tc.msg, err)
				}
				if got != tc.want {
					t.Fatalf("ParsePush(%q)\n got %+v\nwant %+v", tc.msg, got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePush(%q) = %+v, want an error holding %q", tc.msg, got, tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParsePush(%q) error %q: want it to hold %q", tc.msg, err, w)
				}
			}
			for _, w := range tc.notErr {
				if strings.Contains(err.Error(), w) {
					t.Errorf("ParsePush(%q) error %q: it names %q, which is not wrong", tc.msg, err, w)
				}
			}
			if got != (hostapp.PushMessage{}) {
				t.Errorf("ParsePush(%q) failed but returned %+v, want the zero value", tc.msg, got)
			}
		})
	}
}

func FuzzParsePush(f *testing.F) {
	for _, s := range []string{
		`{"path":"` + validPath + `","appType":0,"appid":"wx0123456789abcdef"}`,
		`{"path":"` + validPath + `&isClickedHangOnBtn=1","appType":2,"appid":"wx0123456789abcdef"}`,
		`{"path":"` + callPage + `?","appType":1,"appid":""}`,
		`{"path":"` + callPage + `","appType":0,"appid":"wx0123456789abcdef"}`,
		`{"path":"plugin-private://wxf830863afde621eb/pages/call-log/call-log?a=b","appType":0,"appid":"x"}`,
		`{"path":null,"appType":0,"appid":"x"}`,
		`{"path":"` + validPath + `","appType":"1","appid":"x"}`,
		`{"path":"` + validPath + `","appType":1e99,"appid":"x"}`,
		`{}`, `null`, `[]`, `"x"`, ``, `{`, `{"path":"\ud800"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		got, err := hostapp.ParsePush(msg)
		if err != nil {
			if got != (hostapp.PushMessage{}) {
				t.Fatalf("ParsePush(%q) failed (%v) but returned %+v", msg, err, got)
			}
			if err.Error() == "" {
				t.Fatalf("ParsePush(%q): empty error message", msg)
			}
			return
		}
		if !strings.HasPrefix(got.Path, callPage+"?") {
			t.Fatalf("ParsePush(%q) accepted path %q, which is not the call page", msg, got.Path)
		}
		// What was accepted survives being written out and read again.
		b, merr := json.Marshal(map[string]any{"path": got.Path, "appType": got.AppType, "appid": got.AppID})
		if merr != nil {
			t.Fatalf("marshal %+v: %v", got, merr)
		}
		again, err := hostapp.ParsePush(string(b))
		if err != nil {
			t.Fatalf("ParsePush(%q) accepted %+v, but its re-encoding %s fails: %v", msg, got, b, err)
		}
		if again != got {
			t.Fatalf("ParsePush(%q) = %+v; re-encoded %s parses to %+v", msg, got, b, again)
		}
	})
}
