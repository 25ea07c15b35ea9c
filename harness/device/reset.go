package device

import (
	"context"
	"fmt"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// WeChatSide is what a reset needs from the WeChat side: to end a device's
// calls, the push token it last issued to the device, and the pushes it
// sent it. A nil WeChatSide (WeChat's own servers) checks only the device.
type WeChatSide interface {
	// EndCallsOf ends every call of the device sn that has not ended
	// (cancels a ringing one, hangs up one in progress); it returns the
	// room ids it ended.
	EndCallsOf(ctx context.Context, sn string) ([]string, error)
	// PushTokenOf is the newest push token the WeChat side issued to sn,
	// and when it expires ("" when none).
	PushTokenOf(ctx context.Context, sn string) (string, time.Time, error)
	// Pushes lists the pushes sent to sn, oldest first.
	Pushes(ctx context.Context, sn string) ([]protocol.Push, error)
}

// callEndSettle is how long a reset lets a device whose call it ended leave
// the call page by itself.
const callEndSettle = 3 * time.Second

// ResetReport says what a reset found and did.
type ResetReport struct {
	// Did lists what was done ("ended call r1 on the WeChat side", …).
	Did []string
}

// Reset brings the device to the known state every spec starts from: no
// call in progress on the WeChat side or on the device, the call page
// closed, the host app fresh (restarted when its push token is not the one
// the WeChat side knows, or has expired), WMPF running, activated, the push
// listener registered. It returns an error saying what could not be put
// right: such a device is not fit for the run.
func (s *Session) Reset(ctx context.Context, w WeChatSide, within time.Duration) (ResetReport, error) {
	var rep ResetReport
	if w != nil {
		ended, err := w.EndCallsOf(ctx, s.Spec.SN)
		if err != nil {
			return rep, fmt.Errorf("ending its calls on the WeChat side: %w", err)
		}
		for _, r := range ended {
			rep.Did = append(rep.Did, "ended call "+r+" on the WeChat side")
		}
	}
	did, err := s.leaveCallPage(ctx, len(rep.Did) > 0)
	rep.Did = append(rep.Did, did...)
	if err != nil {
		return rep, err
	}
	restart := ""
	if r := s.Readiness(ctx); r != "" {
		restart = r
	} else if w != nil && s.Spec.Push != PushInject {
		stale, err := s.staleToken(ctx, w)
		if err != nil {
			return rep, err
		}
		restart = stale
	}
	if restart != "" {
		if _, err := s.Run(ctx, "am force-stop "+s.Spec.HostPackage+" && am start -W -a android.intent.action.MAIN -c android.intent.category.LAUNCHER -p "+s.Spec.HostPackage); err != nil {
			return rep, err
		}
		rep.Did = append(rep.Did, "restarted the host app ("+restart+")")
		if r := s.WaitReady(ctx, within); r != "" {
			return rep, fmt.Errorf("not ready even after restarting the host app: %s", r)
		}
	}
	if w != nil {
		// A push of an earlier call still on its way would open a call
		// page in the middle of the next spec: let it come, and its call
		// end, now.
		did, err := s.settleLeftoverPushes(ctx, w)
		rep.Did = append(rep.Did, did...)
		if err != nil {
			return rep, err
		}
		if len(did) > 0 {
			did, err := s.leaveCallPage(ctx, true)
			rep.Did = append(rep.Did, did...)
			if err != nil {
				return rep, err
			}
		}
	}
	if on, detail, err := s.OnCallPage(ctx); err != nil {
		return rep, err
	} else if on {
		return rep, fmt.Errorf("still on the call page after BACK and a restart of the host app (%s)", detail)
	}
	return rep, nil
}

// staleToken says why the host app's push token is stale, or "".
func (s *Session) staleToken(ctx context.Context, w WeChatSide) (string, error) {
	ev, err := s.Report(ctx)
	if err != nil {
		return "", err
	}
	app := ev.Str("pushToken")
	want, exp, err := w.PushTokenOf(ctx, s.Spec.SN)
	if err != nil {
		return "", fmt.Errorf("reading its push token on the WeChat side: %w", err)
	}
	if appExp, ok := ev.Int("pushTokenExpire"); ok && appExp > 0 && time.Unix(int64(appExp), 0).Before(time.Now()) {
		return "its push token expired at " + time.Unix(int64(appExp), 0).Format(time.TimeOnly), nil
	}
	if want != "" && app != want {
		return "its push token is not the one the WeChat side last issued", nil
	}
	if !exp.IsZero() && exp.Before(time.Now()) {
		return "its push token expired at " + exp.Format(time.TimeOnly), nil
	}
	return "", nil
}

// leaveCallPage leaves the call page: a call just ended (justEnded) leaves
// it by itself — to the end page or the background — and is given the time
// to, rather than raced; else, or when it does not, BACK.
func (s *Session) leaveCallPage(ctx context.Context, justEnded bool) ([]string, error) {
	settle := time.Now().Add(callEndSettle)
	for {
		on, _, err := s.OnCallPage(ctx)
		if err != nil || !on {
			return nil, err
		}
		if !justEnded || time.Now().After(settle) {
			if _, err := s.Run(ctx, "input keyevent KEYCODE_BACK"); err != nil {
				return nil, err
			}
			return []string{"left the call page"}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
