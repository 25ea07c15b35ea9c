package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string
	}{
		{Config{AppID: "wx123"}, []string{"AppID", `"wx123"`, "16 lowercase hex"}},
		{Config{AppID: "wxABCDEF0123456789"}, []string{"AppID", "lowercase"}},
		{Config{AppSecret: "has space"}, []string{"AppSecret", "printable ASCII"}},
		{Config{RingTimeout: -time.Second}, []string{"RingTimeout", "-1s", "positive"}},
		{Config{OfflineGrace: -1}, []string{"OfflineGrace"}},
		{Config{Devices: map[string]DeviceRecord{"": {ModelID: "m"}}}, []string{"Devices", "sn", "empty"}},
		{Config{Devices: map[string]DeviceRecord{"a b": {ModelID: "m"}}}, []string{"Devices", `"a b"`, "whitespace"}},
		{Config{Devices: map[string]DeviceRecord{"s": {}}}, []string{"Devices", "ModelID", "empty"}},
		{Config{Devices: map[string]DeviceRecord{"s": {ModelID: "m", Licence: "valid"}}}, []string{"Licence", `"valid"`, `"active"`, `"expired"`, `"none"`}},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if err == nil {
			t.Errorf("%+v: no error", c.cfg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	if cfg.AppID != DefaultAppID || cfg.PushTokenTTL != 24*time.Hour || cfg.AccessTokenTTL != 7200*time.Second ||
		cfg.OfflineGrace != 30*time.Second || cfg.RingTimeout != 60*time.Second || cfg.JoinWait != 20*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestTokenEndpoint(t *testing.T) {
	s := start(t, Config{})
	q := func(v url.Values) protocol.APIError {
		st, data := do(t, "GET", s.URL()+"/cgi-bin/token?"+v.Encode(), nil)
		if st != 200 {
			t.Fatalf("HTTP %d, WeChat replies 200: %s", st, data)
		}
		return decode[protocol.APIError](t, data)
	}
	good := url.Values{"grant_type": {"client_credential"}, "appid": {DefaultAppID}, "secret": {DefaultAppSecret}}
	mod := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range good {
			out[kk] = vv
		}
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	cases := []struct {
		v    url.Values
		code int
	}{
		{mod("grant_type", ""), protocol.ErrcodeInvalidGrantType},
		{mod("grant_type", "password"), protocol.ErrcodeInvalidGrantType},
		{mod("appid", ""), protocol.ErrcodeAppIDMissing},
		{mod("secret", ""), protocol.ErrcodeSecretMissing},
		{mod("appid", "wx0000000000000000"), protocol.ErrcodeInvalidAppID},
		{mod("secret", "nope"), protocol.ErrcodeInvalidAppSecret},
	}
	for _, c := range cases {
		if got := q(c.v); got.ErrCode != c.code || got.ErrMsg == "" {
			t.Errorf("%v: %+v, want errcode %d", c.v, got, c.code)
		}
	}
	st, data := do(t, "GET", s.URL()+"/cgi-bin/token?"+good.Encode(), nil)
	tok := decode[struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}](t, data)
	if st != 200 || tok.AccessToken == "" || tok.ExpiresIn != 7200 {
		t.Fatalf("token: HTTP %d %s", st, data)
	}
	st, _ = do(t, "GET", s.URL()+"/sim/devices?access_token="+tok.AccessToken, nil)
	if st != 200 {
		t.Errorf("token from /cgi-bin/token refused: HTTP %d", st)
	}
}

func TestAccessTokenErrors(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now, AccessTokenTTL: 10 * time.Minute})
	tok := s.AccessToken()
	endpoints := []struct {
		method, path string
		status       int // HTTP status of an auth error
	}{
		{"POST", "/wxa/business/runtime/pushappmsg", 200},
		{"POST", "/sim/voip/callWMPF", 401},
		{"GET", "/sim/voip/rooms/r1", 401},
		{"POST", "/sim/voip/rooms/r1/cancel", 401},
		{"GET", "/sim/devices", 401},
		{"POST", "/sim/devices/sn1", 401},
		{"GET", "/sim/pushes", 401},
		{"GET", "/sim/truth", 401},
		{"POST", "/sim/truth", 401},
	}
	check := func(query string, code int) {
		t.Helper()
		for _, e := range endpoints {
			st, data := do(t, e.method, s.URL()+e.path+query, "{}")
			got := decode[protocol.APIError](t, data)
			if st != e.status || got.ErrCode != code {
				t.Errorf("%s %s%s: HTTP %d %s, want HTTP %d errcode %d", e.method, e.path, query, st, data, e.status, code)
			}
		}
	}
	check("", protocol.ErrcodeAccessTokenMissing)
	check("?access_token=bogus", protocol.ErrcodeInvalidCredential)
	clock.Advance(10 * time.Minute)
	check("?access_token="+tok, protocol.ErrcodeAccessTokenExpired)
	if fresh := s.AccessToken(); fresh == tok {
		t.Error("AccessToken returned the expired token")
	}
}

