package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
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

// Must fails the spec on err: as lost when the device went away, else as a
// failure naming the device.
func (d *Device) Must(err error) {
	ginkgo.GinkgoHelper()
	if err != nil {
		d.f.deviceLost(d.Spec, d.Opened, err)
	}
}

// Settings are the host app's behaviours a spec can choose.
type Settings = device.Settings

// DefaultSettings launch at once on a push and leave the call for the call
// log page.
var DefaultSettings = Settings{EndMode: contract.EndPage, Notification: contract.NotifyNone}

// Prepare brings the device to the known state every spec starts from —
// no call in progress on the device or on the WeChat side, the call page
// closed, the host app fresh, WMPF running, activated and listening — then
// sets the default settings and freshens the clock model. A device that
// cannot be put right ends the spec as an infrastructure loss (and, after
// QuarantineAfter in a row, is quarantined); it is never blamed on the
// product.
func (d *Device) Prepare(ctx context.Context) {
	ginkgo.GinkgoHelper()
	if lost := d.Lost(); lost != nil {
		d.Must(lost)
	}
	d.checkWeChat(nil)
	// A WeChat side found gone during the reset ends it at once.
	rctx, cancel := d.f.weChatBound(ctx)
	rep, err := d.Reset(rctx, d.weChatSide(), d.f.Timeouts.Ready)
	cancel()
	if lost := d.Lost(); lost != nil {
		d.Must(lost)
	}
	if err != nil {
		d.checkWeChat(err)
		if errors.Is(err, device.ErrDeviceLost) {
			d.Must(err)
		}
		d.f.notFit(d.Spec, err.Error())
	}
	for _, did := range rep.Did {
		ginkgo.By(d.Spec.Name + ": " + did)
	}
	_, err = d.Configure(ctx, DefaultSettings)
	d.Must(err)
	_, err = d.RefreshClock(ctx, 20*time.Second)
	d.Must(err)
	d.mark = d.Log.Mark()
}

// weChatSide is the run's WeChat side for a device reset (nil with
// WeChat's own servers).
func (d *Device) weChatSide() device.WeChatSide {
	if d.f.Caller == nil || d.f.Farm.WeChatSide() == nil {
		return nil
	}
	return d.f.Caller
}

// checkWeChat ends the spec as lost to the WeChat side when the run found
// it gone, or when err is the WeChat side not answering.
func (d *Device) checkWeChat(err error) {
	ginkgo.GinkgoHelper()
	if why := WeChatDown(d.f.RunDir()); why != "" {
		d.weChatGone(why)
	}
	if err != nil && unreachable(err) {
		d.weChatGone("it does not answer: " + err.Error())
	}
}

// weChatGone ends the spec as lost to the WeChat side, gone for why —
// unless the device does not answer either (the WeChat side and the
// devices may go together, one process or container serving both): then
// as lost to the device, which stays lost when the WeChat side is back.
func (d *Device) weChatGone(why string) {
	ginkgo.GinkgoHelper()
	if lost := d.Lost(); lost != nil {
		d.f.deviceLost(d.Spec, d.Opened, lost)
	}
	if lost := d.Probe(context.Background()); lost != nil {
		d.f.deviceLost(d.Spec, d.Opened, lost)
	}
	ginkgo.Fail(LostMessage(LostWeChat, why))
}

// unreachable reports whether err is the WeChat side not answering: a
// refused or reset connection, or a request that timed out.
func unreachable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "EOF")
}

// waitReady waits until the device is ready, for at most max (less when
// the run finds its WeChat side gone: a device cannot activate without it).
func (d *Device) waitReady(ctx context.Context, max time.Duration) string {
	wctx, cancel := d.f.weChatBound(ctx)
	r := d.Session.WaitReady(wctx, max)
	cancel()
	if lost := d.Lost(); lost != nil {
		d.Must(lost)
	}
	return r
}

// WaitReady is waitReady for specs: it fails the spec with the reason (as
// lost to the WeChat side when that is gone).
func (d *Device) WaitReady(ctx context.Context, max time.Duration) {
	ginkgo.GinkgoHelper()
	if r := d.waitReady(ctx, max); r != "" {
		if why := d.f.weChatDownNow(ctx); why != "" {
			d.weChatGone(why)
		}
		ginkgo.Fail(fmt.Sprintf("%s did not become ready within %v: %s", d.Spec.Name, max, r))
	}
}

// Mark is the position in the device's event log before what a spec does next.
func (d *Device) Mark() int { return d.Log.Mark() }

// SpecEvents returns the contract events since the spec started.
func (d *Device) SpecEvents() []contract.Event { return d.Log.Since(d.mark) }

// PushToken asks the host app for its current push token.
func (d *Device) PushToken(ctx context.Context) string {
	ginkgo.GinkgoHelper()
	ev, err := d.Report(ctx)
	d.Must(err)
	tok := ev.Str("pushToken")
	if tok == "" {
		ginkgo.Fail(d.Spec.Name + ": the host app reports no push token")
	}
	return tok
}

