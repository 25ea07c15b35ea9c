package simulator_test

// Installing APKs on a simulated device through the real adb server and the
// real adb command (adb install, install-multiple, uninstall, shell pm
// install), with real APKs: simulated builds made by wmpf-sim apk, and
// APKs built by Debian's aapt and signed by apksigner.
//
// What these tests need of the simulated adbd: adb install streams the APK
// only to a device whose features include cmd (over exec:cmd package) or
// abb_exec; otherwise it pushes it with the sync service. adbd here sends
// its CNXN banner with a trailing NUL, which makes the adb server drop the
// last feature (cmd), and has no sync service, so the tests that run
// adb install (the first two) and adb push (the third) pass once branch
// adbd (abb_exec, sync) is merged. adb install-multiple and uninstall work
// already (exec:pm, shell).

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
	"github.com/wmpf-hil/wmpf-hil/simulator"
)

// simBuild makes a simulated build with the wmpf-sim command.
func simBuild(t *testing.T, key string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "build.apk")
	cmd := exec.Command(wmpfSimBin, append([]string{"apk", "-o", out, "-key", key}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wmpf-sim apk %v: %v\n%s", args, err, b)
	}
	return out
}

// hookEvents are the contract lines of one event in the device's logcat.
func hookEvents(t *testing.T, a *adbCLI, serial, ev string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(a.must("-s", serial, "logcat", "-d", "-v", "raw", "-s", hookTag), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(strings.TrimSpace(l)), &m) == nil && m["ev"] == ev {
			out = append(out, m)
		}
	}
	return out
}

