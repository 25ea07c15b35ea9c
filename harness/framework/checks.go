package framework

import (
	"context"
	"fmt"
	"strings"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"
	gomega "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/matchers"
)

// ValidCall is a callWMPF request the WeChat side accepts for the device.
func (d *Device) ValidCall(ctx context.Context) caller.CallRequest {
	ginkgo.GinkgoHelper()
	return caller.CallRequest{RoomType: "video", SN: d.Spec.SN, ModelID: d.Spec.ModelID, PushToken: d.PushToken(ctx), NickName: "wmpf-hil"}
}

// ExpectWorking checks the device still takes a call: a valid call makes
// it launch the call page with the right path. The call is then cancelled.
func (d *Device) ExpectWorking(ctx context.Context) {
	ginkgo.GinkgoHelper()
	ginkgo.By("checking that " + d.Spec.Name + " still takes a call")
	call := d.PlaceCall(ctx, CallOptions{Caller: "after bad input"})
	ev := call.Await(ctx, EvLaunch, d.f.Timeouts.Launch)
	gomega.Expect(ev).To(matchers.MatchLaunch(call.Expected))
	call.Await(ctx, EvPageShown, d.f.Timeouts.PageShown)
	gomega.Expect(call.EndCall(ctx)).To(gomega.Succeed())
	call.Await(ctx, EvFinished, d.f.Timeouts.CallEnd)
}

// Screen is what is in front of the device: the resumed activity and,
// when it is the Mini Program, the texts on screen.
type Screen struct {
	Resumed    string
	Texts      []string
	OnCallPage bool
	Detail     string
}

// Screen reads the resumed activity and the UI tree.
func (d *Device) Screen(ctx context.Context) (Screen, error) {
	var s Screen
	act, err := d.ResumedActivity(ctx)
	if err != nil {
		return s, err
	}
	s.Resumed = act
	root, _, err := d.UIDump(ctx)
	if err != nil {
		return s, err
	}
	s.Texts = root.Texts()
	if strings.HasPrefix(act, device.MPActivityPrefix) {
		for _, sel := range []string{d.Spec.Answer, d.Spec.HangUp} {
			if ps, err := device.ParseSelector(sel); err == nil && ps.Find(root) != nil {
				s.OnCallPage = true
			}
		}
	}
	s.Detail = fmt.Sprintf("resumed %s; screen: %s", act, strings.Join(s.Texts, " | "))
	return s, nil
}

// AwaitScreen polls the screen (there is no event for what is shown) until
// ok accepts it, for at most max, and returns the last screen and whether
// it was accepted.
func (d *Device) AwaitScreen(ctx context.Context, max time.Duration, ok func(Screen) bool) (Screen, bool) {
	ginkgo.GinkgoHelper()
	deadline := time.Now().Add(max)
	var last Screen
	for {
		s, err := d.Screen(ctx)
		d.Must(err)
		last = s
		if ok(s) {
			return s, true
		}
		if time.Now().After(deadline) {
			return last, false
		}
		select {
		case <-ctx.Done():
			return last, false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StopMiniProgram kills the Mini Program's process, so the next call is a
// cold start. It needs a rooted (userdebug) device; elsewhere the next call
// is whatever start it gets, and the record says which.
func (d *Device) StopMiniProgram(ctx context.Context) {
	ginkgo.GinkgoHelper()
	pids, err := d.Pidof(ctx, "com.tencent.wmpf:appbrand0")
	d.Must(err)
	for _, pid := range pids {
		_, _ = d.Run(ctx, fmt.Sprintf("kill -9 %d", pid))
	}
}

// Require skips the spec on a device whose push route is not one of
// routes, saying why: some specs need the simulated WeChat side to play the
// caller (to hang up, to validate callWMPF). On the simulated farm every
// device qualifies.
func (d *Device) Require(routes ...device.PushRoute) {
	ginkgo.GinkgoHelper()
	for _, r := range routes {
		if d.Spec.Push == r {
			return
		}
	}
	ginkgo.Skip(fmt.Sprintf("%s is reached with push: %s; this spec needs push: %s", d.Spec.Name, d.Spec.Push, routeList(routes)))
}

func routeList(routes []device.PushRoute) string {
	var s []string
	for _, r := range routes {
		s = append(s, string(r))
	}
	return strings.Join(s, " or ")
}
