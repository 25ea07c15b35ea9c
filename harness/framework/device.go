package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/harness/matchers"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// Device is the device a spec leased.
type Device struct {
	*device.Session
	f         *Framework
	specStart time.Time
	mark      int

	mu    sync.Mutex
	calls []*Call
}

// current is the device of the running spec (one spec at a time per process).
var (
	currentMu sync.Mutex
	current   *Device
)

func (f *Framework) setCurrent(d *Device) {
	currentMu.Lock()
	current = d
	currentMu.Unlock()
}

func currentDevice() *Device {
	currentMu.Lock()
	defer currentMu.Unlock()
	return current
}

// Must fails the spec on err, as "device lost" when the device went away.
func (d *Device) Must(err error) {
	GinkgoHelper()
	if err != nil {
		d.f.deviceLost(d.Spec, d.Opened, err)
	}
}

// Settings are the host app's behaviours a spec can choose.
type Settings = device.Settings

// DefaultSettings launch at once on a push and leave the call for the call
// log page.
var DefaultSettings = Settings{EndMode: contract.EndPage, Notification: contract.NotifyNone}

// Prepare makes the device ready for a call: the host app answers, WMPF is
// running and activated and the listener registered (restarting the host
// app once if not), the Mini Program is not in front, the settings are the
// defaults, and the clock model is fresh.
func (d *Device) Prepare(ctx context.Context) {
	GinkgoHelper()
	reason := d.readiness(ctx)
	if reason != "" {
		By(fmt.Sprintf("recovering %s (%s): restarting the host app", d.Spec.Name, reason))
		_, err := d.Run(ctx, "am force-stop "+d.Spec.HostPackage+" && am start -W -a android.intent.action.MAIN -c android.intent.category.LAUNCHER -p "+d.Spec.HostPackage)
		d.Must(err)
		if r := d.waitReady(ctx, 20*time.Second); r != "" {
			Fail(fmt.Sprintf("%s is not ready for a call: %s (even after restarting the host app)", d.Spec.Name, r))
		}
	}
	if on, _, err := d.OnCallPage(ctx); err == nil && on {
		_, err := d.Run(ctx, "input keyevent KEYCODE_BACK")
		d.Must(err)
	}
	_, err := d.Configure(ctx, DefaultSettings)
	d.Must(err)
	_, err = d.RefreshClock(ctx, 20*time.Second)
	d.Must(err)
	d.mark = d.Log.Mark()
}

// readiness returns "" when the device can take a call, else why not; a
// lost device fails the spec.
func (d *Device) readiness(ctx context.Context) string {
	r := d.Readiness(ctx)
	if lost := d.Lost(); lost != nil {
		d.Must(lost)
	}
	return r
}

// waitReady waits until the device is ready, for at most max.
func (d *Device) waitReady(ctx context.Context, max time.Duration) string {
	r := d.Session.WaitReady(ctx, max)
	if lost := d.Lost(); lost != nil {
		d.Must(lost)
	}
	return r
}

// WaitReady is waitReady for specs: it fails the spec with the reason.
func (d *Device) WaitReady(ctx context.Context, max time.Duration) {
	GinkgoHelper()
	if r := d.waitReady(ctx, max); r != "" {
		Fail(fmt.Sprintf("%s did not become ready within %v: %s", d.Spec.Name, max, r))
	}
}

// Mark is the position in the device's event log before what a spec does next.
func (d *Device) Mark() int { return d.Log.Mark() }

// SpecEvents returns the contract events since the spec started.
func (d *Device) SpecEvents() []contract.Event { return d.Log.Since(d.mark) }

