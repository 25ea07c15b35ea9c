package wechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startSim(t *testing.T, cfg wechat.Config) *wechat.Server {
	t.Helper()
	s, err := wechat.Start(context.Background(), cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type device struct {
	*wechat.DeviceClient
	stream *wechat.PushStream
	token  string
}

func newDevice(t *testing.T, s *wechat.Server, sn string) *device {
	t.Helper()
	ctx := ctxT(t)
	d := &wechat.DeviceClient{BaseURL: s.URL(), SN: sn, ModelID: "model-1"}
	if err := d.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	tok, _, err := d.PushToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := d.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return &device{DeviceClient: d, stream: ps, token: tok}
}

func (d *device) next(t *testing.T) wechat.DeviceMessage {
	t.Helper()
	for {
		m, err := d.stream.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != "ping" {
			return m
		}
	}
}

func (d *device) request() caller.CallRequest {
	return caller.CallRequest{RoomType: "video", SN: d.SN, ModelID: d.ModelID, PushToken: d.token, NickName: "Alice"}
}

func TestTokenCacheAndRefresh(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s := startSim(t, wechat.Config{Now: clock.Now})
	ctx := ctxT(t)
	c := caller.New(s.URL(), s.AppID(), s.AppSecret())
	if _, err := c.Devices(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pushes(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := c.TokenFetches(); n != 1 {
		t.Errorf("fetched %d tokens, want 1 (cached)", n)
	}
	// The server's clock passes the token's expiry: 42001, refresh, retry.
	clock.Advance(7200 * time.Second)
	if _, err := c.Devices(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := c.TokenFetches(); n != 2 {
		t.Errorf("fetched %d tokens, want 2", n)
	}
	// Same through pushappmsg (WeChat-style replies, HTTP 200).
	clock.Advance(7200 * time.Second)
	err := c.PushAppMsg(ctx, "unknown-token", "hi")
	var ae *protocol.APIError
	if !errors.As(err, &ae) || ae.ErrCode != protocol.ErrcodeInvalidPushToken || c.TokenFetches() != 3 {
		t.Errorf("pushappmsg after expiry: %v (fetches %d)", err, c.TokenFetches())
	}

	// A fixed token is never refreshed.
	err = caller.NewWithToken(s.URL(), "bogus").PushAppMsg(ctx, "x", "y")
	if !errors.As(err, &ae) || ae.ErrCode != protocol.ErrcodeInvalidCredential {
		t.Errorf("bogus token: %v", err)
	}
	_, err = caller.NewWithToken(s.URL(), "").Devices(ctx)
	if !errors.As(err, &ae) || ae.ErrCode != 41001 || ae.HTTPStatus != 401 {
		t.Errorf("empty token: %v", err)
	}
	if _, err := caller.NewWithToken(s.URL(), s.AccessToken()).Devices(ctx); err != nil {
		t.Errorf("valid fixed token: %v", err)
	}
	// Bad credentials.
	for _, tc := range []struct {
		c    *caller.Client
		code int
	}{
		{caller.New(s.URL(), "wx0000000000000000", s.AppSecret()), 40013},
		{caller.New(s.URL(), s.AppID(), "wrong"), 40125},
	} {
		_, err := tc.c.Devices(ctx)
		if !errors.As(err, &ae) || ae.ErrCode != tc.code || strings.Contains(err.Error(), s.AppSecret()) {
			t.Errorf("credentials: %v, want errcode %d", err, tc.code)
		}
	}
	if _, err := caller.New(s.URL(), "", "").Devices(ctx); err == nil || !strings.Contains(err.Error(), "AppID is empty") {
		t.Errorf("no appid: %v", err)
	}
	// An unreachable server: the error names the endpoint, not the secret.
	_, err = caller.New("http://127.0.0.1:1", s.AppID(), "sekrit-value").Devices(ctx)
	if err == nil || strings.Contains(err.Error(), "sekrit-value") || !strings.Contains(err.Error(), "/cgi-bin/token") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestCallFlow(t *testing.T) {
	s := startSim(t, wechat.Config{})
	ctx := ctxT(t)
	c := caller.New(s.URL(), s.AppID(), s.AppSecret())
	d := newDevice(t, s, "SN-C1")

	req := d.request()
	req.NickName = "Bob & \"Eve\" 😀"
	req.CustomQuery = "order=7"
	res, err := c.CallWMPF(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	m := d.next(t)
	if m.Type != "push" || !strings.Contains(m.Msg, "groupId="+res.GroupID+"&") {
		t.Fatalf("push %+v", m)
	}
	var pm struct {
		Path    string `json:"path"`
		AppType int    `json:"appType"`
		AppID   string `json:"appid"`
	}
	if err := json.Unmarshal([]byte(m.Msg), &pm); err != nil || pm.AppID != s.AppID() || pm.AppType != 0 ||
		!strings.HasSuffix(pm.Path, "&listenerId=SN-C1&callerName=Bob%20%26%20%22Eve%22%20%F0%9F%98%80&order=7") {
		t.Fatalf("push message %s (%v)", m.Msg, err)
	}
	room, err := c.Room(ctx, res.RoomID)
	if err != nil || room.State != protocol.StateRinging || room.GroupID != res.GroupID || room.NickName != req.NickName {
		t.Fatalf("room %+v %v", room, err)
	}
	pushes, err := c.Pushes(ctx, "SN-C1")
	if err != nil || len(pushes) != 1 || pushes[0].RoomID != res.RoomID || pushes[0].Status != "delivered" || pushes[0].Msg != m.Msg {
		t.Fatalf("pushes %+v %v", pushes, err)
	}
	if err := c.Hangup(ctx, res.RoomID); err == nil || !strings.Contains(err.Error(), "use cancel") {
		t.Errorf("hangup while ringing: %v", err)
	}
	if err := c.Cancel(ctx, res.RoomID); err != nil {
		t.Fatal(err)
	}
	if m := d.next(t); m.Event != "cancelVoip" {
		t.Errorf("device got %+v", m)
	}
	room, _ = c.Room(ctx, res.RoomID)
	if room.State != protocol.StateEnded || room.EndReason != "cancelled" {
		t.Errorf("room %+v", room)
	}

	// Answered, then the caller joins after 30 ms; the caller hangs up.
	req = d.request()
	req.Sim = map[string]any{"callerJoin": "30"}
	res, err = c.CallWMPF(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	d.next(t)
	if err := d.Answer(ctx, res.RoomID); err != nil {
		t.Fatal(err)
	}
	room, err = c.WaitRoom(ctx, res.RoomID, 0, func(r protocol.Room) bool { return r.State == protocol.StateOngoing })
	if err != nil {
		t.Fatal(err)
	}
	if got := room.OngoingAt.Sub(room.AnsweredAt); got != 30*time.Millisecond {
		t.Errorf("caller joined %v after the answer, want 30ms", got)
	}
	if m := d.next(t); m.Event != "joinedRoomByCaller" {
		t.Errorf("device got %+v", m)
	}
	if err := c.Hangup(ctx, res.RoomID); err != nil {
		t.Fatal(err)
	}
	if m := d.next(t); m.Event != "hangUpVoip" || m.Data["reason"] != "endByCaller" {
		t.Errorf("device got %+v", m)
	}
	room, _ = c.Room(ctx, res.RoomID)
	if want := "startVoip,hangOnVoip,joinedRoomByCaller,hangUpVoip,endVoip,finishVoip"; strings.Join(room.EventNames(), ",") != want {
		t.Errorf("events %v", room.EventNames())
	}
	// WaitRoom gives up with ctx.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := c.WaitRoom(short, res.RoomID, 5*time.Millisecond, func(r protocol.Room) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitRoom: %v", err)
	}
	if _, err := c.Room(ctx, "r-missing"); err == nil || !strings.Contains(err.Error(), "r-missing") {
		t.Errorf("missing room: %v", err)
	}
}

func TestCallErrors(t *testing.T) {
	s := startSim(t, wechat.Config{})
	ctx := ctxT(t)
	c := caller.New(s.URL(), s.AppID(), s.AppSecret())
	d := newDevice(t, s, "SN-E1")
	other := newDevice(t, s, "SN-E2")
	f := false
	cases := []struct {
		name   string
		mod    func(*caller.CallRequest)
		code   int
		status int
		field  string
	}{
		{"missing roomType", func(r *caller.CallRequest) { r.RoomType = "" }, 1000, 400, "roomType"},
		{"roomType number", func(r *caller.CallRequest) { r.Extra = map[string]any{"roomType": 5} }, 1000, 400, "roomType"},
		{"empty sn", func(r *caller.CallRequest) { r.Extra = map[string]any{"sn": ""} }, 1002, 400, "sn"},
		{"missing pushToken", func(r *caller.CallRequest) { r.PushToken = "" }, 1001, 400, "pushToken"},
		{"nickName null", func(r *caller.CallRequest) { r.Extra = map[string]any{"nickName": nil} }, 1005, 400, "nickName"},
		{"unknown field", func(r *caller.CallRequest) { r.Extra = map[string]any{"callerName": "x"} }, 1004, 400, "callerName"},
		{"envVersion", func(r *caller.CallRequest) { r.EnvVersion = "preview" }, 1006, 400, "envVersion"},
		{"customQuery", func(r *caller.CallRequest) { r.CustomQuery = "a b" }, 1007, 400, "customQuery"},
		{"timeLimit", func(r *caller.CallRequest) { r.TimeLimit = -1 }, 1008, 400, "timeLimit"},
		{"chargeType", func(r *caller.CallRequest) { r.ChargeType = "free" }, 1009, 400, "chargeType"},
		{"camera", func(r *caller.CallRequest) {
			r.EnableCallerCamera = &f
			r.Extra = map[string]any{"enableListenerCamera": "no"}
		}, 1010, 400, "enableListenerCamera"},
		{"huge nickName", func(r *caller.CallRequest) { r.NickName = strings.Repeat("%", 2000) }, 1005, 400, "nickName"},
		{"sim", func(r *caller.CallRequest) { r.Sim = map[string]any{"callerJoin": "soon"} }, 1004, 400, "sim.callerJoin"},
		{"token of another device", func(r *caller.CallRequest) { r.PushToken = other.token }, 14, 403, "pushToken"},
		{"unknown token", func(r *caller.CallRequest) { r.PushToken = "PTnope" }, 14, 403, "pushToken"},
		{"model mismatch", func(r *caller.CallRequest) { r.ModelID = "model-2" }, 9, 403, "modelId"},
		{"offline", func(r *caller.CallRequest) { r.SN = "SN-NOBODY" }, 10, 404, "SN-NOBODY"},
	}
	for _, tc := range cases {
		req := d.request()
		tc.mod(&req)
		_, err := c.CallWMPF(ctx, req)
		var ce *protocol.CallError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v, want *CallError", tc.name, err)
			continue
		}
		if ce.ErrCode != tc.code || ce.Errno != tc.code || ce.HTTPStatus != tc.status || !strings.Contains(ce.ErrMsg, tc.field) ||
			!strings.HasPrefix(ce.ErrMsg, "callWMPF:fail ") || len(ce.Cause) == 0 {
			t.Errorf("%s: %+v, want errCode %d HTTP %d naming %s", tc.name, ce, tc.code, tc.status, tc.field)
		}
	}
	// Busy, then licence.
	res, err := c.CallWMPF(ctx, d.request())
	if err != nil {
		t.Fatal(err)
	}
	var ce *protocol.CallError
	if _, err := c.CallWMPF(ctx, d.request()); !errors.As(err, &ce) || ce.ErrCode != 11 || ce.HTTPStatus != 409 {
		t.Errorf("busy: %v", err)
	}
	if err := c.Cancel(ctx, res.RoomID); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLicence(ctx, "SN-E1", protocol.LicenceExpired); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallWMPF(ctx, d.request()); !errors.As(err, &ce) || ce.ErrCode != 23 {
		t.Errorf("expired licence: %v", err)
	}
	if err := c.SetLicence(ctx, "SN-E1", protocol.LicenceNone); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallWMPF(ctx, d.request()); !errors.As(err, &ce) || ce.ErrCode != 24 {
		t.Errorf("no licence: %v", err)
	}
	var ae *protocol.APIError
	if err := c.SetLicence(ctx, "SN-E1", "lapsed"); !errors.As(err, &ae) || ae.ErrCode != protocol.ErrcodeBadParameter || !strings.Contains(ae.ErrMsg, "lapsed") {
		t.Errorf("bad licence: %v", err)
	}
	if err := c.RegisterDevice(ctx, "SN-NEW", "model-9", protocol.LicenceExpired); err != nil {
		t.Fatal(err)
	}
	dev, err := c.Device(ctx, "SN-NEW")
	if err != nil || dev.ModelID != "model-9" || dev.Licence != protocol.LicenceExpired || dev.Activated {
		t.Errorf("registered device %+v %v", dev, err)
	}
	devs, err := c.Devices(ctx)
	if err != nil || len(devs) != 3 || devs[0].SN != "SN-E1" || !devs[0].Connected {
		t.Errorf("devices %+v %v", devs, err)
	}
}

func TestPushAppMsgAndTruth(t *testing.T) {
	s := startSim(t, wechat.Config{})
	ctx := ctxT(t)
	c := caller.New(s.URL(), s.AppID(), s.AppSecret())
	d := newDevice(t, s, "SN-P1")
	msg := `{"path":"plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin?roomType=voice&groupId=g1&listenerId=SN-P1&callerName=x","appType":0,"appid":"` + s.AppID() + `"}`
	if err := c.PushAppMsg(ctx, d.token, msg); err != nil {
		t.Fatal(err)
	}
	if m := d.next(t); m.Type != "push" || m.Msg != msg {
		t.Fatalf("device got %+v", m)
	}
	var ae *protocol.APIError
	for _, tc := range []struct {
		token, msg string
		code       int
	}{
		{d.token, "", protocol.ErrcodeBadParameter},
		{"", "x", protocol.ErrcodeBadParameter},
		{d.token, strings.Repeat("x", 5121), protocol.ErrcodeMsgTooLong},
		{"PT-unknown", "x", protocol.ErrcodeInvalidPushToken},
	} {
		if err := c.PushAppMsg(ctx, tc.token, tc.msg); !errors.As(err, &ae) || ae.ErrCode != tc.code || ae.HTTPStatus != 200 {
			t.Errorf("pushappmsg(%q, %d bytes): %v, want errcode %d", tc.token, len(tc.msg), err, tc.code)
		}
	}
	at := time.Now().UTC()
	if err := d.ReportTruth(ctx, "pushReceived", "", "", at); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTruth(ctx, protocol.TruthStamp{SN: "SN-P1", Stage: "callPlaced", RoomID: "r1", At: at.Add(-time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	stamps, err := c.Truth(ctx, "SN-P1", "")
	if err != nil || len(stamps) != 2 || stamps[0].Stage != "pushReceived" || !stamps[0].At.Equal(at) || stamps[1].RoomID != "r1" {
		t.Errorf("truth %+v %v", stamps, err)
	}
	if stamps, _ := c.Truth(ctx, "", "r1"); len(stamps) != 1 {
		t.Errorf("truth by room %+v", stamps)
	}
	if err := c.AddTruth(ctx, protocol.TruthStamp{SN: "SN-P1", Stage: "bad stage", At: at}); !errors.As(err, &ae) || ae.ErrCode != protocol.ErrcodeBadParameter {
		t.Errorf("bad stage: %v", err)
	}
}

// TestWeChatWireShapes checks the requests against a stub that answers the
// way api.weixin.qq.com does.
func TestWeChatWireShapes(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		switch r.URL.Path {
		case "/cgi-bin/token":
			io.WriteString(w, `{"access_token":"TOKEN1","expires_in":7200}`)
		case "/wxa/business/runtime/pushappmsg":
			io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
		}
	}))
	defer stub.Close()
	c := caller.New(stub.URL, "wx0123456789abcdef", "s3cret")
	if err := c.PushAppMsg(ctxT(t), "PT1", `{"path":"p"}`); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /cgi-bin/token?appid=wx0123456789abcdef&grant_type=client_credential&secret=s3cret ",
		`POST /wxa/business/runtime/pushappmsg?access_token=TOKEN1 {"msg":"{\"path\":\"p\"}","push_token":"PT1"}`,
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
