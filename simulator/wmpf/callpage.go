package wmpf

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// Call page states.
const (
	stRinging   = "ringing"
	stAnswering = "answering" // answered, joining the room
	stOngoing   = "ongoing"   // both in the room
	stEnded     = "ended"
)

// Param is one query parameter of a page path, decoded.
type Param struct{ Key, Value string }

// ParseQuery splits a query the way the plugin reads it: on '&', each
// "key=value" decoded as decodeURIComponent does ('+' is a plus sign).
func ParseQuery(raw string) ([]Param, error) {
	var out []Param
	if raw == "" {
		return nil, nil
	}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.PathUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("query key %q: %w", clip(k, 40), err)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("query parameter %s: %w", dk, err)
		}
		out = append(out, Param{dk, dv})
	}
	return out, nil
}

// callPage is the wmpf-voip plugin's call page on the listener's side.
type callPage struct {
	s  *Service
	mp *miniProgram

	roomType, groupID, listenerID, callerName string
	hangOn                                    bool

	events chan InvokeMessage
	done   chan struct{}

	mu        sync.Mutex
	state     string
	roomID    string
	ongoingAt time.Time
	unloaded  bool
	finished  bool
	stopTick  context.CancelFunc
}

func newCallPage(s *Service, mp *miniProgram, path string) (*callPage, error) {
	_, raw, _ := strings.Cut(path, "?")
	params, err := ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	pg := &callPage{s: s, mp: mp, state: stRinging, events: make(chan InvokeMessage, 256), done: make(chan struct{})}
	for _, p := range params {
		switch p.Key {
		case "roomType":
			pg.roomType = p.Value
		case "groupId":
			pg.groupID = p.Value
		case "listenerId":
			pg.listenerID = p.Value
		case "callerName":
			pg.callerName = p.Value
		case "isClickedHangOnBtn":
			pg.hangOn = p.Value == "1"
		}
	}
	if pg.roomType != "voice" && pg.roomType != "video" {
		return nil, fmt.Errorf("roomType %q: allowed voice, video", clip(pg.roomType, 40))
	}
	if pg.groupID == "" || pg.listenerID == "" {
		return nil, fmt.Errorf("groupId and listenerId are required (got groupId=%q listenerId=%q)", clip(pg.groupID, 40), clip(pg.listenerID, 40))
	}
	mp.proc.Go(pg.dispatch)
	return pg, nil
}

func (pg *callPage) matches(roomID, groupID string) bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return (groupID != "" && groupID == pg.groupID) || (roomID != "" && roomID == pg.roomID)
}

// emit sends an onVoipEvent, in order, over the Invoke Channel.
func (pg *callPage) emit(name string, data map[string]any) {
	pg.mu.Lock()
	roomID := pg.roomID
	pg.mu.Unlock()
	if data == nil {
		data = map[string]any{}
	}
	m := InvokeMessage{EventName: name, RoomID: roomID, GroupID: pg.groupID, Data: data, AppID: pg.mp.appID}
	b, _ := json.Marshal(map[string]any{"eventName": name, "roomId": roomID, "groupId": pg.groupID, "data": data})
	pg.mp.proc.Log('I', tagVoip, "onVoipEvent "+string(b))
	select {
	case pg.events <- m:
	default:
		pg.mp.proc.Log('W', tagVoip, "invoke channel full, dropped "+name)
	}
}

// dispatch delivers the page's events to the app one by one.
func (pg *callPage) dispatch(ctx context.Context) {
	for {
		var m InvokeMessage
		select {
		case m = <-pg.events:
		case <-pg.done:
			select {
			case m = <-pg.events:
			default:
				return
			}
		case <-ctx.Done():
			return
		}
		if !pg.s.cfg.Sampler.Sleep(ctx, pg.s.timing().IPC) {
			return
		}
		pg.s.mu.Lock()
		inv := pg.s.invoke
		pg.s.mu.Unlock()
		if inv != nil && inv.proc.Alive() {
			inv.fn(m)
		}
	}
}

func (pg *callPage) current() bool {
	pg.s.mu.Lock()
	defer pg.s.mu.Unlock()
	return pg.s.mp == pg.mp && !pg.unloadedLocked()
}

