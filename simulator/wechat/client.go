package wechat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// defaultHTTP is used when DeviceClient.HTTP is nil. It has no overall
// timeout (push streams are long-lived): contexts bound every call.
var defaultHTTP = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}()

// DeviceClient is the device side's client, used by the simulated WMPF on a
// device: it activates, gets push and device tokens, holds the push stream,
// and answers, rejects and hangs up calls. Set the exported fields, then call
// Activate; the session it gets is kept for the other calls (a new Activate
// replaces it). Safe for concurrent use; do not copy after first use.
type DeviceClient struct {
	BaseURL string // e.g. Server.URL()
	SN      string
	ModelID string
	HTTP    *http.Client // nil: a shared client without timeout

	mu      sync.Mutex
	session string
}

// DeviceMessage is one line of a push stream.
type DeviceMessage struct {
	// Type is "push" (a push message for the push listener), "voip" (a VoIP
	// event of a call to this device) or "ping" (keep-alive, every
	// Config.PingInterval).
	Type string `json:"type"`
	// ID and Msg are set for "push": Msg is the push message exactly as
	// sent; acknowledge it with DeviceClient.Ack(ID).
	ID  string `json:"id,omitempty"`
	Msg string `json:"msg,omitempty"`
	// RoomID, GroupID, Event and Data are set for "voip": Event is an
	// onVoipEvent name (cancelVoip, timeout, abortVoip, joinedRoomByCaller,
	// hangUpVoip) and Data its details (e.g. {"reason":"endByCaller"}).
	RoomID  string         `json:"roomId,omitempty"`
	GroupID string         `json:"groupId,omitempty"`
	Event   string         `json:"event,omitempty"`
	Data    map[string]any `json:"data,omitempty"`
	// Reason is set for the server's goodbye line ("bye"), which Next
	// turns into a *StreamClosedError.
	Reason string `json:"reason,omitempty"`
}

// Reasons the server gives when it ends a push stream
// (StreamClosedError.Reason).
const (
	ByeReplaced      = "replaced"       // a newer connection of the same sn took over
	ByeSessionEnded  = "session ended"  // the device activated again
	ByeServerClosing = "server closing" // Server.Close
)

// ErrStreamClosed is matched (errors.Is) by every error that ends a push
// stream.
var ErrStreamClosed = errors.New("push stream closed")

// StreamClosedError ends a push stream. Reason is the server's ("replaced"
// by a newer connection of the same sn, "session ended" by a new
// activation, "server closing"), or says how the connection ended.
type StreamClosedError struct {
	Reason string
	Err    error // the read error, if any
}

func (e *StreamClosedError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("push stream closed: %s: %v", e.Reason, e.Err)
	}
	return "push stream closed: " + e.Reason
}

// Is makes errors.Is(err, ErrStreamClosed) true.
func (e *StreamClosedError) Is(target error) bool { return target == ErrStreamClosed }

// Unwrap returns the read error.
func (e *StreamClosedError) Unwrap() error { return e.Err }

// Session is the session of the last successful Activate ("" before).
func (c *DeviceClient) Session() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

func (c *DeviceClient) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

func (c *DeviceClient) endpoint(path string) (string, error) {
	if c.BaseURL == "" {
		return "", errors.New("DeviceClient.BaseURL is empty; set it to the simulator's URL")
	}
	return strings.TrimRight(c.BaseURL, "/") + path, nil
}

// sessionBody returns {"sn","session"} or an error before Activate.
func (c *DeviceClient) sessionBody() (sessionReq, error) {
	s := c.Session()
	if s == "" {
		return sessionReq{}, fmt.Errorf("device %s is not activated: call Activate first", c.SN)
	}
	return sessionReq{SN: c.SN, Session: s}, nil
}

// do sends a JSON request and decodes a JSON reply into out (if not nil).
// Error replies become *protocol.APIError.
func (c *DeviceClient) do(ctx context.Context, method, path string, body, out any) error {
	u, err := c.endpoint(path)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read reply: %w", method, path, err)
	}
	return decodeReply(resp.StatusCode, data, out)
}

// decodeReply turns a reply into out or an *protocol.APIError.
func decodeReply(status int, data []byte, out any) error {
	// Keys are matched exactly: encoding/json would let "errCode" fill an
	// "errcode" field.
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) == nil {
		var code int
		if raw, ok := fields["errcode"]; ok && json.Unmarshal(raw, &code) == nil && code != 0 {
			var msg string
			_ = json.Unmarshal(fields["errmsg"], &msg)
			return &protocol.APIError{ErrCode: code, ErrMsg: msg, HTTPStatus: status}
		}
	}
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", status, protocol.ShowRaw(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode reply %s: %w", protocol.ShowRaw(data), err)
		}
	}
	return nil
}

