package simulator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/simulator"
)

// A call placed while the device's WMPF was down (its push stream too),
// then cancelled — what a spec lost mid-call leaves behind — still has its
// push on the way. The next reset lets it come, and its call end on the
// device, before it returns: the push cannot open a call page in the
// middle of the next spec.
func TestResetLetsALeftoverPushArriveFirst(t *testing.T) {
	_, dev, c := startFarm(t, simulator.DeviceConfig{})
	a := newADB(t)
	serial, sn := dev.Serial(), dev.SN()
	a.connect(serial)
	tok := pushToken(t, c, sn, "", 20*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := device.Open(ctx, device.Spec{Name: "panel-1", Server: a.srv.Addr(), Serial: serial, SN: sn,
		ModelID: dev.ModelID(), Model: dev.Model(), HostPackage: hostPkg, Push: device.PushWeChat})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := s.WaitReady(ctx, 30*time.Second); r != "" {
		t.Fatalf("not ready: %s", r)
	}

	// WMPF down, its push stream closed: the WeChat side queues the push.
	a.shell(serial, "am force-stop com.tencent.wmpf")
	res, err := c.CallWMPF(ctx, caller.CallRequest{RoomType: protocol.RoomVideo, SN: sn, ModelID: dev.ModelID(), PushToken: tok, NickName: "left over"})
	if err != nil {
		t.Fatal(err)
	}
	pushes, err := c.Pushes(ctx, sn)
	if err != nil || len(pushes) == 0 {
		t.Fatalf("pushes: %v %v", pushes, err)
	}
	t.Logf("the leftover push is %s", pushes[len(pushes)-1].Status)
	if err := c.Cancel(ctx, res.RoomID); err != nil {
		t.Fatal(err)
	}

	rep, err := s.Reset(ctx, c, 30*time.Second)
	if err != nil {
		t.Fatalf("reset: %v (did %v)", err, rep.Did)
	}
	t.Logf("reset did: %s", strings.Join(rep.Did, "; "))
	received, ended := false, false
	for _, e := range s.Log.Since(0) {
		if e.Name == contract.EvPushReceived && device.PushGroup(e) == res.GroupID {
			received = true
		}
		if e.Name == contract.EvCallEnded && e.Str("groupId") == res.GroupID {
			ended = true
		}
	}
	if !received || !ended {
		t.Errorf("reset returned before the leftover push came and its call ended (received %v, ended %v)", received, ended)
	}
	if on, detail, err := s.OnCallPage(ctx); err != nil || on {
		t.Errorf("after the reset: on the call page %v (%s), err %v", on, detail, err)
	}
}
