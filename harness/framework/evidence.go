package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// ScreenshotFile is the name of a failure's screenshot in its evidence.
const ScreenshotFile = "screenshot.png"

// captureEvidence keeps what the device showed when an attempt failed:
// the contract events and logcat lines since the cell started, a
// screenshot, the UI tree, the activity stack, the processes, and what the
// WeChat side knows of the cell's calls and pushes. It writes them under
// evidence/<device>/<spec>-<hash>[-aN]/ — one folder per cell and attempt,
// never shared — and returns their paths and the screenshot's.
func captureEvidence(c *cell, att report.Attempt) ([]string, string) {
	sr := ginkgo.CurrentSpecReport()
	files := map[string][]byte{"failure.txt": []byte(att.Failure + "\n\n" + sr.Failure.Location.String() + "\n")}
	d := c.device
	if d != nil {
		files["contract-events.txt"] = []byte(device.Describe(d.Log.Since(d.mark)) + "\n")
		files["logcat.txt"] = []byte(strings.Join(d.Log.LinesSince(d.specStart.Add(-time.Second)), "\n") + "\n")
		if bad := d.Log.Malformed(); len(bad) > 0 {
			files["contract-malformed.txt"] = []byte(strings.Join(bad, "\n") + "\n")
		}
		// A cell lost to the WeChat side says nothing about the device, and
		// the WeChat side cannot be asked: keep what is in memory only (a
		// device frozen with it would hold each lost cell up for long).
		if d.Lost() == nil && att.LostTo != LostWeChat {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			d.deviceEvidence(ctx, files)
			cancel()
		}
	}
	text := make(map[string]string, len(files))
	for name, b := range files {
		text[name] = string(b)
	}
	paths, err := report.Evidence(F.RunDir(), c.Device, c.Spec, c.Attempt, text)
	if err != nil {
		ginkgo.GinkgoWriter.Printf("evidence: %v\n", err)
	}
	shot := ""
	for _, p := range paths {
		if path.Base(p) == ScreenshotFile {
			shot = p
		}
	}
	return paths, shot
}

// deviceEvidence reads the device's screen, UI tree, activities and
// processes, and the WeChat side's view of the cell's calls.
func (d *Device) deviceEvidence(ctx context.Context, files map[string][]byte) {
	if png, err := d.ADB.Screencap(ctx); err != nil {
		files["screenshot-error.txt"] = []byte(fmt.Sprintf("exec-out screencap -p: %v\n", err))
	} else {
		files[ScreenshotFile] = png
	}
	for fname, cmd := range map[string]string{
		"ui.xml":         "uiautomator dump /dev/tty",
		"activities.txt": "dumpsys activity activities",
		"ps.txt":         "ps -A",
	} {
		res, err := d.ADB.Shell(ctx, cmd)
		if err != nil {
			files[fname] = []byte(fmt.Sprintf("(%s failed: %v)\n", cmd, err))
			continue
		}
		files[fname] = append(res.Stdout, res.Stderr...)
	}
	if d.f.Caller == nil {
		return
	}
	var calls []any
	d.mu.Lock()
	cs := append([]*Call(nil), d.calls...)
	d.mu.Unlock()
	for _, c := range cs {
		entry := map[string]any{"groupId": c.GroupID, "roomId": c.RoomID, "placed": c.Placed, "expected": c.Expected}
		if c.RoomID != "" {
			if r, err := d.f.Caller.Room(ctx, c.RoomID); err == nil {
				entry["room"] = r
			}
		}
		calls = append(calls, entry)
	}
	if len(calls) > 0 {
		b, _ := json.MarshalIndent(calls, "", "  ")
		files["calls.json"] = append(b, '\n')
	}
	if d.Spec.Simulated {
		if p, err := d.f.Caller.Pushes(ctx, d.Spec.SN); err == nil {
			b, _ := json.MarshalIndent(p, "", "  ")
			files["pushes.json"] = append(b, '\n')
		}
	}
}
