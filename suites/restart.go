package suites

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/matchers"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

const wmpfProcess = "com.tencent.wmpf"

// killWMPF kills WMPF one way or the other and returns its old pids and
// when it was killed.
func killWMPF(ctx context.Context, d *framework.Device, how string) ([]int, time.Time) {
	GinkgoHelper()
	pids, err := d.Pidof(ctx, wmpfProcess)
	d.Must(err)
	Expect(pids).NotTo(BeEmpty(), "WMPF is not running before the kill")
	killed := time.Now()
	switch how {
	case "force-stop":
		_, err = d.Run(ctx, "am force-stop "+wmpfProcess)
	case "kill-9":
		_, err = d.Run(ctx, fmt.Sprintf("kill -9 %d", pids[0]))
		if err != nil && strings.Contains(err.Error(), "not permitted") {
			Fail("kill -9 needs a rooted (userdebug) device with adbd as root: " + err.Error())
		}
	}
	d.Must(err)
	return pids, killed
}

// awaitRestart waits for WMPF to be back: a new process, the app told
// (wmpf_restarted), WMPF activated again and the listener registered again.
// It returns the restart time, or fails saying what never came.
func awaitRestart(ctx context.Context, d *framework.Device, mark int, oldPids []int, killed time.Time, how string) time.Duration {
	GinkgoHelper()
	budget := framework.F.Budgets.Restart
	wctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var missing []string
	var back time.Time
	for _, step := range []struct{ what, name string }{
		{"wmpf_restarted", contract.EvWMPFRestarted},
		{"wmpf_activated ok", contract.EvWMPFActivated},
		{"listener_registered", contract.EvListenerRegistered},
	} {
		ev, idx, err := d.Log.Await(wctx, mark, step.what, func(e contract.Event) bool {
			if e.Name != step.name {
				return false
			}
			ok, has := e.Bool("ok")
			return !has || ok
		})
		if err != nil {
			missing = append(missing, step.what)
			continue
		}
		mark = idx + 1
		back = d.Stamp(ev)
	}
	pids, err := d.Pidof(ctx, wmpfProcess)
	d.Must(err)
	if len(missing) > 0 {
		framework.F.Record(report.Record{Kind: report.KindRestart, Restart: &report.RestartInfo{Spec: CurrentSpecReport().FullText(),
			Device: d.Spec.Name, Model: d.Spec.Model, Kill: report.KillMethod(how), Restarted: false,
			Detail: "missing " + strings.Join(missing, ", ")}})
		Fail(fmt.Sprintf("WMPF did not restart within %v after %s: no %s; pidof %s gives %v (before: %v)\ncontract events since the kill:\n%s",
			budget, how, strings.Join(missing, ", no "), wmpfProcess, pids, oldPids, device.Describe(d.Log.Since(mark))))
	}
	Expect(pids).NotTo(BeEmpty(), "WMPF said it restarted but pidof %s finds no process", wmpfProcess)
	Expect(pids).NotTo(ContainElement(oldPids[0]), "WMPF's pid did not change: it was not restarted")
	return back.Sub(killed)
}

var _ = framework.Describe("WMPF restart", Label("restart"), func() {
	DescribeTable("WMPF killed comes back, activated, and the next call works",
		func(ctx SpecContext, how string) {
			d := framework.Lease(ctx)
			mark := d.Mark()
			old, killed := killWMPF(ctx, d, how)
			took := awaitRestart(ctx, d, mark, old, killed, how)
			framework.F.Record(report.Record{Kind: report.KindRestart, Restart: &report.RestartInfo{Spec: CurrentSpecReport().FullText(),
				Device: d.Spec.Name, Model: d.Spec.Model, Kill: report.KillMethod(how), Restarted: true, RestartMs: float64(took) / 1e6}})
			AddReportEntry("restart", took.String())
			By("the next call works")
			d.WaitReady(ctx, framework.DefaultTimeouts.Ready)
			call := d.PlaceCall(ctx, framework.CallOptions{Caller: "after restart"})
			Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected))
		},
		Entry("am force-stop", tableTimeout, "force-stop"),
		Entry("kill -9", tableTimeout, "kill-9"),
	)

	It("delivers a push sent while WMPF was down once WMPF is back, or reports it lost", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		_, err := d.Run(ctx, "am force-stop "+wmpfProcess)
		d.Must(err)
		pids, err := d.Pidof(ctx, wmpfProcess)
		d.Must(err)
		Expect(pids).To(BeEmpty(), "WMPF still running after am force-stop")
		By("placing a call while WMPF is down")
		call := d.PlaceCall(ctx, framework.CallOptions{Caller: "while down"})
		within := framework.F.Budgets.PushDelivery
		ev, err := call.TryAwait(ctx, framework.EvPushArrive, within)
		info := &report.RestartInfo{Spec: CurrentSpecReport().FullText(), Device: d.Spec.Name, Model: d.Spec.Model, Kill: "force-stop"}
		if err == nil {
			info.PushVerdict = "delivered"
			info.PushMs = float64(d.Stamp(ev).Sub(call.Placed)) / 1e6
			info.Restarted = true
			framework.F.Record(report.Record{Kind: report.KindRestart, Restart: info})
			Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected))
			return
		}
		info.PushVerdict = "lost"
		detail := []string{fmt.Sprintf("push of the call placed at %s (groupId %s) never reached the host app within %v", call.Placed.Format("15:04:05.000"), call.GroupID, within)}
		for _, e := range d.Log.Since(call.Mark) {
			switch e.Name {
			case contract.EvWMPFRestarted, contract.EvWMPFActivated, contract.EvListenerRegistered:
				detail = append(detail, fmt.Sprintf("%s at %s", e.Name, d.Stamp(e).Format("15:04:05.000")))
				info.Restarted = info.Restarted || e.Name == contract.EvWMPFRestarted
			}
		}
		if !info.Restarted {
			detail = append(detail, "WMPF never came back")
		}
		if framework.F.Caller != nil && d.Spec.Simulated {
			if pushes, err := framework.F.Caller.Pushes(ctx, d.Spec.SN); err == nil {
				for _, p := range pushes {
					if p.GroupID == call.GroupID {
						detail = append(detail, fmt.Sprintf("the WeChat side says the push is %s", p.Status))
					}
				}
			}
		}
		info.Detail = strings.Join(detail, "; ")
		framework.F.Record(report.Record{Kind: report.KindRestart, Restart: info})
		Fail("push lost: " + info.Detail)
	}, SpecTimeout(framework.DefaultTimeouts.Spec))
})

