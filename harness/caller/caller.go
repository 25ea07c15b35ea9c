// Package caller is the harness's client for the caller and developer side
// of a WeChat call to a device: WeChat's server API (/cgi-bin/token and
// /wxa/business/runtime/pushappmsg, which work unchanged against real
// WeChat) and the simulated WeChat side's /sim/ endpoints (callWMPF as the
// wmpf-voip plugin would place it, rooms, devices, pushes and ground truth),
// which exist only in the simulator.
package caller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// WeChat's own API host, for New against real WeChat.
const WeChatAPI = "https://api.weixin.qq.com"

// maxReply bounds the size of a reply the client reads.
const maxReply = 16 << 20

// Client talks to WeChat or the simulated WeChat side. With AppID and Secret
// it gets an access token from /cgi-bin/token, caches it until shortly
// before it expires, and on errcode 40001 or 42001 refreshes it and retries
// the request once. Safe for concurrent use; do not copy after first use.
type Client struct {
	BaseURL string // e.g. "http://127.0.0.1:8080" or WeChatAPI
	AppID   string
	Secret  string
	HTTP    *http.Client // nil: a client with a 30 s timeout

	mu      sync.Mutex
	token   string
	expiry  time.Time
	fixed   bool // NewWithToken: never refresh
	fetched int  // tokens fetched from /cgi-bin/token
}

// New returns a client that gets its own access tokens.
func New(baseURL, appID, secret string) *Client {
	return &Client{BaseURL: baseURL, AppID: appID, Secret: secret}
}

// NewWithToken returns a client that uses token as it is and never
// refreshes it (an auth error comes back as *protocol.APIError).
func NewWithToken(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, token: token, fixed: true}
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// TokenFetches reports how many access tokens the client has fetched.
func (c *Client) TokenFetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetched
}

// AccessToken returns the cached access token, fetching one if there is
// none or it is about to expire.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed || (c.token != "" && time.Now().Before(c.expiry)) {
		return c.token, nil
	}
	return c.fetchTokenLocked(ctx)
}

// refresh drops token (if it is still the cached one) and fetches another.
func (c *Client) refresh(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != stale && c.token != "" && time.Now().Before(c.expiry) {
		return c.token, nil // another request refreshed it already
	}
	return c.fetchTokenLocked(ctx)
}

func (c *Client) fetchTokenLocked(ctx context.Context) (string, error) {
	switch {
	case c.AppID == "":
		return "", errors.New("caller: get access token: AppID is empty (use New with the appid and secret, or NewWithToken)")
	case c.Secret == "":
		return "", errors.New("caller: get access token: Secret is empty")
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {c.AppID}, "secret": {c.Secret}}
	status, data, err := c.send(ctx, http.MethodGet, "/cgi-bin/token?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("caller: get access token: %w", err)
	}
	if e := apiError(status, data); e != nil {
		return "", fmt.Errorf("caller: get access token for appid %s: %w", c.AppID, e)
	}
	var out protocol.AccessToken
	if err := json.Unmarshal(data, &out); err != nil || out.AccessToken == "" || out.ExpiresIn <= 0 {
		return "", fmt.Errorf("caller: get access token: unexpected reply (HTTP %d) %s", status, snippet(data))
	}
	ttl := time.Duration(out.ExpiresIn) * time.Second
	margin := ttl / 10
	if margin > 5*time.Minute {
		margin = 5 * time.Minute
	}
	c.token, c.expiry = out.AccessToken, time.Now().Add(ttl-margin)
	c.fetched++
	return c.token, nil
}

// send does one HTTP request and returns the status and the body.
func (c *Client) send(ctx context.Context, method, pathQuery string, body []byte) (int, []byte, error) {
	if c.BaseURL == "" {
		return 0, nil, errors.New("BaseURL is empty")
	}
	u := strings.TrimRight(c.BaseURL, "/") + pathQuery
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("build request %s %s: %w", method, redact(pathQuery), err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		// The URL may carry a secret or token: say which endpoint failed
		// without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s %s: %w", method, redact(pathQuery), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read reply: %w", method, redact(pathQuery), err)
	}
	return resp.StatusCode, data, nil
}

