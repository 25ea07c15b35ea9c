package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/logcat"
)

// After a worker died mid-call and its calls were ended on the WeChat
// side, the device may still have one of them coming: WMPF acknowledges a
// push as soon as it arrives and hands it to the host app a moment later
// (hundreds of milliseconds), and the host app launches the call page even
// for a call ended meanwhile, then closes it. A cell started in that
// moment would see that stale launch replace its own call's page. So the
// next worker starts only once the device has finished every ended call
// whose push it had taken, or after settleTimeout.
const (
	settleTimeout = 15 * time.Second
	settlePoll    = 250 * time.Millisecond
)

// settle waits until device d has finished the calls of rooms (ended by
// the supervisor) whose push the WeChat side had delivered to it, as the
// host app's contract lines in the device's log say: call_ended, the
// plugin's finishVoip, or the push ignored. It returns what it waited for.
func (r *run) settle(ctx context.Context, d device.Spec, rooms []string) (string, error) {
	ws := r.farm.Spec.Caller()
	if ws == nil || len(rooms) == 0 {
		return "", nil
	}
	ws.HTTP = caller.FastClient(wechatProbeTimeout)
	pushes, err := ws.Pushes(ctx, d.SN)
	if err != nil {
		return "", fmt.Errorf("reading the pushes to %s: %w", d.Name, err)
	}
	pending := map[string]bool{}
	for _, p := range pushes {
		if p.GroupID != "" && slices.Contains(rooms, p.RoomID) && !p.DeliveredAt.IsZero() {
			pending[p.GroupID] = true
		}
	}
	if len(pending) == 0 {
		return "", nil
	}
	dev := adb.NewClient(d.Server).Device(d.Serial)
	sctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(settlePoll)
	defer tick.Stop()
	for {
		res, err := dev.Shell(sctx, "logcat -d "+logcat.Args+" -s "+contract.Tag)
		if err == nil {
			for g := range finishedGroups(res.Stdout, pending) {
				delete(pending, g)
			}
			if len(pending) == 0 {
				return fmt.Sprintf("its ended calls finished on the device after %v", time.Since(start).Round(time.Millisecond)), nil
			}
		}
		select {
		case <-sctx.Done():
			why := "the device did not answer"
			if err == nil {
				why = "no call_ended or finishVoip for them in its log"
			}
			return "", fmt.Errorf("%d ended calls of %s not finished on the device after %v (%s); going on", len(pending), d.Name,
				time.Since(start).Round(time.Millisecond), why)
		case <-tick.C:
		}
	}
}

// finishedGroups yields the groupIds of want that the host app's contract
// lines in a logcat dump say are over.
func finishedGroups(dump []byte, want map[string]bool) map[string]bool {
	out := map[string]bool{}
	p := contract.NewParser()
	sc := bufio.NewScanner(bytes.NewReader(dump))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		e, err := logcat.ParseLine(sc.Text(), time.UTC, 0)
		if err != nil || e.Tag != contract.Tag {
			continue
		}
		ev, ok, err := p.Feed(e.Pid, e.Time, e.Msg)
		if err != nil || !ok {
			continue
		}
		g := ev.Str("groupId")
		switch {
		case ev.Name == contract.EvPushIgnored:
			for w := range want {
				if bytes.Contains([]byte(ev.Str("msg")), []byte("groupId="+w)) {
					out[w] = true
				}
			}
		case !want[g]:
		case ev.Name == contract.EvCallEnded,
			ev.Name == contract.EvVoipEvent && ev.VoipEventName() == "finishVoip":
			out[g] = true
		}
	}
	return out
}