// Activate activates the device (POST /wmpf/activate) and keeps the session.
// A licence that expired gives *protocol.APIError 23, no licence 24, a modelId that
// is not the device's 9.
func (c *DeviceClient) Activate(ctx context.Context) error {
	var out activateReply
	if err := c.do(ctx, http.MethodPost, "/wmpf/activate", activateReq{SN: c.SN, ModelID: c.ModelID}, &out); err != nil {
		return fmt.Errorf("wechat device %s: activate: %w", c.SN, err)
	}
	if out.Session == "" || !out.Activated {
		return fmt.Errorf("wechat device %s: activate: reply without a session", c.SN)
	}
	c.mu.Lock()
	c.session = out.Session
	c.mu.Unlock()
	return nil
}

// PushToken gets a new push token (POST /wmpf/pushtoken) and its expiry.
func (c *DeviceClient) PushToken(ctx context.Context) (token string, expire time.Time, err error) {
	body, err := c.sessionBody()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("wechat device: push token: %w", err)
	}
	var out pushTokenReply
	if err := c.do(ctx, http.MethodPost, "/wmpf/pushtoken", body, &out); err != nil {
		return "", time.Time{}, fmt.Errorf("wechat device %s: push token: %w", c.SN, err)
	}
	return out.PushToken, time.Unix(out.ExpireTime, 0), nil
}

// DeviceToken gets the device credential (POST /wmpf/devicetoken), as
// prefetchDeviceToken does.
func (c *DeviceClient) DeviceToken(ctx context.Context) (token string, expiresIn time.Duration, err error) {
	body, err := c.sessionBody()
	if err != nil {
		return "", 0, fmt.Errorf("wechat device: device token: %w", err)
	}
	var out deviceTokenReply
	if err := c.do(ctx, http.MethodPost, "/wmpf/devicetoken", body, &out); err != nil {
		return "", 0, fmt.Errorf("wechat device %s: device token: %w", c.SN, err)
	}
	return out.DeviceToken, time.Duration(out.ExpiresIn) * time.Second, nil
}

// Ack acknowledges a push received on the stream (POST /wmpf/ack).
func (c *DeviceClient) Ack(ctx context.Context, id string) error {
	body, err := c.sessionBody()
	if err != nil {
		return fmt.Errorf("wechat device: ack: %w", err)
	}
	req := ackReq{SN: body.SN, Session: body.Session, ID: id}
	if err := c.do(ctx, http.MethodPost, "/wmpf/ack", req, nil); err != nil {
		return fmt.Errorf("wechat device %s: ack push %s: %w", c.SN, id, err)
	}
	return nil
}

func (c *DeviceClient) roomAction(ctx context.Context, roomID, action string) error {
	body, err := c.sessionBody()
	if err != nil {
		return fmt.Errorf("wechat device: %s: %w", action, err)
	}
	if roomID == "" {
		return fmt.Errorf("wechat device %s: %s: roomID is empty", c.SN, action)
	}
	if err := c.do(ctx, http.MethodPost, "/wmpf/voip/"+url.PathEscape(roomID)+"/"+action, body, nil); err != nil {
		return fmt.Errorf("wechat device %s: %s room %s: %w", c.SN, action, roomID, err)
	}
	return nil
}

// Answer answers a ringing call (hangOnVoip). The caller then joins
// (joinedRoomByCaller on the stream) or, if it does not within
// Config.JoinWait, the call aborts (abortVoip, abortByCaller).
func (c *DeviceClient) Answer(ctx context.Context, roomID string) error {
	return c.roomAction(ctx, roomID, "answer")
}

// Reject rejects a ringing call (rejectVoip).
func (c *DeviceClient) Reject(ctx context.Context, roomID string) error {
	return c.roomAction(ctx, roomID, "reject")
}

// Hangup ends an answered or ongoing call from the device (endByListener).
func (c *DeviceClient) Hangup(ctx context.Context, roomID string) error {
	return c.roomAction(ctx, roomID, "hangup")
}

// CancelAck acknowledges a cancelVoip (optional).
func (c *DeviceClient) CancelAck(ctx context.Context, roomID string) error {
	return c.roomAction(ctx, roomID, "cancel-ack")
}