// redact drops the query (tokens, secrets) from a path for messages.
func redact(pathQuery string) string {
	p, _, _ := strings.Cut(pathQuery, "?")
	return p
}

// authed sends a request with ?access_token=, refreshing the token once on
// 40001/42001 when the client gets its own tokens.
func (c *Client) authed(ctx context.Context, method, path string, query url.Values, body any) (int, []byte, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, nil, fmt.Errorf("encode request: %w", err)
		}
	}
	tok, err := c.AccessToken(ctx)
	if err != nil {
		return 0, nil, err
	}
	for attempt := 0; ; attempt++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		status, data, err := c.send(ctx, method, path+"?"+q.Encode(), raw)
		if err != nil {
			return status, data, err
		}
		e := apiError(status, data)
		if e == nil || attempt > 0 || c.fixed || (e.ErrCode != protocol.ErrcodeInvalidCredential && e.ErrCode != protocol.ErrcodeAccessTokenExpired) {
			return status, data, nil
		}
		if tok, err = c.refresh(ctx, tok); err != nil {
			return 0, nil, err
		}
	}
}

// apiError returns the *protocol.APIError of a reply with a non-zero "errcode" (the
// exact key: callWMPF's "errCode" is another thing), or nil.
func apiError(status int, data []byte) *protocol.APIError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return nil
	}
	raw, ok := fields["errcode"]
	if !ok {
		return nil
	}
	var code int
	if json.Unmarshal(raw, &code) != nil || code == 0 {
		return nil
	}
	var msg string
	_ = json.Unmarshal(fields["errmsg"], &msg)
	return &protocol.APIError{ErrCode: code, ErrMsg: msg, HTTPStatus: status}
}

func snippet(data []byte) string {
	const max = 200
	if len(data) > max {
		return string(data[:max]) + "…"
	}
	return string(data)
}