// wechatFailed ends a spec whose request to the WeChat side failed: lost
// to the WeChat side when it does not answer, lost to the device when the
// WeChat side says the device is busy with a call the reset should have
// ended (a device state problem, counted towards its quarantine), else a
// failure saying what was asked.
func (d *Device) wechatFailed(what string, err error) {
	ginkgo.GinkgoHelper()
	d.checkWeChat(err)
	var ce *protocol.CallError
	if errors.As(err, &ce) && ce.ErrCode == protocol.CodeDeviceBusy {
		ginkgo.Fail(LostMessage(LostDevice, fmt.Sprintf("%s %s: the WeChat side says %s is busy with another call (%v)", d.Spec.Name, notFitText, d.Spec.SN, err)))
	}
	ginkgo.Fail(fmt.Sprintf("%s to %s: %v", what, d.Spec.Name, err))
}

// cleanup checks the spec's calls launched once each, ends them, and
// waits for the device to finish them, so the next spec starts clean.
func (d *Device) cleanup(ctx context.Context) {
	ginkgo.GinkgoHelper()
	d.mu.Lock()
	calls := d.calls
	d.calls = nil
	d.mu.Unlock()
	var twice []string
	if d.Lost() == nil && !ginkgo.CurrentSpecReport().Failed() {
		for _, c := range calls {
			if n := len(c.Launches()); n > 1 && c.Expected.Path != "" {
				twice = append(twice, fmt.Sprintf("launchMiniProgram called %d times for one push (groupId %s):\n%s", n, c.GroupID, device.Describe(c.Launches())))
			}
		}
	}
	// The WeChat side may be down with the device (a farm in a container):
	// ending a room must not hold the run up. When the run found it gone,
	// or the spec was lost to it, nothing is asked of it (the next cell's
	// reset ends the calls it still has) and no event it would cause is
	// awaited.
	wechatGone := WeChatDown(d.f.RunDir()) != ""
	if c := current(); c != nil && c.classified.weChatGone {
		wechatGone = true // the attempt's failure, classified before the cleanup
	}
	if !wechatGone {
		ectx, cancel := context.WithTimeout(ctx, d.f.Timeouts.WeChatRequest)
		for _, c := range calls {
			_ = c.EndCall(ectx)
		}
		cancel()
	}
	if d.Lost() == nil && !wechatGone {
		for _, c := range calls {
			if c.RoomID == "" {
				continue
			}
			_, _ = c.TryAwait(ctx, EvFinished, 5*time.Second)
		}
	}
	if len(twice) > 0 {
		ginkgo.Fail(strings.Join(twice, "\n"))
	}
}

// RebootResult is what a reboot of the device took.
type RebootResult struct {
	// Gone is from the reboot command to the device no longer answering;
	// Booted to sys.boot_completed=1; Callable to its host app ready for a
	// call (WMPF running, activated, the listener registered) without the
	// harness starting anything.
	Gone, Booted, Callable time.Duration
	// Ready is "" when the host app became ready by itself, else why not.
	Ready string
}

// Reboot reboots the device with `adb reboot`, waits for it to come back
// and boot, reconnecting a network device, and for its host app to become
// ready by itself (started at boot): the spec's session is replaced by one
// on the booted device. within bounds the whole.
// whileDown, when not nil, runs once the device has gone away, before it
// is back (to send it a push it cannot receive, say).
func (d *Device) Reboot(ctx context.Context, within time.Duration, whileDown func()) RebootResult {
	ginkgo.GinkgoHelper()
	var res RebootResult
	rctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	start := time.Now()
	old := d.Session
	d.f.mu.Lock()
	delete(d.f.sessions, d.Spec.Name)
	d.f.mu.Unlock()
	old.Close()
	if err := d.ADB.Reboot(rctx, adb.RebootSystem); err != nil {
		d.Must(fmt.Errorf("%w: adb reboot: %v", device.ErrDeviceLost, err))
	}
	res.Gone = time.Since(start)
	if whileDown != nil {
		whileDown()
	}
	link := adb.LinkUSB
	if d.Spec.Connect {
		link = adb.LinkNetwork
	}
	if err := d.ADB.WaitBoot(rctx, link); err != nil {
		d.f.deviceLost(d.Spec, time.Time{}, fmt.Errorf("%w: it did not come back booted within %v of adb reboot: %v", device.ErrDeviceLost, within, err))
	}
	res.Booted = time.Since(start)
	// A session that reads the log from the boot on, so that what the
	// device did before the session opened is seen too.
	s, err := device.OpenWith(rctx, d.Spec, device.OpenOptions{FromStart: true})
	if err != nil {
		d.f.deviceLost(d.Spec, time.Time{}, err)
	}
	d.f.mu.Lock()
	d.f.sessions[d.Spec.Name] = s
	d.f.mu.Unlock()
	d.Session = s
	d.mark = 0
	// The host app must start by itself. Asking it anything first (the
	// readiness hook is a broadcast) would start it: look for its process.
	for {
		pids, err := d.Pidof(rctx, d.Spec.HostPackage)
		if err == nil && len(pids) > 0 {
			break
		}
		if rctx.Err() != nil {
			res.Callable = time.Since(start)
			res.Ready = fmt.Sprintf("the host app (%s) did not start at boot: no process of it %v after adb reboot", d.Spec.HostPackage, res.Callable.Round(time.Millisecond))
			return res
		}
		select {
		case <-rctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.Ready = d.Session.WaitReady(rctx, time.Until(start.Add(within)))
	res.Callable = time.Since(start)
	return res
}
