package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/matchers"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// Contract events as Await names them: a contract event, or a voip event
// of the plugin ("voip_event:hangOnVoip").
var (
	EvLaunch     = contract.EvLaunchCalled
	EvPageShown  = VoipEvent("callPageOnShow")
	EvAnswered   = VoipEvent("hangOnVoip")
	EvFinished   = VoipEvent("finishVoip")
	EvPushToken  = contract.EvPushToken
	EvCallEnded  = contract.EvCallEnded
	EvPushArrive = contract.EvPushReceived
)

// VoipEvent names a plugin event forwarded over the Invoke Channel, for
// Await ("voip_event:NAME").
func VoipEvent(name string) string { return contract.EvVoipEvent + ":" + name }

// CallOptions describe a call to place.
type CallOptions struct {
	RoomType    string // voice or video (default video)
	Caller      string // nickName (default "wmpf-hil")
	EnvVersion  string // release (default), trial, develop
	CustomQuery string
	DeviceName  string
	// CallerJoin is the simulated caller's behaviour: "" (joins at once),
	// "never", or a delay in ms.
	CallerJoin string
	// Intended is when an open-loop schedule meant the call to be placed;
	// zero for calls placed one after another.
	Intended time.Time
}

// Call is a call placed to the device.
type Call struct {
	Opts    CallOptions
	Device  *Device
	Placed  time.Time // host clock, just before the request
	RoomID  string
	GroupID string
	// Expected is what the push asks launchMiniProgram to open.
	Expected matchers.Launch
	// Mark is the device event log position when the call was placed.
	Mark int
	// Cold is true when the Mini Program process was not running.
	Cold bool
}

// PlaceCall places a call by the device's push route: callWMPF on the
// WeChat side (wechat), the push server API (pushapi), or the host app's
// injection hook (inject). The push message is the one WeChat builds.
func (d *Device) PlaceCall(ctx context.Context, o CallOptions) *Call {
	ginkgo.GinkgoHelper()
	if o.RoomType == "" {
		o.RoomType = protocol.RoomVideo
	}
	if o.Caller == "" {
		o.Caller = "wmpf-hil"
	}
	pids, err := d.Pidof(ctx, "com.tencent.wmpf:appbrand0")
	d.Must(err)
	c := &Call{Opts: o, Device: d, Mark: d.Log.Mark(), Cold: len(pids) == 0}
	params := protocol.CallParams{RoomType: o.RoomType, SN: d.Spec.SN, ModelID: d.Spec.ModelID, NickName: o.Caller,
		EnvVersion: o.EnvVersion, CustomQuery: o.CustomQuery, DeviceName: o.DeviceName}
	if params.EnvVersion == "" {
		params.EnvVersion = protocol.EnvRelease
	}
	appType, err := protocol.AppTypeOf(params.EnvVersion)
	if err != nil {
		ginkgo.Fail(err.Error())
	}
	appID := d.f.Farm.WeChat.AppID
	switch d.Spec.Push {
	case device.PushWeChat:
		req := caller.CallRequest{RoomType: o.RoomType, SN: d.Spec.SN, ModelID: d.Spec.ModelID, PushToken: d.PushToken(ctx),
			NickName: o.Caller, EnvVersion: o.EnvVersion, CustomQuery: o.CustomQuery, DeviceName: o.DeviceName}
		if o.CallerJoin != "" {
			req.Sim = map[string]any{"callerJoin": o.CallerJoin}
		}
		c.Placed = time.Now()
		res, err := d.f.Caller.CallWMPF(ctx, req)
		if err != nil {
			d.wechatFailed("callWMPF", err)
		}
		c.RoomID, c.GroupID = res.RoomID, res.GroupID
	default:
		c.GroupID = fmt.Sprintf("hil%d", time.Now().UnixNano())
		msg, err := protocol.BuildPushMessage(params, c.GroupID, appID)
		if err != nil {
			ginkgo.Fail(err.Error())
		}
		c.Placed = time.Now()
		if d.Spec.Push == device.PushAPI {
			if err := d.f.Caller.PushAppMsg(ctx, d.PushToken(ctx), msg); err != nil {
				d.wechatFailed("pushappmsg", err)
			}
		} else {
			d.Must(d.InjectPush(ctx, msg))
		}
	}
	path := protocol.CallPath(params.RoomType, c.GroupID, params.SN, params.NickName, params.CustomQuery)
	c.Expected = matchers.Launch{AppID: appID, AppType: appType, Path: path}
	d.mu.Lock()
	d.calls = append(d.calls, c)
	d.mu.Unlock()
	return c
}