// getJSON/postJSON call an endpoint and decode a 200 reply into out.
func (c *Client) call(ctx context.Context, what, method, path string, query url.Values, body, out any) error {
	status, data, err := c.authed(ctx, method, path, query, body)
	if err != nil {
		return fmt.Errorf("caller: %s: %w", what, err)
	}
	if e := apiError(status, data); e != nil {
		return fmt.Errorf("caller: %s: %w", what, e)
	}
	if status != http.StatusOK {
		return fmt.Errorf("caller: %s: HTTP %d: %s", what, status, snippet(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("caller: %s: decode reply %s: %w", what, snippet(data), err)
		}
	}
	return nil
}

// ---- WeChat server API ----

// PushAppMsg sends msg to the device that owns pushToken, through WeChat's
// POST /wxa/business/runtime/pushappmsg. WeChat's errors (40101 bad
// parameter, 45002 message over 5 KB, 48012 invalid push token) come back as
// *APIError.
func (c *Client) PushAppMsg(ctx context.Context, pushToken, msg string) error {
	return c.call(ctx, "pushappmsg", http.MethodPost, "/wxa/business/runtime/pushappmsg", nil,
		map[string]string{"msg": msg, "push_token": pushToken}, nil)
}

// ---- the simulator's caller side ----

// CallRequest are callWMPF's parameters. Empty strings, a zero TimeLimit and
// nil pointers and maps are left out of the request (so a test of a missing
// field leaves it empty). Extra is merged in last, as is, to send unknown
// fields or values of the wrong type (e.g. {"roomType": 5}).
type CallRequest struct {
	RoomType, SN, ModelID, PushToken, NickName, DeviceName, EnvVersion, CustomQuery, ChargeType string

	TimeLimit                                int
	EnableCallerCamera, EnableListenerCamera *bool
	// Sim holds simulator-only options, e.g. {"callerJoin": "never"}.
	Sim   map[string]any
	Extra map[string]any
}

// Body is the JSON object CallWMPF sends.
func (r CallRequest) Body() map[string]any {
	m := map[string]any{}
	for _, f := range []struct{ k, v string }{
		{"roomType", r.RoomType}, {"sn", r.SN}, {"modelId", r.ModelID}, {"pushToken", r.PushToken},
		{"nickName", r.NickName}, {"deviceName", r.DeviceName}, {"envVersion", r.EnvVersion},
		{"customQuery", r.CustomQuery}, {"chargeType", r.ChargeType},
	} {
		if f.v != "" {
			m[f.k] = f.v
		}
	}
	if r.TimeLimit != 0 {
		m["timeLimit"] = r.TimeLimit
	}
	if r.EnableCallerCamera != nil {
		m["enableCallerCamera"] = *r.EnableCallerCamera
	}
	if r.EnableListenerCamera != nil {
		m["enableListenerCamera"] = *r.EnableListenerCamera
	}
	if r.Sim != nil {
		m["sim"] = r.Sim
	}
	for k, v := range r.Extra {
		m[k] = v
	}
	return m
}

// CallWMPF places a call as the wmpf-voip plugin's callWMPF would (POST
// /sim/voip/callWMPF). A refused call is a *protocol.CallError (plugin codes
// 1000–1011, backend codes 1–24); an access-token problem is an *APIError.
func (c *Client) CallWMPF(ctx context.Context, req CallRequest) (protocol.CallResult, error) {
	status, data, err := c.authed(ctx, http.MethodPost, "/sim/voip/callWMPF", nil, req.Body())
	if err != nil {
		return protocol.CallResult{}, fmt.Errorf("caller: callWMPF to %s: %w", req.SN, err)
	}
	if e := apiError(status, data); e != nil {
		return protocol.CallResult{}, fmt.Errorf("caller: callWMPF to %s: %w", req.SN, e)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return protocol.CallResult{}, fmt.Errorf("caller: callWMPF to %s: HTTP %d, reply is not JSON: %s", req.SN, status, snippet(data))
	}
	if _, ok := fields["errCode"]; ok || status != http.StatusOK {
		ce := &protocol.CallError{HTTPStatus: status}
		_ = json.Unmarshal(fields["cause"], &ce.Cause)
		_ = json.Unmarshal(fields["errCode"], &ce.ErrCode)
		_ = json.Unmarshal(fields["errno"], &ce.Errno)
		_ = json.Unmarshal(fields["errMsg"], &ce.ErrMsg)
		if ce.ErrMsg == "" {
			ce.ErrMsg = "callWMPF:fail HTTP " + fmt.Sprint(status) + ": " + snippet(data)
		}
		return protocol.CallResult{}, fmt.Errorf("caller: callWMPF to %s: %w", req.SN, ce)
	}
	var out protocol.CallResult
	if err := json.Unmarshal(data, &out); err != nil || out.RoomID == "" || !out.IsSuccess {
		return protocol.CallResult{}, fmt.Errorf("caller: callWMPF to %s: unexpected reply %s", req.SN, snippet(data))
	}
	return out, nil
}

func roomPath(roomID string) (string, error) {
	if roomID == "" {
		return "", errors.New("roomID is empty")
	}
	return "/sim/voip/rooms/" + url.PathEscape(roomID), nil
}

// protocol.Room reads a room.
func (c *Client) Room(ctx context.Context, roomID string) (protocol.Room, error) {
	var r protocol.Room
	p, err := roomPath(roomID)
	if err != nil {
		return r, fmt.Errorf("caller: room: %w", err)
	}
	err = c.call(ctx, "room "+roomID, http.MethodGet, p, nil, nil, &r)
	return r, err
}

// Cancel cancels a ringing call (the device gets cancelVoip).
func (c *Client) Cancel(ctx context.Context, roomID string) error {
	p, err := roomPath(roomID)
	if err != nil {
		return fmt.Errorf("caller: cancel: %w", err)
	}
	return c.call(ctx, "cancel room "+roomID, http.MethodPost, p+"/cancel", nil, nil, nil)
}

// Hangup ends an answered or ongoing call (the device gets hangUpVoip
// endByCaller, or abortVoip abortByCaller before the caller joined).
func (c *Client) Hangup(ctx context.Context, roomID string) error {
	p, err := roomPath(roomID)
	if err != nil {
		return fmt.Errorf("caller: hangup: %w", err)
	}
	return c.call(ctx, "hang up room "+roomID, http.MethodPost, p+"/hangup", nil, nil, nil)
}

// WaitRoom polls a room every poll (0: 10 ms) until until(room) holds, and
// returns that room; when ctx ends it returns the last room read and an
// error.
func (c *Client) WaitRoom(ctx context.Context, roomID string, poll time.Duration, until func(protocol.Room) bool) (protocol.Room, error) {
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		r, err := c.Room(ctx, roomID)
		if err == nil && until(r) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return r, fmt.Errorf("caller: wait for room %s (state %q): %w", roomID, r.State, err)
		case <-t.C:
		}
	}
}