// PushToken asks the host app for its current push token.
func (d *Device) PushToken(ctx context.Context) string {
	GinkgoHelper()
	ev, err := d.Report(ctx)
	d.Must(err)
	tok := ev.Str("pushToken")
	if tok == "" {
		Fail(d.Spec.Name + ": the host app reports no push token")
	}
	return tok
}

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
	GinkgoHelper()
	if o.RoomType == "" {
		o.RoomType = "video"
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
		params.EnvVersion = "release"
	}
	appType, err := protocol.AppTypeOf(params.EnvVersion)
	if err != nil {
		Fail(err.Error())
	}
	appID := d.f.Farm.WeChat.AppID
	switch d.Spec.Push {
	case "wechat":
		req := caller.CallRequest{RoomType: o.RoomType, SN: d.Spec.SN, ModelID: d.Spec.ModelID, PushToken: d.PushToken(ctx),
			NickName: o.Caller, EnvVersion: o.EnvVersion, CustomQuery: o.CustomQuery, DeviceName: o.DeviceName}
		if o.CallerJoin != "" {
			req.Sim = map[string]any{"callerJoin": o.CallerJoin}
		}
		c.Placed = time.Now()
		res, err := d.f.Caller.CallWMPF(ctx, req)
		if err != nil {
			Fail(fmt.Sprintf("callWMPF to %s: %v", d.Spec.SN, err))
		}
		c.RoomID, c.GroupID = res.RoomID, res.GroupID
	default:
		c.GroupID = fmt.Sprintf("hil%d", time.Now().UnixNano())
		msg, err := protocol.BuildPushMessage(params, c.GroupID, appID)
		if err != nil {
			Fail(err.Error())
		}
		c.Placed = time.Now()
		if d.Spec.Push == "pushapi" {
			if err := d.f.Caller.PushAppMsg(ctx, d.PushToken(ctx), msg); err != nil {
				Fail(fmt.Sprintf("pushappmsg to %s: %v", d.Spec.SN, err))
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
// PlaceCall (a call that should have been refused, say).
func (d *Device) TrackRoom(roomID, groupID string) {
	d.mu.Lock()
	d.calls = append(d.calls, &Call{Device: d, RoomID: roomID, GroupID: groupID, Mark: d.Log.Mark()})
	d.mu.Unlock()
}

// ofCall accepts events that belong to this call (by groupId).
func (c *Call) ofCall(name string, kv ...string) func(contract.Event) bool {
	named := device.Named(name, kv...)
	return func(e contract.Event) bool {
		if !named(e) {
			return false
		}
		switch name {
		case contract.EvPushReceived:
			var m struct {
				Path string `json:"path"`
			}
			if json.Unmarshal([]byte(e.Str("msg")), &m) != nil {
				return false
			}
			return strings.Contains(m.Path, "groupId="+c.GroupID+"&") || strings.HasSuffix(m.Path, "groupId="+c.GroupID)
		case contract.EvLaunchCalled:
			p := e.Str("path")
			return strings.Contains(p, "groupId="+c.GroupID+"&") || strings.HasSuffix(p, "groupId="+c.GroupID)
		default:
			return e.Str("groupId") == c.GroupID
		}
	}
}

// Await waits up to max for the call's event (a contract event name, and for
// voip_event the plugin event name as "voip_event:hangOnVoip"). On timeout
// it fails the spec, saying what the device did instead.
func (c *Call) Await(ctx context.Context, what string, max time.Duration) contract.Event {
	GinkgoHelper()
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
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	// A crash of the host app ends the wait at once: what was awaited
	// will not come.
	ev, _, err := c.Device.Log.Await(wctx, c.Mark, what, func(e contract.Event) bool {
		return pred(e) || (e.Name == contract.EvCrash && what != contract.EvCrash)
	})
	if err == nil && ev.Name == contract.EvCrash && what != contract.EvCrash {
		return contract.Event{}, fmt.Errorf("waiting for %s: the host app crashed: %s", what, ev.Str("reason"))
	}
	return ev, err
}

// failNoEvent fails a spec whose awaited event did not come, with what the
// device said instead; a lost device is reported as such.
func (d *Device) failNoEvent(what string, max time.Duration, mark int, err error) {
	GinkgoHelper()
	if lost := d.Lost(); lost != nil {
		d.f.deviceLost(d.Spec, d.Opened, lost)
	}
	// Only a device that still answers can be blamed for what it did
	// not do.
	if lost := d.Probe(context.Background()); lost != nil {
		d.f.deviceLost(d.Spec, d.Opened, lost)
	}
	evs := d.Log.Since(mark)
	msg := fmt.Sprintf("no %s from %s within %v", what, d.Spec.Name, max)
	for _, e := range evs {
		switch e.Name {
		case contract.EvCrash:
			msg += "; the host app crashed: " + e.Str("reason")
		case contract.EvPushIgnored:
			msg += "; the host app ignored a push: " + e.Str("reason")
		case contract.EvLaunchFailed:
			msg += "; launchMiniProgram failed: " + e.Str("errMsg")
		}
	}
	Fail(fmt.Sprintf("%s (%v)\ncontract events since:\n%s", msg, err, device.Describe(evs)))
}

// Stamp converts an event's device time stamp to the host clock.
func (d *Device) Stamp(ev contract.Event) time.Time { return d.ToHost(ev.Time) }

// Measure waits for every stage of an answered call and returns its
// latency record, with the simulator's ground truth when there is one.
func (c *Call) Measure(ctx context.Context, max time.Duration) latency.Call {
	GinkgoHelper()
	d := c.Device
	stages := []struct {
		stage latency.Stage
		what  string
	}{
		{latency.PushReceived, contract.EvPushReceived},
		{latency.LaunchCalled, contract.EvLaunchCalled},
		{latency.PageShown, contract.EvVoipEvent + ":callPageOnShow"},
		{latency.Answered, contract.EvVoipEvent + ":hangOnVoip"},
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
	for _, s := range stages {
		ev := c.Await(ctx, s.what, time.Until(deadline))
		lc.Stamps[s.stage] = d.Stamp(ev)
		if !ev.Received.IsZero() {
			lc.Observed[s.stage] = ev.Received
		}
	}
	lc.Intended = c.Opts.Intended
	if m, ok := d.Clock.Model(); ok {
		lc.ClockUncertainty = m.Uncertainty
	}
	if d.Spec.Simulated && d.f.Caller != nil {
		lc.Truth = c.truth(ctx)
	}
	return lc
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
	GinkgoHelper()
	res := &report.CallResult{Spec: CurrentSpecReport().FullText(), Call: lc, Durations: map[string]float64{}}
	for _, seg := range latency.Segments {
		if v, ok := lc.Duration(seg); ok {
			res.Durations[seg.Name] = ms(v)
			if t, ok := lc.TruthDuration(seg); ok {
				if res.TruthErrors == nil {
					res.TruthErrors = map[string]float64{}
				}
				res.TruthErrors[seg.Name] = ms(v - t)
			}
		}
	}
	for k, v := range lc.OpenLoop() {
		res.Durations[k] = ms(v)
	}
	viol := d.f.Budgets.Check(lc)
	for _, v := range viol {
		res.Violations = append(res.Violations, v.String())
	}
	d.f.Record(report.Record{Kind: report.KindCall, Call: res})
	AddReportEntry("call "+lc.ID, res.Durations)
	return viol
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// EndCall ends a call from the caller's side (cancel while ringing, hang up
// once answered) when the WeChat side knows it.
func (c *Call) EndCall(ctx context.Context) error {
	if c.RoomID == "" || c.Device.f.Caller == nil {
		return nil
	}
	r, err := c.Device.f.Caller.Room(ctx, c.RoomID)
	if err != nil {
		return err
	}
	switch r.State {
	case "ringing":
		return c.Device.f.Caller.Cancel(ctx, c.RoomID)
	case "answered", "ongoing":
		return c.Device.f.Caller.Hangup(ctx, c.RoomID)
	}
	return nil
}

// cleanup ends the spec's calls and waits for the device to finish them, so
// the next spec starts clean.
func (d *Device) cleanup(ctx context.Context) {
	defer func() {
		currentMu.Lock()
		if current == d {
			current = nil
		}
		currentMu.Unlock()
	}()
	d.mu.Lock()
	calls := d.calls
	d.calls = nil
	d.mu.Unlock()
	// The WeChat side may be down with the device (a farm in a container):
	// ending a room must not hold the run up.
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	for _, c := range calls {
		_ = c.EndCall(ectx)
	}
	cancel()
	if d.Lost() != nil {
		return
	}
	for _, c := range calls {
		if c.RoomID == "" {
			continue
		}
		_, _ = c.TryAwait(ctx, contract.EvVoipEvent+":finishVoip", 5*time.Second)
	}
}
