package wechat

import (
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// A device that activates again restarted WMPF: the call it was in is over,
// and it can be called again; a call still ringing survives.
func TestReactivationEndsTheCallTheDeviceWasIn(t *testing.T) {
	s := start(t, Config{})
	d := newDevice(t, s, "SN-R", "M1")
	r := mustCall(t, s, callBody(d))
	if err := d.Answer(testCtx(t), r.RoomID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the call going on", func() bool { return getRoom(t, s, r.RoomID).State == protocol.StateOngoing })
	if err := d.Activate(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := getRoom(t, s, r.RoomID); st.State != protocol.StateEnded || st.EndReason != protocol.EndByListener {
		t.Fatalf("room after re-activation: %s %s", st.State, st.EndReason)
	}
	tok, _, err := d.PushToken(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	d.token = tok
	ringing := mustCall(t, s, callBody(d))
	if err := d.Activate(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := getRoom(t, s, ringing.RoomID); st.State != protocol.StateRinging {
		t.Fatalf("a ringing call after re-activation: %s", st.State)
	}
}