// Devices lists every device the simulated backend knows, by sn.
func (c *Client) Devices(ctx context.Context) ([]protocol.DeviceStatus, error) {
	var out struct {
		Devices []protocol.DeviceStatus `json:"devices"`
	}
	err := c.call(ctx, "devices", http.MethodGet, "/sim/devices", nil, nil, &out)
	return out.Devices, err
}

// Device reads one device.
func (c *Client) Device(ctx context.Context, sn string) (protocol.DeviceStatus, error) {
	var out protocol.DeviceStatus
	if sn == "" {
		return out, errors.New("caller: device: sn is empty")
	}
	err := c.call(ctx, "device "+sn, http.MethodGet, "/sim/devices/"+url.PathEscape(sn), nil, nil, &out)
	return out, err
}

// SetLicence sets a device's licence: "active", "expired" or "none".
func (c *Client) SetLicence(ctx context.Context, sn, licence string) error {
	if sn == "" {
		return errors.New("caller: set licence: sn is empty")
	}
	return c.call(ctx, "set licence of "+sn, http.MethodPost, "/sim/devices/"+url.PathEscape(sn), nil,
		map[string]string{"licence": licence}, nil)
}

// ExpirePushToken makes one of a device's push tokens expire now
// (simulated WeChat side only).
func (c *Client) ExpirePushToken(ctx context.Context, sn, token string) error {
	if sn == "" {
		return errors.New("caller: expire push token: sn is empty")
	}
	return c.call(ctx, "expire a push token of "+sn, http.MethodPost, "/sim/devices/"+url.PathEscape(sn), nil,
		map[string]string{"expirePushToken": token}, nil)
}

// SetPushTokenTTL sets the lifetime of the push tokens the simulated WeChat
// side issues to sn from now on: 1 s to 48 h, or 0 for the server's default
// (its Config.PushTokenTTL). The device's current token keeps its expiry;
// the next one it gets (its host app refreshes, or starts again) lives ttl.
func (c *Client) SetPushTokenTTL(ctx context.Context, sn string, ttl time.Duration) error {
	if sn == "" {
		return errors.New("caller: set push token lifetime: sn is empty")
	}
	v := "default"
	if ttl != 0 {
		v = ttl.String()
	}
	return c.call(ctx, "set push token lifetime of "+sn, http.MethodPost, "/sim/devices/"+url.PathEscape(sn), nil,
		map[string]string{"pushTokenTTL": v}, nil)
}

// RegisterDevice registers (or changes) a device with a modelId and licence
// before it activates.
func (c *Client) RegisterDevice(ctx context.Context, sn, modelID, licence string) error {
	if sn == "" {
		return errors.New("caller: register device: sn is empty")
	}
	return c.call(ctx, "register device "+sn, http.MethodPost, "/sim/devices/"+url.PathEscape(sn), nil,
		map[string]string{"licence": licence, "modelId": modelID}, nil)
}