func TestCallWMPFValidationOverHTTP(t *testing.T) {
	s := start(t, Config{})
	// The exhaustive table is protocol's (TestDecodeCallParamsErrors); over
	// HTTP, one case per kind of mistake.
	valid := func() map[string]any {
		return map[string]any{"roomType": "video", "sn": "SN1", "modelId": "M1", "pushToken": "PT1", "nickName": "Alice"}
	}
	with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
	without := func(k string) map[string]any { m := valid(); delete(m, k); return m }
	cases := []struct {
		name string
		body any
		code int
	}{
		{"roomType wrong", with("roomType", "audio"), protocol.CodeRoomType},
		{"sn missing", without("sn"), protocol.CodeSN},
		{"modelId of the wrong type", with("modelId", 5), protocol.CodeModelID},
		{"pushToken empty", with("pushToken", ""), protocol.CodePushToken},
		{"nickName missing", without("nickName"), protocol.CodeNickName},
		{"envVersion unknown", with("envVersion", "beta"), protocol.CodeEnvVersion},
		{"customQuery reserved key", with("customQuery", "groupId=1"), protocol.CodeCustomQuery},
		{"timeLimit negative", with("timeLimit", -1), protocol.CodeTimeLimit},
		{"chargeType unknown", with("chargeType", "free"), protocol.CodeChargeType},
		{"camera not a boolean", with("enableCallerCamera", "yes"), protocol.CodeCamera},
		{"unknown field", with("colour", "red"), protocol.CodeBody},
		{"not an object", "[1,2]", protocol.CodeBody},
	}
	for _, c := range cases {
		st, data := admin(t, s, "POST", "/sim/voip/callWMPF", c.body)
		r := decode[callReply](t, data)
		if st != 400 || r.ErrCode != c.code || r.Errno != c.code || r.Cause == nil || !strings.HasPrefix(r.ErrMsg, "callWMPF:fail ") {
			t.Errorf("%s: HTTP %d %s, want 400 errCode %d", c.name, st, data, c.code)
		}
	}
	// A body over 1 MiB.
	st, data := admin(t, s, "POST", "/sim/voip/callWMPF", strings.Repeat(" ", 2<<20))
	if r := decode[callReply](t, data); st != 400 || r.ErrCode != protocol.CodeBody || !strings.Contains(r.ErrMsg, "body") {
		t.Errorf("huge body: HTTP %d %s", st, data)
	}
}

func TestCallDeliversExactPush(t *testing.T) {
	s := start(t, Config{})
	d := newDevice(t, s, "SN-EXACT", "model-1")
	body := callBody(d)
	body["nickName"] = "Zoë & \"Mallory\" = 100%"
	body["envVersion"] = "trial"
	body["customQuery"] = "order=42&from=app"
	r := mustCall(t, s, body)
	m := next(t, d.stream)
	if m.Type != "push" || m.ID == "" {
		t.Fatalf("got %+v, want a push", m)
	}
	want, err := protocol.BuildPushMessage(protocol.CallParams{RoomType: "video", SN: "SN-EXACT", NickName: "Zoë & \"Mallory\" = 100%", EnvVersion: "trial", CustomQuery: "order=42&from=app"}, r.GroupID, DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Msg != want {
		t.Fatalf("push msg\n got %s\nwant %s", m.Msg, want)
	}
	wantLit := `{"path":"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=video&groupId=` + r.GroupID +
		`&listenerId=SN-EXACT&callerName=Zo%C3%AB%20%26%20%22Mallory%22%20%3D%20100%25&order=42&from=app","appType":2,"appid":"wx0123456789abcdef"}`
	if m.Msg != wantLit {
		t.Fatalf("push msg\n got %s\nwant %s", m.Msg, wantLit)
	}
	if err := d.Ack(testCtx(t), m.ID); err != nil {
		t.Fatal(err)
	}
	st, data := admin(t, s, "GET", "/sim/pushes?sn=SN-EXACT", nil)
	pushes := decode[struct{ Pushes []protocol.Push }](t, data).Pushes
	if st != 200 || len(pushes) != 1 {
		t.Fatalf("pushes: HTTP %d %s", st, data)
	}
	p := pushes[0]
	if p.ID != m.ID || p.Kind != "call" || p.RoomID != r.RoomID || p.GroupID != r.GroupID || p.Msg != want ||
		p.Status != "acked" || p.DeliveredAt.IsZero() || p.AckedAt.IsZero() || p.QueuedAt.IsZero() {
		t.Errorf("push record %+v", p)
	}
	room := getRoom(t, s, r.RoomID)
	if room.State != "ringing" || room.SN != "SN-EXACT" || room.GroupID != r.GroupID || room.PushID != m.ID {
		t.Errorf("room %+v", room)
	}
	if names := eventNames(room); len(names) != 1 || names[0] != "startVoip" {
		t.Errorf("events %v", names)
	}
}

func TestPushTokenErrors(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now, PushTokenTTL: time.Hour, AccessTokenTTL: 48 * time.Hour, OfflineGrace: 48 * time.Hour})
	a := newDevice(t, s, "SN-A", "m")
	b := newDevice(t, s, "SN-B", "m")
	expectCode := func(body map[string]any, code int, want string) {
		t.Helper()
		st, r := placeCall(t, s, body)
		if r.ErrCode != code || r.Errno != code || st < 400 || st > 499 || !strings.Contains(r.ErrMsg, want) || !strings.Contains(r.ErrMsg, "pushToken") {
			t.Errorf("HTTP %d %+v, want errCode %d mentioning %q", st, r, code, want)
		}
	}
	body := callBody(a)
	body["pushToken"] = "PTunknown"
	expectCode(body, protocol.CodeBadPushToken, "unknown")
	body["pushToken"] = b.token // issued to another sn
	expectCode(body, protocol.CodeBadPushToken, "SN-B")

	// A newer token does not invalidate the older one.
	clock.Advance(30 * time.Minute)
	newer, exp, err := a.PushToken(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(clock.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("expireTime %v, want %v", exp, clock.Now().Add(time.Hour))
	}
	r := mustCall(t, s, callBody(a)) // the older token
	next(t, a.stream)
	if err := a.Reject(testCtx(t), r.RoomID); err != nil {
		t.Fatal(err)
	}
	// The older token expires an hour after it was issued; the newer lives on.
	clock.Advance(30 * time.Minute)
	expectCode(callBody(a), protocol.CodeBadPushToken, "expired")
	body = callBody(a)
	body["pushToken"] = newer
	mustCall(t, s, body)

	// pushappmsg: unknown and expired tokens are 48012.
	pushAPI := func(tok string) protocol.APIError {
		t.Helper()
		_, data := admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]any{"msg": "hi", "push_token": tok})
		return decode[protocol.APIError](t, data)
	}
	if e := pushAPI("nope"); e.ErrCode != protocol.ErrcodeInvalidPushToken || !strings.Contains(e.ErrMsg, "unknown") {
		t.Errorf("unknown token: %+v", e)
	}
	if e := pushAPI(a.token); e.ErrCode != protocol.ErrcodeInvalidPushToken || !strings.Contains(e.ErrMsg, "expired") {
		t.Errorf("expired token: %+v", e)
	}
	if e := pushAPI(newer); e.ErrCode != 0 || e.ErrMsg != "ok" {
		t.Errorf("valid token: %+v", e)
	}
}

