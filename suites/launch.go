package suites

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/matchers"
)

type hostileName struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

var hostileNames []hostileName

func init() { fixture("hostile-names.yaml", &hostileNames) }

var _ = framework.Describe("Launch", Label("launch"), func() {
	DescribeTable("a call's push opens the call page with exactly the push's appid, appType and path",
		func(ctx SpecContext, roomType string) {
			d := framework.Lease(ctx)
			call := d.PlaceCall(ctx, framework.CallOptions{RoomType: roomType, Caller: "Alice Liu"})
			Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected))
			call.Await(ctx, framework.EvPageShown, framework.DefaultTimeouts.PageShown)
			s, ok := d.AwaitScreen(ctx, 3*time.Second, func(s framework.Screen) bool { return s.OnCallPage })
			Expect(ok).To(BeTrue(), "the call page is not in front: %s", s.Detail)
		},
		Entry("video", tableTimeout, Label("smoke"), "video"),
		Entry("voice", tableTimeout, "voice"),
	)

	It("launches with appType 0, 1 and 2 for envVersion release, develop and trial", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		for _, env := range []string{"release", "develop", "trial"} {
			By("envVersion " + env)
			call := d.PlaceCall(ctx, framework.CallOptions{EnvVersion: env})
			Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected), "envVersion %s", env)
			Expect(call.EndCall(ctx)).To(Succeed())
			call.Await(ctx, framework.EvFinished, framework.DefaultTimeouts.CallEnd)
		}
	}, SpecTimeout(framework.DefaultTimeouts.Spec))

	It("adds isClickedHangOnBtn=1 only when the call was accepted on the app's own notification, and then answers on entry",
		func(ctx SpecContext) {
			d := framework.Lease(ctx)

			By("a call launched straight from the push has no isClickedHangOnBtn")
			plain := d.PlaceCall(ctx, framework.CallOptions{Caller: "no notification"})
			Expect(plain.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(plain.Expected))
			Expect(plain.EndCall(ctx)).To(Succeed())
			plain.Await(ctx, framework.EvFinished, framework.DefaultTimeouts.CallEnd)

			By("a call accepted on the app's notification")
			_, err := d.Configure(ctx, framework.Settings{EndMode: contract.EndPage, Notification: contract.NotifyCustom})
			d.Must(err)
			call := d.PlaceCall(ctx, framework.CallOptions{Caller: "notification"})
			call.Await(ctx, contract.EvNotificationShown, framework.DefaultTimeouts.Launch)
			_, err = d.Tap(ctx, d.Spec.Accept)
			d.Must(err)
			want := call.Expected
			want.Path += "&isClickedHangOnBtn=1"
			Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(want))
			By("the call page answers on entry, without a tap on its answer button")
			call.Await(ctx, framework.EvAnswered, framework.DefaultTimeouts.PageShown)
		}, SpecTimeout(framework.DefaultTimeouts.Spec))

	DescribeTable("keeps a hostile caller name exact from push to launch",
		func(ctx SpecContext, name string) {
			d := framework.Lease(ctx)
			call := d.PlaceCall(ctx, framework.CallOptions{Caller: name})
			ev := call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)
			Expect(ev).To(matchers.MatchLaunch(call.Expected))
			_, params := matchers.SplitPath(ev.Str("path"))
			var got []string
			for _, p := range params {
				if p.Key == "callerName" {
					got = append(got, p.Decoded)
				}
			}
			Expect(got).To(Equal([]string{name}), "callerName decoded from the launch path")
		},
		hostileEntries(),
	)

	It("passes customQuery through to the call page unchanged", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		call := d.PlaceCall(ctx, framework.CallOptions{CustomQuery: "from=app&note=a%20b&empty="})
		Expect(call.Await(ctx, framework.EvLaunch, framework.DefaultTimeouts.Launch)).To(matchers.MatchLaunch(call.Expected))
	}, SpecTimeout(framework.DefaultTimeouts.Spec))
})

func hostileEntries() []TableEntry {
	var out []TableEntry
	for _, h := range hostileNames {
		out = append(out, Entry(h.Name, tableTimeout, h.Value))
	}
	return out
}
