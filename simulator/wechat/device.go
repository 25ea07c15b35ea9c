package wechat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

type device struct {
	sn, modelID, licence string
	activated            bool
	session              string
	conn                 *streamConn
	graceFrom            time.Time // when it last stopped being connected, or activated; zero: never online
	graceTimer           *time.Timer
	lastSeen             time.Time
	pending              []outLine
	activeRoom           string
	pushTokenExpiry      time.Time
	pushToken            string
	pushTokenTTL         time.Duration // of the tokens issued from now on; 0: Config.PushTokenTTL
}

type pushToken struct {
	sn     string
	expire time.Time
}

type outLine struct {
	data []byte
	push *protocol.Push
}

// streamConn is one open /wmpf/push stream.
type streamConn struct {
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	reason string
}

func newStreamConn() *streamConn {
	return &streamConn{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *streamConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// end asks the stream's handler to say goodbye with reason and return.
func (c *streamConn) end(reason string) {
	c.once.Do(func() {
		c.reason = reason
		close(c.done)
	})
}

func (s *Server) onlineLocked(d *device, now time.Time) bool {
	return d.conn != nil || (!d.graceFrom.IsZero() && now.Before(d.graceFrom.Add(s.cfg.OfflineGrace)))
}

// expireIfOfflineLocked drops what is queued for a device that is offline.
func (s *Server) expireIfOfflineLocked(d *device, now time.Time) {
	if len(d.pending) == 0 || s.onlineLocked(d, now) {
		return
	}
	n := 0
	for _, l := range d.pending {
		if l.push != nil && l.push.Status == protocol.PushQueued {
			l.push.Status = protocol.PushExpired
			l.push.ExpiredAt = now
			n++
		}
	}
	d.pending = nil
	s.logf("wechat: device %s offline: %d queued pushes expired", d.sn, n)
}

// enqueueLocked queues a line for the device's push stream; it reports
// false (and expires a push) when the device is offline.
func (s *Server) enqueueLocked(d *device, l outLine, now time.Time) bool {
	s.expireIfOfflineLocked(d, now)
	if !s.onlineLocked(d, now) {
		if l.push != nil {
			l.push.Status = protocol.PushExpired
			l.push.ExpiredAt = now
		}
		s.logf("wechat: device %s offline: dropped %s", d.sn, l.data)
		return false
	}
	d.pending = append(d.pending, l)
	if d.conn != nil {
		d.conn.poke()
	}
	return true
}

// disconnectedLocked starts the grace period of a device that is no longer
// connected.
func (s *Server) disconnectedLocked(d *device, now time.Time) {
	d.graceFrom = now
	d.lastSeen = now
	if d.graceTimer != nil {
		d.graceTimer.Stop()
	}
	deadline := now.Add(s.cfg.OfflineGrace)
	var fire func()
	fire = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || d.conn != nil || !d.graceFrom.Equal(now) {
			return
		}
		t := s.now()
		if t.Before(deadline) {
			if s.realClock {
				d.graceTimer = time.AfterFunc(deadline.Sub(t), fire)
			}
			return
		}
		s.expireIfOfflineLocked(d, t)
	}
	d.graceTimer = time.AfterFunc(s.cfg.OfflineGrace, fire)
}

func (s *Server) statusLocked(d *device, now time.Time) protocol.DeviceStatus {
	return protocol.DeviceStatus{
		SN: d.sn, ModelID: d.modelID, Licence: d.licence, Activated: d.activated,
		Online: s.onlineLocked(d, now), Connected: d.conn != nil, LastSeen: d.lastSeen,
		PushTokenExpiry: d.pushTokenExpiry, PushToken: d.pushToken, ActiveRoom: d.activeRoom, Queued: len(d.pending),
	}
}

// ---- device-side endpoints ----

type sessionReq struct {
	SN      string `json:"sn"`
	Session string `json:"session"`
}

func badParam(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, protocol.ErrcodeBadParameter, format, args...)
}

// readDeviceReq reads a strict JSON body into v.
func readDeviceReq(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := readBody(w, r)
	if err != nil {
		return badParam("%v", err)
	}
	if err := decodeStrict(body, v); err != nil {
		return badParam("%v", err)
	}
	return nil
}

