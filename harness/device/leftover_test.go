package device

import (
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
)

func TestPushGroup(t *testing.T) {
	for msg, want := range map[string]string{
		`{"path":"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=video&groupId=g10b0543aa597034db381ae96&listenerId=SIM-PANEL-1&callerName=wmpf-hil","appType":0,"appid":"wx0123456789abcdef"}`: "g10b0543aa597034db381ae96",
		`{"path":"plugin-private://x/pages/p?callerName=a%26groupId%3Dfake&groupId=g2"}`: "g2",
		`{"path":"plugin-private://x/pages/p"}`:                                          "",
		`{"appid":"wx1"}`:                                                                "",
		`not json`:                                                                       "",
	} {
		e := contract.Event{Name: contract.EvPushReceived, Fields: map[string]any{"msg": msg}}
		if got := PushGroup(e); got != want {
			t.Errorf("PushGroup(%s) = %q, want %q", msg, got, want)
		}
	}
}
