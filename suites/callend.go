package suites

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
)

// expectLeft checks that the device left the call page the way the
// settings say, within the budget, after the call ended at `ended`.
func expectLeft(ctx context.Context, d *framework.Device, set framework.Settings, ended time.Time) {
	GinkgoHelper()
	budget := framework.F.Budgets.Leave
	wait := max(time.Until(ended.Add(budget)), 200*time.Millisecond)
	s, ok := d.AwaitScreen(ctx, wait, func(s framework.Screen) bool {
		inMP := strings.HasPrefix(s.Resumed, device.MPActivityPrefix)
		switch set.EndMode {
		case contract.EndBackground, contract.EndExit:
			return !inMP
		default:
			if !inMP || s.OnCallPage {
				return false
			}
			if set.EndPagePath != "" {
				for _, t := range s.Texts {
					if t == set.EndPagePath {
						return true
					}
				}
				return false
			}
			return true
		}
	})
	if !ok {
		where := "left the Mini Program"
		if set.EndMode == contract.EndPage {
			where = "shown the end page " + set.EndPagePath
			if set.EndPagePath == "" {
				where = "shown the call log page"
			}
		}
		state := "not where it should be"
		if s.OnCallPage {
			state = "still on the call page"
		}
		Fail("the device is " + state + " " + budget.String() + " after the call ended (it should have " + where + "): " + s.Detail +
			"\ncontract events:\n" + device.Describe(d.SpecEvents()))
	}
}

var _ = framework.Describe("Call end", Label("call-end"), func() {
	answered := func(set framework.Settings) framework.Settings {
		set.Notification, set.AutoAccept = contract.NotifyCustom, true
		return set
	}

	DescribeTable("when the caller hangs up, the device leaves the call page",
		func(ctx SpecContext, set framework.Settings) {
			d := framework.Lease(ctx)
			d.Require(device.PushWeChat)
			_, err := d.Configure(ctx, answered(set))
			d.Must(err)
			call := d.PlaceCall(ctx, framework.CallOptions{Caller: "hang-up test"})
			call.Await(ctx, framework.VoipEvent("joinedRoomByCaller"), framework.DefaultTimeouts.Answered)
			ended := time.Now()
			Expect(framework.F.Caller.Hangup(ctx, call.RoomID)).To(Succeed())
			call.Await(ctx, framework.EvFinished, framework.DefaultTimeouts.CallEnd)
			expectLeft(ctx, d, set, ended)
		},
		Entry("to the call log page (no end page set)", tableTimeout, framework.Settings{EndMode: contract.EndPage}),
		Entry("to the page set with setVoipEndPagePath", tableTimeout, framework.Settings{EndMode: contract.EndPage, EndPagePath: "pages/after-call/after-call"}),
		Entry("to the background (closeWxaApp keepRunning=true)", tableTimeout, framework.Settings{EndMode: contract.EndBackground}),
		Entry("by exiting (wx.exitMiniProgram)", tableTimeout, framework.Settings{EndMode: contract.EndExit}),
	)

	It("when the device hangs up, it leaves the call page", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		d.Require(device.PushWeChat)
		set := answered(framework.Settings{EndMode: contract.EndBackground})
		_, err := d.Configure(ctx, set)
		d.Must(err)
		call := d.PlaceCall(ctx, framework.CallOptions{Caller: "device hangs up"})
		call.Await(ctx, framework.VoipEvent("joinedRoomByCaller"), framework.DefaultTimeouts.Answered)
		_, err = d.Tap(ctx, d.Spec.HangUp)
		d.Must(err)
		ended := time.Now()
		ev := call.Await(ctx, framework.VoipEvent("hangUpVoip"), framework.DefaultTimeouts.CallEnd)
		Expect(ev.Map("data")).To(HaveKeyWithValue("reason", "endByListener"))
		expectLeft(ctx, d, set, ended)
	}, SpecTimeout(framework.DefaultTimeouts.Spec))

	It("when the caller cancels while it rings, the device leaves the call page", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		d.Require(device.PushWeChat)
		set := framework.Settings{EndMode: contract.EndPage, Notification: contract.NotifyNone}
		call := d.PlaceCall(ctx, framework.CallOptions{Caller: "caller cancels"})
		call.Await(ctx, framework.EvPageShown, framework.DefaultTimeouts.PageShown)
		ended := time.Now()
		Expect(framework.F.Caller.Cancel(ctx, call.RoomID)).To(Succeed())
		call.Await(ctx, framework.VoipEvent("cancelVoip"), framework.DefaultTimeouts.CallEnd)
		expectLeft(ctx, d, set, ended)
	}, SpecTimeout(framework.DefaultTimeouts.Spec))
})