func TestPushAppMsg(t *testing.T) {
	s := start(t, Config{})
	d := newDevice(t, s, "SN-API", "m")
	cases := []struct {
		body string
		code int
		want string
	}{
		{``, protocol.ErrcodeBadParameter, "JSON object"},
		{`not json`, protocol.ErrcodeBadParameter, "JSON object"},
		{`[]`, protocol.ErrcodeBadParameter, "JSON object"},
		{`null`, protocol.ErrcodeBadParameter, "JSON object"},
		{`{"push_token":"` + d.token + `"}`, protocol.ErrcodeBadParameter, "msg is missing"},
		{`{"msg":"","push_token":"` + d.token + `"}`, protocol.ErrcodeBadParameter, "msg is empty"},
		{`{"msg":{"path":"x"},"push_token":"` + d.token + `"}`, protocol.ErrcodeBadParameter, "msg is object"},
		{`{"msg":"x"}`, protocol.ErrcodeBadParameter, "push_token is missing"},
		{`{"msg":"x","push_token":""}`, protocol.ErrcodeBadParameter, "push_token is empty"},
		{`{"msg":"x","push_token":5}`, protocol.ErrcodeBadParameter, "push_token is number"},
		{`{"msg":"x","push_token":"` + d.token + `","extra":1}`, protocol.ErrcodeBadParameter, `unknown field "extra"`},
		{`{"msg":"` + strings.Repeat("x", 5121) + `","push_token":"` + d.token + `"}`, protocol.ErrcodeMsgTooLong, "5121 bytes"},
		{`{"msg":"x","push_token":"bogus"}`, protocol.ErrcodeInvalidPushToken, "bogus"},
	}
	for _, c := range cases {
		st, data := admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", c.body)
		e := decode[protocol.APIError](t, data)
		if st != 200 || e.ErrCode != c.code || !strings.Contains(e.ErrMsg, c.want) {
			t.Errorf("body %.60s: HTTP %d %+v, want errcode %d with %q", c.body, st, e, c.code, c.want)
		}
	}
	// Exactly 5120 bytes, with characters that need escaping, arrives as given.
	msg := `{"path":"x","q":"\n&<>"}` + strings.Repeat("é", (5120-24)/2)
	if len(msg) != 5120 {
		t.Fatalf("test message is %d bytes", len(msg))
	}
	st, data := admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]string{"msg": msg, "push_token": d.token})
	if e := decode[protocol.APIError](t, data); st != 200 || e.ErrCode != 0 || e.ErrMsg != "ok" {
		t.Fatalf("pushappmsg: HTTP %d %s", st, data)
	}
	m := next(t, d.stream)
	if m.Type != "push" || m.Msg != msg {
		t.Fatalf("got %+v", m)
	}
	_, data = admin(t, s, "GET", "/sim/pushes?sn=SN-API", nil)
	ps := decode[struct{ Pushes []protocol.Push }](t, data).Pushes
	if len(ps) != 1 || ps[0].Kind != "api" || ps[0].Status != "delivered" || ps[0].RoomID != "" {
		t.Errorf("pushes %+v", ps)
	}
}

