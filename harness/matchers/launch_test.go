package matchers

import (
	"strings"
	"testing"
)

const base = "plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin"

func TestMatchLaunch(t *testing.T) {
	exp := Launch{AppID: "wx0123456789abcdef", AppType: 1, Path: base + "?roomType=video&groupId=g1&listenerId=SN1&callerName=%E5%BC%A0%20%26"}
	ok, err := MatchLaunch(exp).Match(exp)
	if !ok || err != nil {
		t.Fatalf("identical launch: %v %v", ok, err)
	}
	cases := []struct {
		actual Launch
		want   []string
	}{
		{Launch{exp.AppID, 2, exp.Path}, []string{"appType differ", "expected 1"}},
		{Launch{exp.AppID, 1, strings.Replace(exp.Path, "%E5", "%25E5", 1)}, []string{"callerName differ", `actual   "%25E5%BC%A0%20%26"`}},
		{Launch{exp.AppID, 1, strings.Replace(exp.Path, "%E5%BC%A0%20%26", "张 &", 1)}, []string{"callerName", "UNEXPECTED"}},
		{Launch{exp.AppID, 1, exp.Path + "&isClickedHangOnBtn=1"}, []string{"isClickedHangOnBtn differ", "UNEXPECTED"}},
		{Launch{exp.AppID, 1, strings.Replace(exp.Path, "&groupId=g1", "", 1)}, []string{"groupId differ", "MISSING"}},
	}
	for _, c := range cases {
		m := MatchLaunch(exp)
		ok, err := m.Match(c.actual)
		if ok || err != nil {
			t.Errorf("%+v matched (%v)", c.actual, err)
			continue
		}
		msg := m.FailureMessage(c.actual)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("message lacks %q:\n%s", w, msg)
			}
		}
	}
	// same parameters, another order
	swapped := Launch{exp.AppID, 1, base + "?groupId=g1&roomType=video&listenerId=SN1&callerName=%E5%BC%A0%20%26"}
	m := MatchLaunch(exp)
	if ok, _ := m.Match(swapped); ok || !strings.Contains(m.FailureMessage(swapped), "different order") {
		t.Errorf("reordered path: %v", m.FailureMessage(swapped))
	}
}