// callPageDelay places a call and returns how long after launch_called the
// call page showed (the host app's hook lines, device clock).
func callPageDelay(t *testing.T, a *adbCLI, c *caller.Client, dev *simulator.Device, token string) time.Duration {
	t.Helper()
	a.must("-s", dev.Serial(), "logcat", "-c")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CallWMPF(ctx, caller.CallRequest{RoomType: "video", SN: dev.SN(), ModelID: dev.ModelID(), PushToken: token, NickName: "Nightly"})
	if err != nil {
		t.Fatalf("callWMPF: %v", err)
	}
	// The caller gives up once the page has shown, so that the next call
	// finds the device free.
	defer func() {
		if err := c.Cancel(ctx, res.RoomID); err != nil {
			t.Errorf("cancel %s: %v", res.RoomID, err)
		}
		if _, err := c.WaitRoom(ctx, res.RoomID, 50*time.Millisecond, func(r protocol.Room) bool { return r.State == "ended" }); err != nil {
			t.Errorf("room %s did not end: %v", res.RoomID, err)
		}
	}()
	stamp := regexp.MustCompile(`^\s*([0-9]+\.[0-9]+)`)
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		var launched, shown float64
		for _, l := range strings.Split(a.must("-s", dev.Serial(), "logcat", "-d", "-v", "epoch", "-s", hookTag), "\n") {
			m := stamp.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			at, _ := strconv.ParseFloat(m[1], 64)
			switch {
			case strings.Contains(l, `"ev":"launch_called"`) && launched == 0:
				launched = at
			case strings.Contains(l, `"eventName":"callPageOnShow"`) && shown == 0:
				shown = at
			}
		}
		if launched > 0 && shown > 0 {
			return time.Duration((shown - launched) * float64(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the call page did not show")
	return 0
}

func TestAdbInstallSimulatedBuildsChangeTheHostApp(t *testing.T) {
	_, dev, c := startFarm(t, simulator.DeviceConfig{})
	a := newADB(t)
	serial, sn := dev.Serial(), dev.SN()
	a.connect(serial)
	key := filepath.Join(t.TempDir(), "debug-key.pem")
	// Fixed Mini Program start times make the defect's effect plain.
	good := simBuild(t, key, "-version", "1.5.0-good", "-version-code", "150", "-timing", "mpColdStart=300ms", "-timing", "mpWarmStart=300ms")
	slow := simBuild(t, key, "-version", "1.5.1-slow", "-version-code", "151", "-defect", "slow-launch",
		"-timing", "mpColdStart=300ms", "-timing", "mpWarmStart=300ms", "-timing", "slowLaunchFactor=10")
	tok := pushToken(t, c, sn, "", 20*time.Second)

	out, errs, code := a.run("-s", serial, "install", good)
	needStreamedInstall(t, out)
	if code != 0 || out != "Performing Streamed Install\nSuccess\n" {
		t.Fatalf("adb install good build: exit %d stdout %q stderr %q", code, out, errs)
	}
	if got := a.shell(serial, "pm list packages --show-versioncode "+hostPkg); got != "package:"+hostPkg+" versionCode:150" {
		t.Errorf("pm list packages: %q", got)
	}
	dump := a.shell(serial, "dumpsys package "+hostPkg)
	for _, want := range []string{"versionCode=150 minSdk=24 targetSdk=30", "versionName=1.5.0-good", "apkSigningVersion=2"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dumpsys package lacks %q", want)
		}
	}
	// The host app restarted with the new version and got a new token.
	tok = pushToken(t, c, sn, tok, 20*time.Second)
	started := hookEvents(t, a, serial, "host_started")
	if len(started) == 0 || started[len(started)-1]["version"] != "1.5.0-good" {
		t.Errorf("host_started after the install: %v", started)
	}
	if dev.HostVersion() != "1.5.0-good" || len(dev.Defects()) != 0 {
		t.Errorf("device: version %q defects %v", dev.HostVersion(), dev.Defects())
	}
	fast := callPageDelay(t, a, c, dev, tok)

	// The slow-launch build: installed over it, the same signer.
	if out := a.must("-s", serial, "install", "-r", slow); !strings.HasSuffix(out, "Success\n") {
		t.Fatalf("adb install slow build: %q", out)
	}
	tok = pushToken(t, c, sn, tok, 20*time.Second)
	if got := strings.Join(dev.Defects(), ","); got != "slow-launch" || dev.HostVersion() != "1.5.1-slow" {
		t.Errorf("device after the slow build: version %q defects %q", dev.HostVersion(), got)
	}
	slowDelay := callPageDelay(t, a, c, dev, tok)
	t.Logf("launch_called → callPageOnShow: good build %v, slow-launch build %v", fast, slowDelay)
	if fast > 2*time.Second || slowDelay < 2500*time.Millisecond {
		t.Errorf("call page after launch: good build %v (want ~0.3 s), slow-launch build %v (want ~3 s)", fast, slowDelay)
	}

	// Back to the good build: a lower versionCode needs -d.
	_, errs, code = a.run("-s", serial, "install", good)
	if code != 1 || !regexp.MustCompile(`^adb: failed to install .*build\.apk: Failure \[INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code 150 is older than current 151\]\n$`).MatchString(errs) {
		t.Errorf("downgrade without -d: exit %d %q", code, errs)
	}
	if out := a.must("-s", serial, "install", "-r", "-d", good); !strings.HasSuffix(out, "Success\n") {
		t.Errorf("adb install -r -d: %q", out)
	}
	waitUntil(t, 20*time.Second, "the good build's defects", func() bool { return len(dev.Defects()) == 0 && dev.HostVersion() == "1.5.0-good" })

	// Another signer is refused, as on a real device.
	other := simBuild(t, filepath.Join(t.TempDir(), "other-key.pem"), "-version", "1.6.0", "-version-code", "160")
	_, errs, code = a.run("-s", serial, "install", other)
	if code != 1 || !strings.Contains(errs, "Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package "+hostPkg+" signatures do not match previously installed version; ignoring!]") {
		t.Errorf("other signer: exit %d %q", code, errs)
	}

	// The build survives a reboot.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dev.Reboot(ctx, ""); err != nil {
		t.Fatal(err)
	}
	a.run("disconnect", serial)
	a.connect(serial)
	if got := a.shell(serial, "pm list packages --show-versioncode "+hostPkg); got != "package:"+hostPkg+" versionCode:150" {
		t.Errorf("after the reboot: %q", got)
	}
	waitUntil(t, 20*time.Second, "host_started after the reboot", func() bool {
		ev := hookEvents(t, a, serial, "host_started")
		return len(ev) > 0 && ev[len(ev)-1]["version"] == "1.5.0-good"
	})
}

func TestAdbInstallMultipleUninstallAndRefusals(t *testing.T) {
	_, dev, _ := startFarm(t, simulator.DeviceConfig{})
	a := newADB(t)
	serial := dev.Serial()
	a.connect(serial)
	b := apktest.New(t)
	app := func(code int32) apktest.Manifest {
		return apktest.Manifest{Package: "com.vendor.tool", VersionCode: code, VersionName: "v" + strconv.Itoa(int(code)), MinSDK: 21, TargetSDK: 30}
	}
	v2 := b.Build(app(2))
	v1 := b.Build(app(1))
	unsigned := b.BuildUnsigned(app(3))

	if out := a.must("-s", serial, "install-multiple", v2); out != "Success\n" {
		t.Errorf("adb install-multiple: %q", out)
	}
	if got := a.shell(serial, "pm list packages --show-versioncode com.vendor.tool"); got != "package:com.vendor.tool versionCode:2" {
		t.Errorf("after install-multiple: %q", got)
	}
	out, errs, code := a.run("-s", serial, "install", unsigned)
	needStreamedInstall(t, out)
	want := regexp.MustCompile(`^adb: failed to install .*unsigned\.apk: Failure \[INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed collecting certificates for /data/app/vmdl[0-9]+\.tmp/base\.apk: Failed to collect certificates from /data/app/vmdl[0-9]+\.tmp/base\.apk: Attempt to get length of null array\]\n$`)
	if code != 1 || out != "Performing Streamed Install\n" || !want.MatchString(errs) {
		t.Errorf("unsigned: exit %d stdout %q stderr %q", code, out, errs)
	}
	_, errs, code = a.run("-s", serial, "install-multiple", v1)
	if code != 1 || !strings.Contains(errs, "INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code 1 is older than current 2") {
		t.Errorf("install-multiple downgrade: exit %d %q", code, errs)
	}
	junk := filepath.Join(t.TempDir(), "junk.apk")
	_ = os.WriteFile(junk, []byte("not a zip"), 0o644)
	_, errs, code = a.run("-s", serial, "install", junk)
	if code != 1 || !regexp.MustCompile(`Failure \[INSTALL_PARSE_FAILED_NOT_APK: Failed to parse /data/app/vmdl([0-9]+)\.tmp/base\.apk: Failed to load asset path /data/app/vmdl([0-9]+)\.tmp/base\.apk\]`).MatchString(errs) {
		t.Errorf("junk: exit %d %q", code, errs)
	}
	// A host-app APK whose simulated build is broken names what is wrong.
	broken := b.Build(apktest.Manifest{Package: hostPkg, VersionCode: 500, VersionName: "5", MinSDK: 24, TargetSDK: 30,
		Assets: map[string]string{"wmpf-hil/build.json": `{"format":"wmpf-hil/simulated-build/1","defects":["warp-drive"]}`}})
	_, errs, code = a.run("-s", serial, "install", broken)
	if code != 1 || !strings.Contains(errs, `Failure [INSTALL_FAILED_INVALID_APK: simulated build assets/wmpf-hil/build.json: defects: defect "warp-drive": allowed values are`) {
		t.Errorf("broken build: exit %d %q", code, errs)
	}
	if out := a.must("-s", serial, "uninstall", "com.vendor.tool"); out != "Success\n" {
		t.Errorf("adb uninstall: %q", out)
	}
	if out, _, _ := a.run("-s", serial, "uninstall", "com.vendor.tool"); out != "Failure [DELETE_FAILED_INTERNAL_ERROR]\n" {
		t.Errorf("adb uninstall again: %q", out)
	}
}

// TestAdbShellPmInstallOfAPushedFile needs adb push (the sync service,
// branch adbd).
func TestAdbShellPmInstallOfAPushedFile(t *testing.T) {
	_, dev, _ := startFarm(t, simulator.DeviceConfig{})
	a := newADB(t)
	serial := dev.Serial()
	a.connect(serial)
	apk := apktest.New(t).Build(apktest.Manifest{Package: "com.vendor.pushed", VersionCode: 4, VersionName: "4", MinSDK: 21, TargetSDK: 30})
	if out, errs, code := a.run("-s", serial, "push", apk, "/data/local/tmp/pushed.apk"); code != 0 {
		t.Fatalf("adb push (needs the sync service of branch adbd): exit %d %q %q", code, out, errs)
	}
	if out := a.shell(serial, "pm install -r /data/local/tmp/pushed.apk"); out != "Success" {
		t.Errorf("adb shell pm install: %q", out)
	}
	if got := a.shell(serial, "pm path com.vendor.pushed"); !strings.HasPrefix(got, "package:/data/app/") {
		t.Errorf("pm path: %q", got)
	}
}

// waitFor polls cond until it holds or within has passed.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// needStreamedInstall stops a test whose adb install fell back to pushing
// the APK, which the simulated adbd cannot serve yet (see the top).
func needStreamedInstall(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "Performing Push Install") {
		t.Fatalf("adb install chose a push install: the adb server does not see the cmd or abb_exec feature of the device (needs branch adbd merged):\n%s", out)
	}
}
