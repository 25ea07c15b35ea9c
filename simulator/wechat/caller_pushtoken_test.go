package wechat_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

func TestCallerSetPushTokenTTL(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s := startSim(t, wechat.Config{Now: clock.Now, AccessTokenTTL: 48 * time.Hour, OfflineGrace: 48 * time.Hour})
	d := newDevice(t, s, "SN-TTL")
	ctx := ctxT(t)
	c := caller.New(s.URL(), s.AppID(), s.AppSecret())
	if err := c.SetPushTokenTTL(ctx, "SN-TTL", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	tok, exp, err := d.PushToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(10 * time.Second); !exp.Equal(want) {
		t.Errorf("token after SetPushTokenTTL 10s expires %v, want %v", exp, want)
	}
	req := d.request()
	req.PushToken = tok
	clock.Advance(10 * time.Second)
	_, err = c.CallWMPF(ctx, req)
	var ce *protocol.CallError
	if !errors.As(err, &ce) || ce.ErrCode != protocol.CodeBadPushToken {
		t.Errorf("call with the expired 10 s token: %v, want errCode 14", err)
	}
	if err := c.SetPushTokenTTL(ctx, "SN-TTL", 0); err != nil {
		t.Fatal(err)
	}
	if _, exp, _ := d.PushToken(ctx); !exp.Equal(clock.Now().Add(wechat.DefaultPushTokenTTL)) {
		t.Errorf("after SetPushTokenTTL 0: token expires %v, want the default %v on", exp, wechat.DefaultPushTokenTTL)
	}
	for _, bad := range []time.Duration{500 * time.Millisecond, 49 * time.Hour, -time.Second} {
		err := c.SetPushTokenTTL(ctx, "SN-TTL", bad)
		var ae *protocol.APIError
		if !errors.As(err, &ae) || ae.ErrCode != protocol.ErrcodeBadParameter || !strings.Contains(ae.ErrMsg, "pushTokenTTL") {
			t.Errorf("SetPushTokenTTL %v: %v, want errcode 40101 naming pushTokenTTL", bad, err)
		}
	}
	if err := c.SetPushTokenTTL(ctx, "", time.Minute); err == nil || !strings.Contains(err.Error(), "sn is empty") {
		t.Errorf("empty sn: %v", err)
	}
}
