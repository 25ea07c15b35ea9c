package suites

import (
	"context"
	"errors"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

type badCall struct {
	Name  string         `yaml:"name"`
	Set   map[string]any `yaml:"set"`
	Unset []string       `yaml:"unset"`
	Long  map[string]int `yaml:"long"`
	Code  int            `yaml:"code"`
	Field string         `yaml:"field"`
}

type malformedPush struct {
	Name string `yaml:"name"`
	Msg  string `yaml:"msg"`
}

var (
	badCalls        []badCall
	malformedPushes []malformedPush
)

func init() {
	fixture("bad-calls.yaml", &badCalls)
	fixture("malformed-pushes.yaml", &malformedPushes)
}

// expectRefused checks a callWMPF error: the code, and the field named in
// errMsg.
func expectRefused(err error, code int, field, what string) {
	GinkgoHelper()
	var ce *protocol.CallError
	if !errors.As(err, &ce) {
		if err != nil && strings.HasPrefix(err.Error(), "accepted") {
			Fail(fmt.Sprintf("callWMPF accepted %s (%v); want errCode %d naming %s", what, err, code, field))
		}
		Fail(fmt.Sprintf("callWMPF with %s failed without a callWMPF error: %v", what, err))
	}
	Expect(ce.ErrCode).To(Equal(code), "errCode for %s (errMsg %q)", what, ce.ErrMsg)
	Expect(ce.ErrMsg).To(ContainSubstring(field), "errMsg for %s should name %s", what, field)
}

// expectAPIError checks a pushappmsg error code.
func expectAPIError(err error, code int, what string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "pushappmsg accepted %s; want errcode %d", what, code)
	var ae *protocol.APIError
	Expect(errors.As(err, &ae)).To(BeTrue(), "pushappmsg with %s: %v", what, err)
	Expect(ae.ErrCode).To(Equal(code), "errcode for %s (errmsg %q)", what, ae.ErrMsg)
}

func badCallEntries() []TableEntry {
	var out []TableEntry
	for _, b := range badCalls {
		out = append(out, Entry(b.Name, tableTimeout, b))
	}
	return out
}

func malformedEntries() []TableEntry {
	var out []TableEntry
	for _, m := range malformedPushes {
		out = append(out, Entry(m.Name, tableTimeout, m.Msg))
	}
	return out
}

// placeRaw places a call that should be refused; if the WeChat side
// accepts it anyway, the spec's cleanup ends it.
func placeRaw(ctx context.Context, d *framework.Device, req caller.CallRequest) error {
	res, err := framework.F.Caller.CallWMPF(ctx, req)
	if err == nil {
		d.TrackRoom(res.RoomID, res.GroupID)
		return fmt.Errorf("accepted: roomId=%s groupId=%s", res.RoomID, res.GroupID)
	}
	return err
}