func TestDeviceOffline(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now, OfflineGrace: 30 * time.Second,
		Devices: map[string]DeviceRecord{"SN-REG": {ModelID: "m"}}})
	expectOffline := func(body map[string]any, want string) {
		t.Helper()
		st, r := placeCall(t, s, body)
		if st != 404 || r.ErrCode != protocol.CodeDeviceOffline || !strings.Contains(r.ErrMsg, want) || r.Cause["sn"] != body["sn"] {
			t.Errorf("HTTP %d %+v, want errCode %d with %q", st, r, protocol.CodeDeviceOffline, want)
		}
	}
	// Never activated: an sn the server has never seen, and a registered one.
	expectOffline(map[string]any{"roomType": "voice", "sn": "SN-NEVER", "modelId": "m", "pushToken": "PT", "nickName": "n"}, "never activated")
	expectOffline(map[string]any{"roomType": "voice", "sn": "SN-REG", "modelId": "m", "pushToken": "PT", "nickName": "n"}, "never activated")

	// Dropped less than OfflineGrace ago: queued, delivered on reconnect.
	d := newDevice(t, s, "SN-DROP", "m")
	d.stream.Close()
	eventually(t, "server to see the drop", func() bool { return !deviceStatus(t, s, "SN-DROP").Connected })
	clock.Advance(29 * time.Second)
	if st := deviceStatus(t, s, "SN-DROP"); !st.Online || st.Connected {
		t.Fatalf("within grace: %+v", st)
	}
	r := mustCall(t, s, callBody(d))
	_, data := admin(t, s, "GET", "/sim/pushes?sn=SN-DROP", nil)
	if ps := decode[struct{ Pushes []protocol.Push }](t, data).Pushes; len(ps) != 1 || ps[0].Status != "queued" {
		t.Fatalf("pushes %+v", ps)
	}
	ps, err := d.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if m := next(t, ps); m.Type != "push" || !strings.Contains(m.Msg, r.GroupID) {
		t.Fatalf("after reconnect: %+v", m)
	}
	if err := d.Reject(testCtx(t), r.RoomID); err != nil {
		t.Fatal(err)
	}

	// Dropped longer than OfflineGrace ago: offline; what was queued expires.
	_, _ = admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]string{"msg": "m1", "push_token": d.token})
	if m := next(t, ps); m.Msg != "m1" {
		t.Fatalf("got %+v", m)
	}
	ps.Close()
	eventually(t, "server to see the drop", func() bool { return !deviceStatus(t, s, "SN-DROP").Connected })
	admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]string{"msg": "m2", "push_token": d.token})
	clock.Advance(30 * time.Second)
	s.CheckTimers()
	if st := deviceStatus(t, s, "SN-DROP"); st.Online || st.Queued != 0 {
		t.Fatalf("after grace: %+v", st)
	}
	expectOffline(callBody(d), "no push connection since")
	_, data = admin(t, s, "GET", "/sim/pushes?sn=SN-DROP", nil)
	pushes := decode[struct{ Pushes []protocol.Push }](t, data).Pushes
	if last := pushes[len(pushes)-1]; last.Msg != "m2" || last.Status != "expired" || last.ExpiredAt.IsZero() {
		t.Errorf("queued push after grace: %+v", last)
	}
	// A push to an offline device is accepted (as WeChat does) and expires.
	admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]string{"msg": "m3", "push_token": d.token})
	_, data = admin(t, s, "GET", "/sim/pushes?sn=SN-DROP", nil)
	pushes = decode[struct{ Pushes []protocol.Push }](t, data).Pushes
	if last := pushes[len(pushes)-1]; last.Msg != "m3" || last.Status != "expired" {
		t.Errorf("push to offline device: %+v", last)
	}
	// Reconnecting brings it back online; nothing expired is delivered.
	ps2, err := d.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ps2.Close()
	admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]string{"msg": "m4", "push_token": d.token})
	if m := next(t, ps2); m.Msg != "m4" {
		t.Errorf("after reconnect got %+v, want m4", m)
	}
}

func TestOfflineGraceRealTimer(t *testing.T) {
	s := start(t, Config{OfflineGrace: 20 * time.Millisecond})
	d := newDevice(t, s, "SN-RT", "m")
	d.stream.Close()
	eventually(t, "device to go offline", func() bool { return !deviceStatus(t, s, "SN-RT").Online })
	if st, r := placeCall(t, s, callBody(d)); st != 404 || r.ErrCode != protocol.CodeDeviceOffline {
		t.Errorf("HTTP %d %+v", st, r)
	}
}

func TestLicenceAndModel(t *testing.T) {
	s := start(t, Config{Devices: map[string]DeviceRecord{
		"SN-EXP":  {ModelID: "m", Licence: "expired"},
		"SN-NONE": {ModelID: "m", Licence: "none"},
		"SN-OK":   {ModelID: "m"},
	}})
	ctx := testCtx(t)
	for sn, code := range map[string]int{"SN-EXP": protocol.CodeLicenceExpired, "SN-NONE": protocol.CodeNotActivated} {
		err := (&DeviceClient{BaseURL: s.URL(), SN: sn, ModelID: "m"}).Activate(ctx)
		if apiCode(err) != code || !strings.Contains(err.Error(), sn) {
			t.Errorf("activate %s: %v, want errcode %d", sn, err, code)
		}
	}
	err := (&DeviceClient{BaseURL: s.URL(), SN: "SN-OK", ModelID: "other"}).Activate(ctx)
	if apiCode(err) != protocol.CodeNotAuthorised || !strings.Contains(err.Error(), "other") {
		t.Errorf("activate with the wrong model: %v", err)
	}
	d := newDevice(t, s, "SN-OK", "m")
	body := callBody(d)
	body["modelId"] = "other"
	if st, r := placeCall(t, s, body); st != 403 || r.ErrCode != protocol.CodeNotAuthorised || !strings.Contains(r.ErrMsg, "modelId") || !strings.Contains(r.ErrMsg, `"other"`) {
		t.Errorf("model mismatch: HTTP %d %+v", st, r)
	}
	for licence, code := range map[string]int{"expired": protocol.CodeLicenceExpired, "none": protocol.CodeNotActivated} {
		st, data := admin(t, s, "POST", "/sim/devices/SN-OK", map[string]string{"licence": licence})
		if st != 200 || decode[protocol.DeviceStatus](t, data).Licence != licence {
			t.Fatalf("set licence: HTTP %d %s", st, data)
		}
		if st, r := placeCall(t, s, callBody(d)); st != 403 || r.ErrCode != code || r.Errno != code || !strings.Contains(r.ErrMsg, "licence") {
			t.Errorf("licence %s: HTTP %d %+v", licence, st, r)
		}
	}
	admin(t, s, "POST", "/sim/devices/SN-OK", map[string]string{"licence": "active"})
	mustCall(t, s, callBody(d))

	// Bad admin input.
	for _, c := range []struct {
		path, body, want string
		status           int
	}{
		{"/sim/devices/SN-OK", `{"licence":"valid"}`, `"valid"`, 400},
		{"/sim/devices/SN-OK", `{"licence":1}`, "licence", 400},
		{"/sim/devices/SN-OK", `{}`, "nothing to change", 400},
		{"/sim/devices/SN-OK", `{"licence":"expired","colour":"red"}`, "colour", 400},
		{"/sim/devices/SN-NEW", `{"licence":"expired"}`, "give modelId", 404},
	} {
		st, data := admin(t, s, "POST", c.path, c.body)
		if e := decode[protocol.APIError](t, data); st != c.status || e.ErrCode == 0 || !strings.Contains(e.ErrMsg, c.want) {
			t.Errorf("%s %s: HTTP %d %s", c.path, c.body, st, data)
		}
	}
	st, data := admin(t, s, "POST", "/sim/devices/SN-NEW", `{"licence":"none","modelId":"m2"}`)
	if dev := decode[protocol.DeviceStatus](t, data); st != 200 || dev.Licence != "none" || dev.ModelID != "m2" || dev.Activated {
		t.Errorf("register: HTTP %d %s", st, data)
	}
	_, data = admin(t, s, "GET", "/sim/devices", nil)
	devs := decode[struct{ Devices []protocol.DeviceStatus }](t, data).Devices
	var sns []string
	for _, d := range devs {
		sns = append(sns, d.SN)
	}
	if strings.Join(sns, ",") != "SN-EXP,SN-NEW,SN-NONE,SN-OK" {
		t.Errorf("devices %v", sns)
	}
	for _, d := range devs {
		if d.SN == "SN-OK" && (!d.Activated || !d.Online || !d.Connected || d.LastSeen.IsZero() || d.PushTokenExpiry.IsZero() || d.ActiveRoom == "") {
			t.Errorf("SN-OK status %+v", d)
		}
	}
}