// deviceLocked authenticates a device request by sn and session.
func (s *Server) deviceLocked(sn, session string) (*device, *apiError) {
	if err := protocol.CheckIdent(sn, 128); err != nil {
		return nil, badParam("sn %s: %v", protocol.Show(sn), err)
	}
	if session == "" {
		return nil, badParam("session is required (the session /wmpf/activate returned)")
	}
	d := s.devices[sn]
	if d == nil || !d.activated {
		return nil, newAPIError(http.StatusUnauthorized, protocol.ErrcodeInvalidCredential, "sn %s has not activated; POST /wmpf/activate first", protocol.Show(sn))
	}
	if d.session != session {
		return nil, newAPIError(http.StatusUnauthorized, protocol.ErrcodeInvalidCredential, "session %s is not the current session of sn %s (the device activated again since); activate again", protocol.Show(session), protocol.Show(sn))
	}
	d.lastSeen = s.now()
	return d, nil
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	var req activateReq
	if e := readDeviceReq(w, r, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	if err := protocol.CheckIdent(req.SN, 128); err != nil {
		writeAPIError(w, badParam("sn %s: %v", protocol.Show(req.SN), err))
		return
	}
	if err := protocol.CheckIdent(req.ModelID, 128); err != nil {
		writeAPIError(w, badParam("modelId %s: %v", protocol.Show(req.ModelID), err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	d := s.devices[req.SN]
	if d == nil {
		d = &device{sn: req.SN, modelID: req.ModelID, licence: protocol.LicenceActive}
		s.devices[req.SN] = d
		s.logf("wechat: registered device %s (modelId %s) on activation", req.SN, req.ModelID)
	}
	switch {
	case d.licence == protocol.LicenceExpired:
		writeAPIError(w, newAPIError(http.StatusForbidden, protocol.CodeLicenceExpired, "the licence of device %s has expired", protocol.Show(req.SN)))
		return
	case d.licence == protocol.LicenceNone:
		writeAPIError(w, newAPIError(http.StatusForbidden, protocol.CodeNotActivated, "device %s has no licence: it cannot be activated", protocol.Show(req.SN)))
		return
	case d.modelID != req.ModelID:
		writeAPIError(w, newAPIError(http.StatusForbidden, protocol.CodeNotAuthorised, "not authorised: modelId %s does not match the modelId of device %s (%s)", protocol.Show(req.ModelID), protocol.Show(req.SN), protocol.Show(d.modelID)))
		return
	}
	// A device that activates again has restarted WMPF: a call it had
	// answered is gone with the old process (a ringing one can still be
	// answered, from the queued push).
	if d.activeRoom != "" {
		if rm := s.rooms[d.activeRoom]; rm != nil && (rm.state == protocol.StateAnswered || rm.state == protocol.StateOngoing) {
			s.endLocked(rm, now, protocol.EndByListener, "hangUpVoip", map[string]any{"reason": protocol.EndByListener, "cause": "device re-activated"}, false)
		}
	}
	d.activated = true
	d.session = newID("S", 16)
	if d.conn != nil {
		d.conn.end(ByeSessionEnded)
		d.conn = nil
	}
	s.disconnectedLocked(d, now)
	s.logf("wechat: device %s activated", req.SN)
	writeJSON(w, http.StatusOK, activateReply{Session: d.session, Activated: true})
}

func (s *Server) handlePushTokenReq(w http.ResponseWriter, r *http.Request) {
	var req sessionReq
	if e := readDeviceReq(w, r, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deviceLocked(req.SN, req.Session)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	now := s.now()
	if len(s.pushTokens) > 10000 {
		for t, pt := range s.pushTokens {
			if now.Sub(pt.expire) > 24*time.Hour {
				delete(s.pushTokens, t)
			}
		}
	}
	tok := newID("PT", 24)
	exp := now.Add(s.pushTokenTTLLocked(d))
	s.pushTokens[tok] = &pushToken{sn: d.sn, expire: exp}
	d.pushTokenExpiry = exp
	d.pushToken = tok
	writeJSON(w, http.StatusOK, pushTokenReply{PushToken: tok, ExpireTime: exp.Unix()})
}

func (s *Server) handleDeviceToken(w http.ResponseWriter, r *http.Request) {
	var req sessionReq
	if e := readDeviceReq(w, r, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	_, e := s.deviceLocked(req.SN, req.Session)
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, deviceTokenReply{DeviceToken: newID("DT", 16), ExpiresIn: int64(s.cfg.DeviceTokenTTL / time.Second)})
}

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	var req ackReq
	if e := readDeviceReq(w, r, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deviceLocked(req.SN, req.Session)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	p := s.pushes[req.ID]
	switch {
	case req.ID == "":
		writeAPIError(w, badParam("id is required (the id of a push from the push stream)"))
	case p == nil || p.SN != d.sn:
		writeAPIError(w, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no push %s for sn %s", protocol.Show(req.ID), protocol.Show(d.sn)))
	case p.Status == protocol.PushDelivered:
		p.Status = protocol.PushAcked
		p.AckedAt = s.now()
		writeOK(w)
	case p.Status == protocol.PushAcked:
		writeOK(w)
	default:
		writeAPIError(w, newAPIError(http.StatusConflict, protocol.ErrcodeWrongState, "push %s is %s; only a delivered push can be acked", protocol.Show(req.ID), p.Status))
	}
}

// pushLine and voipLine are the lines of a push stream.
type pushLine struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Msg  string `json:"msg"`
}

type voipLine struct {
	Type    string         `json:"type"`
	RoomID  string         `json:"roomId"`
	GroupID string         `json:"groupId"`
	Event   string         `json:"event"`
	Data    map[string]any `json:"data"`
}

// marshalLine encodes one stream line without HTML escaping (so a push's
// msg reads on the wire as it was sent) and without the newline.
func marshalLine(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// The line types above always encode.
		return []byte(fmt.Sprintf(`{"type":"error","msg":%q}`, err.Error()))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// handlePushStream serves GET /wmpf/push: an NDJSON stream of pushes, VoIP
// events and pings, one JSON object a line, flushed per line.
func (s *Server) handlePushStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeAPIError(w, newAPIError(http.StatusServiceUnavailable, protocol.ErrcodeNotFound, "server closing"))
		return
	}
	d, e := s.deviceLocked(q.Get("sn"), q.Get("session"))
	if e != nil {
		s.mu.Unlock()
		writeAPIError(w, e)
		return
	}
	now := s.now()
	s.expireIfOfflineLocked(d, now)
	if d.conn != nil {
		d.conn.end(ByeReplaced)
	}
	if d.graceTimer != nil {
		d.graceTimer.Stop()
	}
	c := newStreamConn()
	d.conn = c
	d.lastSeen = now
	s.streams.Add(1)
	s.mu.Unlock()
	defer s.streams.Done()
	s.logf("wechat: device %s connected its push stream", d.sn)

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	reason := "client gone"
	defer func() {
		s.mu.Lock()
		if d.conn == c {
			d.conn = nil
			if !s.closed {
				s.disconnectedLocked(d, s.now())
			}
		}
		s.mu.Unlock()
		s.logf("wechat: device %s push stream ended (%s)", d.sn, reason)
	}()
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("write to push stream of %s: %w", d.sn, err)
		}
		if err := rc.Flush(); err != nil {
			return fmt.Errorf("flush push stream of %s: %w", d.sn, err)
		}
		return nil
	}
	if err := rc.Flush(); err != nil {
		reason = err.Error()
		return
	}
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	bye := func(why string) {
		reason = why
		_ = write(marshalLine(struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}{"bye", why}))
	}
	for {
		if err := s.drain(d, c, write); err != nil {
			reason = err.Error()
			return
		}
		select {
		case <-c.wake:
		case <-ping.C:
			if err := write([]byte(`{"type":"ping"}`)); err != nil {
				reason = err.Error()
				return
			}
		case <-c.done:
			bye(c.reason)
			return
		case <-s.closeCh:
			bye(ByeServerClosing)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// drain writes what is queued for d to the stream c. A push is marked
// delivered (DeliveredAt: when it was handed to the connection) before it is
// written, so that nobody who has seen it on the stream finds it still
// queued; lines that cannot be written go back to the front of the queue as
// queued.
func (s *Server) drain(d *device, c *streamConn, write func([]byte) error) error {
	s.mu.Lock()
	if d.conn != c || len(d.pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	lines := d.pending
	d.pending = nil
	now := s.now()
	for _, l := range lines {
		if l.push != nil && l.push.Status == protocol.PushQueued {
			l.push.Status = protocol.PushDelivered
			l.push.DeliveredAt = now
		}
	}
	s.mu.Unlock()
	putBack := func(rest []outLine) {
		s.mu.Lock()
		for _, l := range rest {
			if l.push != nil && l.push.Status == protocol.PushDelivered {
				l.push.Status = protocol.PushQueued
				l.push.DeliveredAt = time.Time{}
			}
		}
		d.pending = append(append([]outLine(nil), rest...), d.pending...)
		if d.conn != nil && d.conn != c {
			d.conn.poke()
		}
		s.mu.Unlock()
	}
	for i, l := range lines {
		select {
		case <-c.done:
			putBack(lines[i:])
			return nil
		default:
		}
		if err := write(l.data); err != nil {
			putBack(lines[i:])
			return err
		}
	}
	return nil
}

// handlePushAppMsg serves WeChat's POST /wxa/business/runtime/pushappmsg:
// HTTP 200 with errcode 0, 40101, 45002 or 48012.
func (s *Server) handlePushAppMsg(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, format string, args ...any) {
		// A faulty WeChat side skips the check and reports success.
		if (code == protocol.ErrcodeBadParameter && s.has(FaultNoValidation)) ||
			(code == protocol.ErrcodeMsgTooLong && s.has(FaultNoSizeLimit)) ||
			(code == protocol.ErrcodeInvalidPushToken && s.has(FaultAcceptAnyToken)) {
			s.logf("wechat: fault: pushappmsg accepted what should fail: "+format, args...)
			writeOK(w)
			return
		}
		writeJSON(w, http.StatusOK, protocol.APIError{ErrCode: code, ErrMsg: fmt.Sprintf(format, args...)})
	}
	body, err := readBody(w, r)
	if err != nil {
		fail(protocol.ErrcodeBadParameter, "invalid parameter: %v", err)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		fail(protocol.ErrcodeBadParameter, "invalid parameter: body %s is not a JSON object; allowed {\"msg\":\"…\",\"push_token\":\"…\"}", protocol.ShowRaw(body))
		return
	}
	for k := range fields {
		if k != "msg" && k != "push_token" {
			fail(protocol.ErrcodeBadParameter, "invalid parameter: unknown field %s; allowed msg, push_token", protocol.Show(k))
			return
		}
	}
	str := func(name string) (string, bool) {
		raw, ok := fields[name]
		if !ok {
			fail(protocol.ErrcodeBadParameter, "invalid parameter: %s is missing; allowed a non-empty string", name)
			return "", false
		}
		var v string
		if protocol.JSONKind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
			fail(protocol.ErrcodeBadParameter, "invalid parameter: %s is %s %s; allowed a non-empty string", name, protocol.JSONKind(raw), protocol.ShowRaw(raw))
			return "", false
		}
		if v == "" {
			fail(protocol.ErrcodeBadParameter, "invalid parameter: %s is empty; allowed a non-empty string", name)
			return "", false
		}
		return v, true
	}
	msg, ok := str("msg")
	if !ok {
		return
	}
	token, ok := str("push_token")
	if !ok {
		return
	}
	if len(msg) > protocol.MaxPushMsgBytes {
		fail(protocol.ErrcodeMsgTooLong, "msg too long: %d bytes; allowed at most %d bytes", len(msg), protocol.MaxPushMsgBytes)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	pt := s.pushTokens[token]
	if pt == nil {
		fail(protocol.ErrcodeInvalidPushToken, "invalid push_token %s: unknown", protocol.Show(token))
		return
	}
	if !now.Before(pt.expire) {
		fail(protocol.ErrcodeInvalidPushToken, "invalid push_token %s: expired at %s", protocol.Show(token), pt.expire.UTC().Format(time.RFC3339))
		return
	}
	d := s.devices[pt.sn]
	if d == nil {
		fail(protocol.ErrcodeInvalidPushToken, "invalid push_token %s: its device is gone", protocol.Show(token))
		return
	}
	p := s.newPushLocked(d, protocol.PushKindAPI, "", "", msg, now)
	s.enqueueLocked(d, outLine{data: marshalLine(pushLine{"push", p.ID, msg}), push: p}, now)
	s.logf("wechat: pushappmsg %s to %s: %s", p.ID, d.sn, p.Status)
	writeOK(w)
}

func (s *Server) newPushLocked(d *device, kind, roomID, groupID, msg string, now time.Time) *protocol.Push {
	p := &protocol.Push{ID: newID("P", 12), SN: d.sn, Kind: kind, RoomID: roomID, GroupID: groupID, Msg: msg, QueuedAt: now, Status: protocol.PushQueued}
	s.pushes[p.ID] = p
	s.pushOrder = append(s.pushOrder, p)
	return p
}

// DeviceStatus is a device as the WeChat side knows it (ok false when it
// has never heard of sn).
func (s *Server) DeviceStatus(sn string) (protocol.DeviceStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[sn]
	if d == nil {
		return protocol.DeviceStatus{}, false
	}
	return s.statusLocked(d, s.now()), true
}

// Callable reports whether a call to sn can be placed now: the device is
// activated, connected and holds a push token; else it says what is missing.
func (s *Server) Callable(sn string) (bool, string) {
	st, ok := s.DeviceStatus(sn)
	switch {
	case !ok:
		return false, "the WeChat side has not heard of it yet"
	case !st.Activated:
		return false, "not activated yet"
	case !st.Connected:
		return false, "its push connection is not up yet"
	case st.PushToken == "":
		return false, "it has no push token yet"
	}
	return true, ""
}