func (pg *callPage) unloadedLocked() bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return pg.unloaded
}

func (pg *callPage) updateUI() {
	if pg.current() {
		pg.mp.act.SetContent(pg.render())
	}
}

func (pg *callPage) render() *android.Node {
	s := pg.s
	pg.mu.Lock()
	state, since := pg.state, pg.ongoingAt
	pg.mu.Unlock()
	kind := "语音通话"
	if pg.roomType == "video" {
		kind = "视频通话"
	}
	nodes := []*android.Node{s.text(pg.callerName, 0)}
	switch state {
	case stRinging:
		nodes = append(nodes, s.text("邀请你"+kind, 1),
			s.button("挂断", 0, 2, pg.reject),
			s.button("接听", 1, 2, func() { pg.answer(false) }))
	case stAnswering:
		nodes = append(nodes, s.text("连接中…", 1), s.button("挂断", 0, 1, pg.hangUp))
	case stOngoing:
		d := time.Since(since).Truncate(time.Second)
		nodes = append(nodes, s.text(fmt.Sprintf("%s %02d:%02d", kind, int(d.Minutes()), int(d.Seconds())%60), 1), s.button("挂断", 0, 1, pg.hangUp))
	case stEnded:
		b := s.button("挂断", 0, 1, nil)
		b.Enabled, b.Clickable = false, false
		nodes = append(nodes, s.text("通话已结束", 1), b)
	}
	return s.frame(pg.mp.appID, nodes...)
}

// onShow runs when the page is first shown.
func (pg *callPage) onShow(ctx context.Context) {
	pg.emit("startVoip", map[string]any{"roomType": pg.roomType})
	pg.emit("callPageOnShow", map[string]any{"roomType": pg.roomType})
	pg.s.mu.Lock()
	early, ended := pg.s.early[pg.groupID]
	delete(pg.s.early, pg.groupID)
	pg.s.mu.Unlock()
	if ended {
		pg.backendEvent(early.Event, early.RoomID, early.Data)
		return
	}
	if pg.hangOn {
		pg.mp.proc.Go(func(ctx context.Context) {
			if pg.s.cfg.Sampler.Sleep(ctx, pg.s.timing().AutoAnswer) {
				pg.answer(true)
			}
		})
	}
}

func (pg *callPage) roomKey() string {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.roomID != "" {
		return pg.roomID
	}
	return pg.groupID
}

func (pg *callPage) answer(auto bool) {
	pg.mu.Lock()
	if pg.state != stRinging {
		pg.mu.Unlock()
		return
	}
	pg.state = stAnswering
	pg.mu.Unlock()
	pg.mp.proc.Go(func(ctx context.Context) {
		if !auto && !pg.s.cfg.Sampler.Sleep(ctx, pg.s.timing().TapAnswer) {
			return
		}
		pg.emit("hangOnVoip", map[string]any{"roomType": pg.roomType, "auto": auto})
		pg.updateUI()
		if !pg.s.cfg.Sampler.Sleep(ctx, pg.s.timing().JoinRoom) {
			return
		}
		if pg.s.dc == nil {
			pg.emit("joinFailListener", map[string]any{"errMsg": "no network"})
			pg.finish(ctx)
			return
		}
		if err := pg.s.dc.Answer(ctx, pg.roomKey()); err != nil {
			pg.emit("joinFailListener", map[string]any{"errMsg": err.Error()})
			pg.finish(ctx)
		}
	})
}

func (pg *callPage) reject() {
	pg.mu.Lock()
	if pg.state != stRinging {
		pg.mu.Unlock()
		return
	}
	pg.state = stEnded
	pg.mu.Unlock()
	pg.mp.proc.Go(func(ctx context.Context) {
		pg.emit("rejectVoip", map[string]any{"status": "manual"})
		if pg.s.dc != nil {
			_ = pg.s.dc.Reject(ctx, pg.roomKey())
		}
		pg.finish(ctx)
	})
}