// Pushes lists the pushes to sn ("" for every device), oldest first.
func (c *Client) Pushes(ctx context.Context, sn string) ([]protocol.Push, error) {
	var out struct {
		Pushes []protocol.Push `json:"pushes"`
	}
	q := url.Values{}
	if sn != "" {
		q.Set("sn", sn)
	}
	err := c.call(ctx, "pushes", http.MethodGet, "/sim/pushes", q, nil, &out)
	return out.Pushes, err
}

// Truth reads the ground-truth stamps, filtered by sn and roomID (either
// may be "").
func (c *Client) Truth(ctx context.Context, sn, roomID string) ([]protocol.TruthStamp, error) {
	var out struct {
		Truth []protocol.TruthStamp `json:"truth"`
	}
	q := url.Values{}
	if sn != "" {
		q.Set("sn", sn)
	}
	if roomID != "" {
		q.Set("roomId", roomID)
	}
	err := c.call(ctx, "truth", http.MethodGet, "/sim/truth", q, nil, &out)
	return out.Truth, err
}

// AddTruth records a ground-truth stamp from the harness side.
func (c *Client) AddTruth(ctx context.Context, st protocol.TruthStamp) error {
	body := map[string]string{"sn": st.SN, "stage": st.Stage, "at": st.At.UTC().Format(time.RFC3339Nano)}
	if st.RoomID != "" {
		body["roomId"] = st.RoomID
	}
	if st.GroupID != "" {
		body["groupId"] = st.GroupID
	}
	return c.call(ctx, "add truth", http.MethodPost, "/sim/truth", nil, body, nil)
}

// EndCallsOf ends the call the simulated WeChat side still has going for
// the device sn: it cancels a ringing call and hangs up an answered one.
// It returns the rooms it ended.
func (c *Client) EndCallsOf(ctx context.Context, sn string) ([]string, error) {
	st, err := c.Device(ctx, sn)
	if err != nil {
		var ae *protocol.APIError
		if errors.As(err, &ae) && ae.ErrCode == protocol.ErrcodeNotFound {
			return nil, nil // a device the WeChat side does not know has no call
		}
		return nil, err
	}
	if st.ActiveRoom == "" {
		return nil, nil
	}
	if err := c.EndRoom(ctx, st.ActiveRoom); err != nil {
		return nil, err
	}
	return []string{st.ActiveRoom}, nil
}

// PushTokenOf is the newest push token the simulated WeChat side issued to
// sn, and its expiry.
func (c *Client) PushTokenOf(ctx context.Context, sn string) (string, time.Time, error) {
	st, err := c.Device(ctx, sn)
	if err != nil {
		return "", time.Time{}, err
	}
	return st.PushToken, st.PushTokenExpiry, nil
}

// FastClient is an HTTP client for a WeChat side that should answer at
// once (a simulated one): a request that takes longer than timeout, or a
// connection that cannot be made within it, is an error, so that a WeChat
// side that died or froze is found in seconds, not after 30.
func FastClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
	}}
}

// EndRoom ends a call from the caller's side: cancels it while it rings,
// hangs it up once answered; a call already over is left alone. The room
// can move on between reading its state and acting on it — the device
// answers just then, or ends the call — which the WeChat side refuses as
// the wrong state (61002): then EndRoom reads the room again and acts on
// what it is now.
func (c *Client) EndRoom(ctx context.Context, roomID string) error {
	var err error
	for range endRoomTries {
		var r protocol.Room
		if r, err = c.Room(ctx, roomID); err != nil {
			return err
		}
		switch r.State {
		case protocol.StateRinging:
			err = c.Cancel(ctx, roomID)
		case protocol.StateAnswered, protocol.StateOngoing:
			err = c.Hangup(ctx, roomID)
		default:
			return nil
		}
		var ae *protocol.APIError
		if !errors.As(err, &ae) || ae.ErrCode != protocol.ErrcodeWrongState {
			return err
		}
	}
	return err
}

// endRoomTries bounds EndRoom's reads of a room that keeps changing.
const endRoomTries = 3
