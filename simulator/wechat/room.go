package wechat

import (
	"errors"
	"net/http"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

type room struct {
	id, groupID, sn string
	params          protocol.CallParams
	pushID          string
	state           string
	endReason       string
	createdAt       time.Time
	answeredAt      time.Time
	ongoingAt       time.Time
	endedAt         time.Time
	cancelAckedAt   time.Time
	joinAt          time.Time // when the caller joins after the answer; zero: never
	events          []protocol.RoomEvent
	timer           *time.Timer
}

func (r *room) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

func (r *room) status() protocol.Room {
	cj := r.params.Sim.CallerJoin
	if cj == "" {
		cj = protocol.CallerJoinImmediate
	}
	return protocol.Room{
		RoomID: r.id, GroupID: r.groupID, SN: r.sn, ModelID: r.params.ModelID, RoomType: r.params.RoomType,
		NickName: r.params.NickName, EnvVersion: r.params.EnvVersion, CustomQuery: r.params.CustomQuery,
		TimeLimit: r.params.TimeLimit, CallerJoin: cj, State: r.state, EndReason: r.endReason, PushID: r.pushID,
		CreatedAt: r.createdAt, AnsweredAt: r.answeredAt, OngoingAt: r.ongoingAt, EndedAt: r.endedAt,
		CancelAckedAt: r.cancelAckedAt, Events: append([]protocol.RoomEvent(nil), r.events...),
	}
}

func (r *room) event(name string, at time.Time, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	r.events = append(r.events, protocol.RoomEvent{Name: name, At: at, Data: data})
}

// nextDeadline is the next time a timer may change the room (zero: none).
func (s *Server) nextDeadline(r *room) time.Time {
	switch r.state {
	case protocol.StateRinging:
		return r.createdAt.Add(s.cfg.RingTimeout)
	case protocol.StateAnswered:
		abort := r.answeredAt.Add(s.cfg.JoinWait)
		if !r.joinAt.IsZero() && r.joinAt.Before(abort) {
			return r.joinAt
		}
		return abort
	case protocol.StateOngoing:
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
	if s.closed || r.state == protocol.StateEnded {
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
		case protocol.StateRinging:
			s.endLocked(r, dl, protocol.EndTimeout, "timeout", nil, true)
		case protocol.StateAnswered:
			if !r.joinAt.IsZero() && dl.Equal(r.joinAt) && r.joinAt.Before(r.answeredAt.Add(s.cfg.JoinWait)) {
				s.joinLocked(r, dl)
			} else {
				s.endLocked(r, dl, protocol.EndAbortByCaller, "abortVoip", map[string]any{"reason": "abortByCaller"}, true)
			}
		case protocol.StateOngoing:
			s.endLocked(r, dl, protocol.EndTimeLimit, "hangUpVoip", map[string]any{"reason": "timeLimit"}, true)
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
	r.state = protocol.StateAnswered
	r.answeredAt = now
	r.event("hangOnVoip", now, nil)
	if r.params.Sim.CallerJoin == protocol.CallerJoinFail {
		r.event("joinFailCaller", now, map[string]any{"errCode": 2000, "errMsg": `the caller failed to join the room (sim.callerJoin "fail")`})
	}
	if ms, ok := r.params.Sim.CallerJoinDelay(); ok {
		if ms == 0 {
			s.joinLocked(r, now)
		} else {
			r.joinAt = now.Add(time.Duration(ms) * time.Millisecond)
		}
	}
	s.armRoomLocked(r, now)
}

func (s *Server) joinLocked(r *room, at time.Time) {
	r.state = protocol.StateOngoing
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
	r.state = protocol.StateEnded
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

func writeCallError(w http.ResponseWriter, e *protocol.CallError) {
	writeJSON(w, e.HTTPStatus, e)
}

func backendErr(status, code int, sn, reason, format string, args ...any) *protocol.CallError {
	return protocol.NewCallError(status, code, map[string]any{"sn": protocol.Truncate(sn), "reason": reason}, format, args...)
}

func (s *Server) handleCallWMPF(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		writeCallError(w, protocol.NewParamError(protocol.CodeBody, "body", "", "one JSON object of at most 1 MiB", "request body: %v", err))
		return
	}
	p, err := protocol.DecodeCallParams(body)
	if err != nil {
		var cerr *protocol.CallError
		if !errors.As(err, &cerr) {
			cerr = protocol.NewParamError(protocol.CodeBody, "body", "", "one JSON object", "%v", err)
		}
		if _, tooLong := cerr.Cause["messageBytes"]; tooLong {
			s.refuseCall(w, cerr, FaultNoValidation, FaultNoSizeLimit)
			return
		}
		s.refuseCall(w, cerr, FaultNoValidation)
		return
	}
	groupID := newGroupID()
	msg, err := protocol.BuildPushMessage(p, groupID, s.cfg.AppID)
	if err != nil {
		var cerr *protocol.CallError
		if !errors.As(err, &cerr) {
			cerr = protocol.NewParamError(protocol.CodeBody, "body", "", "", "%v", err)
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
		s.refuseCall(w, backendErr(http.StatusNotFound, protocol.CodeDeviceOffline, p.SN, "never activated", "device offline"), FaultOfflineAccepted)
		return
	}
	if cerr != nil {
		s.logf("wechat: callWMPF to %s failed: %s", p.SN, cerr.ErrMsg)
		writeCallError(w, cerr)
		return
	}
	rm := &room{id: newID("r", 12), groupID: groupID, sn: p.SN, params: p, state: protocol.StateRinging, createdAt: now}
	s.rooms[rm.id] = rm
	s.groups[groupID] = rm
	d.activeRoom = rm.id
	rm.event("startVoip", now, map[string]any{"roomType": p.RoomType, "sn": p.SN, "nickName": p.NickName, "envVersion": p.EnvVersion})
	push := s.newPushLocked(d, protocol.PushKindCall, rm.id, groupID, msg, now)
	rm.pushID = push.ID
	s.enqueueLocked(d, outLine{data: marshalLine(pushLine{"push", push.ID, msg}), push: push}, now)
	s.armRoomLocked(rm, now)
	s.logf("wechat: callWMPF %s room %s to %s: push %s %s", p.RoomType, rm.id, p.SN, push.ID, push.Status)
	writeJSON(w, http.StatusOK, protocol.CallResult{RoomID: rm.id, GroupID: groupID, IsSuccess: true})
}

// refuseCall answers a failed call, unless one of the faults makes the
// WeChat side skip that check: then it answers success with a room that
// will never ring.
func (s *Server) refuseCall(w http.ResponseWriter, cerr *protocol.CallError, skippedBy ...Fault) {
	for _, f := range skippedBy {
		if s.has(f) {
			roomID, groupID := s.fakeSuccess(cerr.ErrMsg)
			writeJSON(w, http.StatusOK, protocol.CallResult{RoomID: roomID, GroupID: groupID, IsSuccess: true})
			return
		}
	}
	writeCallError(w, cerr)
}

// checkCallLocked runs the backend's checks of a call, in this order:
// licence (23, 24), modelId (9), online (10), pushToken (14), busy (11).
func (s *Server) checkCallLocked(p *protocol.CallParams, now time.Time) (*device, *protocol.CallError) {
	sn := p.SN
	d := s.devices[sn]
	if d == nil && s.has(FaultOfflineAccepted) {
		return nil, nil
	}
	if d == nil {
		return nil, backendErr(http.StatusNotFound, protocol.CodeDeviceOffline, sn, "never activated",
			"device offline: sn %s has never activated on this server", protocol.Show(sn))
	}
	switch {
	case s.has(FaultLicenceIgnored):
	case d.licence == protocol.LicenceExpired:
		return nil, backendErr(http.StatusForbidden, protocol.CodeLicenceExpired, sn, "licence expired",
			"the licence of device %s has expired", protocol.Show(sn))
	case d.licence == protocol.LicenceNone:
		return nil, backendErr(http.StatusForbidden, protocol.CodeNotActivated, sn, "no licence",
			"device %s has not activated a licence", protocol.Show(sn))
	}
	if d.modelID != p.ModelID && !s.has(FaultNoValidation) {
		return nil, backendErr(http.StatusForbidden, protocol.CodeNotAuthorised, sn, "modelId mismatch",
			"not authorised: modelId %s does not match the modelId of device %s (%s)", protocol.Show(p.ModelID), protocol.Show(sn), protocol.Show(d.modelID))
	}
	if !d.activated && !s.has(FaultOfflineAccepted) {
		return nil, backendErr(http.StatusNotFound, protocol.CodeDeviceOffline, sn, "never activated",
			"device offline: sn %s is registered but has never activated", protocol.Show(sn))
	}
	s.expireIfOfflineLocked(d, now)
	if !s.onlineLocked(d, now) && !s.has(FaultOfflineAccepted) {
		return nil, backendErr(http.StatusNotFound, protocol.CodeDeviceOffline, sn, "offline",
			"device offline: sn %s has had no push connection since %s, longer than the %v grace", protocol.Show(sn), d.graceFrom.UTC().Format(time.RFC3339Nano), s.cfg.OfflineGrace)
	}
	pt := s.pushTokens[p.PushToken]
	switch {
	case s.has(FaultAcceptAnyToken):
	case pt == nil:
		return nil, backendErr(http.StatusForbidden, protocol.CodeBadPushToken, sn, "pushToken unknown",
			"pushToken %s is not valid between phone and device: unknown; get one from the device (getPushToken)", protocol.Show(p.PushToken))
	case pt.sn != sn:
		return nil, backendErr(http.StatusForbidden, protocol.CodeBadPushToken, sn, "pushToken of another device",
			"pushToken %s is not valid between phone and device: it was issued to sn %s, not %s", protocol.Show(p.PushToken), protocol.Show(pt.sn), protocol.Show(sn))
	case !now.Before(pt.expire):
		return nil, backendErr(http.StatusForbidden, protocol.CodeBadPushToken, sn, "pushToken expired",
			"pushToken %s is not valid between phone and device: it expired at %s", protocol.Show(p.PushToken), pt.expire.UTC().Format(time.RFC3339))
	}
	if d.activeRoom != "" {
		if r := s.rooms[d.activeRoom]; r != nil {
			s.advanceRoomLocked(r, now)
		}
	}
	if d.activeRoom != "" {
		r := s.rooms[d.activeRoom]
		return nil, backendErr(http.StatusConflict, protocol.CodeDeviceBusy, sn, "busy",
			"device busy: sn %s is already in call %s (%s)", protocol.Show(sn), r.id, r.state)
	}
	return d, nil
}

// ---- caller-side room endpoints ----

func (s *Server) roomLocked(id string) (*room, *apiError) {
	r := s.rooms[id]
	if r == nil {
		return nil, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no room %s", protocol.Show(id))
	}
	s.advanceRoomLocked(r, s.now())
	return r, nil
}

func wrongState(r *room, action, allowed string) *apiError {
	st := r.state
	if r.state == protocol.StateEnded {
		st = "ended (" + r.endReason + ")"
	}
	return newAPIError(http.StatusConflict, protocol.ErrcodeWrongState, "cannot %s room %s: it is %s; %s", action, r.id, st, allowed)
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
		writeAPIError(w, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no room action %s; allowed cancel, hangup", protocol.Show(action)))
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
	case action == "cancel" && r.state == protocol.StateRinging:
		s.endLocked(r, now, protocol.EndCancelled, "cancelVoip", map[string]any{"status": "manual"}, true)
	case action == "cancel":
		writeAPIError(w, wrongState(r, "cancel", "cancel is for a ringing call; use hangup once it is answered"))
		return
	case r.state == protocol.StateAnswered:
		s.endLocked(r, now, protocol.EndAbortByCaller, "abortVoip", map[string]any{"reason": "abortByCaller"}, true)
	case r.state == protocol.StateOngoing:
		s.endLocked(r, now, protocol.EndByCaller, "hangUpVoip", map[string]any{"reason": "endByCaller"}, true)
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
		writeAPIError(w, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no device room action %s; allowed answer, reject, hangup, cancel-ack", protocol.Show(action)))
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
		writeAPIError(w, newAPIError(http.StatusForbidden, protocol.ErrcodeNotYourRoom, "room %s was placed to sn %s, not %s", r.id, protocol.Show(r.sn), protocol.Show(d.sn)))
		return
	}
	now := s.now()
	switch {
	case action == "answer" && r.state == protocol.StateRinging:
		s.answerLocked(r, now)
	case action == "answer":
		writeAPIError(w, wrongState(r, "answer", "only a ringing call can be answered"))
		return
	case action == "reject" && r.state == protocol.StateRinging:
		s.endLocked(r, now, protocol.EndRejected, "rejectVoip", map[string]any{"status": "manual"}, false)
	case action == "reject":
		writeAPIError(w, wrongState(r, "reject", "only a ringing call can be rejected; use hangup once answered"))
		return
	case action == "hangup" && r.state == protocol.StateAnswered:
		s.endLocked(r, now, protocol.EndAbortByListener, "abortVoip", map[string]any{"reason": "abortByListener"}, false)
	case action == "hangup" && r.state == protocol.StateOngoing:
		s.endLocked(r, now, protocol.EndByListener, "hangUpVoip", map[string]any{"reason": "endByListener"}, false)
	case action == "hangup":
		writeAPIError(w, wrongState(r, "hang up", "hangup is for an answered or ongoing call; use reject while it rings"))
		return
	case action == "cancel-ack" && r.state == protocol.StateEnded && r.endReason == protocol.EndCancelled:
		if r.cancelAckedAt.IsZero() {
			r.cancelAckedAt = now
		}
	default:
		writeAPIError(w, wrongState(r, "acknowledge the cancel of", "cancel-ack is for a call the caller cancelled"))
		return
	}
	writeJSON(w, http.StatusOK, r.status())
}

// newGroupID makes a group id: "g" and 24 hex digits (protocol.GroupIDLen).
func newGroupID() string { return newID("g", (protocol.GroupIDLen-1)/2) }
