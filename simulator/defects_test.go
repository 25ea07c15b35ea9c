package simulator_test

// One test per defect of simulator/profile/defect.go. Each runs a farm with a
// healthy device at index 0 and the defective one at index 1, does the same
// to both, and shows through adb alone that they behave differently.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// defectRig is a farm of two devices: 0 healthy, 1 with the defect.
func defectRig(t *testing.T, defect string, farmArgs ...string) (r *rig, healthy, defective *simDev) {
	t.Helper()
	r = newRig(t, 2, append([]string{"--defect", "1:" + defect}, farmArgs...)...)
	return r, r.devs[0], r.devs[1]
}

// launched places a call to d and returns the pushed path and the
// launch_called line of it.
type launched struct {
	roomID, groupID string
	pushPath        string
	pushAppType     int
	launch          hookLine
	next            int
}

func callAndLaunch(t *testing.T, r *rig, d *simDev, caller string, extra ...string) launched {
	t.Helper()
	from := d.log.sync(t)
	roomID, groupID := r.farm.call(t, d.sn, caller, extra...)
	push, _ := d.log.wait(t, from, 20*time.Second, "push_received for "+groupID, evFor("push_received", groupID))
	path, appType, _ := pushPath(t, push)
	launch, next := d.log.wait(t, from, 20*time.Second, "launch_called for "+groupID, evFor("launch_called", groupID))
	return launched{roomID: roomID, groupID: groupID, pushPath: path, pushAppType: appType, launch: launch, next: next}
}

// callBoth places the same call to both devices, then waits for both
// launches.
func callBoth(t *testing.T, r *rig, caller string, extra ...string) (h, d launched) {
	t.Helper()
	return callAndLaunch(t, r, r.devs[0], caller, extra...), callAndLaunch(t, r, r.devs[1], caller, extra...)
}

const acceptInApp = "--es notification custom --ez autoAccept true"

func TestDefectDropHangOnFlag(t *testing.T) {
	r, healthy, defective := defectRig(t, "drop-hangon-flag")
	for _, d := range r.devs {
		d.configure(t, acceptInApp)
	}
	h, d := callBoth(t, r, "Alice")
	for _, c := range []struct {
		dev *simDev
		l   launched
	}{{healthy, h}, {defective, d}} {
		c.dev.log.wait(t, 0, 10*time.Second, "notification_answered", evFor("notification_answered", c.l.groupID))
	}
	if got, want := h.launch.str("path"), h.pushPath+"&isClickedHangOnBtn=1"; got != want {
		t.Errorf("healthy device, accepted in the app's notification: launch path\n got %q\nwant %q", got, want)
	}
	if got := d.launch.str("path"); got != d.pushPath || strings.Contains(got, "isClickedHangOnBtn") {
		t.Errorf("defective device: launch path %q, want the pushed path %q without isClickedHangOnBtn", got, d.pushPath)
	}
	// The healthy call page answers by itself; the defective one rings.
	ans, _ := healthy.log.wait(t, h.next, 20*time.Second, "hangOnVoip on the healthy device", voipEv("hangOnVoip", h.groupID))
	if data, _ := ans.ev["data"].(map[string]any); data["auto"] != true {
		t.Errorf("healthy hangOnVoip data %v, want auto=true", data)
	}
	defective.log.wait(t, d.next, 20*time.Second, "callPageOnShow on the defective device", voipEv("callPageOnShow", d.groupID))
	if got := r.farm.room(t, d.roomID); got.State != "ringing" {
		t.Errorf("defective device's room: %+v, want ringing (nobody answered on the call page)", got)
	}
	if n, ok := findNode(defective.uiNodes(t), answerText); !ok || !n.Enabled {
		t.Errorf("defective device: the call page has no enabled %s button: the user must answer a second time", answerText)
	}
	t.Logf("healthy launch path ends %q; defective %q", tail(h.launch.str("path"), 40), tail(d.launch.str("path"), 40))
}

