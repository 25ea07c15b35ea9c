package wechat

import (
	"errors"
	"net/http"
	"time"
)

// Room states.
const (
	StateRinging  = "ringing"  // placed, the device has not answered
	StateAnswered = "answered" // the device answered, the caller has not joined
	StateOngoing  = "ongoing"  // both are in the room
	StateEnded    = "ended"
)

// End reasons of a room.
const (
	EndCancelled       = "cancelled"       // the caller cancelled while ringing (device: cancelVoip)
	EndRejected        = "rejected"        // the device rejected (rejectVoip)
	EndTimeout         = "timeout"         // nobody answered within RingTimeout (device: timeout)
	EndAbortByCaller   = "abortByCaller"   // the caller did not join within JoinWait, or hung up before joining (device: abortVoip)
	EndAbortByListener = "abortByListener" // the device hung up before the caller joined
	EndByCaller        = "endByCaller"     // the caller hung up a call in progress (device: hangUpVoip)
	EndByListener      = "endByListener"   // the device hung up a call in progress
	EndTimeLimit       = "timeLimit"       // the call reached callWMPF's timeLimit (device: hangUpVoip)
)

// RoomEvent is one event of a room, named as the plugin's onVoipEvent names
// it (startVoip, hangOnVoip, rejectVoip, cancelVoip, abortVoip, timeout,
// joinedRoomByCaller, joinFailCaller, hangUpVoip, endVoip, finishVoip).
type RoomEvent struct {
	Name string         `json:"name"`
	At   time.Time      `json:"at"`
	Data map[string]any `json:"data"`
}

// RoomStatus is a room as GET /sim/voip/rooms/{roomId} shows it.
type RoomStatus struct {
	RoomID        string      `json:"roomId"`
	GroupID       string      `json:"groupId"`
	SN            string      `json:"sn"`
	ModelID       string      `json:"modelId"`
	RoomType      string      `json:"roomType"`
	NickName      string      `json:"nickName"`
	EnvVersion    string      `json:"envVersion"`
	CustomQuery   string      `json:"customQuery,omitempty"`
	TimeLimit     int         `json:"timeLimit,omitempty"`
	CallerJoin    string      `json:"callerJoin"`
	State         string      `json:"state"`
	EndReason     string      `json:"endReason,omitempty"`
	PushID        string      `json:"pushId"`
	CreatedAt     time.Time   `json:"createdAt"`
	AnsweredAt    time.Time   `json:"answeredAt,omitzero"`
	OngoingAt     time.Time   `json:"ongoingAt,omitzero"`
	EndedAt       time.Time   `json:"endedAt,omitzero"`
	CancelAckedAt time.Time   `json:"cancelAckedAt,omitzero"`
	Events        []RoomEvent `json:"events"`
}

type room struct {
	id, groupID, sn string
	params          CallParams
	pushID          string
	state           string
	endReason       string
	createdAt       time.Time
	answeredAt      time.Time
	ongoingAt       time.Time
	endedAt         time.Time
	cancelAckedAt   time.Time
	joinAt          time.Time // when the caller joins after the answer; zero: never
	events          []RoomEvent
	timer           *time.Timer
}

func (r *room) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

func (r *room) status() RoomStatus {
	cj := r.params.Sim.CallerJoin
	if cj == "" {
		cj = CallerJoinImmediate
	}
	return RoomStatus{
		RoomID: r.id, GroupID: r.groupID, SN: r.sn, ModelID: r.params.ModelID, RoomType: r.params.RoomType,
		NickName: r.params.NickName, EnvVersion: r.params.EnvVersion, CustomQuery: r.params.CustomQuery,
		TimeLimit: r.params.TimeLimit, CallerJoin: cj, State: r.state, EndReason: r.endReason, PushID: r.pushID,
		CreatedAt: r.createdAt, AnsweredAt: r.answeredAt, OngoingAt: r.ongoingAt, EndedAt: r.endedAt,
		CancelAckedAt: r.cancelAckedAt, Events: append([]RoomEvent(nil), r.events...),
	}
}

func (r *room) event(name string, at time.Time, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	r.events = append(r.events, RoomEvent{Name: name, At: at, Data: data})
}