var _ = framework.Describe("Device reboot", Label("restart", "reboot"), func() {
	It("comes back after adb reboot: the host app starts at boot, WMPF activated and listening, a new push token, a push sent while it was down delivered or reported lost, and the next call arrives",
		func(ctx SpecContext) {
			d := framework.Lease(ctx)
			budget := framework.F.Budgets.RebootFor(d.Spec.Model)
			var tokenBefore string
			if d.Spec.Push == device.PushWeChat {
				tokenBefore = d.PushToken(ctx)
			}
			By(fmt.Sprintf("adb reboot (budget to callable: %v)", budget))
			var downCall protocol.CallResult
			res := d.Reboot(ctx, budget+5*time.Second, func() {
				if tokenBefore == "" {
					return
				}
				By("placing a call while the device is down")
				var err error
				downCall, err = framework.F.Caller.CallWMPF(ctx, caller.CallRequest{RoomType: protocol.RoomVideo, SN: d.Spec.SN,
					ModelID: d.Spec.ModelID, PushToken: tokenBefore, NickName: "while rebooting"})
				if err != nil {
					GinkgoWriter.Printf("callWMPF while the device was down: %v\n", err)
				}
			})
			info := &report.RestartInfo{Spec: CurrentSpecReport().LeafNodeText, Device: d.Spec.Name, Model: d.Spec.Model,
				Kill: report.KillReboot, Restarted: res.Ready == "", RestartMs: report.Ms(res.Callable)}
			AddReportEntry("reboot", fmt.Sprintf("gone %v, booted %v, callable %v", res.Gone.Round(time.Millisecond),
				res.Booted.Round(time.Millisecond), res.Callable.Round(time.Millisecond)))
			if res.Ready != "" {
				info.Detail = "not ready after the reboot: " + res.Ready
				framework.F.Record(report.Record{Kind: report.KindRestart, Restart: info})
				Fail(fmt.Sprintf("after the reboot the host app is not ready for a call %v after adb reboot (it must start at boot, activate WMPF and register its listener by itself): %s",
					res.Callable.Round(time.Millisecond), res.Ready))
			}
			if downCall.RoomID != "" {
				// The session reads the device's log from its boot on.
				down := d.TrackRoom(downCall.RoomID, downCall.GroupID)
				down.Mark = 0
				info.PushVerdict, info.Detail = pushVerdict(ctx, d, downCall.GroupID)
				if info.PushVerdict == "delivered" {
					By("the call placed while it was down rings once it is back")
					down.Await(ctx, framework.EvPageShown, framework.DefaultTimeouts.PageShown)
				}
				Expect(framework.F.Caller.EndRoom(ctx, downCall.RoomID)).To(Succeed())
				if info.PushVerdict == "delivered" {
					down.Await(ctx, framework.EvFinished, framework.DefaultTimeouts.CallEnd)
				}
				d.Prepare(ctx)
			}
			framework.F.Record(report.Record{Kind: report.KindRestart, Restart: info})
			Expect(res.Callable).To(BeNumerically("<=", budget), "reboot to callable took %v, over the %s budget %v (gone %v, booted %v)",
				res.Callable.Round(time.Millisecond), d.Spec.Model, budget, res.Gone.Round(time.Millisecond), res.Booted.Round(time.Millisecond))
			if tokenBefore != "" {
				Expect(d.PushToken(ctx)).NotTo(Equal(tokenBefore), "the push token after the reboot is the one from before it: WMPF was not activated again")
			}
			By("the next call arrives")
			call := d.PlaceCall(ctx, framework.CallOptions{Caller: "after reboot"})
			Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected))
			call.Await(ctx, framework.EvPageShown, framework.DefaultTimeouts.PageShown)
		}, SpecTimeout(framework.DefaultTimeouts.LongSpec))
})

// pushVerdict says what became of the push of a call placed while the
// device was down, as the WeChat side saw it: delivered (the device's WMPF
// took it after the boot) or lost (it expired undelivered).
func pushVerdict(ctx context.Context, d *framework.Device, groupID string) (verdict, detail string) {
	deadline := time.Now().Add(framework.F.Budgets.PushDelivery)
	for {
		pushes, err := framework.F.Caller.Pushes(ctx, d.Spec.SN)
		if err != nil {
			return "", "the WeChat side's pushes: " + err.Error()
		}
		for _, p := range pushes {
			if p.GroupID != groupID {
				continue
			}
			switch p.Status {
			case protocol.PushDelivered, protocol.PushAcked:
				return "delivered", fmt.Sprintf("the push sent while it was down was %s after the boot", p.Status)
			case protocol.PushExpired:
				return "lost", "the push sent while it was down expired undelivered (the WeChat side keeps it only a short while)"
			}
		}
		if time.Now().After(deadline) {
			return "lost", fmt.Sprintf("the push sent while it was down was not delivered within %v of the boot", framework.F.Budgets.PushDelivery)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err().Error()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