func TestBusyCancelHangup(t *testing.T) {
	s := start(t, Config{})
	ctx := testCtx(t)
	d := newDevice(t, s, "SN-CALL", "m")

	// Busy while ringing.
	r := mustCall(t, s, callBody(d))
	next(t, d.stream)
	if st, e := placeCall(t, s, callBody(d)); st != 409 || e.ErrCode != protocol.CodeDeviceBusy || !strings.Contains(e.ErrMsg, r.RoomID) {
		t.Errorf("busy: HTTP %d %+v", st, e)
	}
	// Hangup of a ringing call is refused; cancel works.
	if st, data := admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/hangup", nil); st != 409 || !strings.Contains(string(data), "use cancel") {
		t.Errorf("hangup while ringing: HTTP %d %s", st, data)
	}
	st, data := admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/cancel", nil)
	if room := decode[protocol.Room](t, data); st != 200 || room.State != "ended" || room.EndReason != "cancelled" {
		t.Fatalf("cancel: HTTP %d %s", st, data)
	}
	if m := next(t, d.stream); m.Type != "voip" || m.Event != "cancelVoip" || m.RoomID != r.RoomID || m.GroupID != r.GroupID || m.Data["status"] != "manual" {
		t.Errorf("device got %+v, want cancelVoip", m)
	}
	if err := d.CancelAck(ctx, r.RoomID); err != nil {
		t.Error(err)
	}
	if err := d.Answer(ctx, r.RoomID); apiCode(err) != protocol.ErrcodeWrongState || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("answer after cancel: %v", err)
	}
	if names := strings.Join(eventNames(getRoom(t, s, r.RoomID)), ","); names != "startVoip,cancelVoip,endVoip,finishVoip" {
		t.Errorf("events %s", names)
	}

	// Answer, then busy while ongoing, then caller hangup.
	r = mustCall(t, s, callBody(d))
	next(t, d.stream)
	if err := d.Answer(ctx, r.RoomID); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d.stream); m.Event != "joinedRoomByCaller" {
		t.Fatalf("got %+v, want joinedRoomByCaller", m)
	}
	if room := getRoom(t, s, r.RoomID); room.State != "ongoing" || room.AnsweredAt.IsZero() || room.OngoingAt.IsZero() {
		t.Errorf("room %+v", room)
	}
	if st, e := placeCall(t, s, callBody(d)); st != 409 || e.ErrCode != protocol.CodeDeviceBusy {
		t.Errorf("busy while ongoing: HTTP %d %+v", st, e)
	}
	if st, data := admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/cancel", nil); st != 409 || !strings.Contains(string(data), "use hangup") {
		t.Errorf("cancel while ongoing: HTTP %d %s", st, data)
	}
	st, data = admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/hangup", nil)
	if room := decode[protocol.Room](t, data); st != 200 || room.EndReason != "endByCaller" {
		t.Fatalf("hangup: HTTP %d %s", st, data)
	}
	if m := next(t, d.stream); m.Event != "hangUpVoip" || m.Data["reason"] != "endByCaller" {
		t.Errorf("got %+v, want hangUpVoip endByCaller", m)
	}
	if names := strings.Join(eventNames(getRoom(t, s, r.RoomID)), ","); names != "startVoip,hangOnVoip,joinedRoomByCaller,hangUpVoip,endVoip,finishVoip" {
		t.Errorf("events %s", names)
	}

	// Device hangs up (endByListener); device rejects.
	r = mustCall(t, s, callBody(d))
	next(t, d.stream)
	if err := d.Hangup(ctx, r.RoomID); apiCode(err) != protocol.ErrcodeWrongState {
		t.Errorf("device hangup while ringing: %v", err)
	}
	if err := d.Answer(ctx, r.RoomID); err != nil {
		t.Fatal(err)
	}
	next(t, d.stream)
	if err := d.Hangup(ctx, r.RoomID); err != nil {
		t.Fatal(err)
	}
	if room := getRoom(t, s, r.RoomID); room.EndReason != "endByListener" || room.Events[3].Name != "hangUpVoip" || room.Events[3].Data["reason"] != "endByListener" {
		t.Errorf("room %+v", room)
	}
	r = mustCall(t, s, callBody(d))
	next(t, d.stream)
	if err := d.Reject(ctx, r.RoomID); err != nil {
		t.Fatal(err)
	}
	if room := getRoom(t, s, r.RoomID); room.EndReason != "rejected" || strings.Join(eventNames(room), ",") != "startVoip,rejectVoip,endVoip,finishVoip" {
		t.Errorf("room %+v", room)
	}
	// Another device cannot act on this device's room; unknown rooms are 404.
	other := newDevice(t, s, "SN-OTHER", "m")
	r = mustCall(t, s, callBody(d))
	if err := other.Answer(ctx, r.RoomID); apiCode(err) != protocol.ErrcodeNotYourRoom {
		t.Errorf("answer by another device: %v", err)
	}
	if err := d.Answer(ctx, "r-missing"); apiCode(err) != protocol.ErrcodeNotFound {
		t.Errorf("answer unknown room: %v", err)
	}
	if st, _ := admin(t, s, "GET", "/sim/voip/rooms/r-missing", nil); st != 404 {
		t.Errorf("unknown room: HTTP %d", st)
	}
	if st, _ := admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/explode", nil); st != 404 {
		t.Errorf("unknown action: HTTP %d", st)
	}
}

