package device

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// LeftoverPushWindow is how long after the WeChat side handed a push to a
// device a reset still expects the host app to receive it: a push of an
// earlier call (one whose spec was lost, say, when the adb server died
// under it) that the host app has not received yet may still arrive, and
// open a call page in the middle of the next spec. It matches the budgets'
// default pushDelivery, past which a push counts as lost.
const LeftoverPushWindow = 10 * time.Second

// leftoverEndWait bounds how long a reset waits for the call of a leftover
// push to end on the device once the host app received it.
const leftoverEndWait = 10 * time.Second

// PushGroup is the groupId of the call a push_received event carries ("" for
// a push that is not a call's).
func PushGroup(e contract.Event) string {
	var m struct {
		Path string `json:"path"`
	}
	if json.Unmarshal([]byte(e.Str("msg")), &m) != nil {
		return ""
	}
	_, q, ok := strings.Cut(m.Path, "?")
	if !ok {
		return ""
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	return v.Get("groupId")
}

// CarryPushes makes the session count the pushes an earlier session of the
// same device saw as received: a session opened again after its adb server
// came back does not wait for them.
func (s *Session) CarryPushes(old *Session) {
	if old == nil {
		return
	}
	seen := old.seenPushes()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.carried == nil {
		s.carried = map[string]bool{}
	}
	for g := range seen {
		s.carried[g] = true
	}
}

// seenPushes are the groupIds of every push the host app was seen to
// receive in this session (and in those it carries).
func (s *Session) seenPushes() map[string]bool {
	seen := map[string]bool{}
	s.mu.Lock()
	for g := range s.carried {
		seen[g] = true
	}
	s.mu.Unlock()
	for _, e := range s.Log.Since(0) {
		if e.Name == contract.EvPushReceived {
			if g := PushGroup(e); g != "" {
				seen[g] = true
			}
		}
	}
	return seen
}

// pendingPushes are the device's call pushes the WeChat side still holds
// (queued) or handed over less than LeftoverPushWindow ago, that the host
// app was not seen to receive.
func (s *Session) pendingPushes(ctx context.Context, w WeChatSide, now time.Time) ([]protocol.Push, error) {
	pushes, err := w.Pushes(ctx, s.Spec.SN)
	if err != nil {
		return nil, err
	}
	seen := s.seenPushes()
	var out []protocol.Push
	for _, p := range pushes {
		if p.GroupID == "" || seen[p.GroupID] {
			continue
		}
		switch p.Status {
		case protocol.PushQueued:
			out = append(out, p)
		case protocol.PushDelivered, protocol.PushAcked:
			if !p.DeliveredAt.IsZero() && now.Sub(p.DeliveredAt) < LeftoverPushWindow {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// settleLeftoverPushes waits until no push of an earlier call can still
// reach the host app — each has arrived, expired, or is older than
// LeftoverPushWindow — and lets the call each one opened end (its call has
// ended on the WeChat side, so the call page learns so and leaves). It
// returns what it did.
func (s *Session) settleLeftoverPushes(ctx context.Context, w WeChatSide) ([]string, error) {
	mark := 0
	deadline := time.Now().Add(LeftoverPushWindow)
	waited := map[string]bool{}
	var did []string
	for {
		pending, err := s.pendingPushes(ctx, w, time.Now())
		if err != nil {
			return did, fmt.Errorf("reading its pushes on the WeChat side: %w", err)
		}
		for _, p := range pending {
			if !waited[p.GroupID] {
				waited[p.GroupID] = true
				did = append(did, fmt.Sprintf("waited for a push of an earlier call (groupId %s, %s)", p.GroupID, p.Status))
			}
		}
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return did, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The calls of the pushes that arrived: let each end on the device.
	for g := range waited {
		received := false
		for _, e := range s.Log.Since(mark) {
			received = received || (e.Name == contract.EvPushReceived && PushGroup(e) == g)
		}
		if !received {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, leftoverEndWait)
		_, _, err := s.Log.Await(wctx, mark, contract.EvCallEnded, func(e contract.Event) bool {
			return e.Name == contract.EvCallEnded && e.Str("groupId") == g
		})
		cancel()
		if err == nil {
			did = append(did, "the call of the push "+g+" ended on the device")
		} else if ctx.Err() != nil {
			return did, ctx.Err()
		}
	}
	return did, nil
}