// TrackRoom makes the spec's cleanup end a room the spec created without
// PlaceCall (a call that should have been refused, or placed while the
// device was away), and returns it as a call whose events can be awaited.
func (d *Device) TrackRoom(roomID, groupID string) *Call {
	c := &Call{Device: d, RoomID: roomID, GroupID: groupID, Mark: d.Log.Mark()}
	d.mu.Lock()
	d.calls = append(d.calls, c)
	d.mu.Unlock()
	return c
}

// isPush reports whether a push_received event carries this call's push.
func (c *Call) isPush(e contract.Event) bool {
	var m struct {
		Path string `json:"path"`
	}
	if json.Unmarshal([]byte(e.Str("msg")), &m) != nil {
		return false
	}
	return hasGroup(m.Path, c.GroupID)
}

func hasGroup(path, groupID string) bool {
	return strings.Contains(path, "groupId="+groupID+"&") || strings.HasSuffix(path, "groupId="+groupID)
}

// ofCall accepts the call's events, each visited once, in order. A
// launch_called belongs to the call when it follows the call's push (and
// no other push came between), whatever path it launched: so a launch that
// lost or changed a parameter is still found, and reported as such. Other
// events carry the call's groupId.
func (c *Call) ofCall(name string, kv ...string) func(contract.Event) bool {
	named := device.Named(name, kv...)
	mine := false
	return func(e contract.Event) bool {
		if e.Name == contract.EvPushReceived {
			mine = c.isPush(e)
		}
		if !named(e) {
			return false
		}
		switch name {
		case contract.EvPushReceived:
			return mine
		case contract.EvLaunchCalled:
			return mine || hasGroup(e.Str("path"), c.GroupID)
		default:
			return e.Str("groupId") == c.GroupID
		}
	}
}

// Launches returns the launch_called events that followed the call's push.
func (c *Call) Launches() []contract.Event {
	pred := c.ofCall(contract.EvLaunchCalled)
	var out []contract.Event
	for _, e := range c.Device.Log.Since(c.Mark) {
		if pred(e) {
			out = append(out, e)
		}
	}
	return out
}

// Await waits up to max for the call's event (a contract event name, and for
// voip_event the plugin event name as "voip_event:hangOnVoip"). On timeout
// it fails the spec, saying what the device did instead.
func (c *Call) Await(ctx context.Context, what string, max time.Duration) contract.Event {
	ginkgo.GinkgoHelper()
	ev, err := c.TryAwait(ctx, what, max)
	if err != nil {
		c.Device.failNoEvent(what, max, c.Mark, err)
	}
	return ev
}

// TryAwait is Await without failing.
func (c *Call) TryAwait(ctx context.Context, what string, max time.Duration) (contract.Event, error) {
	name, voip, _ := strings.Cut(what, ":")
	pred := c.ofCall(name)
	if voip != "" {
		pred = c.ofCall(name, "eventName", voip)
	}
	bctx, stop := c.Device.f.weChatBound(ctx)
	defer stop()
	wctx, cancel := context.WithTimeout(bctx, max)
	defer cancel()
	// A crash of the host app ends the wait at once, and so does the run
	// finding its WeChat side gone: what was awaited will not come.
	ev, _, err := c.Device.Log.Await(wctx, c.Mark, what, func(e contract.Event) bool {
		return pred(e) || (e.Name == contract.EvCrash && what != contract.EvCrash)
	})
	if err == nil && ev.Name == contract.EvCrash && what != contract.EvCrash {
		return contract.Event{}, fmt.Errorf("waiting for %s: the host app crashed: %s", what, ev.Str("reason"))
	}
	if err != nil && errors.Is(context.Cause(bctx), errWeChatDown) {
		return ev, fmt.Errorf("waiting for %s: %w", what, errWeChatDown)
	}
	return ev, err
}