// ReportTruth records when a stage of a call really happened on the device
// (POST /wmpf/truth), in host time. It works before Activate too (for
// injected pushes); after it, the session is sent along.
func (c *DeviceClient) ReportTruth(ctx context.Context, stage, roomID, groupID string, at time.Time) error {
	req := truthReq{SN: c.SN, Session: c.Session(), Stage: stage, RoomID: roomID, GroupID: groupID, At: at.UTC().Format(time.RFC3339Nano)}
	if err := c.do(ctx, http.MethodPost, "/wmpf/truth", req, nil); err != nil {
		return fmt.Errorf("wechat device %s: report truth %s: %w", c.SN, stage, err)
	}
	return nil
}

// PushStream is an open push connection (GET /wmpf/push).
type PushStream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	msgs   chan streamItem
	done   chan struct{}
	once   sync.Once

	mu  sync.Mutex
	err error // the error that ended the stream, once Next has seen it
}

type streamItem struct {
	msg DeviceMessage
	err error
}

// Connect opens the push stream. The server has registered it when Connect
// returns: the device is connected, and what was queued comes first. The
// stream lives until Close, ctx is done, or the server ends it. A second
// Connect for the same sn replaces the first (which ends with reason
// "replaced").
func (c *DeviceClient) Connect(ctx context.Context) (*PushStream, error) {
	body, err := c.sessionBody()
	if err != nil {
		return nil, fmt.Errorf("wechat device: connect: %w", err)
	}
	u, err := c.endpoint("/wmpf/push?sn=" + url.QueryEscape(body.SN) + "&session=" + url.QueryEscape(body.Session))
	if err != nil {
		return nil, fmt.Errorf("wechat device %s: connect: %w", c.SN, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("wechat device %s: connect: %w", c.SN, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("wechat device %s: connect: %w", c.SN, err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
		resp.Body.Close()
		cancel()
		err := decodeReply(resp.StatusCode, data, nil)
		if err == nil {
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("wechat device %s: connect: %w", c.SN, err)
	}
	ps := &PushStream{body: resp.Body, cancel: cancel, msgs: make(chan streamItem), done: make(chan struct{})}
	go ps.read()
	return ps, nil
}

func (ps *PushStream) read() {
	defer ps.body.Close()
	sc := bufio.NewScanner(ps.body)
	sc.Buffer(make([]byte, 64<<10), maxBodyBytes)
	send := func(it streamItem) bool {
		select {
		case ps.msgs <- it:
			return true
		case <-ps.done:
			return false
		}
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m DeviceMessage
		if err := json.Unmarshal(line, &m); err != nil {
			send(streamItem{err: &StreamClosedError{Reason: "bad line " + protocol.ShowRaw(line), Err: err}})
			return
		}
		if m.Type == "bye" {
			send(streamItem{err: &StreamClosedError{Reason: m.Reason}})
			return
		}
		if !send(streamItem{msg: m}) {
			return
		}
	}
	err := sc.Err()
	reason := "connection ended"
	if err == nil {
		err = io.EOF
	}
	send(streamItem{err: &StreamClosedError{Reason: reason, Err: err}})
}

// Next returns the next message (pushes, VoIP events and pings). Every
// error that ends the stream matches ErrStreamClosed, and Next keeps
// returning it; ctx ending returns ctx's error and leaves the stream open.
func (ps *PushStream) Next(ctx context.Context) (DeviceMessage, error) {
	ps.mu.Lock()
	err := ps.err
	ps.mu.Unlock()
	if err != nil {
		return DeviceMessage{}, err
	}
	select {
	case it := <-ps.msgs:
		if it.err != nil {
			ps.mu.Lock()
			ps.err = it.err
			ps.mu.Unlock()
			ps.Close()
			return DeviceMessage{}, it.err
		}
		return it.msg, nil
	case <-ps.done:
		ps.mu.Lock()
		if ps.err == nil {
			ps.err = &StreamClosedError{Reason: "closed by client"}
		}
		err := ps.err
		ps.mu.Unlock()
		return DeviceMessage{}, err
	case <-ctx.Done():
		return DeviceMessage{}, fmt.Errorf("wait for push stream: %w", ctx.Err())
	}
}

// Close closes the stream; the server sees the device disconnect.
func (ps *PushStream) Close() error {
	ps.once.Do(func() {
		close(ps.done)
		ps.cancel()
	})
	return nil
}
