package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// Report entry names the framework uses.
const (
	entryDevice   = "device"
	entryEvidence = "evidence"
)

// lease is an exclusive hold on a device across all Ginkgo processes: an
// flock on runDir/leases/<device>. The lock goes with the process if it dies.
type lease struct {
	f *os.File
}

func tryLock(path string, block bool) (*lease, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !block {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return &lease{f: f}, nil
}

func (l *lease) release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// acquire leases a device for the current spec: this process's own device
// first (process N's is the N-th), another free one if that is taken or
// lost, else it waits for its own.
func (f *Framework) acquire(ctx context.Context) (device.Spec, *lease, error) {
	devs := f.Farm.Devices
	if len(devs) == 0 {
		return device.Spec{}, nil, errors.New("the farm has no healthy device")
	}
	dir := filepath.Join(f.shared.RunDir, "leases")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return device.Spec{}, nil, err
	}
	home := (f.proc - 1) % len(devs)
	order := make([]int, 0, len(devs))
	for i := range devs {
		order = append(order, (home+i)%len(devs))
	}
	for {
		alive := 0
		for _, i := range order {
			d := devs[i]
			if f.isLost(d.Name) {
				continue
			}
			alive++
			l, err := tryLock(filepath.Join(dir, report.SafeName(d.Name)), false)
			if err == nil {
				return d, l, nil
			}
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				return device.Spec{}, nil, fmt.Errorf("lease %s: %w", d.Name, err)
			}
		}
		if alive == 0 {
			return device.Spec{}, nil, errAllLost
		}
		// All taken: wait for a release, polling because flock has no
		// "any of these" form.
		select {
		case <-ctx.Done():
			return device.Spec{}, nil, fmt.Errorf("waiting for a free device: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PlannedDevices is how many devices the farm file lists, for specs that
// run once per device (known when the spec tree is built, before the farm
// is up). It fails the tree if the farm file cannot be read.
func PlannedDevices() int {
	file := pick(*devicesFlag, "WMPF_HIL_DEVICES", filepath.Join(moduleRoot(), farmFile))
	cfg, err := loadFarm(file)
	if err != nil {
		panic(fmt.Sprintf("farm file: %v", err))
	}
	return cfg.DeviceCount()
}

// LeaseIndex is Lease for the i-th healthy device of the farm, waiting for
// it if another spec holds it. When the farm has fewer healthy devices the
// spec is skipped with the reason (the device was taken out of the run).
func LeaseIndex(ctx context.Context, i int) *Device {
	GinkgoHelper()
	if F == nil {
		Fail("framework not set up: call framework.Setup() at package level")
	}
	devs := F.Farm.Devices
	if i >= len(devs) {
		reasons := ""
		for _, x := range F.Farm.Excluded {
			reasons += fmt.Sprintf("; %s: %s", x.Device.Name, x.Reason)
		}
		Skip(fmt.Sprintf("the farm has %d healthy devices, no device %d%s", len(devs), i+1, reasons))
	}
	spec := devs[i]
	if F.isLost(spec.Name) {
		Fail(LostPrefix + spec.Name + " was lost earlier in the run")
	}
	dir := filepath.Join(F.shared.RunDir, "leases")
	_ = os.MkdirAll(dir, 0o755)
	l, err := tryLock(filepath.Join(dir, report.SafeName(spec.Name)), true)
	if err != nil {
		Fail(fmt.Sprintf("lease %s: %v", spec.Name, err))
	}
	return F.begin(ctx, spec, l)
}

// Lease gives the current spec a device of its own for its duration,
// ready to take a call (see Device.Prepare). A device that went away makes
// the spec fail as "device lost".
func Lease(ctx context.Context) *Device {
	GinkgoHelper()
	if F == nil {
		Fail("framework not set up: call framework.Setup() at package level")
	}
	spec, l, err := F.acquire(ctx)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, errAllLost) {
			Fail(LostPrefix + err.Error())
		}
		Fail(err.Error())
	}
	return F.begin(ctx, spec, l)
}

// begin starts a spec on a leased device.
func (f *Framework) begin(ctx context.Context, spec device.Spec, l *lease) *Device {
	GinkgoHelper()
	DeferCleanup(l.release)
	AddReportEntry(entryDevice, spec, ReportEntryVisibilityNever)
	s, err := f.session(ctx, spec)
	if err != nil && errors.Is(err, device.ErrDeviceLost) && f.cameBack(ctx, spec, time.Time{}) {
		// The adb server under it died and is back: open again.
		s, err = f.session(ctx, spec)
	}
	if err != nil {
		f.deviceLost(spec, time.Time{}, err)
	}
	d := &Device{Session: s, f: f, specStart: time.Now(), mark: s.Log.Mark()}
	f.setCurrent(d)
	DeferCleanup(func(ctx SpecContext) { d.cleanup(ctx) }, NodeTimeout(30*time.Second))
	d.Prepare(ctx)
	return d
}

var errAllLost = errors.New("every device of the farm was lost")

// deviceLost fails the spec as "device lost" when err says the device went
// away, and as a plain failure otherwise. A device cut off only by its adb
// server dying (and back once the run started the server again) stays in
// the run; the spec that was running is still reported as device lost.
// since is when the session that saw the loss was opened.
func (f *Framework) deviceLost(spec device.Spec, since time.Time, err error) {
	GinkgoHelper()
	if errors.Is(err, device.ErrDeviceLost) {
		msg := LostPrefix + strings.TrimPrefix(err.Error(), LostPrefix)
		if f.cameBack(context.Background(), spec, since) {
			Fail(msg + " (the adb server died under it; the run started the server again and the device is back, so it stays in the run)")
		}
		f.markLost(spec.Name, err)
		Fail(msg)
	}
	Fail(fmt.Sprintf("%s: %v", spec.Name, err))
}
