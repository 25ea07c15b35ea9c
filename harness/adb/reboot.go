package adb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// RebootTarget is where a device reboots to (`adb reboot TARGET`).
type RebootTarget string

// The targets adbd's reboot service takes.
const (
	RebootSystem             RebootTarget = "" // Android again
	RebootBootloader         RebootTarget = "bootloader"
	RebootRecovery           RebootTarget = "recovery"
	RebootSideload           RebootTarget = "sideload"
	RebootSideloadAutoReboot RebootTarget = "sideload-auto-reboot"
	RebootFastboot           RebootTarget = "fastboot" // userspace fastboot (Android 10+)
)

var rebootTargets = []RebootTarget{RebootSystem, RebootBootloader, RebootRecovery, RebootSideload, RebootSideloadAutoReboot, RebootFastboot}

// Link says how the adb server reaches a device, which decides how it comes
// back after a reboot.
type Link string

const (
	// LinkUSB: the server finds the device by itself when it comes back
	// (USB, emulators).
	LinkUSB Link = "usb"
	// LinkNetwork: the device was reached with `adb connect HOST:PORT`
	// (its serial); WaitBoot connects it again.
	LinkNetwork Link = "network"
)

// ParseLink checks a Link named in configuration.
func ParseLink(s string) (Link, error) {
	switch l := Link(s); l {
	case LinkUSB, LinkNetwork:
		return l, nil
	}
	return "", fmt.Errorf("link %q: allowed values are %s and %s", s, LinkUSB, LinkNetwork)
}

// rebootPoll is how often Reboot looks for the device to go away.
const rebootPoll = 50 * time.Millisecond

// Reboot asks the device to reboot into target (RebootSystem, "", for
// Android) through adbd's reboot service, as `adb reboot` does, and returns
// once the device has gone away: the server no longer lists it as
// `device`, or lists it under another transport. Anything the device
// printed (`reboot: Operation not permitted`) means it refused: that is
// the error. Wait for it to come back with WaitBoot.
func (d *Device) Reboot(ctx context.Context, target RebootTarget) error {
	known := false
	for _, t := range rebootTargets {
		known = known || t == target
	}
	if !known {
		names := make([]string, len(rebootTargets))
		for i, t := range rebootTargets {
			names[i] = fmt.Sprintf("%q", string(t))
		}
		return &Error{Op: "reboot", Serial: d.serial, Msg: fmt.Sprintf("target %q: allowed values are %s", target, strings.Join(names, ", "))}
	}
	before, err := d.listing(ctx)
	if err != nil {
		return &Error{Op: "reboot", Serial: d.serial, Msg: "before the reboot", Err: err}
	}
	h, err := d.open(ctx, "reboot", "reboot:"+string(target))
	if err != nil {
		return err
	}
	stop := watch(ctx, h)
	// The stream ends as the device goes down, cleanly or not: only what
	// the device said matters.
	said, _ := io.ReadAll(io.LimitReader(h.r, 4096))
	stop()
	h.Close()
	d.forgetFeatures()
	if ctx.Err() != nil {
		return &Error{Op: "reboot", Serial: d.serial, Err: context.Cause(ctx)}
	}
	if text := strings.TrimSpace(string(said)); text != "" {
		return &Error{Op: "reboot", Serial: d.serial, Msg: "the device refused: " + text}
	}
	tick := time.NewTicker(rebootPoll)
	defer tick.Stop()
	for {
		now, err := d.listing(ctx)
		if err == nil && (now.State != StateDevice || now.TransportID != before.TransportID) {
			return nil
		}
		select {
		case <-ctx.Done():
			return &Error{Op: "reboot", Serial: d.serial, Msg: "the device was still listed as device after the reboot request", Err: context.Cause(ctx)}
		case <-tick.C:
		}
	}
}

// listing is the device's line of `adb devices -l` (State StateGone when it
// is not listed).
func (d *Device) listing(ctx context.Context) (DeviceInfo, error) {
	list, err := d.c.Devices(ctx)
	if err != nil {
		return DeviceInfo{}, err
	}
	for _, info := range list {
		if info.Serial == d.serial {
			return info, nil
		}
	}
	return DeviceInfo{Serial: d.serial, State: StateGone}, nil
}

// bootPoll is how often WaitBoot looks at the device.
const bootPoll = 250 * time.Millisecond

// reconnectEvery bounds how often WaitBoot reconnects a network device.
const reconnectEvery = 500 * time.Millisecond

// WaitBoot waits until the device is listed as `device` and Android has
// finished booting (`getprop sys.boot_completed` prints 1). For a
// LinkNetwork device it connects the device again while it is offline or
// gone (`adb disconnect` + `adb connect`: the server's own retries are
// slow). Call it after Reboot, which returns once the device went away.
// When ctx ends, the error says what it saw last.
func (d *Device) WaitBoot(ctx context.Context, link Link) error {
	if _, err := ParseLink(string(link)); err != nil {
		return &Error{Op: "wait-boot", Serial: d.serial, Err: err}
	}
	tick := time.NewTicker(bootPoll)
	defer tick.Stop()
	var last string
	var lastConnect time.Time
	for {
		info, err := d.listing(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case info.State != StateDevice:
			last = "listed as " + string(info.State)
			if link == LinkNetwork && (info.State == StateOffline || info.State == StateGone) && time.Since(lastConnect) >= reconnectEvery {
				lastConnect = time.Now()
				if cerr := d.reconnect(ctx, info.State); cerr != nil {
					last += "; " + cerr.Error()
				}
			}
		default:
			res, err := d.Shell(ctx, "getprop sys.boot_completed")
			switch {
			case err != nil:
				last = "getprop: " + err.Error()
			case strings.TrimSpace(string(res.Stdout)) == "1":
				d.forgetFeatures()
				return nil
			default:
				last = fmt.Sprintf("sys.boot_completed is %q", strings.TrimSpace(string(res.Stdout)))
			}
		}
		select {
		case <-ctx.Done():
			return &Error{Op: "wait-boot", Serial: d.serial, Msg: "still " + last, Err: context.Cause(ctx)}
		case <-tick.C:
		}
	}
}

// reconnect connects a network device again.
func (d *Device) reconnect(ctx context.Context, st State) error {
	if st == StateOffline {
		if err := d.c.Disconnect(ctx, d.serial); err != nil && !errors.Is(err, ErrDeviceNotFound) {
			return err
		}
	}
	return d.c.Connect(ctx, d.serial)
}
