package simulator_test

// One test per defect of simulator/profile/defect.go. Each runs a farm with a
// healthy device at index 0 and the defective one at index 1, does the same
// to both, and shows through adb alone that they behave differently.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
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

func TestDefectDoubleLaunch(t *testing.T) {
	r, healthy, defective := defectRig(t, "double-launch")
	h, d := callBoth(t, r, "Erin")
	hShow, _ := healthy.log.wait(t, h.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", h.groupID))
	dShow, _ := defective.log.wait(t, d.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", d.groupID))
	for _, dev := range r.devs {
		dev.log.sync(t)
	}
	hl := healthy.log.find(0, evFor("launch_called", h.groupID))
	dl := defective.log.find(0, evFor("launch_called", d.groupID))
	if len(hl) != 1 {
		t.Errorf("healthy device: %d launch_called lines for one push, want 1", len(hl))
	}
	if len(dl) != 2 {
		t.Fatalf("defective device: %d launch_called lines for one push, want 2:\n%s", len(dl), defective.log.dump(0))
	}
	for _, k := range []string{"appid", "path"} {
		if dl[0].str(k) != dl[1].str(k) {
			t.Errorf("the two launches differ in %s: %q, %q", k, dl[0].str(k), dl[1].str(k))
		}
	}
	if a, b := first(dl[0].num("appType")), first(dl[1].num("appType")); a != b || dl[0].str("path") != d.pushPath {
		t.Errorf("the two launches: appType %d and %d, path %q (pushed %q)", a, b, dl[0].str("path"), d.pushPath)
	}
	gap := dl[1].at.Sub(dl[0].at)
	if gap < 50*time.Millisecond || gap > 300*time.Millisecond {
		t.Errorf("second launch_called %v after the first, want the profile's 50..200ms (and a little)", gap)
	}
	// Both reach the system: two START lines, one process, one first frame.
	hw, dw := healthy.witness(t), defective.witness(t)
	if len(hw.starts) != 1 || len(hw.procs) != 1 || len(hw.displayed) != 1 {
		t.Errorf("healthy device: %d START, %d Start proc, %d Displayed of AppBrandUI00, want 1 each", len(hw.starts), len(hw.procs), len(hw.displayed))
	}
	if len(dw.starts) != 2 || len(dw.procs) != 1 || len(dw.displayed) != 1 {
		t.Fatalf("defective device: %d START, %d Start proc, %d Displayed of AppBrandUI00, want 2, 1, 1 (the second start goes to the running activity)",
			len(dw.starts), len(dw.procs), len(dw.displayed))
	}
	for i, s := range dw.starts {
		if g := s.at.Sub(dl[i].at); g < 0 || g > 100*time.Millisecond {
			t.Errorf("START #%d %v after launch_called #%d", i+1, g, i+1)
		}
	}
	if dw.starts[0].msg != dw.starts[1].msg {
		t.Errorf("the two START lines differ:\n%s\n%s", dw.starts[0].msg, dw.starts[1].msg)
	}
	tr := r.farm.truth(t, defective.sn, d.groupID, "launch_called", stageActivityStart, stageDisplayed)
	if len(tr["launch_called"]) != 2 || len(tr[stageActivityStart]) != 2 || len(tr[stageDisplayed]) != 1 {
		t.Errorf("defective device's ground truth: %d launch_called, %d activity_start, %d activity_displayed; want 2, 2, 1",
			len(tr["launch_called"]), len(tr[stageActivityStart]), len(tr[stageDisplayed]))
	}
	// The page shows once, and the call can be answered.
	if n := len(defective.log.find(0, voipEv("callPageOnShow", d.groupID))); n != 1 {
		t.Errorf("defective device: %d callPageOnShow, want 1", n)
	}
	ans, ok := findNode(defective.uiNodes(t), answerText)
	if !ok {
		t.Fatalf("defective device: no %s button", answerText)
	}
	x, y := center(t, ans)
	defective.shell(t, fmt.Sprintf("input tap %d %d", x, y))
	defective.log.wait(t, d.next, 15*time.Second, "hangOnVoip", voipEv("hangOnVoip", d.groupID))
	t.Logf("healthy: launch_called → callPageOnShow %v; defective: launches %v apart (START lines %v apart), → callPageOnShow %v",
		hShow.at.Sub(h.launch.at).Round(time.Millisecond), gap.Round(time.Millisecond),
		dw.starts[1].at.Sub(dw.starts[0].at).Round(time.Millisecond), dShow.at.Sub(d.launch.at).Round(time.Millisecond))
	r.farm.roomAction(t, h.roomID, "cancel")
}

func TestDefectLaggingHooks(t *testing.T) {
	r, healthy, defective := defectRig(t, "lagging-hooks")
	h, d := callBoth(t, r, "Frank")
	const lag = 300 * time.Millisecond // the default timing.hookLag
	type seen struct {
		push, launch, shown hookLine
		w                   witness
		truth               map[string][]time.Time
	}
	look := func(dev *simDev, l launched) seen {
		t.Helper()
		shown, _ := dev.log.wait(t, l.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", l.groupID))
		push, _ := dev.log.wait(t, 0, time.Second, "push_received", evFor("push_received", l.groupID))
		w := dev.witness(t)
		if len(w.starts) != 1 || len(w.displayed) != 1 {
			t.Fatalf("%s: %d START and %d Displayed lines, want one each", dev.serial, len(w.starts), len(w.displayed))
		}
		return seen{push: push, launch: l.launch, shown: shown, w: w,
			truth: r.farm.truth(t, dev.sn, l.groupID, "push_received", "launch_called", "page_shown", stageActivityStart, stageDisplayed)}
	}
	hs, ds := look(healthy, h), look(defective, d)
	// The farm runs the devices' clocks on the host's (-clock-offset 0s).
	for _, c := range []struct {
		who string
		s   seen
		lag time.Duration
	}{{"healthy", hs, 0}, {"lagging", ds, lag}} {
		// The system's lines are at the true time on both devices.
		if !near(c.s.w.starts[0].at, c.s.truth[stageActivityStart][0], time.Millisecond) || !near(c.s.w.displayed[0].at, c.s.truth[stageDisplayed][0], time.Millisecond) {
			t.Errorf("%s: START %v / Displayed %v, ground truth %v / %v", c.who, c.s.w.starts[0].at, c.s.w.displayed[0].at, c.s.truth[stageActivityStart], c.s.truth[stageDisplayed])
		}
		// The app's lines come lag after its steps; the steps themselves
		// (the ground truth) are on time.
		for _, x := range []struct {
			stage string
			line  hookLine
		}{{"push_received", c.s.push}, {"launch_called", c.s.launch}, {"page_shown", c.s.shown}} {
			late := x.line.at.Sub(c.s.truth[x.stage][0])
			if late < c.lag-time.Millisecond || late > c.lag+50*time.Millisecond {
				t.Errorf("%s: %s line %v after the step, want %v (+ up to 50ms)", c.who, x.stage, late, c.lag)
			}
		}
		if !c.s.truth["launch_called"][0].Before(c.s.truth[stageActivityStart][0]) || !c.s.truth[stageDisplayed][0].Before(c.s.truth["page_shown"][0]) {
			t.Errorf("%s: ground truth out of order: launch_called %v, START %v, Displayed %v, page_shown %v", c.who,
				c.s.truth["launch_called"], c.s.truth[stageActivityStart], c.s.truth[stageDisplayed], c.s.truth["page_shown"])
		}
		// What the harness will see: the hook line against its witness.
		launchVsStart := c.s.launch.at.Sub(c.s.w.starts[0].at)
		shownVsDisplayed := c.s.shown.at.Sub(c.s.w.displayed[0].at)
		t.Logf("%s: launch_called line − START line %v; callPageOnShow line − Displayed line %v",
			c.who, launchVsStart.Round(10*time.Microsecond), shownVsDisplayed.Round(10*time.Microsecond))
		if c.lag == 0 && (launchVsStart > 0 || launchVsStart < -100*time.Millisecond || shownVsDisplayed < 0 || shownVsDisplayed > 100*time.Millisecond) {
			t.Errorf("healthy: launch_called %v from START, callPageOnShow %v from Displayed: want the hook just before START and just after Displayed", launchVsStart, shownVsDisplayed)
		}
		if c.lag > 0 && (launchVsStart < c.lag-100*time.Millisecond || shownVsDisplayed < c.lag) {
			t.Errorf("lagging: launch_called only %v after START, callPageOnShow %v after Displayed: want about %v", launchVsStart, shownVsDisplayed, c.lag)
		}
	}
	// The lines carry no step time the harness could use instead, and stay
	// in step order.
	for k := range ds.launch.ev {
		if k != "ev" && k != "seq" && k != "appid" && k != "path" && k != "appType" {
			t.Errorf("launch_called carries %q: %s", k, ds.launch.msg)
		}
	}
	defective.log.sync(t)
	prev := 0
	for _, l := range defective.log.find(0, func(l hookLine) bool { return l.ev != nil }) {
		seq, _ := l.num("seq")
		if seq <= prev && l.name() != "host_started" {
			t.Errorf("lagging device wrote seq %d after %d: %s", seq, prev, l.msg)
		}
		prev = seq
	}
}

// postJSON POSTs body to the WeChat side's API and returns the HTTP status
// and the reply.
func (f *simFarm) postJSON(t *testing.T, path string, body any) (int, []byte) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.api+path+"?access_token="+url.QueryEscape(f.token), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, reply
}

// callWithToken places a call to d with the given push token through the
// WeChat side's callWMPF and returns the HTTP status and the errCode (0 on
// success).
func (f *simFarm) callWithToken(t *testing.T, d *simDev, token, caller string) (status, errCode int, reply string) {
	t.Helper()
	var dev struct {
		ModelID string `json:"modelId"`
	}
	f.http(t, http.MethodGet, "/sim/devices/"+url.PathEscape(d.sn), nil, &dev)
	st, body := f.postJSON(t, "/sim/voip/callWMPF", map[string]any{"roomType": "video", "sn": d.sn, "modelId": dev.ModelID,
		"pushToken": token, "nickName": caller})
	var res struct {
		ErrCode int `json:"errCode"`
	}
	_ = json.Unmarshal(body, &res)
	return st, res.ErrCode, string(body)
}

// restartHostApp force-stops the host app and starts it again; it returns
// the log index from which the new process's lines come and its pid.
func (d *simDev) restartHostApp(t *testing.T) (from int, pid string) {
	t.Helper()
	old := d.pidof(t, hostPkg)
	from = d.log.sync(t)
	d.shell(t, "am force-stop "+hostPkg)
	d.shell(t, "am start -n "+hostPkg+"/.MainActivity")
	pollUntil(t, 15*time.Second, 50*time.Millisecond, "the host app runs again with a new pid", func() bool {
		pid = d.pidof(t, hostPkg)
		return pid != "" && pid != old
	})
	return from, pid
}

func TestDefectNoTokenRefresh(t *testing.T) {
	r, healthy, defective := defectRig(t, "no-token-refresh")
	const ttl = 10 * time.Second
	type dev struct {
		d     *simDev
		from  int
		token hookLine
	}
	var devs []*dev
	for _, d := range r.devs {
		if st, body := r.farm.postJSON(t, "/sim/devices/"+url.PathEscape(d.sn), map[string]any{"pushTokenTTL": ttl.String()}); st != http.StatusOK {
			t.Fatalf("set pushTokenTTL of %s: HTTP %d %s", d.sn, st, body)
		}
		// The app gets a token of the new lifetime when it starts again.
		from, pid := d.restartHostApp(t)
		tok, _ := d.log.wait(t, from, 30*time.Second, "push_token of the restarted app", func(l hookLine) bool {
			return isEv("push_token")(l) && strconv.Itoa(l.pid) == pid
		})
		exp, _ := tok.num("expireTime")
		if left := time.Unix(int64(exp), 0).Sub(tok.at); left < ttl-1500*time.Millisecond || left > ttl {
			t.Fatalf("%s: push_token expires %v after it was logged, want about %v: %s", d.serial, left, ttl, tok.msg)
		}
		devs = append(devs, &dev{d: d, from: from, token: tok})
	}
	expiry := func(l hookLine) time.Time { n, _ := l.num("expireTime"); return time.Unix(int64(n), 0) }
	hd, dd := devs[0], devs[1]

	// The healthy app gets a new token before the first expires, without
	// restarting, and again before that one does.
	var tokens []hookLine
	next := hd.from
	for len(tokens) < 3 {
		var l hookLine
		l, next = healthy.log.wait(t, next, 2*ttl, "a push_token refresh", isEv("push_token"))
		tokens = append(tokens, l)
	}
	for i := 1; i < len(tokens); i++ {
		prev, cur := tokens[i-1], tokens[i]
		if cur.pid != prev.pid || cur.str("token") == prev.str("token") {
			t.Errorf("refresh %d: pid %d → %d, token %s → %s: want a new token from the same process", i, prev.pid, cur.pid, prev.str("token"), cur.str("token"))
		}
		if margin := expiry(prev).Sub(cur.at); margin < time.Second {
			t.Errorf("refresh %d came %v before the old token expired, want at least 1s", i, margin)
		}
	}
	t.Logf("healthy: tokens at +0, +%v, +%v; the first expired at +%v", tokens[1].at.Sub(tokens[0].at).Round(time.Millisecond),
		tokens[2].at.Sub(tokens[0].at).Round(time.Millisecond), expiry(tokens[0]).Sub(tokens[0].at).Round(time.Millisecond))
	// Now the first token has expired (+10 s) and the newest is valid: a
	// call with the newest arrives, one with the first is refused.
	if time.Now().Before(expiry(tokens[0])) {
		t.Fatalf("the third token came before the first expired: %v", expiry(tokens[0]))
	}
	if st, code, body := r.farm.callWithToken(t, healthy, tokens[0].str("token"), "old token"); st != http.StatusForbidden || code != 14 {
		t.Errorf("healthy, call with the expired first token: HTTP %d errCode %d, want 403 errCode 14: %s", st, code, body)
	}
	st, code, body := r.farm.callWithToken(t, healthy, tokens[2].str("token"), "new token")
	if st != http.StatusOK || code != 0 {
		t.Fatalf("healthy, call with the newest token: HTTP %d: %s", st, body)
	}
	var placed struct{ RoomID, GroupID string }
	_ = json.Unmarshal([]byte(body), &placed)
	healthy.log.wait(t, next, 20*time.Second, "launch_called of the call with the new token", evFor("launch_called", placed.GroupID))
	r.farm.roomAction(t, placed.RoomID, "cancel")

	// The defective app logs no new token, and once its token has expired
	// a call with it is refused with 14.
	deadline := expiry(dd.token).Add(2 * time.Second)
	if l, _, ok := defective.log.await(dd.from, deadline, func(l hookLine) bool {
		return isEv("push_token")(l) && l.str("token") != dd.token.str("token")
	}); ok {
		t.Errorf("defective device refreshed its token: %s", l.msg)
	}
	defective.log.sync(t)
	if n := len(defective.log.find(dd.from, isEv("push_token"))); n != 1 {
		t.Errorf("defective device: %d push_token lines since it started, want 1", n)
	}
	st, code, body = r.farm.callWithToken(t, defective, dd.token.str("token"), "expired")
	if st != http.StatusForbidden || code != 14 || !strings.Contains(body, "expired") {
		t.Errorf("defective, call with its only token after expiry: HTTP %d errCode %d, want 403 errCode 14 (expired): %s", st, code, body)
	}
	t.Logf("defective: one token, expired %v after it was logged; the call: HTTP %d %s", expiry(dd.token).Sub(dd.token.at).Round(time.Millisecond), st, body)
}