func (pg *callPage) hangUp() {
	pg.mu.Lock()
	if pg.state != stAnswering && pg.state != stOngoing {
		pg.mu.Unlock()
		return
	}
	pg.mu.Unlock()
	pg.mp.proc.Go(func(ctx context.Context) {
		pg.emit("hangUpVoip", map[string]any{"reason": "endByListener"})
		if pg.s.dc != nil {
			_ = pg.s.dc.Hangup(ctx, pg.roomKey())
		}
		pg.finish(ctx)
	})
}

// backendEvent handles a call event the WeChat backend sent.
func (pg *callPage) backendEvent(event, roomID string, data map[string]any) {
	pg.mu.Lock()
	if roomID != "" {
		pg.roomID = roomID
	}
	pg.mu.Unlock()
	pg.mp.proc.Go(func(ctx context.Context) {
		switch event {
		case "joinedRoomByCaller":
			pg.emit(event, data)
			pg.mu.Lock()
			start := pg.state == stAnswering
			if start {
				pg.state, pg.ongoingAt = stOngoing, time.Now()
			}
			pg.mu.Unlock()
			if start {
				pg.updateUI()
				pg.startCalling()
			}
		case "cancelVoip", "timeout", "abortVoip", "hangUpVoip", "busy", "joinFailCaller":
			pg.emit(event, data)
			pg.finish(ctx)
		default:
			pg.emit(event, data)
		}
	})
}

// startCalling emits "calling" every second while the call goes on.
func (pg *callPage) startCalling() {
	ctx, cancel := context.WithCancel(pg.mp.proc.Context())
	pg.mu.Lock()
	pg.stopTick = cancel
	since := pg.ongoingAt
	pg.mu.Unlock()
	pg.mp.proc.Go(func(context.Context) {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				pg.emit("calling", map[string]any{"keepTime": int(now.Sub(since).Seconds())})
				pg.updateUI()
			}
		}
	})
}

// finish ends the call on the page: endVoip and finishVoip, then the page
// leaves for the end page (or the Mini Program exits).
func (pg *callPage) finish(ctx context.Context) {
	pg.mu.Lock()
	if pg.finished {
		pg.mu.Unlock()
		return
	}
	pg.finished = true
	keep := 0
	if pg.state == stOngoing {
		keep = int(time.Since(pg.ongoingAt).Seconds())
	}
	if pg.stopTick != nil {
		pg.stopTick()
		pg.stopTick = nil
	}
	pg.state = stEnded
	pg.mu.Unlock()
	pg.emit("endVoip", map[string]any{"keepTime": keep, "callerName": pg.callerName, "listenerName": pg.listenerID,
		"roomType": pg.roomType, "isCaller": false, "businessType": 1})
	pg.emit("finishVoip", map[string]any{"keepTime": keep})
	pg.updateUI()
	if pg.s.defects().Has(profile.StuckOnCallPage) {
		pg.mp.proc.Log('W', tagVoip, "end of call: no navigation (call page kept)")
		return
	}
	if !pg.s.cfg.Sampler.Sleep(ctx, pg.s.timing().EndNavigate) || !pg.current() {
		return
	}
	pg.s.mu.Lock()
	endPage, endMode := pg.s.endPage, pg.s.endMode
	pg.s.mu.Unlock()
	if endMode == "exit" {
		pg.mp.proc.Log('I', tagAppBrand, "wx.exitMiniProgram")
		pg.unload()
		pg.mp.act.Finish()
		return
	}
	pg.unload()
	if endPage != "" {
		pg.mp.act.SetContent(pg.s.textPage(pg.mp.appID, pagePath(endPage), endPage, ""))
		return
	}
	kind := "语音通话"
	if pg.roomType == "video" {
		kind = "视频通话"
	}
	pg.mp.act.SetContent(pg.s.textPage(pg.mp.appID, "plugin-private://"+protocol.PluginAppID+"/pages/call-log/call-log", "通话记录",
		fmt.Sprintf("%s %s %02d:%02d", pg.callerName, kind, keep/60, keep%60)))
}

// unload marks the page gone (navigation or a new launch).
func (pg *callPage) unload() {
	pg.mu.Lock()
	if !pg.unloaded {
		pg.unloaded = true
		close(pg.done)
	}
	pg.mu.Unlock()
}
