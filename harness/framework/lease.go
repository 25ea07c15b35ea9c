package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// Report entry names the framework uses.
const (
	entryDevice = "device"
)

// Lease gives the current spec its device — the device of the cell being
// run — ready to take a call (see Device.Prepare). A device that went
// away, or cannot be brought to a known state, ends the spec as an
// infrastructure loss, never as a product failure.
func Lease(ctx context.Context) *Device {
	ginkgo.GinkgoHelper()
	if F == nil {
		ginkgo.Fail(errNotSetUp.Error())
	}
	c := current()
	if c == nil {
		ginkgo.Fail("framework: no cell is running: call Lease inside a spec registered with framework.Describe")
	}
	ginkgo.AddReportEntry(entryDevice, c.spec, ginkgo.ReportEntryVisibilityNever)
	s, err := F.session(ctx, c.spec)
	if err != nil && errors.Is(err, device.ErrDeviceLost) {
		if back, _ := F.cameBack(ctx, c.spec, time.Time{}); back {
			// The adb server under it died and is back: open again.
			s, err = F.session(ctx, c.spec)
		}
	}
	if err != nil {
		F.deviceLost(c.spec, time.Time{}, err)
	}
	d := &Device{Session: s, f: F, specStart: time.Now(), mark: s.Log.Mark()}
	c.device = d
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) { d.cleanup(ctx) }, ginkgo.NodeTimeout(F.Timeouts.Cleanup))
	d.Prepare(ctx)
	return d
}

// deviceLost ends the spec as lost when err says the device (or the adb
// server under it) went away, and as a plain failure otherwise. A device
// cut off only by its adb server dying (and back once the run started the
// server again) stays in the run; the spec that was running is still lost.
// since is when the session that saw the loss was opened.
func (f *Framework) deviceLost(spec device.Spec, since time.Time, err error) {
	ginkgo.GinkgoHelper()
	if errors.Is(err, device.ErrDeviceLost) {
		detail := strings.TrimPrefix(err.Error(), "device lost: ")
		back, why := f.cameBack(context.Background(), spec, since)
		if back {
			ginkgo.Fail(LostMessage(LostADBServer, detail+" (the adb server died under it; the run started the server again and the device is back, so it stays in the run)"))
		}
		err = fmt.Errorf("%w (%s)", err, why)
		f.markLost(spec, err)
		ginkgo.Fail(LostMessage(LostDevice, spec.Name+": "+detail+" ("+why+")"))
	}
	ginkgo.Fail(fmt.Sprintf("%s: %v", spec.Name, err))
}

// markLost records the device as lost; the cell log quarantines it, so its
// remaining cells are not run.
func (f *Framework) markLost(spec device.Spec, err error) {
	_ = f.Results.Write(report.Record{Kind: report.KindDevice, Device: DeviceInfo(spec, report.DeviceLost, err.Error())})
}

// notFit ends the spec as lost to the device when it could not be brought
// to the known state every spec starts from; after QuarantineAfter such
// cells in a row the device is quarantined.
func (f *Framework) notFit(spec device.Spec, why string) {
	ginkgo.GinkgoHelper()
	ginkgo.Fail(LostMessage(LostDevice, fmt.Sprintf("%s %s: %s", spec.Name, notFitText, why)))
}