var _ = framework.Describe("Bad input", Label("bad-input"), func() {
	DescribeTable("callWMPF refuses bad parameters with a specific error, and the device keeps working",
		func(ctx SpecContext, b badCall) {
			d := framework.Lease(ctx)
			d.Require(device.PushWeChat)
			req := d.ValidCall(ctx)
			req.Extra = map[string]any{}
			for k, v := range b.Set {
				req.Extra[k] = v
			}
			for k, n := range b.Long {
				req.Extra[k] = "q=" + strings.Repeat("x", n)
			}
			for _, k := range b.Unset {
				switch k {
				case "roomType":
					req.RoomType = ""
				case "sn":
					req.SN = ""
				case "modelId":
					req.ModelID = ""
				case "pushToken":
					req.PushToken = ""
				case "nickName":
					req.NickName = ""
				default:
					Fail("bad-calls.yaml: cannot unset " + k)
				}
			}
			mark := d.Mark()
			expectRefused(placeRaw(ctx, d, req), b.Code, b.Field, b.Name)
			Expect(d.Log.Since(mark)).NotTo(ContainElement(HaveField("Name", contract.EvPushReceived)), "a refused call still pushed to the device")
			d.ExpectWorking(ctx)
		},
		badCallEntries(),
	)

	Describe("push tokens", func() {
		It("refuses an unknown push token with 14", func(ctx SpecContext) {
			d := framework.Lease(ctx)
			d.Require(device.PushWeChat)
			req := d.ValidCall(ctx)
			req.PushToken = "PT-not-issued-by-anyone"
			expectRefused(placeRaw(ctx, d, req), protocol.CodeBadPushToken, "pushToken", "an unknown push token")
			d.ExpectWorking(ctx)
		}, SpecTimeout(framework.DefaultTimeouts.Spec))

		It("refuses a push token issued to another device with 14", func(ctx SpecContext) {
			d := framework.Lease(ctx)
			d.Require(device.PushWeChat)
			By("getting a push token for another device from the WeChat side")
			other := &wechat.DeviceClient{BaseURL: framework.F.Farm.WeChat.URL, SN: "HIL-OTHER-" + d.Spec.SN, ModelID: d.Spec.ModelID}
			d.Must(other.Activate(ctx))
			tok, _, err := other.PushToken(ctx)
			d.Must(err)
			req := d.ValidCall(ctx)
			req.PushToken = tok
			expectRefused(placeRaw(ctx, d, req), protocol.CodeBadPushToken, "pushToken", "another device's push token")
			d.ExpectWorking(ctx)
		}, SpecTimeout(framework.DefaultTimeouts.Spec))

		It("refuses an expired push token with 14, and the device's next token works", func(ctx SpecContext) {
			d := framework.Lease(ctx)
			d.Require(device.PushWeChat)
			req := d.ValidCall(ctx)
			d.Must(framework.F.Caller.ExpirePushToken(ctx, d.Spec.SN, req.PushToken))
			expectRefused(placeRaw(ctx, d, req), protocol.CodeBadPushToken, "pushToken", "an expired push token")
			By("the host app gets a new token")
			mark := d.Mark()
			restartHostApp(ctx, d)
			_, _, err := d.Log.Await(ctx, mark, "a new push token", device.Named(contract.EvPushToken))
			d.Must(err)
			d.ExpectWorking(ctx)
		}, SpecTimeout(framework.DefaultTimeouts.Spec))
	})

	It("refuses a call to a device that never came online with 10", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		d.Require(device.PushWeChat)
		req := d.ValidCall(ctx)
		req.SN = "HIL-NEVER-ONLINE-0001"
		expectRefused(placeRaw(ctx, d, req), protocol.CodeDeviceOffline, "offline", "a device that never came online")
		d.ExpectWorking(ctx)
	}, SpecTimeout(framework.DefaultTimeouts.Spec))

	It("refuses a call to a device whose licence expired with 23, and takes calls again once it is renewed", func(ctx SpecContext) {
		d := framework.Lease(ctx)
		d.Require(device.PushWeChat)
		req := d.ValidCall(ctx)
		d.Must(framework.F.Caller.SetLicence(ctx, d.Spec.SN, "expired"))
		DeferCleanup(func(ctx SpecContext) { _ = framework.F.Caller.SetLicence(ctx, d.Spec.SN, "active") })
		expectRefused(placeRaw(ctx, d, req), protocol.CodeLicenceExpired, "licence", "an expired licence")
		d.Must(framework.F.Caller.SetLicence(ctx, d.Spec.SN, "active"))
		d.ExpectWorking(ctx)
	}, SpecTimeout(framework.DefaultTimeouts.Spec))

	DescribeTable("the push API refuses bad requests with WeChat's error codes",
		func(ctx SpecContext, what string, code int) {
			d := framework.Lease(ctx)
			d.Require(device.PushWeChat, device.PushAPI)
			token := d.PushToken(ctx)
			mark := d.Mark()
			var err error
			switch what {
			case "msg missing":
				err = framework.F.Caller.PushAppMsg(ctx, token, "")
			case "msg over 5 KB":
				err = framework.F.Caller.PushAppMsg(ctx, token, `{"pad":"`+strings.Repeat("x", 5200)+`"}`)
			case "unknown push_token":
				err = framework.F.Caller.PushAppMsg(ctx, "PT-unknown", `{"path":"x","appType":0,"appid":"wx0123456789abcdef"}`)
			}
			expectAPIError(err, code, what)
			Expect(d.Log.Since(mark)).NotTo(ContainElement(HaveField("Name", contract.EvPushReceived)), "a refused push still reached the device")
			d.ExpectWorking(ctx)
		},
		Entry("40101 for a missing msg", tableTimeout, "msg missing", protocol.ErrcodeBadParameter),
		Entry("45002 for a msg over 5 KB", tableTimeout, "msg over 5 KB", protocol.ErrcodeMsgTooLong),
		Entry("48012 for an unknown push_token", tableTimeout, "unknown push_token", protocol.ErrcodeInvalidPushToken),
	)

	DescribeTable("the host app ignores a malformed push, launches nothing, and keeps working",
		func(ctx SpecContext, msg string) {
			d := framework.Lease(ctx)
			mark := d.Mark()
			d.Must(d.InjectPush(ctx, msg))
			wctx, cancel := context.WithTimeout(ctx, framework.DefaultTimeouts.Launch)
			ev, _, err := d.Log.Await(wctx, mark, "push_ignored", func(e contract.Event) bool {
				return e.Name == contract.EvPushIgnored || e.Name == contract.EvLaunchCalled || e.Name == contract.EvCrash
			})
			cancel()
			Expect(err).NotTo(HaveOccurred(), "the host app said nothing about the malformed push %q:\n%s", msg, eventsSince(d, mark))
			Expect(ev.Name).To(Equal(contract.EvPushIgnored), "the host app did not ignore the malformed push %q: %s", msg, ev.Raw)
			Expect(ev.Str("reason")).NotTo(BeEmpty(), "push_ignored without a reason")
			d.ExpectWorking(ctx)
			for _, e := range d.Log.Since(mark) {
				if e.Name == contract.EvLaunchCalled {
					Expect(e.Str("path")).To(ContainSubstring("after%20bad%20input"), "a launch for the malformed push: %s", e.Raw)
				}
			}
		},
		malformedEntries(),
	)
})

func eventsSince(d *framework.Device, mark int) string {
	var b strings.Builder
	for _, e := range d.Log.Since(mark) {
		fmt.Fprintf(&b, "  %s\n", e.Raw)
	}
	return b.String()
}
