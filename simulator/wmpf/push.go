package wmpf

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// pushLoop keeps the push connection of one service process open and hands
// what arrives to the push listener and the call page.
func (s *Service) pushLoop(ctx context.Context, main *android.Process) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		st, err := s.dc.Connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			main.Log('W', tagPush, "push connection failed: "+err.Error())
			if !profile.Sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		main.Log('I', tagPush, "push connection established")
		for {
			m, err := st.Next(ctx)
			if err != nil {
				var sc *wechat.StreamClosedError
				if errors.As(err, &sc) && sc.Reason == wechat.ByeSessionEnded {
					// A newer activation replaced the session: reconnect
					// with it.
					main.Log('I', tagPush, "push session replaced by a newer activation")
					break
				}
				if ctx.Err() == nil {
					main.Log('W', tagPush, "push connection lost: "+err.Error())
				}
				break
			}
			switch m.Type {
			case "push":
				s.receivePush(main, m)
			case "voip":
				s.voipFromBackend(m)
			}
		}
		st.Close()
	}
}

func (s *Service) receivePush(main *android.Process, m wechat.DeviceMessage) {
	main.Log('I', tagPush, fmt.Sprintf("push message id=%s len=%d", m.ID, len(m.Msg)))
	main.Go(func(ctx context.Context) {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.dc.Ack(actx, m.ID); err != nil && ctx.Err() == nil {
			main.Log('W', tagPush, "ack "+m.ID+" failed: "+err.Error())
		}
	})
	main.Go(func(ctx context.Context) {
		if !s.cfg.Sampler.Sleep(ctx, s.timing().PushDelivery) {
			return
		}
		s.mu.Lock()
		l := s.listener
		s.mu.Unlock()
		if l == nil || !l.proc.Alive() {
			main.Log('W', tagPush, "no push listener registered, message dropped id="+m.ID)
			return
		}
		l.proc.Go(func(context.Context) { l.fn(m.Msg) })
	})
}

// voipFromBackend routes a call event from the backend to the call page of
// that call.
func (s *Service) voipFromBackend(m wechat.DeviceMessage) {
	s.mu.Lock()
	mp := s.mp
	s.mu.Unlock()
	if mp == nil || mp.page == nil || !mp.page.matches(m.RoomID, m.GroupID) {
		// The page may not be up yet: the plugin learns what became of the
		// call when it loads, so keep the call's end for it.
		switch m.Event {
		case "cancelVoip", "timeout", "abortVoip", "hangUpVoip", "busy", "joinFailCaller":
			s.mu.Lock()
			if s.early == nil {
				s.early = map[string]wechat.DeviceMessage{}
			}
			s.early[m.GroupID] = m
			s.mu.Unlock()
		}
		s.logf(tagVoip, "voip event %s for room %s group %s: no call page for it yet", m.Event, m.RoomID, m.GroupID)
		return
	}
	mp.page.backendEvent(m.Event, m.RoomID, m.Data)
}