func TestRingTimeout(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now})
	d := newDevice(t, s, "SN-RING", "m")
	r := mustCall(t, s, callBody(d))
	next(t, d.stream)
	clock.Advance(59 * time.Second)
	s.CheckTimers()
	if room := getRoom(t, s, r.RoomID); room.State != "ringing" {
		t.Fatalf("at 59 s: %s", room.State)
	}
	clock.Advance(time.Second)
	s.CheckTimers()
	if m := next(t, d.stream); m.Type != "voip" || m.Event != "timeout" || m.RoomID != r.RoomID {
		t.Errorf("got %+v, want timeout", m)
	}
	room := getRoom(t, s, r.RoomID)
	if room.State != "ended" || room.EndReason != "timeout" || !room.EndedAt.Equal(room.CreatedAt.Add(60*time.Second)) {
		t.Errorf("room %+v", room)
	}
	if err := d.Answer(testCtx(t), r.RoomID); apiCode(err) != protocol.ErrcodeWrongState {
		t.Errorf("answer after timeout: %v", err)
	}
	mustCall(t, s, callBody(d)) // no longer busy
}

func TestRingTimeoutRealTimer(t *testing.T) {
	s := start(t, Config{RingTimeout: 30 * time.Millisecond})
	d := newDevice(t, s, "SN-RT", "m")
	r := mustCall(t, s, callBody(d))
	next(t, d.stream)
	if m := next(t, d.stream); m.Event != "timeout" || m.RoomID != r.RoomID {
		t.Errorf("got %+v, want timeout", m)
	}
	if room := getRoom(t, s, r.RoomID); room.EndReason != "timeout" {
		t.Errorf("room %+v", room)
	}
}

func TestJoinWait(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now, JoinWait: 20 * time.Second})
	ctx := testCtx(t)
	d := newDevice(t, s, "SN-JOIN", "m")
	answer := func(callerJoin string) callReply {
		t.Helper()
		body := callBody(d)
		body["sim"] = map[string]any{"callerJoin": callerJoin}
		r := mustCall(t, s, body)
		next(t, d.stream)
		if err := d.Answer(ctx, r.RoomID); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// never: the device aborts after JoinWait.
	r := answer("never")
	clock.Advance(19 * time.Second)
	s.CheckTimers()
	if room := getRoom(t, s, r.RoomID); room.State != "answered" {
		t.Fatalf("at 19 s: %+v", room)
	}
	clock.Advance(time.Second)
	s.CheckTimers()
	if m := next(t, d.stream); m.Event != "abortVoip" || m.Data["reason"] != "abortByCaller" {
		t.Errorf("got %+v, want abortVoip abortByCaller", m)
	}
	if room := getRoom(t, s, r.RoomID); room.EndReason != "abortByCaller" || strings.Join(eventNames(room), ",") != "startVoip,hangOnVoip,abortVoip,endVoip,finishVoip" {
		t.Errorf("room %+v", room)
	}
	// A delay shorter than JoinWait: ongoing at answer + delay.
	r = answer("5000")
	clock.Advance(4 * time.Second)
	s.CheckTimers()
	if room := getRoom(t, s, r.RoomID); room.State != "answered" {
		t.Fatalf("at 4 s: %+v", room)
	}
	clock.Advance(time.Second)
	if room := getRoom(t, s, r.RoomID); room.State != "ongoing" || !room.OngoingAt.Equal(room.AnsweredAt.Add(5*time.Second)) {
		t.Fatalf("at 5 s: %+v", room)
	}
	if m := next(t, d.stream); m.Event != "joinedRoomByCaller" {
		t.Errorf("got %+v", m)
	}
	admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/hangup", nil)
	next(t, d.stream)
	// A delay not shorter than JoinWait: too late.
	r = answer("20000")
	clock.Advance(25 * time.Second)
	s.CheckTimers()
	if m := next(t, d.stream); m.Event != "abortVoip" {
		t.Errorf("got %+v, want abortVoip", m)
	}
	// fail: joinFailCaller, then the abort.
	r = answer("fail")
	clock.Advance(20 * time.Second)
	s.CheckTimers()
	next(t, d.stream)
	if room := getRoom(t, s, r.RoomID); room.EndReason != "abortByCaller" || strings.Join(eventNames(room), ",") != "startVoip,hangOnVoip,joinFailCaller,abortVoip,endVoip,finishVoip" {
		t.Errorf("room %+v", eventNames(room))
	}
	// The caller hangs up an answered call before joining.
	r = answer("never")
	admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/hangup", nil)
	if m := next(t, d.stream); m.Event != "abortVoip" || m.Data["reason"] != "abortByCaller" {
		t.Errorf("got %+v", m)
	}
	// The device hangs up before the caller joins.
	r = answer("never")
	if err := d.Hangup(ctx, r.RoomID); err != nil {
		t.Fatal(err)
	}
	if room := getRoom(t, s, r.RoomID); room.EndReason != "abortByListener" {
		t.Errorf("room %+v", room)
	}
}

