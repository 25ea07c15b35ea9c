package framework

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The WeChat side's state, as whoever watches it (wmpf-hil run) leaves it
// for every process in the run directory:
//
//	wechat.down   written when it stops answering, with why; removed when
//	              it answers again
const wechatDownMark = "wechat.down"

// WeChatDown returns why the run's WeChat side is down, or "" while it
// answers.
func WeChatDown(runDir string) string {
	b, err := os.ReadFile(filepath.Join(runDir, wechatDownMark))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// SetWeChatDown marks the run's WeChat side down with why ("" marks it up).
func SetWeChatDown(runDir, why string) error {
	p := filepath.Join(runDir, wechatDownMark)
	if why == "" {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return os.WriteFile(p, []byte(why+"\n"), 0o644)
}

// errWeChatDown is the cause of a wait cut short because the run marked
// its WeChat side down: what was awaited will not come.
var errWeChatDown = errors.New("the run's WeChat side stopped answering")

// weChatMarkPoll is how often a wait looks for the wechat.down mark.
const weChatMarkPoll = 200 * time.Millisecond

// weChatBound returns ctx cancelled, with errWeChatDown as its cause, as
// soon as the run marks its WeChat side down: a wait for an event that the
// WeChat side has to bring about (a push, a room joined) ends then, not at
// its timeout. The goroutine watching the mark ends with the returned
// context; call cancel when the wait is over.
func (f *Framework) weChatBound(ctx context.Context) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancelCause(ctx)
	if f == nil || f.Farm.WeChatSide() == nil {
		return wctx, func() { cancel(context.Canceled) }
	}
	if WeChatDown(f.RunDir()) != "" {
		cancel(errWeChatDown)
		return wctx, func() {}
	}
	go func() {
		tick := time.NewTicker(weChatMarkPoll)
		defer tick.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
				if WeChatDown(f.RunDir()) != "" {
					cancel(errWeChatDown)
					return
				}
			}
		}
	}()
	return wctx, func() { cancel(context.Canceled) }
}

// weChatProbeTimeout bounds the check that the WeChat side answers before
// a missing event is blamed on the device.
const weChatProbeTimeout = 2 * time.Second

// weChatDownNow returns why the run's WeChat side cannot be relied on now —
// marked down by the run, or not answering a request within
// weChatProbeTimeout — or "" when it answers (or is WeChat's own, which is
// not probed).
func (f *Framework) weChatDownNow(ctx context.Context) string {
	if why := WeChatDown(f.RunDir()); why != "" {
		return why
	}
	if f.Caller == nil || f.Farm.WeChatSide() == nil {
		return ""
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), weChatProbeTimeout)
	defer cancel()
	if _, err := f.Caller.Devices(pctx); err != nil && (unreachable(err) || errors.Is(err, context.DeadlineExceeded)) {
		return "it does not answer: " + err.Error()
	}
	return ""
}