// nextDeadline is the next time a timer may change the room (zero: none).
func (s *Server) nextDeadline(r *room) time.Time {
	switch r.state {
	case StateRinging:
		return r.createdAt.Add(s.cfg.RingTimeout)
	case StateAnswered:
		abort := r.answeredAt.Add(s.cfg.JoinWait)
		if !r.joinAt.IsZero() && r.joinAt.Before(abort) {
			return r.joinAt
		}
		return abort
	case StateOngoing:
		if r.params.TimeLimit > 0 {
			return r.ongoingAt.Add(time.Duration(r.params.TimeLimit) * time.Second)
		}
	}
	return time.Time{}
}

// armRoomLocked sets the room's timer for its next deadline.
func (s *Server) armRoomLocked(r *room, now time.Time) {
	r.stopTimer()
	dl := s.nextDeadline(r)
	if dl.IsZero() || s.closed {
		return
	}
	wait := dl.Sub(now)
	if wait < 0 {
		wait = 0
	}
	r.timer = time.AfterFunc(wait, func() { s.fireRoom(r) })
}

func (s *Server) fireRoom(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || r.state == StateEnded {
		return
	}
	// advanceRoomLocked re-arms after a change; a timer that fired early
	// (real clock) is re-armed for the rest of the wait. With a fake clock a
	// timer that is not due does nothing: CheckTimers takes over.
	if !s.advanceRoomLocked(r, s.now()) && s.realClock {
		s.armRoomLocked(r, s.now())
	}
}

// advanceRoomLocked makes every timer-driven transition due at now; events
// are stamped with their deadlines. It reports whether anything changed.
func (s *Server) advanceRoomLocked(r *room, now time.Time) bool {
	changed := false
	for {
		dl := s.nextDeadline(r)
		if dl.IsZero() || now.Before(dl) {
			break
		}
		changed = true
		switch r.state {
		case StateRinging:
			s.endLocked(r, dl, EndTimeout, "timeout", nil, true)
		case StateAnswered:
			if !r.joinAt.IsZero() && dl.Equal(r.joinAt) && r.joinAt.Before(r.answeredAt.Add(s.cfg.JoinWait)) {
				s.joinLocked(r, dl)
			} else {
				s.endLocked(r, dl, EndAbortByCaller, "abortVoip", map[string]any{"reason": "abortByCaller"}, true)
			}
		case StateOngoing:
			s.endLocked(r, dl, EndTimeLimit, "hangUpVoip", map[string]any{"reason": "timeLimit"}, true)
		}
	}
	if changed {
		s.armRoomLocked(r, now)
	}
	return changed
}

