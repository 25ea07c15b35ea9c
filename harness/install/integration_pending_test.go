//go:build pending_simdevice

// This test installs a real APK on the full simulated device (simulator/)
// through the real adb server. It needs the simulated device's package
// install (`cmd package install -S`, `abb_exec`, or sync + `pm install`) and
// `dumpsys package` of what it installed, which are being added to
// simulator/ separately: until then it builds only with
// -tags pending_simdevice. Delete the build line above when they land.

package install_test

import (
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/install"
	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

func TestSimulatedDeviceInstall(t *testing.T) {
	srv := simtest.ADBServer(t)
	dev := simtest.Device(t, simulator.DeviceConfig{})
	c := srv.Client()
	ctx := bounded(t)
	if err := c.Connect(ctx, dev.Serial()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForState(ctx, dev.Serial(), adb.StateDevice); err != nil {
		t.Fatal(err)
	}
	d := c.Device(dev.Serial())
	b := apktest.New(t)
	for _, mode := range []install.Mode{install.ModeAuto, install.ModePush} {
		apk := inspect(t, b.Build(apktest.Manifest{Package: "com.example.undertest", VersionCode: 7, VersionName: "7.0-" + string(mode), MinSDK: 21, TargetSDK: 29}))
		got, err := install.Install(ctx, d, apk, install.Options{Mode: mode})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got.VersionCode != 7 || got.VersionName != apk.VersionName {
			t.Errorf("%s: %+v", mode, got)
		}
		out, err := d.Run(ctx, "pm list packages com.example.undertest")
		if err != nil || out != "package:com.example.undertest\n" {
			t.Errorf("%s: pm list packages = %q, %v", mode, out, err)
		}
	}
	unsigned := inspect(t, b.BuildUnsigned(apktest.Manifest{Package: "com.example.unsigned", VersionCode: 1, VersionName: "1"}))
	_, err := install.Install(ctx, d, unsigned, install.Options{})
	var ie *install.Error
	if !errorsAs(err, &ie) || ie.Code != "INSTALL_PARSE_FAILED_NO_CERTIFICATES" {
		t.Errorf("unsigned APK on the simulated device: %v", err)
	}
}