func TestDefectDoubleEncodeCaller(t *testing.T) {
	r, healthy, defective := defectRig(t, "double-encode-caller")
	const caller = "张三 & Co 100%"
	h, d := callBoth(t, r, caller)
	if got, want := h.launch.str("path"), callPathFor("video", h.groupID, healthy.sn, caller); got != want || got != h.pushPath {
		t.Errorf("healthy launch path\n got %q\nwant %q (= pushed %q)", got, want, h.pushPath)
	}
	want := callPagePath + "?roomType=video&groupId=" + d.groupID + "&listenerId=" + defective.sn +
		"&callerName=" + jsEncodeURIComponent(jsEncodeURIComponent(caller))
	got := d.launch.str("path")
	if got != want {
		t.Errorf("defective launch path\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(got, "callerName=%25E5%25BC%25A0") || strings.Contains(h.launch.str("path"), "%25E5") {
		t.Errorf("callerName: want %%25 escapes on the defective device only; healthy %q, defective %q", h.launch.str("path"), got)
	}
	// What the user sees: the caller's name still percent-encoded.
	defective.log.wait(t, d.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", d.groupID))
	if _, ok := findNode(defective.uiNodes(t), jsEncodeURIComponent(caller)); !ok {
		t.Errorf("defective call page does not show the encoded name %q", jsEncodeURIComponent(caller))
	}
}

func TestDefectRawCaller(t *testing.T) {
	r, healthy, defective := defectRig(t, "raw-caller")
	const caller = "Tom & Jerry 张三"
	h, d := callBoth(t, r, caller)
	if got := h.launch.str("path"); got != h.pushPath || !strings.HasSuffix(got, "&callerName=Tom%20%26%20Jerry%20%E5%BC%A0%E4%B8%89") {
		t.Errorf("healthy launch path %q, want the pushed %q", got, h.pushPath)
	}
	want := callPagePath + "?roomType=video&groupId=" + d.groupID + "&listenerId=" + defective.sn + "&callerName=" + caller
	if got := d.launch.str("path"); got != want {
		t.Errorf("defective launch path\n got %q\nwant %q", got, want)
	}
	if strings.Contains(h.launch.str("path"), caller) {
		t.Errorf("healthy launch path holds the raw name")
	}
	// The raw '&' cuts the name short on the call page.
	defective.log.wait(t, d.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", d.groupID))
	healthy.log.wait(t, h.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", h.groupID))
	if _, ok := findNode(healthy.uiNodes(t), caller); !ok {
		t.Errorf("healthy call page does not show %q", caller)
	}
	if texts := nodeTexts(defective.uiNodes(t)); len(texts) == 0 || texts[0] == caller {
		t.Errorf("defective call page shows %q: want the name cut at '&'", texts)
	} else {
		t.Logf("defective call page shows the caller as %q", texts[0])
	}
}

func TestDefectWrongAppType(t *testing.T) {
	r, _, _ := defectRig(t, "wrong-apptype")
	for _, c := range []struct {
		env              string
		push, healthy, d int
	}{
		{"develop", 1, 1, 2},
		{"trial", 2, 2, 1},
		{"release", 0, 0, 0},
	} {
		h, d := callBoth(t, r, "env "+c.env, "--env", c.env)
		for _, x := range []struct {
			who  string
			l    launched
			want int
		}{{"healthy", h, c.healthy}, {"defective", d, c.d}} {
			got, _ := x.l.launch.num("appType")
			if x.l.pushAppType != c.push || got != x.want {
				t.Errorf("--env %s, %s device: push appType %d (want %d), launch_called appType %d (want %d)",
					c.env, x.who, x.l.pushAppType, c.push, got, x.want)
			}
		}
		t.Logf("--env %s: push appType %d, healthy launches %d, defective launches %d",
			c.env, h.pushAppType, first(h.launch.num("appType")), first(d.launch.num("appType")))
		r.farm.roomAction(t, h.roomID, "cancel")
		r.farm.roomAction(t, d.roomID, "cancel")
	}
}

func TestDefectStuckOnCallPage(t *testing.T) {
	r, healthy, defective := defectRig(t, "stuck-on-call-page")
	for _, d := range r.devs {
		d.configure(t, "--es endMode background "+acceptInApp)
	}
	h, d := callBoth(t, r, "Bob")
	for _, c := range []struct {
		dev *simDev
		l   launched
	}{{healthy, h}, {defective, d}} {
		c.dev.log.wait(t, c.l.next, 30*time.Second, "joinedRoomByCaller", voipEv("joinedRoomByCaller", c.l.groupID))
		if got := c.dev.resumedActivity(t); got != appBrandUI {
			t.Fatalf("%s during the call: resumed %q, want the call page", c.dev.serial, got)
		}
		if room := r.farm.roomAction(t, c.l.roomID, "hangup"); room.State != "ended" || room.EndReason != "endByCaller" {
			t.Fatalf("room after the caller hung up: %+v", room)
		}
	}
	// The healthy device leaves the call page: to the background.
	hFinish, _ := healthy.log.wait(t, h.next, 15*time.Second, "finishVoip", voipEv("finishVoip", h.groupID))
	ended, _ := healthy.log.wait(t, h.next, 15*time.Second, "call_ended", evFor("call_ended", h.groupID))
	if ended.str("how") != "background" {
		t.Errorf("healthy call_ended: %s", ended.msg)
	}
	var resumed string
	pollUntil(t, 10*time.Second, 100*time.Millisecond, "the healthy device leaves the call page", func() bool {
		resumed = healthy.resumedActivity(t)
		return resumed != appBrandUI
	})
	left := time.Since(hFinish.seen)
	t.Logf("healthy device: %v after finishVoip the resumed activity is %q", left.Round(time.Millisecond), resumed)

	// The defective one does not, for at least twice as long.
	dFinish, _ := defective.log.wait(t, d.next, 15*time.Second, "finishVoip", voipEv("finishVoip", d.groupID))
	window := max(2*left, 2*time.Second)
	polls := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if got := defective.resumedActivity(t); got != appBrandUI {
			t.Fatalf("defective device left the call page (resumed %q) %v after finishVoip", got, time.Since(dFinish.seen))
		}
		polls++
		if time.Since(dFinish.seen) > window {
			break
		}
		<-tick.C
	}
	nodes := defective.uiNodes(t)
	hang, ok := findNode(nodes, hangUpText)
	if !ok || hang.Package != wmpfPkg {
		t.Errorf("defective device: no %s button of the call page in the UI tree: %q", hangUpText, nodeTexts(nodes))
	}
	if _, ok := findNode(nodes, "Bob"); !ok {
		t.Errorf("defective device: the call page with the caller's name is gone: %q", nodeTexts(nodes))
	}
	defective.log.sync(t)
	if l := defective.log.find(d.next, evFor("call_ended", d.groupID)); len(l) > 0 {
		t.Errorf("defective device logged call_ended: %s", l[0].msg)
	}
	t.Logf("defective device: on the call page in all %d dumpsys polls over %v after finishVoip; UI %q", polls, window.Round(time.Millisecond), nodeTexts(nodes))
}

func TestDefectSlowLaunch(t *testing.T) {
	r, healthy, defective := defectRig(t, "slow-launch")
	h, d := callBoth(t, r, "Carol")
	hShow, _ := healthy.log.wait(t, h.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", h.groupID))
	dShow, _ := defective.log.wait(t, d.next, 60*time.Second, "callPageOnShow", voipEv("callPageOnShow", d.groupID))
	hd, dd := hShow.at.Sub(h.launch.at), dShow.at.Sub(d.launch.at)
	ratio := float64(dd) / float64(hd)
	t.Logf("launch_called → callPageOnShow (cold start, device clocks): healthy %v, slow-launch %v, ratio %.2f",
		hd.Round(time.Millisecond), dd.Round(time.Millisecond), ratio)
	// The profile's factor is 4; ask for a clear 2.
	if ratio < 2 {
		t.Errorf("slow-launch device took %.2f times as long as the healthy one, want at least 2", ratio)
	}
}

func TestDefectCrashOnPush(t *testing.T) {
	r, healthy, defective := defectRig(t, "crash-on-push")
	pid0 := defective.pidof(t, hostPkg)
	hpid0 := healthy.pidof(t, hostPkg)
	if pid0 == "" || hpid0 == "" {
		t.Fatalf("host app not running: defective pid %q, healthy pid %q", pid0, hpid0)
	}
	h := callAndLaunch(t, r, healthy, "Dave")
	from := defective.log.sync(t)
	roomID, groupID := r.farm.call(t, defective.sn, "Dave")
	_, next := defective.log.wait(t, from, 20*time.Second, "push_received for "+groupID, evFor("push_received", groupID))

	var pid1 string
	pollUntil(t, 15*time.Second, 100*time.Millisecond, "the host app comes back with a new pid", func() bool {
		pid1 = defective.pidof(t, hostPkg)
		return pid1 != "" && pid1 != pid0
	})
	// Wait for the new process to be fully up, then look back.
	defective.log.wait(t, next, 20*time.Second, "host_started of pid "+pid1, func(l hookLine) bool {
		return isEv("host_started")(l) && fmt.Sprint(l.pid) == pid1
	})
	defective.log.wait(t, next, 20*time.Second, "push_token of the restarted app", func(l hookLine) bool {
		return isEv("push_token")(l) && fmt.Sprint(l.pid) == pid1
	})
	defective.log.sync(t)
	if l := defective.log.find(from, evFor("launch_called", groupID)); len(l) > 0 {
		t.Errorf("defective device launched the call page after all: %s", l[0].msg)
	}
	crash, _, _ := defective.adbs(t, "logcat", "-d", "-b", "crash")
	if !strings.Contains(crash, "FATAL EXCEPTION") || !strings.Contains(crash, "Process: "+hostPkg+", PID: "+pid0) {
		t.Errorf("defective crash buffer lacks FATAL EXCEPTION of %s pid %s:\n%s", hostPkg, pid0, crash)
	}
	hcrash, _, _ := healthy.adbs(t, "logcat", "-d", "-b", "crash")
	if strings.Contains(hcrash, "FATAL EXCEPTION") {
		t.Errorf("healthy crash buffer:\n%s", hcrash)
	}
	if got := healthy.pidof(t, hostPkg); got != hpid0 {
		t.Errorf("healthy host app pid %s → %s", hpid0, got)
	}
	if room := r.farm.room(t, roomID); room.State != "ringing" {
		t.Errorf("defective device's room: %+v, want still ringing", room)
	}
	t.Logf("healthy launched %s; defective host app pid %s → %s, crash buffer:\n%s", h.groupID, pid0, pid1, crash)
}

func TestDefectLateListener(t *testing.T) {
	r, healthy, defective := defectRig(t, "late-listener")
	type call struct {
		dev             *simDev
		from            int
		roomID, groupID string
		placed          time.Time
	}
	var calls []*call
	for _, d := range r.devs {
		calls = append(calls, &call{dev: d, from: d.log.sync(t)})
	}
	// WMPF dies on both; a call comes while it restarts.
	for _, c := range calls {
		c.dev.shell(t, "am force-stop "+wmpfPkg)
	}
	for _, c := range calls {
		c.roomID, c.groupID = r.farm.call(t, c.dev.sn, "while restarting")
		c.placed = time.Now()
	}
	hc, dc := calls[0], calls[1]

	recv, _ := healthy.log.wait(t, hc.from, 15*time.Second, "push_received on the healthy device", evFor("push_received", hc.groupID))
	healthy.log.wait(t, hc.from, 20*time.Second, "launch_called on the healthy device", evFor("launch_called", hc.groupID))
	t.Logf("healthy device received the push %v after the call", recv.seen.Sub(hc.placed).Round(time.Millisecond))

	defective.log.wait(t, dc.from, 15*time.Second, "wmpf_activated after the restart", isEv("wmpf_activated"))
	if l, _, ok := defective.log.await(dc.from, dc.placed.Add(10*time.Second), evFor("push_received", dc.groupID)); ok {
		t.Errorf("defective device received the push %v after the call: %s", l.seen.Sub(dc.placed), l.msg)
	}
	reg, _ := defective.log.wait(t, dc.from, 20*time.Second, "listener_registered (late)", isEv("listener_registered"))
	defective.log.sync(t)
	if l := defective.log.find(dc.from, evFor("push_received", dc.groupID)); len(l) > 0 {
		t.Errorf("defective device received the push: %s", l[0].msg)
	}
	p := r.farm.push(t, dc.roomID)
	if p.Status != "delivered" && p.Status != "acked" {
		t.Errorf("WeChat side: push %+v, want delivered or acked (handed to WMPF)", p)
	}
	dropped, _, _ := defective.adbs(t, "logcat", "-d", "-s", "WMPF.PushService")
	if !strings.Contains(dropped, "no push listener registered, message dropped id="+p.ID) {
		t.Errorf("WMPF's log does not show push %s dropped:\n%s", p.ID, dropped)
	}
	t.Logf("defective device: push %s %s on the WeChat side, no push_received; listener registered %v after the call",
		p.ID, p.Status, reg.seen.Sub(dc.placed).Round(time.Millisecond))
}

func TestDefectNoLifecycleListener(t *testing.T) {
	_, healthy, defective := defectRig(t, "no-lifecycle-listener")
	hFrom, dFrom := healthy.log.sync(t), defective.log.sync(t)
	hpid, dpid := healthy.pidof(t, wmpfPkg), defective.pidof(t, wmpfPkg)
	if hpid == "" || dpid == "" {
		t.Fatalf("WMPF not running: healthy %q, defective %q", hpid, dpid)
	}
	start := time.Now()
	healthy.shell(t, "am force-stop "+wmpfPkg)
	defective.shell(t, "am force-stop "+wmpfPkg)
	_, next := healthy.log.wait(t, hFrom, 15*time.Second, "wmpf_restarted on the healthy device", isEv("wmpf_restarted"))
	healthy.log.wait(t, next, 15*time.Second, "listener_registered on the healthy device", isEv("listener_registered"))
	if pid := healthy.pidof(t, wmpfPkg); pid == "" || pid == hpid {
		t.Errorf("healthy WMPF pid %q after restart (was %s)", pid, hpid)
	}
	t.Logf("healthy device: WMPF back %v after force-stop", time.Since(start).Round(time.Millisecond))
	checkStaysDead(t, defective, dFrom, start, 8*time.Second)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func first(n int, _ bool) int { return n }
