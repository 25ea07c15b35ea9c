package runner

import (
	"strings"
	"testing"
)

// A dump of `logcat -d -v epoch,usec -s WmpfHilHook` from a simulated
// device whose worker died while the push of call g5b8… was on its way to
// the host app: the call page came up for the ended call and closed.
const settleDump = `--------- beginning of main
         1796007053.634236   245   245 I WmpfHilHook: {"activated":true,"ev":"state","listenerRegistered":true,"seq":33,"wmpfRunning":true}
         1796007053.784458   245   245 I WmpfHilHook: {"ev":"push_received","msg":"{\"path\":\"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=voice&groupId=g5b8aa5440da0d0b5ae38684f&listenerId=WHSSIMP46204&callerName=Alice%20Liu\",\"appType\":0,\"appid\":\"wx0123456789abcdef\"}","seq":34,"via":"wmpf"}
         1796007053.806529   245   245 I WmpfHilHook: {"appType":0,"appid":"wx0123456789abcdef","ev":"launch_called","path":"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=voice&groupId=g5b8aa5440da0d0b5ae38684f&listenerId=WHSSIMP46204&callerName=Alice%20Liu","seq":37}
         1796007054.103271   245   245 I WmpfHilHook: {"data":{"status":"manual"},"ev":"voip_event","eventName":"cancelVoip","groupId":"g5b8aa5440da0d0b5ae38684f","roomId":"rdbba939f3571d62d2bc9f499","seq":40}
         1796007054.104752   245   245 I WmpfHilHook: {"ev":"call_ended","groupId":"g5b8aa5440da0d0b5ae38684f","how":"end_page","on":"endVoip","page":"call-log","roomId":"rdbba939f3571d62d2bc9f499","seq":42}
         1796007054.106107   245   245 I WmpfHilHook: {"data":{"keepTime":0},"ev":"voip_event","eventName":"finishVoip","groupId":"g5b8aa5440da0d0b5ae38684f","roomId":"rdbba939f3571d62d2bc9f499","seq":43}
         1796007055.000001   245   245 I WmpfHilHook: {"ev":"push_ignored","msg":"{\"path\":\"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=video&groupId=gIGNORED&listenerId=X\"}","reason":"duplicate","seq":44}
         1796007055.100000   245   245 I WmpfHilHook: {"data":{"roomType":"video"},"ev":"voip_event","eventName":"callPageOnShow","groupId":"gRINGING","roomId":"r2","seq":45}
`

func TestFinishedGroups(t *testing.T) {
	want := map[string]bool{"g5b8aa5440da0d0b5ae38684f": true, "gIGNORED": true, "gRINGING": true, "gNEVER": true}
	got := finishedGroups([]byte(settleDump), want)
	if !got["g5b8aa5440da0d0b5ae38684f"] || !got["gIGNORED"] || got["gRINGING"] || got["gNEVER"] || len(got) != 2 {
		t.Errorf("finished %v; want the ended call and the ignored push, not the ringing call or one never seen", got)
	}
	// Only the cancel, not yet the end: not finished.
	cut := settleDump[:strings.Index(settleDump, `"ev":"call_ended"`)]
	cut = cut[:strings.LastIndex(cut, "\n")+1]
	if got := finishedGroups([]byte(cut), want); got["g5b8aa5440da0d0b5ae38684f"] {
		t.Errorf("a call with only its cancelVoip logged counted as finished")
	}
}
