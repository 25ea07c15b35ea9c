package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// WeChat side watching: a probe every wechatProbeEvery, each bounded by
// wechatProbeTimeout; wechatProbeMisses missed probes in a row mark it down.
const (
	wechatProbeEvery   = time.Second
	wechatProbeTimeout = 2 * time.Second
	wechatProbeMisses  = 2
)

// watchWeChat probes the run's WeChat side while the run lasts. When it
// stops answering, the run directory says so (every worker's specs that
// need it end at once as lost to the WeChat side, not as product failures),
// an incident is recorded, and a WeChat side the run started itself is
// started again where its provider can; when it answers again, that is
// recorded too. WeChat's own servers (mode real) are not probed.
func (r *run) watchWeChat(ctx context.Context) {
	ws := r.farm.Spec.WeChat
	if ws.Mode == farm.WeChatReal || ws.URL == "" {
		return
	}
	c := r.farm.Spec.Caller()
	c.HTTP = caller.FastClient(wechatProbeTimeout)
	misses := 0
	var since time.Time
	tick := time.NewTicker(wechatProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, wechatProbeTimeout)
		_, err := c.Devices(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		down := r.weChatIsDown()
		if err == nil {
			misses = 0
			if down {
				r.setWeChatDown(false)
				_ = framework.SetWeChatDown(r.runDir, "")
				r.logf("the WeChat side (%s) answers again, after %v", ws.URL, time.Since(since).Round(100*time.Millisecond))
				_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: "wechat-back", Addr: ws.URL,
					TookMs: report.Ms(time.Since(since))}})
			}
			continue
		}
		misses++
		if down || misses < wechatProbeMisses {
			continue
		}
		since = time.Now()
		why := fmt.Sprintf("the WeChat side at %s does not answer (%d probes in a row, %v each): %v", ws.URL, misses, wechatProbeTimeout, err)
		r.weChatLost(why)
		if ws.Started {
			rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			err := r.farm.RestartWeChat(rctx)
			cancel()
			if err == nil {
				r.logf("started the WeChat side again")
				_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: "wechat-restarted", Addr: ws.URL}})
			} else {
				r.logf("could not start the WeChat side again: %v", err)
			}
		}
	}
}

// weChatLost records the WeChat side gone: the mark every worker's waits
// watch, the incident, the log line.
func (r *run) weChatLost(why string) {
	r.setWeChatDown(true)
	_ = framework.SetWeChatDown(r.runDir, why)
	r.logf("incident: %s", why)
	_ = r.w.Write(report.Record{Kind: report.KindIncident, Incident: &report.IncidentInfo{What: report.IncidentWeChatLost,
		Addr: r.farm.Spec.WeChat.URL, Detail: why}})
}

func (r *run) weChatIsDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wechatDown
}

func (r *run) setWeChatDown(down bool) {
	r.mu.Lock()
	r.wechatDown = down
	r.mu.Unlock()
}

// checkWeChatAtEnd probes the WeChat side once more when the cells are
// over (the watcher stopped). A WeChat side that went away with the
// devices — one process serving both, killed — ends their cells as lost
// faster than the watcher's probes in a row find it gone; the incident
// belongs on record all the same, or the report would blame the devices
// alone.
func (r *run) checkWeChatAtEnd(ctx context.Context) {
	ws := r.farm.Spec.WeChat
	if ws.Mode == farm.WeChatReal || ws.URL == "" || r.weChatIsDown() {
		return
	}
	c := r.farm.Spec.Caller()
	c.HTTP = caller.FastClient(wechatProbeTimeout)
	ctx = context.WithoutCancel(ctx)
	var err error
	for i := range wechatProbeMisses {
		if i > 0 {
			time.Sleep(wechatProbeEvery / 4)
		}
		pctx, cancel := context.WithTimeout(ctx, wechatProbeTimeout)
		_, err = c.Devices(pctx)
		cancel()
		if err == nil {
			return
		}
	}
	r.weChatLost(fmt.Sprintf("the WeChat side at %s does not answer at the end of the run (%d probes in a row, %v each): %v",
		ws.URL, wechatProbeMisses, wechatProbeTimeout, err))
}
