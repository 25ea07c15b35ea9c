package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/hostapp"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wmpf"
)

// A reboot, as adb reboot (the reboot: service) or the reboot command asks
// for one: every ADB connection drops and the device stops listening; after
// part of the profile's boot time adbd listens again on the same address
// while the system comes up (sys.boot_completed unset), then the boot
// completes: sys.boot_completed=1, BOOT_COMPLETED, the host app starts,
// brings WMPF up and gets a new push token. What the system keeps across it
// is android.Persistent: packages, /data, settings.

// bootTargets are reboot targets a device without those boot modes
// refuses (setting sys.powerctl to them fails).
var bootTargets = map[string]bool{"bootloader": true, "recovery": true, "sideload": true, "sideload-auto-reboot": true, "fastboot": true}

// adbdUpFraction is the part of the boot time before adbd listens again
// (kernel and init); the rest is the framework starting.
const adbdUpFraction = 0.4

// Reboot reboots the device and waits until it has booted again
// (sys.boot_completed=1, host app started) or ctx ends. target is adb
// reboot's argument: "" reboots; bootloader, recovery, sideload and
// fastboot are refused as on a device without those modes.
func (d *Device) Reboot(ctx context.Context, target string) error {
	up, err := d.startReboot(target)
	if err != nil {
		return err
	}
	select {
	case <-up:
	case <-ctx.Done():
		return fmt.Errorf("reboot %s: %w", d.addr, ctx.Err())
	}
	if sys := d.System(); !sys.BootCompleted() {
		return fmt.Errorf("reboot %s: the device was closed before it booted", d.addr)
	}
	return nil
}

// RebootHook is what adbd's reboot: service calls: it starts the reboot and
// returns at once (nil), or refuses the target with the text adbd prints.
func (d *Device) RebootHook(target string) error {
	_, err := d.startReboot(target)
	return err
}

// power carries out the reboot command of the device's shell.
func (d *Device) power(action android.PowerAction, reason string) error {
	if action == android.PowerShutdown {
		d.logf("device %s: powered off (reboot -p)", d.cfg.SN)
		go d.Close()
		return nil
	}
	return d.RebootHook(reason)
}

func (d *Device) logf(format string, args ...any) {
	if d.cfg.Logf != nil {
		d.cfg.Logf(format, args...)
	}
}

// startReboot starts a reboot in the background; the channel is closed
// when it has ended (booted, or stopped by Close).
func (d *Device) startReboot(target string) (<-chan struct{}, error) {
	if bootTargets[target] {
		return nil, fmt.Errorf("reboot (reboot,%s) failed", target)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("reboot (reboot,%s) failed", target)
	}
	if d.rebooting {
		return d.up, nil
	}
	d.rebooting = true
	d.up = make(chan struct{})
	d.wg.Add(1)
	go d.reboot(target, d.up)
	return d.up, nil
}

func (d *Device) bootTime() time.Duration {
	dist := d.cfg.Profile.Timing.Boot
	if dist.IsZero() {
		dist = profile.DefaultBoot
	}
	return d.sampler.Sample(dist)
}

func (d *Device) reboot(reason string, up chan struct{}) {
	defer d.wg.Done()
	defer close(up)
	defer func() {
		d.mu.Lock()
		d.rebooting = false
		d.mu.Unlock()
	}()
	start := time.Now()
	d.mu.Lock()
	srv, sys, app := d.adbd, d.sys, d.app
	d.mu.Unlock()
	d.logf("device %s: rebooting (reason %q)", d.cfg.SN, reason)
	// The device goes down: connections drop, nothing listens.
	_ = srv.Close()
	settings := app.Settings()
	clockOffset := time.Until(sys.Clock().Now())
	kept := sys.Shutdown()
	total := d.bootTime()
	if !profile.Sleep(d.ctx, time.Duration(float64(total)*adbdUpFraction)) {
		return
	}
	d.mu.Lock()
	d.boots++
	d.mu.Unlock()
	newSys, wm, newApp, err := d.bootAgain(kept, clockOffset, &settings)
	if err != nil {
		d.logf("device %s: reboot failed: %v", d.cfg.SN, err)
		go d.Close()
		return
	}
	ln, err := listenAgain(d.ctx, d.addr)
	if err != nil {
		newSys.Close()
		if !errors.Is(err, context.Canceled) {
			d.logf("device %s: reboot: %v", d.cfg.SN, err)
			go d.Close()
		}
		return
	}
	srv2, err := adbd.Start(d.adbdConfig(ln))
	if err != nil {
		ln.Close()
		newSys.Close()
		d.logf("device %s: reboot: %v", d.cfg.SN, err)
		go d.Close()
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		_ = srv2.Close()
		newSys.Close()
		return
	}
	d.sys, d.wmpf, d.adbd = newSys, wm, srv2
	if newApp != nil {
		d.app = newApp
	}
	d.mu.Unlock()
	if !profile.Sleep(d.ctx, total-time.Since(start)) {
		return
	}
	newSys.CompleteBoot()
	if newApp != nil && newApp.StartsAtBoot() {
		// As NewDevice: the host app starts at boot with its main screen.
		ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
		if err := newApp.Boot(ctx); err != nil && d.ctx.Err() == nil {
			d.logf("device %s: host app did not start after the reboot: %v", d.cfg.SN, err)
		}
		cancel()
	}
	d.logf("device %s: rebooted in %v", d.cfg.SN, time.Since(start).Round(time.Millisecond))
}

// bootAgain boots the system with what the last boot kept and gives WMPF
// and the host app (if it is still installed) their code back.
func (d *Device) bootAgain(kept *android.Persistent, clockOffset time.Duration, settings *hostapp.Settings) (*android.System, *wmpf.Service, *hostapp.App, error) {
	sys, err := d.bootSystem(kept, true, clockOffset)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("boot: %w", err)
	}
	timing, _ := d.behaviour()
	wm, err := d.installWMPF(sys, timing)
	if err != nil {
		sys.Close()
		return nil, nil, nil, err
	}
	d.mu.Lock()
	d.wmpf = wm // the host app binds to this boot's WMPF
	d.mu.Unlock()
	if !kept.Has(d.cfg.HostPackage) {
		return sys, wm, nil, nil
	}
	app, err := d.installHostApp(sys, settings)
	if err != nil {
		sys.Close()
		return nil, nil, nil, err
	}
	return sys, wm, app, nil
}

// listenAgain listens on the device's address again, retrying briefly
// while the old socket lets go of it.
func listenAgain(ctx context.Context, addr string) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("listen %s again: %w", addr, err)
		}
		if !profile.Sleep(ctx, 50*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
}