// failNoEvent fails a spec whose awaited event did not come, with what the
// device said instead; a lost device is reported as such.
func (d *Device) failNoEvent(what string, max time.Duration, mark int, err error) {
	ginkgo.GinkgoHelper()
	if lost := d.Lost(); lost != nil {
		d.f.deviceLost(d.Spec, d.Opened, lost)
	}
	// Only a device that still answers, served by a WeChat side that
	// still answers, can be blamed for what it did not do. The WeChat
	// side is asked, not only the run's mark: the run marks it down only
	// after a few seconds of silence, and a wait may end within them.
	if why := d.f.weChatDownNow(context.Background()); why != "" {
		d.weChatGone(why)
	}
	if lost := d.Probe(context.Background()); lost != nil {
		d.f.deviceLost(d.Spec, d.Opened, lost)
	}
	evs := d.Log.Since(mark)
	msg := fmt.Sprintf("no %s from %s within %v", what, d.Spec.Name, max)
	mine := map[string]bool{}
	d.mu.Lock()
	for _, c := range d.calls {
		mine[c.GroupID] = true
	}
	d.mu.Unlock()
	for _, e := range evs {
		switch e.Name {
		case contract.EvPushReceived:
			if g := device.PushGroup(e); g != "" && !mine[g] {
				msg += "; a push of a call this spec did not place came meanwhile (groupId " + g + ")"
			}
		case contract.EvCrash:
			msg += "; the host app crashed: " + e.Str("reason")
		case contract.EvPushIgnored:
			msg += "; the host app ignored a push: " + e.Str("reason")
		case contract.EvLaunchFailed:
			msg += "; launchMiniProgram failed: " + e.Str("errMsg")
		}
	}
	ginkgo.Fail(fmt.Sprintf("%s (%v)\ncontract events since:\n%s", msg, err, device.Describe(evs)))
}

// Stamp converts an event's device time stamp to the host clock.
func (d *Device) Stamp(ev contract.Event) time.Time { return d.ToHost(ev.Time) }

// HookLagTolerance is how much later than the system's own START line the
// host app may log that it called launchMiniProgram: the app logs before it
// calls, so on a sound device its line comes first.
const HookLagTolerance = 50 * time.Millisecond

// Measure waits for every stage of an answered call and returns its
// latency record, with the simulator's ground truth when there is one. It
// checks the host app's launch line against the system's own START line
// for WMPF's activity: a hook that logs late would make every figure wrong.
func (c *Call) Measure(ctx context.Context, max time.Duration) latency.Call {
	ginkgo.GinkgoHelper()
	d := c.Device
	stages := []struct {
		stage latency.Stage
		what  string
	}{
		{latency.PushReceived, contract.EvPushReceived},
		{latency.LaunchCalled, contract.EvLaunchCalled},
		{latency.PageShown, EvPageShown},
		{latency.Answered, EvAnswered},
	}
	lc := latency.Call{ID: c.GroupID, RoomID: c.RoomID, Device: d.Spec.Name, Model: d.Spec.Model,
		Stamps: map[latency.Stage]time.Time{latency.Placed: c.Placed}}
	if c.Cold {
		lc.Start = "cold"
	} else {
		lc.Start = "warm"
	}
	deadline := time.Now().Add(max)
	lc.Observed = map[latency.Stage]time.Time{}
	var push, launch contract.Event
	for _, s := range stages {
		ev := c.Await(ctx, s.what, time.Until(deadline))
		lc.Stamps[s.stage] = d.Stamp(ev)
		if !ev.Received.IsZero() {
			lc.Observed[s.stage] = ev.Received
		}
		switch s.stage {
		case latency.PushReceived:
			push = ev
		case latency.LaunchCalled:
			launch = ev
		}
	}
	c.checkWitness(push, launch)
	lc.Intended = c.Opts.Intended
	if m, ok := d.Clock.Model(); ok {
		lc.ClockUncertainty = m.Uncertainty
	}
	if d.Spec.Simulated && d.f.Caller != nil {
		lc.Truth = c.truth(ctx)
	}
	return lc
}

