package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// fakeClock is a clock tests advance by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
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

// start starts a server on 127.0.0.1 for the test.
func start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s, err := Start(context.Background(), cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends a request and returns the status and body.
func do(t testing.TB, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, url, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return resp.StatusCode, data
}

// admin calls a /sim/ or WeChat endpoint with a valid access token.
func admin(t testing.TB, s *Server, method, path string, body any) (int, []byte) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return do(t, method, s.URL()+path+sep+"access_token="+s.AccessToken(), body)
}

func decode[T any](t testing.TB, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// testDevice is an activated, connected simulated device.
type testDevice struct {
	*DeviceClient
	stream *PushStream
	token  string
}

func newDevice(t testing.TB, s *Server, sn, model string) *testDevice {
	t.Helper()
	ctx := testCtx(t)
	c := &DeviceClient{BaseURL: s.URL(), SN: sn, ModelID: model}
	if err := c.Activate(ctx); err != nil {
		t.Fatalf("activate %s: %v", sn, err)
	}
	tok, _, err := c.PushToken(ctx)
	if err != nil {
		t.Fatalf("push token %s: %v", sn, err)
	}
	ps, err := c.Connect(context.Background())
	if err != nil {
		t.Fatalf("connect %s: %v", sn, err)
	}
	t.Cleanup(func() { ps.Close() })
	return &testDevice{DeviceClient: c, stream: ps, token: tok}
}

// next returns the next non-ping message of the stream.
func next(t testing.TB, ps *PushStream) DeviceMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		m, err := ps.Next(ctx)
		if err != nil {
			t.Fatalf("stream Next: %v", err)
		}
		if m.Type != "ping" {
			return m
		}
	}
}

// callBody is a valid callWMPF body for the device.
func callBody(d *testDevice) map[string]any {
	return map[string]any{
		"roomType": "video", "sn": d.SN, "modelId": d.ModelID,
		"pushToken": d.token, "nickName": "Alice",
	}
}

type callReply struct {
	RoomID    string         `json:"roomId"`
	GroupID   string         `json:"groupId"`
	IsSuccess bool           `json:"isSuccess"`
	ErrCode   int            `json:"errCode"`
	ErrMsg    string         `json:"errMsg"`
	Errno     int            `json:"errno"`
	Cause     map[string]any `json:"cause"`
}

func placeCall(t testing.TB, s *Server, body any) (int, callReply) {
	t.Helper()
	st, data := admin(t, s, "POST", "/sim/voip/callWMPF", body)
	return st, decode[callReply](t, data)
}

func mustCall(t testing.TB, s *Server, body any) callReply {
	t.Helper()
	st, r := placeCall(t, s, body)
	if st != 200 || !r.IsSuccess || r.RoomID == "" {
		t.Fatalf("callWMPF: HTTP %d %+v", st, r)
	}
	return r
}

func getRoom(t testing.TB, s *Server, id string) protocol.Room {
	t.Helper()
	st, data := admin(t, s, "GET", "/sim/voip/rooms/"+id, nil)
	if st != 200 {
		t.Fatalf("room %s: HTTP %d %s", id, st, data)
	}
	return decode[protocol.Room](t, data)
}

func eventNames(r protocol.Room) []string {
	var out []string
	for _, e := range r.Events {
		out = append(out, e.Name)
	}
	return out
}

func deviceStatus(t testing.TB, s *Server, sn string) protocol.DeviceStatus {
	t.Helper()
	st, data := admin(t, s, "GET", "/sim/devices/"+sn, nil)
	if st != 200 {
		t.Fatalf("device %s: HTTP %d %s", sn, st, data)
	}
	return decode[protocol.DeviceStatus](t, data)
}

// eventually polls cond (state that has no event to wait on, such as the
// server noticing a dropped connection) until it holds or 5 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func apiCode(err error) int {
	var ae *protocol.APIError
	if errors.As(err, &ae) {
		return ae.ErrCode
	}
	return -1
}
