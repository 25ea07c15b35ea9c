package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// captureEvidence runs after a failed spec, before its cleanup, and keeps
// what the device showed: the contract events and logcat lines since the
// spec started, the UI tree, the activity stack, the processes, and what
// the WeChat side knows of the spec's calls and pushes.
func captureEvidence() {
	sr := CurrentSpecReport()
	if !sr.Failed() || F == nil {
		return
	}
	d := currentDevice()
	files := map[string]string{"failure.txt": sr.Failure.Message + "\n\n" + sr.Failure.Location.String() + "\n"}
	name := sr.FullText()
	if d != nil {
		name += " " + d.Spec.Name
		files["contract-events.txt"] = device.Describe(d.Log.Since(d.mark)) + "\n"
		files["logcat.txt"] = strings.Join(d.Log.LinesSince(d.specStart.Add(-time.Second)), "\n") + "\n"
		if bad := d.Log.Malformed(); len(bad) > 0 {
			files["contract-malformed.txt"] = strings.Join(bad, "\n") + "\n"
		}
		if d.Lost() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			for fname, cmd := range map[string]string{
				"ui.xml":         "uiautomator dump /dev/tty",
				"activities.txt": "dumpsys activity activities",
				"ps.txt":         "ps -A",
			} {
				res, err := d.ADB.Shell(ctx, cmd)
				if err != nil {
					files[fname] = fmt.Sprintf("(%s failed: %v)\n", cmd, err)
					continue
				}
				files[fname] = string(res.Stdout) + string(res.Stderr)
			}
			if F.Caller != nil {
				var calls []any
				d.mu.Lock()
				cs := append([]*Call(nil), d.calls...)
				d.mu.Unlock()
				for _, c := range cs {
					entry := map[string]any{"groupId": c.GroupID, "roomId": c.RoomID, "placed": c.Placed, "expected": c.Expected}
					if c.RoomID != "" {
						if r, err := F.Caller.Room(ctx, c.RoomID); err == nil {
							entry["room"] = r
						}
					}
					calls = append(calls, entry)
				}
				if len(calls) > 0 {
					b, _ := json.MarshalIndent(calls, "", "  ")
					files["calls.json"] = string(b) + "\n"
				}
				if d.Spec.Simulated {
					if p, err := F.Caller.Pushes(ctx, d.Spec.SN); err == nil {
						b, _ := json.MarshalIndent(p, "", "  ")
						files["pushes.json"] = string(b) + "\n"
					}
				}
			}
			cancel()
		}
	}
	paths, err := report.Evidence(F.shared.RunDir, fmt.Sprintf("%s-p%d-%d", name, F.proc, time.Now().UnixNano()%100000), files)
	if err != nil {
		GinkgoWriter.Printf("evidence: %v\n", err)
	}
	AddReportEntry(entryEvidence, paths, ReportEntryVisibilityNever)
}