func TestJoinWaitRealTimer(t *testing.T) {
	s := start(t, Config{JoinWait: 30 * time.Millisecond})
	d := newDevice(t, s, "SN-JRT", "m")
	body := callBody(d)
	body["sim"] = map[string]any{"callerJoin": "never"}
	r := mustCall(t, s, body)
	next(t, d.stream)
	if err := d.Answer(testCtx(t), r.RoomID); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d.stream); m.Event != "abortVoip" || m.Data["reason"] != "abortByCaller" {
		t.Errorf("got %+v", m)
	}
}

func TestTimeLimit(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Config{Now: clock.Now})
	d := newDevice(t, s, "SN-TL", "m")
	body := callBody(d)
	body["timeLimit"] = 90
	r := mustCall(t, s, body)
	next(t, d.stream)
	if err := d.Answer(testCtx(t), r.RoomID); err != nil {
		t.Fatal(err)
	}
	next(t, d.stream)
	clock.Advance(90 * time.Second)
	s.CheckTimers()
	if m := next(t, d.stream); m.Event != "hangUpVoip" || m.Data["reason"] != "timeLimit" {
		t.Errorf("got %+v", m)
	}
	room := getRoom(t, s, r.RoomID)
	end := room.Events[len(room.Events)-1]
	if room.EndReason != "timeLimit" || end.Name != "finishVoip" || end.Data["keepTime"] != float64(90) {
		t.Errorf("room %+v", room)
	}
}

