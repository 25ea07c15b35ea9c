package wechat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

var stageRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// truthReq is the body of POST /sim/truth and /wmpf/truth.
type truthReq struct {
	SN      string `json:"sn"`
	Session string `json:"session,omitempty"`
	Stage   string `json:"stage"`
	RoomID  string `json:"roomId,omitempty"`
	GroupID string `json:"groupId,omitempty"`
	At      string `json:"at"`
}

func (t truthReq) stamp(now time.Time) (protocol.TruthStamp, *apiError) {
	if err := protocol.CheckIdent(t.SN, 128); err != nil {
		return protocol.TruthStamp{}, badParam("sn %s: %v", protocol.Show(t.SN), err)
	}
	if !stageRE.MatchString(t.Stage) {
		return protocol.TruthStamp{}, badParam("stage %s: allowed 1 to 64 characters from A-Z a-z 0-9 _ . : -", protocol.Show(t.Stage))
	}
	for _, f := range []struct{ name, v string }{{"roomId", t.RoomID}, {"groupId", t.GroupID}} {
		if f.v == "" {
			continue
		}
		if err := protocol.CheckIdent(f.v, 128); err != nil {
			return protocol.TruthStamp{}, badParam("%s %s: %v", f.name, protocol.Show(f.v), err)
		}
	}
	at, err := time.Parse(time.RFC3339Nano, t.At)
	if err != nil {
		return protocol.TruthStamp{}, badParam("at %s: allowed an RFC 3339 time such as %q (%v)", protocol.Show(t.At), "2026-01-02T15:04:05.123456789Z", err)
	}
	return protocol.TruthStamp{SN: t.SN, Stage: t.Stage, RoomID: t.RoomID, GroupID: t.GroupID, At: at, ReceivedAt: now}, nil
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	out := make([]protocol.DeviceStatus, 0, len(s.devices))
	for _, d := range s.devices {
		s.expireIfOfflineLocked(d, now)
		out = append(out, s.statusLocked(d, now))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].SN < out[j].SN })
	writeJSON(w, http.StatusOK, struct {
		Devices []protocol.DeviceStatus `json:"devices"`
	}{out})
}

