package suites

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/matchers"
)

// shortTokenLife is the push token lifetime the refresh spec gives the
// device: long enough for a refresh to be scheduled, short enough to expire
// within the spec.
const shortTokenLife = 10 * time.Second

var _ = framework.Describe("Push token", Label("push-token"), func() {
	It("is refreshed by the host app before it expires, without a restart, and a call with the new token arrives", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		d.Require(device.PushWeChat)
		By(fmt.Sprintf("giving %s push tokens that live %v", d.Spec.Name, shortTokenLife))
		Expect(framework.F.Caller.SetPushTokenTTL(ctx, d.Spec.SN, shortTokenLife)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			// Back to the WeChat side's lifetime, and a host app holding a
			// token of that lifetime for the cells after this one.
			_ = framework.F.Caller.SetPushTokenTTL(ctx, d.Spec.SN, 0)
			restartHostApp(ctx, d)
		}, NodeTimeout(framework.DefaultTimeouts.Cleanup))
		mark := d.Mark()
		restartHostApp(ctx, d)
		first, _, err := d.Log.Await(ctx, mark, "a push token", device.Named(contract.EvPushToken))
		d.Must(err)
		exp, ok := first.Int("expireTime")
		Expect(ok).To(BeTrue(), "push_token without expireTime: %s", first.Raw)
		expires := time.Unix(int64(exp), 0)
		By(fmt.Sprintf("waiting for a new token before the first expires at %s", expires.Format("15:04:05")))
		after := d.Mark()
		wctx, cancel := context.WithDeadline(ctx, expires)
		next, _, err := d.Log.Await(wctx, after, "a new push token", func(e contract.Event) bool {
			return e.Name == contract.EvPushToken && e.Str("token") != first.Str("token")
		})
		cancel()
		if err != nil {
			if lost := d.Lost(); lost != nil {
				d.Must(lost)
			}
			Fail(fmt.Sprintf("the host app did not refresh its push token before it expired at %s (lifetime %v): no new push_token since %s; the WeChat side refuses calls with an expired token\ncontract events since:\n%s",
				expires.Format("15:04:05"), shortTokenLife, first.Time.Format("15:04:05.000"), device.Describe(d.Log.Since(after))))
		}
		for _, e := range d.Log.Since(after) {
			Expect(e.Name).NotTo(Equal(contract.EvHostStarted), "the host app restarted to get its new token (%s): it must refresh without a restart", e.Raw)
		}
		nextExp, _ := next.Int("expireTime")
		Expect(nextExp).To(BeNumerically(">", exp), "the new token (%s) expires no later than the old one", next.Raw)

		By("placing a call once the first token has expired")
		if wait := time.Until(expires.Add(500 * time.Millisecond)); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		call := d.PlaceCall(ctx, framework.CallOptions{Caller: "new token"})
		Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected))
	}, SpecTimeout(framework.DefaultTimeouts.Spec))
})

// restartHostApp stops the host app and starts it again, waiting until it
// is ready for a call.
func restartHostApp(ctx context.Context, d *framework.Device) {
	GinkgoHelper()
	_, err := d.Run(ctx, "am force-stop "+d.Spec.HostPackage+" && am start -W -a android.intent.action.MAIN -c android.intent.category.LAUNCHER -p "+d.Spec.HostPackage)
	d.Must(err)
	d.WaitReady(ctx, framework.DefaultTimeouts.Ready)
}