func TestStreamReplacementAndReactivation(t *testing.T) {
	s := start(t, Config{})
	ctx := testCtx(t)
	d := newDevice(t, s, "SN-REP", "m")
	second, err := d.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, err = d.stream.Next(ctx)
	var sc *StreamClosedError
	if !errors.As(err, &sc) || sc.Reason != "replaced" || !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("first stream: %v, want closed: replaced", err)
	}
	if _, err2 := d.stream.Next(ctx); !errors.Is(err2, ErrStreamClosed) {
		t.Errorf("Next after the end: %v", err2)
	}
	r := mustCall(t, s, callBody(d))
	if m := next(t, second); m.Type != "push" || !strings.Contains(m.Msg, r.GroupID) {
		t.Errorf("second stream got %+v", m)
	}
	if st := deviceStatus(t, s, "SN-REP"); !st.Connected {
		t.Errorf("status %+v", st)
	}
	// Activating again ends the session: its stream closes, its requests fail.
	oldSession := d.Session()
	if err := d.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Next(ctx); !errors.As(err, &sc) || sc.Reason != "session ended" {
		t.Errorf("stream after reactivation: %v", err)
	}
	stale := &DeviceClient{BaseURL: s.URL(), SN: "SN-REP", ModelID: "m", session: oldSession}
	if _, _, err := stale.PushToken(ctx); apiCode(err) != protocol.ErrcodeInvalidCredential || !strings.Contains(err.Error(), "activated again") {
		t.Errorf("old session: %v", err)
	}
	if _, err := stale.Connect(ctx); apiCode(err) != protocol.ErrcodeInvalidCredential {
		t.Errorf("connect with old session: %v", err)
	}
	// The call push that was delivered is not delivered again; new ones are.
	third, err := d.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	admin(t, s, "POST", "/sim/voip/rooms/"+r.RoomID+"/cancel", nil)
	if m := next(t, third); m.Event != "cancelVoip" {
		t.Errorf("third stream got %+v", m)
	}
	// Closing locally.
	third.Close()
	if _, err := third.Next(ctx); !errors.Is(err, ErrStreamClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestDeviceEndpointsBadInput(t *testing.T) {
	s := start(t, Config{})
	ctx := testCtx(t)
	unactivated := &DeviceClient{BaseURL: s.URL(), SN: "SN-X", ModelID: "m"}
	if _, _, err := unactivated.PushToken(ctx); err == nil || !strings.Contains(err.Error(), "Activate first") {
		t.Errorf("push token before activate: %v", err)
	}
	if _, err := unactivated.Connect(ctx); err == nil {
		t.Error("connect before activate succeeded")
	}
	cases := []struct {
		method, path, body string
		status, code       int
		want               string
	}{
		{"POST", "/wmpf/activate", ``, 400, protocol.ErrcodeBadParameter, "empty"},
		{"POST", "/wmpf/activate", `{"sn":"a"`, 400, protocol.ErrcodeBadParameter, "request body"},
		{"POST", "/wmpf/activate", `{"sn":"a","modelId":"m","x":1}`, 400, protocol.ErrcodeBadParameter, `unknown field "x"`},
		{"POST", "/wmpf/activate", `{"sn":"","modelId":"m"}`, 400, protocol.ErrcodeBadParameter, "sn"},
		{"POST", "/wmpf/activate", `{"sn":"a b","modelId":"m"}`, 400, protocol.ErrcodeBadParameter, `"a b"`},
		{"POST", "/wmpf/activate", `{"sn":"a","modelId":""}`, 400, protocol.ErrcodeBadParameter, "modelId"},
		{"POST", "/wmpf/pushtoken", `{"sn":"nobody","session":"S"}`, 401, protocol.ErrcodeInvalidCredential, "has not activated"},
		{"POST", "/wmpf/pushtoken", `{"sn":"nobody"}`, 400, protocol.ErrcodeBadParameter, "session is required"},
		{"POST", "/wmpf/devicetoken", `{"sn":5}`, 400, protocol.ErrcodeBadParameter, "sn"},
		{"GET", "/wmpf/push?sn=nobody&session=S", "", 401, protocol.ErrcodeInvalidCredential, "has not activated"},
		{"POST", "/wmpf/ack", `{"sn":"nobody","session":"S","id":"P1"}`, 401, protocol.ErrcodeInvalidCredential, "nobody"},
		{"POST", "/wmpf/voip/r1/dance", `{}`, 404, protocol.ErrcodeNotFound, "dance"},
		{"POST", "/wmpf/truth", `{"sn":"a","stage":"bad stage!","at":"2026-01-01T00:00:00Z"}`, 400, protocol.ErrcodeBadParameter, "stage"},
		{"POST", "/wmpf/truth", `{"sn":"a","stage":"pushReceived","at":"yesterday"}`, 400, protocol.ErrcodeBadParameter, `"yesterday"`},
		{"GET", "/wmpf/activate", ``, 405, protocol.ErrcodeMethodNotAllowed, "GET"},
		{"GET", "/nowhere", ``, 404, protocol.ErrcodeNotFound, "/nowhere"},
	}
	for _, c := range cases {
		st, data := do(t, c.method, s.URL()+c.path, c.body)
		e := decode[protocol.APIError](t, data)
		if st != c.status || e.ErrCode != c.code || !strings.Contains(e.ErrMsg, c.want) {
			t.Errorf("%s %s %s: HTTP %d %s, want %d errcode %d with %q", c.method, c.path, c.body, st, data, c.status, c.code, c.want)
		}
	}
	d := newDevice(t, s, "SN-ACK", "m")
	if err := d.Ack(ctx, "P-missing"); apiCode(err) != protocol.ErrcodeNotFound {
		t.Errorf("ack unknown push: %v", err)
	}
	tok, exp, err := d.DeviceToken(ctx)
	if err != nil || tok == "" || exp != time.Hour {
		t.Errorf("device token: %q %v %v", tok, exp, err)
	}
}

func TestTruth(t *testing.T) {
	s := start(t, Config{})
	ctx := testCtx(t)
	d := newDevice(t, s, "SN-T", "m")
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	if err := d.ReportTruth(ctx, "pushReceived", "r1", "g1", at); err != nil {
		t.Fatal(err)
	}
	pre := &DeviceClient{BaseURL: s.URL(), SN: "SN-PRE"}
	if err := pre.ReportTruth(ctx, "injected", "", "", at); err != nil {
		t.Fatalf("truth before activation: %v", err)
	}
	st, data := admin(t, s, "POST", "/sim/truth", map[string]string{"sn": "SN-T", "stage": "answered", "roomId": "r1", "groupId": "g1", "at": at.Add(time.Second).Format(time.RFC3339Nano)})
	if st != 200 {
		t.Fatalf("POST /sim/truth: HTTP %d %s", st, data)
	}
	_, data = admin(t, s, "GET", "/sim/truth?sn=SN-T&roomId=r1", nil)
	got := decode[struct{ Truth []protocol.TruthStamp }](t, data).Truth
	if len(got) != 2 || got[0].Stage != "pushReceived" || !got[0].At.Equal(at) || got[1].Stage != "answered" || got[0].ReceivedAt.IsZero() {
		t.Errorf("truth %+v", got)
	}
	_, data = admin(t, s, "GET", "/sim/truth", nil)
	if all := decode[struct{ Truth []protocol.TruthStamp }](t, data).Truth; len(all) != 3 {
		t.Errorf("all truth %+v", all)
	}
}

// TestManyDevices calls 200 connected devices at once; one device that
// never reads its stream does not hold up the others.
func TestManyDevices(t *testing.T) {
	s := start(t, Config{})
	stuck := newDevice(t, s, "SN-STUCK", "m")
	for i := 0; i < 200; i++ {
		admin(t, s, "POST", "/wxa/business/runtime/pushappmsg", map[string]string{"msg": strings.Repeat("x", 5000), "push_token": stuck.token})
	}
	const n = 200
	devs := make([]*testDevice, n)
	for i := range devs {
		devs[i] = newDevice(t, s, fmt.Sprintf("SN-%03d", i), "m")
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, d := range devs {
		wg.Add(1)
		go func(d *testDevice) {
			defer wg.Done()
			st, data := admin(t, s, "POST", "/sim/voip/callWMPF", callBody(d))
			if st != 200 {
				errs <- fmt.Errorf("%s: HTTP %d %s", d.SN, st, data)
				return
			}
			r := decode[callReply](t, data)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for {
				m, err := d.stream.Next(ctx)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", d.SN, err)
					return
				}
				if m.Type == "push" {
					if !strings.Contains(m.Msg, "listenerId="+d.SN) || !strings.Contains(m.Msg, r.GroupID) {
						errs <- fmt.Errorf("%s got %s", d.SN, m.Msg)
					}
					if err := d.Answer(ctx, r.RoomID); err != nil {
						errs <- err
					}
					return
				}
			}
		}(d)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	s, err := Start(context.Background(), Config{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, s, "SN-CLOSE", "m")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = d.stream.Next(testCtx(t))
	var sc *StreamClosedError
	if !errors.As(err, &sc) || sc.Reason != "server closing" {
		t.Errorf("after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s2, err := Start(ctx, Config{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	eventually(t, "server to stop on ctx", func() bool {
		err := (&DeviceClient{BaseURL: s2.URL(), SN: "a", ModelID: "m"}).Activate(context.Background())
		return err != nil && apiCode(err) == -1
	})
	if _, err := Start(context.Background(), Config{}, "256.0.0.1:bad"); err == nil || !strings.Contains(err.Error(), "256.0.0.1:bad") {
		t.Errorf("bad addr: %v", err)
	}
}

func TestPing(t *testing.T) {
	s := start(t, Config{PingInterval: 5 * time.Millisecond})
	d := newDevice(t, s, "SN-PING", "m")
	m, err := d.stream.Next(testCtx(t))
	if err != nil || m.Type != "ping" {
		t.Fatalf("got %+v %v, want a ping", m, err)
	}
	// A context that ends leaves the stream open.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.stream.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Next: %v", err)
	}
	if m, err := d.stream.Next(testCtx(t)); err != nil || m.Type != "ping" {
		t.Errorf("after a cancelled Next: %+v %v", m, err)
	}
}