// sendVoipLocked puts a VoIP event on the room's device's push stream.
func (s *Server) sendVoipLocked(r *room, event string, data map[string]any, now time.Time) {
	d := s.devices[r.sn]
	if d == nil {
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	s.enqueueLocked(d, outLine{data: marshalLine(voipLine{"voip", r.id, r.groupID, event, data})}, now)
}

func (s *Server) answerLocked(r *room, now time.Time) {
	r.state = StateAnswered
	r.answeredAt = now
	r.event("hangOnVoip", now, nil)
	if r.params.Sim.CallerJoin == CallerJoinFail {
		r.event("joinFailCaller", now, map[string]any{"errCode": 2000, "errMsg": `the caller failed to join the room (sim.callerJoin "fail")`})
	}
	if ms, ok := r.params.Sim.callerJoinDelay(); ok {
		if ms == 0 {
			s.joinLocked(r, now)
		} else {
			r.joinAt = now.Add(time.Duration(ms) * time.Millisecond)
		}
	}
	s.armRoomLocked(r, now)
}

func (s *Server) joinLocked(r *room, at time.Time) {
	r.state = StateOngoing
	r.ongoingAt = at
	r.event("joinedRoomByCaller", at, nil)
	s.sendVoipLocked(r, "joinedRoomByCaller", nil, at)
}

// endLocked ends a room: the event that ends it (sent to the device too when
// notify), then endVoip and finishVoip.
func (s *Server) endLocked(r *room, at time.Time, reason, event string, data map[string]any, notify bool) {
	r.stopTimer()
	keep := time.Duration(0)
	if !r.ongoingAt.IsZero() {
		keep = at.Sub(r.ongoingAt)
	}
	r.state = StateEnded
	r.endReason = reason
	r.endedAt = at
	r.event(event, at, data)
	if notify {
		s.sendVoipLocked(r, event, data, at)
	}
	r.event("endVoip", at, map[string]any{
		"keepTime": int(keep / time.Second), "keepTimeMs": keep.Milliseconds(),
		"callerName": r.params.NickName, "listenerName": r.params.DeviceName, "roomType": r.params.RoomType,
		"isCaller": true, "businessType": 2, "reason": reason,
	})
	r.event("finishVoip", at, map[string]any{"keepTime": int(keep / time.Second), "keepTimeMs": keep.Milliseconds()})
	if d := s.devices[r.sn]; d != nil && d.activeRoom == r.id {
		d.activeRoom = ""
	}
	s.logf("wechat: room %s (sn %s) ended: %s", r.id, r.sn, reason)
}

// ---- callWMPF ----

func writeCallError(w http.ResponseWriter, e *CallError) {
	writeJSON(w, e.HTTPStatus, e)
}

func backendErr(status, code int, sn, reason, format string, args ...any) *CallError {
	return callErr(status, code, map[string]any{"sn": truncate(sn), "reason": reason}, format, args...)
}

func (s *Server) handleCallWMPF(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		writeCallError(w, paramErr(CodeBody, "body", "", "one JSON object of at most 1 MiB", "request body: %v", err))
		return
	}
	p, err := DecodeCallParams(body)
	if err != nil {
		var cerr *CallError
		if !errors.As(err, &cerr) {
			cerr = paramErr(CodeBody, "body", "", "one JSON object", "%v", err)
		}
		if _, tooLong := cerr.Cause["messageBytes"]; tooLong {
			s.refuseCall(w, cerr, FaultNoValidation, FaultNoSizeLimit)
			return
		}
		s.refuseCall(w, cerr, FaultNoValidation)
		return
	}
	groupID := newGroupID()
	msg, err := BuildPushMessage(p, groupID, s.cfg.AppID)
	if err != nil {
		var cerr *CallError
		if !errors.As(err, &cerr) {
			cerr = paramErr(CodeBody, "body", "", "", "%v", err)
		}
		s.refuseCall(w, cerr, FaultNoValidation, FaultNoSizeLimit)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	d, cerr := s.checkCallLocked(&p, now)
	if cerr == nil && d == nil {
		// an unknown device let through by a fault: nothing to ring
		s.refuseCall(w, backendErr(http.StatusNotFound, CodeDeviceOffline, p.SN, "never activated", "device offline"), FaultOfflineAccepted)
		return
	}
	if cerr != nil {
		s.logf("wechat: callWMPF to %s failed: %s", p.SN, cerr.ErrMsg)
		writeCallError(w, cerr)
		return
	}
	rm := &room{id: newID("r", 12), groupID: groupID, sn: p.SN, params: p, state: StateRinging, createdAt: now}
	s.rooms[rm.id] = rm
	s.groups[groupID] = rm
	d.activeRoom = rm.id
	rm.event("startVoip", now, map[string]any{"roomType": p.RoomType, "sn": p.SN, "nickName": p.NickName, "envVersion": p.EnvVersion})
	push := s.newPushLocked(d, PushKindCall, rm.id, groupID, msg, now)
	rm.pushID = push.ID
	s.enqueueLocked(d, outLine{data: marshalLine(pushLine{"push", push.ID, msg}), push: push}, now)
	s.armRoomLocked(rm, now)
	s.logf("wechat: callWMPF %s room %s to %s: push %s %s", p.RoomType, rm.id, p.SN, push.ID, push.Status)
	writeJSON(w, http.StatusOK, struct {
		RoomID    string `json:"roomId"`
		GroupID   string `json:"groupId"`
		IsSuccess bool   `json:"isSuccess"`
	}{rm.id, groupID, true})
}

// refuseCall answers a failed call, unless one of the faults makes the
// WeChat side skip that check: then it answers success with a room that
// will never ring.
func (s *Server) refuseCall(w http.ResponseWriter, cerr *CallError, skippedBy ...Fault) {
	for _, f := range skippedBy {
		if s.has(f) {
			roomID, groupID := s.fakeSuccess(cerr.ErrMsg)
			writeJSON(w, http.StatusOK, struct {
				RoomID    string `json:"roomId"`
				GroupID   string `json:"groupId"`
				IsSuccess bool   `json:"isSuccess"`
			}{roomID, groupID, true})
			return
		}
	}
	writeCallError(w, cerr)
}

// checkCallLocked runs the backend's checks of a call, in this order:
// licence (23, 24), modelId (9), online (10), pushToken (14), busy (11).
func (s *Server) checkCallLocked(p *CallParams, now time.Time) (*device, *CallError) {
	sn := p.SN
	d := s.devices[sn]
	if d == nil && s.has(FaultOfflineAccepted) {
		return nil, nil
	}
	if d == nil {
		return nil, backendErr(http.StatusNotFound, CodeDeviceOffline, sn, "never activated",
			"device offline: sn %s has never activated on this server", show(sn))
	}
	switch {
	case s.has(FaultLicenceIgnored):
	case d.licence == LicenceExpired:
		return nil, backendErr(http.StatusForbidden, CodeLicenceExpired, sn, "licence expired",
			"the licence of device %s has expired", show(sn))
	case d.licence == LicenceNone:
		return nil, backendErr(http.StatusForbidden, CodeNotActivated, sn, "no licence",
			"device %s has not activated a licence", show(sn))
	}
	if d.modelID != p.ModelID && !s.has(FaultNoValidation) {
		return nil, backendErr(http.StatusForbidden, CodeNotAuthorised, sn, "modelId mismatch",
			"not authorised: modelId %s does not match the modelId of device %s (%s)", show(p.ModelID), show(sn), show(d.modelID))
	}
	if !d.activated && !s.has(FaultOfflineAccepted) {
		return nil, backendErr(http.StatusNotFound, CodeDeviceOffline, sn, "never activated",
			"device offline: sn %s is registered but has never activated", show(sn))
	}
	s.expireIfOfflineLocked(d, now)
	if !s.onlineLocked(d, now) && !s.has(FaultOfflineAccepted) {
		return nil, backendErr(http.StatusNotFound, CodeDeviceOffline, sn, "offline",
			"device offline: sn %s has had no push connection since %s, longer than the %v grace", show(sn), d.graceFrom.UTC().Format(time.RFC3339Nano), s.cfg.OfflineGrace)
	}
	pt := s.pushTokens[p.PushToken]
	switch {
	case s.has(FaultAcceptAnyToken):
	case pt == nil:
		return nil, backendErr(http.StatusForbidden, CodeBadPushToken, sn, "pushToken unknown",
			"pushToken %s is not valid between phone and device: unknown; get one from the device (getPushToken)", show(p.PushToken))
	case pt.sn != sn:
		return nil, backendErr(http.StatusForbidden, CodeBadPushToken, sn, "pushToken of another device",
			"pushToken %s is not valid between phone and device: it was issued to sn %s, not %s", show(p.PushToken), show(pt.sn), show(sn))
	case !now.Before(pt.expire):
		return nil, backendErr(http.StatusForbidden, CodeBadPushToken, sn, "pushToken expired",
			"pushToken %s is not valid between phone and device: it expired at %s", show(p.PushToken), pt.expire.UTC().Format(time.RFC3339))
	}
	if d.activeRoom != "" {
		if r := s.rooms[d.activeRoom]; r != nil {
			s.advanceRoomLocked(r, now)
		}
	}
	if d.activeRoom != "" {
		r := s.rooms[d.activeRoom]
		return nil, backendErr(http.StatusConflict, CodeDeviceBusy, sn, "busy",
			"device busy: sn %s is already in call %s (%s)", show(sn), r.id, r.state)
	}
	return d, nil
}

// ---- caller-side room endpoints ----

func (s *Server) roomLocked(id string) (*room, *apiError) {
	r := s.rooms[id]
	if r == nil {
		return nil, newAPIError(http.StatusNotFound, ErrcodeNotFound, "no room %s", show(id))
	}
	s.advanceRoomLocked(r, s.now())
	return r, nil
}

func wrongState(r *room, action, allowed string) *apiError {
	st := r.state
	if r.state == StateEnded {
		st = "ended (" + r.endReason + ")"
	}
	return newAPIError(http.StatusConflict, ErrcodeWrongState, "cannot %s room %s: it is %s; %s", action, r.id, st, allowed)
}

func (s *Server) handleRoom(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, e := s.roomLocked(req.PathValue("roomId"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, r.status())
}

func (s *Server) handleRoomAction(w http.ResponseWriter, req *http.Request) {
	action := req.PathValue("action")
	if action != "cancel" && action != "hangup" {
		writeAPIError(w, newAPIError(http.StatusNotFound, ErrcodeNotFound, "no room action %s; allowed cancel, hangup", show(action)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, e := s.roomLocked(req.PathValue("roomId"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	now := s.now()
	switch {
	case action == "cancel" && r.state == StateRinging:
		s.endLocked(r, now, EndCancelled, "cancelVoip", map[string]any{"status": "manual"}, true)
	case action == "cancel":
		writeAPIError(w, wrongState(r, "cancel", "cancel is for a ringing call; use hangup once it is answered"))
		return
	case r.state == StateAnswered:
		s.endLocked(r, now, EndAbortByCaller, "abortVoip", map[string]any{"reason": "abortByCaller"}, true)
	case r.state == StateOngoing:
		s.endLocked(r, now, EndByCaller, "hangUpVoip", map[string]any{"reason": "endByCaller"}, true)
	default:
		writeAPIError(w, wrongState(r, "hang up", "hangup is for an answered or ongoing call; use cancel while it rings"))
		return
	}
	writeJSON(w, http.StatusOK, r.status())
}

// ---- device-side room endpoints ----

func (s *Server) handleDeviceVoip(w http.ResponseWriter, req *http.Request) {
	action := req.PathValue("action")
	switch action {
	case "answer", "reject", "hangup", "cancel-ack":
	default:
		writeAPIError(w, newAPIError(http.StatusNotFound, ErrcodeNotFound, "no device room action %s; allowed answer, reject, hangup, cancel-ack", show(action)))
		return
	}
	var body sessionReq
	if e := readDeviceReq(w, req, &body); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deviceLocked(body.SN, body.Session)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	// The device knows a call by the groupId of its push until it learns
	// the roomId: both name the room here.
	key := req.PathValue("roomId")
	if g := s.groups[key]; g != nil && s.rooms[key] == nil {
		key = g.id
	}
	r, e := s.roomLocked(key)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	if r.sn != d.sn {
		writeAPIError(w, newAPIError(http.StatusForbidden, ErrcodeNotYourRoom, "room %s was placed to sn %s, not %s", r.id, show(r.sn), show(d.sn)))
		return
	}
	now := s.now()
	switch {
	case action == "answer" && r.state == StateRinging:
		s.answerLocked(r, now)
	case action == "answer":
		writeAPIError(w, wrongState(r, "answer", "only a ringing call can be answered"))
		return
	case action == "reject" && r.state == StateRinging:
		s.endLocked(r, now, EndRejected, "rejectVoip", map[string]any{"status": "manual"}, false)
	case action == "reject":
		writeAPIError(w, wrongState(r, "reject", "only a ringing call can be rejected; use hangup once answered"))
		return
	case action == "hangup" && r.state == StateAnswered:
		s.endLocked(r, now, EndAbortByListener, "abortVoip", map[string]any{"reason": "abortByListener"}, false)
	case action == "hangup" && r.state == StateOngoing:
		s.endLocked(r, now, EndByListener, "hangUpVoip", map[string]any{"reason": "endByListener"}, false)
	case action == "hangup":
		writeAPIError(w, wrongState(r, "hang up", "hangup is for an answered or ongoing call; use reject while it rings"))
		return
	case action == "cancel-ack" && r.state == StateEnded && r.endReason == EndCancelled:
		if r.cancelAckedAt.IsZero() {
			r.cancelAckedAt = now
		}
	default:
		writeAPIError(w, wrongState(r, "acknowledge the cancel of", "cancel-ack is for a call the caller cancelled"))
		return
	}
	writeJSON(w, http.StatusOK, r.status())
}
