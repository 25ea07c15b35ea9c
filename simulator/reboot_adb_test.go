package simulator_test

// Reboots of a simulated device driven through the real adb server and the
// real adb command, as a farm does: adb reboot, the device goes away and
// comes back, and a call placed afterwards reaches it.

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// fastBoot keeps the reboot tests short: the panel profile with a 1.5 s boot.
func fastBoot(t *testing.T) *profile.Profile {
	p := *loadProfile(t, "panel")
	p.Timing.Boot = profile.Const(1500 * time.Millisecond)
	return &p
}

// waitBooted polls until the device answers with sys.boot_completed=1. The
// adb server keeps a TCP device that went away as offline and reconnects
// it by itself only after several seconds, so, as a farm does, it runs adb
// disconnect and adb connect while the device is not back.
func waitBooted(t *testing.T, a *adbCLI, serial string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	lastConnect := time.Time{}
	for {
		out, _, code := a.run("-s", serial, "shell", "getprop sys.boot_completed")
		if code == 0 && strings.TrimSpace(out) == "1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come back with sys.boot_completed=1 in %v (state %q)", serial, within, a.state(serial))
		}
		if a.state(serial) != "device" && time.Since(lastConnect) > 250*time.Millisecond {
			a.run("disconnect", serial)
			a.run("connect", serial)
			lastConnect = time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAdbRebootComesBackWithWMPFANewPushTokenAndTakesACall(t *testing.T) {
	p := loadProfile(t, "panel") // its own boot time: the figures logged are the profile's
	_, dev, c := startFarm(t, simulator.DeviceConfig{Profile: p})
	a := newADB(t)
	serial, sn := dev.Serial(), dev.SN()
	a.connect(serial)
	tok1 := pushToken(t, c, sn, "", 20*time.Second)
	pid1 := a.shell(serial, "pidof "+hostPkg)
	ssPid1 := a.shell(serial, "pidof system_server")
	a.shell(serial, "log -t DevlifeTest before-the-reboot; echo kept > /data/local/tmp/kept.txt")

	start := time.Now()
	out, errs, code := a.run("-s", serial, "reboot")
	if code != 0 || out != "" {
		t.Fatalf("adb reboot: exit %d stdout %q stderr %q", code, out, errs)
	}
	// The device is gone: the adb server no longer has it as a device and
	// nothing listens on its address.
	if st := a.state(serial); st == "device" {
		t.Errorf("right after adb reboot the device is still %q", st)
	}
	if conn, err := net.DialTimeout("tcp", serial, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections right after adb reboot", serial)
	}
	waitBooted(t, a, serial, 30*time.Second)
	booted := time.Since(start)

	if got := a.shell(serial, "pidof com.tencent.wmpf"); got == "" {
		t.Error("WMPF is not running after the reboot")
	}
	if pid2 := a.shell(serial, "pidof "+hostPkg); pid2 == "" || pid2 == pid1 {
		t.Errorf("host app pid before %q, after %q: want a new process", pid1, pid2)
	}
	if ss := a.shell(serial, "pidof system_server"); ss == ssPid1 {
		t.Logf("system_server has pid %s again (possible, but unlikely)", ss)
	}
	if logs := a.must("-s", serial, "logcat", "-d"); strings.Contains(logs, "before-the-reboot") {
		t.Error("logcat still has a line from before the reboot")
	}
	if kept := a.shell(serial, "cat /data/local/tmp/kept.txt"); kept != "kept" {
		t.Errorf("/data/local/tmp/kept.txt after the reboot: %q", kept)
	}
	up := a.shell(serial, "cat /proc/uptime")
	secs, _ := strconv.ParseFloat(strings.Fields(up)[0], 64)
	if secs <= 0 || time.Duration(secs*float64(time.Second)) > time.Since(start) {
		t.Errorf("uptime %q after a reboot %v ago", up, time.Since(start))
	}
	tok2 := pushToken(t, c, sn, tok1, 20*time.Second)
	gotToken := time.Since(start)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CallWMPF(ctx, caller.CallRequest{RoomType: "voice", SN: sn, ModelID: dev.ModelID(), PushToken: tok2, NickName: "After reboot"})
	if err != nil {
		t.Fatalf("callWMPF after the reboot: %v", err)
	}
	// The call page is launched and resumed.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(a.shell(serial, "dumpsys activity activities | grep -E 'mResumedActivity|ResumedActivity:'"), "AppBrandUI00") {
		if time.Now().After(deadline) {
			t.Fatalf("the call page (room %s) was not shown after the reboot:\n%s", res.RoomID, a.shell(serial, "dumpsys activity activities"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	callable := time.Since(start)
	hooks := a.must("-s", serial, "logcat", "-d", "-s", hookTag)
	if !regexp.MustCompile(`"ev":"launch_called"`).MatchString(hooks) {
		t.Errorf("no launch_called hook line after the reboot:\n%s", hooks)
	}
	t.Logf("adb reboot → sys.boot_completed=1 in %v; new push token at %v; call page shown at %v (profile %s, boot %s)",
		booted.Round(time.Millisecond), gotToken.Round(time.Millisecond), callable.Round(time.Millisecond), p.Name, p.Timing.Boot)
}

func TestAdbRebootBootloaderIsRefusedAndPowerOffStaysOff(t *testing.T) {
	_, dev, _ := startFarm(t, simulator.DeviceConfig{Profile: fastBoot(t)})
	a := newADB(t)
	serial := dev.Serial()
	a.connect(serial)
	for _, target := range []string{"bootloader", "recovery"} {
		out, errs, code := a.run("-s", serial, "reboot", target)
		if out+errs != "reboot (reboot,"+target+") failed\n" {
			t.Errorf("adb reboot %s: exit %d stdout %q stderr %q", target, code, out, errs)
		}
	}
	if st := a.state(serial); st != "device" {
		t.Fatalf("after refused reboots the device is %q", st)
	}
	if got := a.shell(serial, "getprop sys.boot_completed"); got != "1" {
		t.Errorf("sys.boot_completed %q", got)
	}
	// reboot -p from the device's shell: it powers off and stays off.
	a.run("-s", serial, "shell", "reboot -p")
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", serial, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the device still listens 10 s after reboot -p")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // longer than its boot time: it must not come back
	if conn, err := net.DialTimeout("tcp", serial, time.Second); err == nil {
		conn.Close()
		t.Error("the device came back after reboot -p")
	}
}
