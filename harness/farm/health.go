package farm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/install"
)

// check connects a device if asked, reads what the run records of it,
// prepares it (prepare may be nil) and runs its health check. It returns
// the device and the reason to exclude it, or "".
func (f *Farm) check(ctx context.Context, d device.Spec, prepare func(context.Context, *device.Spec) error) (device.Spec, string) {
	c := adb.NewClient(d.Server)
	if d.Connect {
		if err := c.Connect(ctx, d.Serial); err != nil {
			return d, "adb connect failed: " + err.Error()
		}
	}
	st, err := c.WaitForState(ctx, d.Serial, adb.StateDevice, adb.StateUnauthorized)
	switch {
	case st == adb.StateUnauthorized:
		return d, "unauthorized: accept this host's adb key on the device"
	case err != nil:
		return d, fmt.Sprintf("not ready (state %s): %v", st, err)
	}
	dev := c.Device(d.Serial)
	if d.Model == "" {
		if out, err := dev.Run(ctx, "getprop ro.product.model"); err == nil {
			d.Model = strings.TrimSpace(out)
		}
	}
	if out, err := dev.Run(ctx, "getprop ro.build.version.release"); err == nil {
		d.AndroidVersion = strings.TrimSpace(out)
	}
	if d.Install != nil {
		if err := f.installBuild(ctx, &d); err != nil {
			return d, err.Error()
		}
	}
	if d.HostPackage != "" {
		// What is installed, whoever installed it: the reports name the
		// host app build each device ran.
		if out, err := dev.Run(ctx, "dumpsys package "+adb.Quote(d.HostPackage)); err == nil {
			if p, err := install.ParseDumpsysPackage(out, d.HostPackage); err == nil {
				d.HostVersionName, d.HostVersionCode = p.VersionName, p.VersionCode
			}
		}
	}
	if prepare != nil {
		if err := prepare(ctx, &d); err != nil {
			return d, err.Error()
		}
	}
	return d, Health(ctx, d, f.Spec.WeChatSide())
}

// Health checks that a device can take calls, waiting for a device still
// starting until ctx ends, and brings it to the known state every spec
// starts from (device.Session.Reset: no call in progress on the device or
// on the WeChat side w, the call page closed, the host app fresh). It
// returns "" when healthy, else the reason.
func Health(ctx context.Context, d device.Spec, w device.WeChatSide) string {
	s, err := device.Open(ctx, d)
	if err != nil {
		return "cannot open a session: " + err.Error()
	}
	defer s.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultHealthTimeout)
	}
	if r := s.WaitReady(ctx, time.Until(deadline)); r != "" {
		return r
	}
	if _, err := s.Reset(ctx, w, time.Until(deadline)); err != nil {
		return "cannot be brought to a known state: " + err.Error()
	}
	return ""
}

// WeChatSide is the run's WeChat side as a device reset needs it: the
// simulated side's admin API ends a device's calls and tells its push
// token; WeChat's own servers (mode real) have neither.
func (s Spec) WeChatSide() device.WeChatSide {
	if s.WeChat.Mode == WeChatReal || s.WeChat.URL == "" {
		return nil
	}
	if c := s.Caller(); c != nil {
		return c
	}
	return nil
}

// Caller is a client of the run's WeChat side (nil when there is none).
func (s Spec) Caller() *caller.Client {
	w := s.WeChat
	switch {
	case w.Token != "":
		return caller.NewWithToken(w.URL, w.Token)
	case w.URL != "":
		return caller.New(w.URL, w.AppID, w.Secret)
	}
	return nil
}
