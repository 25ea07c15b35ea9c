package simulator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/build"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// TestRebootBootSequence watches a reboot from inside: the system of the
// new boot first has no sys.boot_completed and its boot animation running,
// then completes; logcat, processes and uptime are new; what /data,
// settings and persist.* held is kept; the installed build comes back.
func TestRebootBootSequence(t *testing.T) {
	dev := simtest.Device(t, simulator.DeviceConfig{Profile: fastBoot(t)})
	old := dev.System()
	run := func(sys *android.System, cmd string) string {
		var out strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Exec(ctx, cmd, android.Stdio{Stdout: &out, Stderr: &out})
		return strings.TrimSpace(out.String())
	}
	run(old, "echo data > /data/local/tmp/f; echo card > /sdcard/Download/g; settings put global wifi_on 0; setprop persist.vendor.x 7; setprop debug.vendor.y 8; log -t Mark before")
	k, err := build.NewKey("test")
	if err != nil {
		t.Fatal(err)
	}
	apk, err := build.Make(build.Options{VersionName: "9.9-kept", VersionCode: 990, Key: k, Spec: build.Spec{Defects: []string{"late-listener"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.InstallAPK(apk, android.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	oldPids := map[string]int{}
	for _, p := range old.Processes() {
		oldPids[p.Name] = p.Pid
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- dev.Reboot(ctx, "")
	}()
	// The new boot's system appears before its boot completes.
	var booting *android.System
	deadline := time.Now().Add(20 * time.Second)
	for booting == nil {
		if s := dev.System(); s != old {
			booting = s
		}
		if time.Now().After(deadline) {
			t.Fatal("no new system appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := booting.GetProp("sys.boot_completed"); got != "" {
		t.Errorf("sys.boot_completed while booting: %q", got)
	}
	if got := booting.GetProp("init.svc.bootanim"); got != "running" {
		t.Errorf("init.svc.bootanim while booting: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sys := dev.System()
	if sys != booting || sys.GetProp("sys.boot_completed") != "1" || sys.GetProp("init.svc.bootanim") != "stopped" {
		t.Fatalf("after the reboot: boot_completed %q bootanim %q", sys.GetProp("sys.boot_completed"), sys.GetProp("init.svc.bootanim"))
	}
	for cmd, want := range map[string]string{
		"cat /data/local/tmp/f":                                      "data",
		"cat /sdcard/Download/g":                                     "card",
		"settings get global wifi_on":                                "0",
		"getprop persist.vendor.x":                                   "7",
		"getprop debug.vendor.y":                                     "",
		"pm list packages --show-versioncode com.example.voipdevice": "package:com.example.voipdevice versionCode:990",
	} {
		if got := run(sys, cmd); got != want {
			t.Errorf("%s after the reboot: %q, want %q", cmd, got, want)
		}
	}
	if got := run(sys, "logcat -d -s Mark"); strings.Contains(got, "before") {
		t.Errorf("logcat keeps a line from before the reboot: %q", got)
	}
	if !strings.Contains(run(sys, "logcat -d -b all"), "Finished processing BOOT_COMPLETED") {
		t.Error("no BOOT_COMPLETED line in the new boot's log")
	}
	if up := sys.Clock().Uptime(); up > 10*time.Second {
		t.Errorf("uptime %v after the reboot", up)
	}
	same := 0
	for _, p := range sys.Processes() {
		if oldPids[p.Name] == p.Pid && p.Pid > 100 {
			same++
		}
	}
	if same > 3 {
		t.Errorf("%d processes kept their pids across the reboot", same)
	}
	if dev.HostVersion() != "9.9-kept" || strings.Join(dev.Defects(), ",") != "late-listener" {
		t.Errorf("host app after the reboot: %q %v", dev.HostVersion(), dev.Defects())
	}
	if p := sys.Package("com.example.voipdevice"); p == nil || p.APK == nil || p.Uid != old.Package("com.example.voipdevice").Uid {
		t.Errorf("host package after the reboot: %+v", p)
	}
}

func TestRebootRefusalsAndClose(t *testing.T) {
	dev := simtest.Device(t, simulator.DeviceConfig{Profile: fastBoot(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, target := range []string{"bootloader", "recovery", "sideload", "fastboot"} {
		err := dev.Reboot(ctx, target)
		if err == nil || err.Error() != "reboot (reboot,"+target+") failed" {
			t.Errorf("reboot %s: %v", target, err)
		}
	}
	// Close in the middle of a reboot stops it.
	if err := dev.RebootHook(""); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { dev.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return during a reboot")
	}
	if err := dev.RebootHook(""); err == nil {
		t.Error("a closed device accepted a reboot")
	}
}