// handleDevice serves GET /sim/devices/{sn} and POST /sim/devices/{sn}
// {"licence":"active|expired|none","modelId":"…","expirePushToken":"…",
// "pushTokenTTL":"12s"} (each optional; modelId is required to register an
// sn the server does not know).
func (s *Server) handleDevice(w http.ResponseWriter, r *http.Request) {
	sn := r.PathValue("sn")
	if r.Method == http.MethodGet {
		s.mu.Lock()
		defer s.mu.Unlock()
		d := s.devices[sn]
		if d == nil {
			writeAPIError(w, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no device %s", protocol.Show(sn)))
			return
		}
		now := s.now()
		s.expireIfOfflineLocked(d, now)
		writeJSON(w, http.StatusOK, s.statusLocked(d, now))
		return
	}
	var req struct {
		Licence *string `json:"licence"`
		ModelID *string `json:"modelId"`
		// ExpirePushToken makes one of the device's push tokens expire now.
		ExpirePushToken *string `json:"expirePushToken"`
		// PushTokenTTL is the lifetime of the push tokens issued to the
		// device from now on.
		PushTokenTTL json.RawMessage `json:"pushTokenTTL"`
	}
	if e := readDeviceReq(w, r, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	if err := protocol.CheckIdent(sn, 128); err != nil {
		writeAPIError(w, badParam("sn %s: %v", protocol.Show(sn), err))
		return
	}
	if req.Licence == nil && req.ModelID == nil && req.ExpirePushToken == nil && req.PushTokenTTL == nil {
		writeAPIError(w, badParam("nothing to change: give licence (%q, %q or %q), modelId, expirePushToken and/or pushTokenTTL", protocol.LicenceActive, protocol.LicenceExpired, protocol.LicenceNone))
		return
	}
	var ttl time.Duration
	if req.PushTokenTTL != nil {
		var e *apiError
		if ttl, e = s.parsePushTokenTTL(req.PushTokenTTL); e != nil {
			writeAPIError(w, e)
			return
		}
	}
	if req.Licence != nil && !validLicence(*req.Licence) {
		writeAPIError(w, badParam("licence %s: allowed %q, %q or %q", protocol.Show(*req.Licence), protocol.LicenceActive, protocol.LicenceExpired, protocol.LicenceNone))
		return
	}
	if req.ModelID != nil {
		if err := protocol.CheckIdent(*req.ModelID, 128); err != nil {
			writeAPIError(w, badParam("modelId %s: %v", protocol.Show(*req.ModelID), err))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[sn]
	if d == nil {
		if req.ModelID == nil {
			writeAPIError(w, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no device %s; give modelId to register it", protocol.Show(sn)))
			return
		}
		d = &device{sn: sn, modelID: *req.ModelID, licence: protocol.LicenceActive}
		s.devices[sn] = d
	}
	if req.ExpirePushToken != nil {
		pt := s.pushTokens[*req.ExpirePushToken]
		if pt == nil || pt.sn != sn {
			writeAPIError(w, badParam("expirePushToken %s: not a push token of device %s", protocol.Show(*req.ExpirePushToken), protocol.Show(sn)))
			return
		}
		pt.expire = s.now()
		s.logf("wechat: push token %s of %s expired by request", protocol.Show(*req.ExpirePushToken), sn)
	}
	if req.PushTokenTTL != nil {
		d.pushTokenTTL = ttl
		s.logf("wechat: push tokens issued to %s from now on live %v", sn, s.pushTokenTTLLocked(d))
	}
	if req.Licence != nil {
		d.licence = *req.Licence
	}
	if req.ModelID != nil {
		d.modelID = *req.ModelID
	}
	s.logf("wechat: device %s set to licence %s, modelId %s", sn, d.licence, d.modelID)
	writeJSON(w, http.StatusOK, s.statusLocked(d, s.now()))
}

// Limits of a push token's lifetime, per device and for the farm
// (Config.PushTokenTTL).
const (
	MinPushTokenTTL = time.Second
	MaxPushTokenTTL = 48 * time.Hour
)

// parsePushTokenTTL reads the pushTokenTTL of POST /sim/devices/{sn}: a Go
// duration string from MinPushTokenTTL to MaxPushTokenTTL, or "default"
// (0: Config.PushTokenTTL).
func (s *Server) parsePushTokenTTL(raw json.RawMessage) (time.Duration, *apiError) {
	allowed := fmt.Sprintf("allowed a duration from %v to %v such as \"12s\" or \"30m\", or \"default\" for the server's %v",
		MinPushTokenTTL, MaxPushTokenTTL, s.cfg.PushTokenTTL)
	var v string
	if protocol.JSONKind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
		return 0, badParam("pushTokenTTL %s is a JSON %s: %s", protocol.ShowRaw(raw), protocol.JSONKind(raw), allowed)
	}
	if v == "default" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < MinPushTokenTTL || d > MaxPushTokenTTL {
		return 0, badParam("pushTokenTTL %s: %s", protocol.Show(v), allowed)
	}
	return d, nil
}

// pushTokenTTLLocked is the lifetime of the next push token issued to d.
func (s *Server) pushTokenTTLLocked(d *device) time.Duration {
	if d.pushTokenTTL > 0 {
		return d.pushTokenTTL
	}
	return s.cfg.PushTokenTTL
}

// handlePushes serves GET /sim/pushes?sn=…&roomId=… (both optional).
func (s *Server) handlePushes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sn, roomID := q.Get("sn"), q.Get("roomId")
	s.mu.Lock()
	now := s.now()
	if d := s.devices[sn]; d != nil {
		s.expireIfOfflineLocked(d, now)
	} else if sn == "" {
		for _, d := range s.devices {
			s.expireIfOfflineLocked(d, now)
		}
	}
	out := []protocol.Push{}
	for _, p := range s.pushOrder {
		if (sn == "" || p.SN == sn) && (roomID == "" || p.RoomID == roomID) {
			out = append(out, *p)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Pushes []protocol.Push `json:"pushes"`
	}{out})
}

// handleTruth serves GET /sim/truth?sn=…&roomId=… and POST /sim/truth.
func (s *Server) handleTruth(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		s.addTruth(w, r, false)
		return
	}
	q := r.URL.Query()
	sn, roomID := q.Get("sn"), q.Get("roomId")
	s.mu.Lock()
	out := []protocol.TruthStamp{}
	for _, t := range s.truth {
		if (sn == "" || t.SN == sn) && (roomID == "" || t.RoomID == roomID) {
			out = append(out, t)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Truth []protocol.TruthStamp `json:"truth"`
	}{out})
}

// handleDeviceTruth serves POST /wmpf/truth: the device's own report of a
// stage. The session is optional (a device reports stages of injected
// pushes even before it activates); when given it must be current.
func (s *Server) handleDeviceTruth(w http.ResponseWriter, r *http.Request) {
	s.addTruth(w, r, true)
}

func (s *Server) addTruth(w http.ResponseWriter, r *http.Request, device bool) {
	var req truthReq
	if e := readDeviceReq(w, r, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	if !device && req.Session != "" {
		writeAPIError(w, badParam("session is not a field of /sim/truth (the access token authenticates it)"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if device && req.Session != "" {
		if _, e := s.deviceLocked(req.SN, req.Session); e != nil {
			writeAPIError(w, e)
			return
		}
	}
	st, e := req.stamp(s.now())
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.truth = append(s.truth, st)
	writeJSON(w, http.StatusOK, struct {
		ErrCode int                 `json:"errcode"`
		ErrMsg  string              `json:"errmsg"`
		Stamp   protocol.TruthStamp `json:"stamp"`
	}{0, "ok", st})
}