// checkWitness fails the spec when the host app's launch_called line is
// stamped later than the system's START of WMPF's activity by more than
// HookLagTolerance. A device whose logcat has no such line is not judged.
func (c *Call) checkWitness(push, launch contract.Event) {
	ginkgo.GinkgoHelper()
	// The system's lines since the call was placed, on the device's clock
	// (the hook lines' own stamps cannot bound them: they may be late).
	placed := c.Placed.Add(-c.Device.ToHost(push.Time).Sub(push.Time))
	ws := c.Device.Log.Witnesses(placed, device.WitnessStart, device.WMPFPackage+"/")
	if len(ws) == 0 {
		return
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Time.Before(ws[j].Time) })
	start := ws[0]
	if lag := launch.Time.Sub(start.Time); lag > HookLagTolerance {
		ginkgo.Fail(fmt.Sprintf("the host app's hook lines lag the system's: launch_called is stamped %v after ActivityTaskManager's START of %s (tolerance %v); every stage it reports would be that late\n  system: %s %s\n  hook:   %s %s",
			lag.Round(time.Millisecond), start.Component, HookLagTolerance,
			start.Time.Format("15:04:05.000000"), start.Msg, launch.Time.Format("15:04:05.000000"), launch.Raw))
	}
}

// truth reads the simulator's ground truth of the call's stages.
func (c *Call) truth(ctx context.Context) map[latency.Stage]time.Time {
	want := map[string]latency.Stage{"push_received": latency.PushReceived, "launch_called": latency.LaunchCalled,
		"page_shown": latency.PageShown, "answered": latency.Answered}
	out := map[latency.Stage]time.Time{}
	// The device reports truth asynchronously; give it a moment to land.
	for range 50 {
		stamps, err := c.Device.f.Caller.Truth(ctx, c.Device.Spec.SN, "")
		if err != nil {
			return nil
		}
		for _, s := range stamps {
			if st, ok := want[s.Stage]; ok && s.GroupID == c.GroupID {
				out[st] = s.At
			}
		}
		if len(out) == len(want) || ctx.Err() != nil {
			return out
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return out
}

// RecordCall writes a measured call to results.jsonl and the spec report,
// with its violations of the budgets.
func (d *Device) RecordCall(lc latency.Call) []latency.Violation {
	ginkgo.GinkgoHelper()
	res := report.NewCallResult(currentSpecName(), d.Spec.Name, lc)
	viol := d.f.Budgets.Check(lc)
	for _, v := range viol {
		res.Violations = append(res.Violations, v.String())
	}
	d.f.Record(report.Record{Kind: report.KindCall, Call: res})
	ginkgo.AddReportEntry("call "+lc.ID, res.Summary())
	return viol
}

// currentSpecName is the running cell's spec.
func currentSpecName() string {
	if c := current(); c != nil {
		return c.Spec
	}
	return SpecName(ginkgo.CurrentSpecReport())
}

// EndCall ends a call from the caller's side (cancel while ringing, hang up
// once answered) when the WeChat side knows it.
func (c *Call) EndCall(ctx context.Context) error {
	if c.RoomID == "" || c.Device.f.Caller == nil {
		return nil
	}
	return c.Device.f.Caller.EndRoom(ctx, c.RoomID)
}
