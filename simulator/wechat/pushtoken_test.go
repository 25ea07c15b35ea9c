package wechat

import (
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

func TestPushTokenTTLConfig(t *testing.T) {
	for _, ttl := range []time.Duration{500 * time.Millisecond, 49 * time.Hour, -time.Second} {
		_, err := New(Config{PushTokenTTL: ttl})
		if err == nil || !strings.Contains(err.Error(), "PushTokenTTL") {
			t.Errorf("PushTokenTTL %v: error %v, want one naming PushTokenTTL", ttl, err)
		}
	}
	for _, ttl := range []time.Duration{time.Second, 48 * time.Hour} {
		if _, err := New(Config{PushTokenTTL: ttl}); err != nil {
			t.Errorf("PushTokenTTL %v refused: %v", ttl, err)
		}
	}
}

func TestPushTokenTTLPerDevice(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now, PushTokenTTL: time.Hour, AccessTokenTTL: 48 * time.Hour, OfflineGrace: 48 * time.Hour})
	a := newDevice(t, s, "SN-A", "m")
	b := newDevice(t, s, "SN-B", "m")
	set := func(sn string, body any) (int, protocol.APIError) {
		t.Helper()
		st, data := admin(t, s, "POST", "/sim/devices/"+sn, body)
		return st, decode[protocol.APIError](t, data)
	}
	if st, r := set("SN-A", map[string]any{"pushTokenTTL": "12s"}); st != 200 {
		t.Fatalf("set pushTokenTTL 12s: HTTP %d %+v", st, r)
	}
	// The token A has keeps its hour; the next one lives 12 s.
	if got := deviceStatus(t, s, "SN-A").PushTokenExpiry; !got.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("current token's expiry changed to %v", got)
	}
	short, exp, err := a.PushToken(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(12 * time.Second); !exp.Equal(want) || !deviceStatus(t, s, "SN-A").PushTokenExpiry.Equal(want) {
		t.Errorf("new token expires %v, want %v", exp, want)
	}
	if _, exp, _ := b.PushToken(testCtx(t)); !exp.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("another device's token expires %v, want the server's hour", exp)
	}
	body := callBody(a)
	body["pushToken"] = short
	clock.Advance(11 * time.Second)
	r := mustCall(t, s, body)
	next(t, a.stream)
	if err := a.Reject(testCtx(t), r.RoomID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	st, cr := placeCall(t, s, body)
	if st != 403 || cr.ErrCode != protocol.CodeBadPushToken || !strings.Contains(cr.ErrMsg, "expired") {
		t.Errorf("call with the 12 s token after 12 s: HTTP %d %+v, want 403 errCode 14 expired", st, cr)
	}
	// "default" goes back to the server's lifetime.
	if st, r := set("SN-A", map[string]any{"pushTokenTTL": "default"}); st != 200 {
		t.Fatalf("set pushTokenTTL default: HTTP %d %+v", st, r)
	}
	if _, exp, _ := a.PushToken(testCtx(t)); !exp.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("after default: token expires %v, want in an hour", exp)
	}
	// The bounds are allowed.
	for _, v := range []string{"1s", "48h", "1h30m"} {
		if st, r := set("SN-B", map[string]any{"pushTokenTTL": v}); st != 200 {
			t.Errorf("pushTokenTTL %s refused: HTTP %d %+v", v, st, r)
		}
	}
	// Bad values: 400, errcode 40101, naming the field and what is allowed.
	for _, body := range []string{
		`{"pushTokenTTL":"999ms"}`, `{"pushTokenTTL":"48h1s"}`, `{"pushTokenTTL":"0s"}`, `{"pushTokenTTL":"-5s"}`,
		`{"pushTokenTTL":"12"}`, `{"pushTokenTTL":"soon"}`, `{"pushTokenTTL":""}`, `{"pushTokenTTL":12}`,
		`{"pushTokenTTL":null}`, `{"pushTokenTTL":["12s"]}`,
	} {
		st, r := set("SN-B", body)
		t.Logf("%s → %s", body, r.ErrMsg)
		if st != 400 || r.ErrCode != protocol.ErrcodeBadParameter || !strings.Contains(r.ErrMsg, "pushTokenTTL") ||
			!strings.Contains(r.ErrMsg, `allowed a duration from 1s to 48h0m0s such as "12s" or "30m", or "default" for the server's 1h0m0s`) {
			t.Errorf("%s: HTTP %d %+v, want 400 40101 naming pushTokenTTL and the allowed range", body, st, r)
		}
	}
	if _, exp, _ := b.PushToken(testCtx(t)); !exp.Equal(clock.Now().Add(90 * time.Minute)) {
		t.Errorf("refused changes changed the lifetime: token expires %v, want in 1h30m", exp)
	}
	// An unknown sn is not registered by a lifetime alone.
	if st, r := set("SN-NEW", map[string]any{"pushTokenTTL": "12s"}); st != 404 || !strings.Contains(r.ErrMsg, "modelId") {
		t.Errorf("unknown sn: HTTP %d %+v", st, r)
	}
}
