// This test installs a real APK on the full simulated device (simulator/)
// through the real adb server, by every route the device offers
// (abb_exec, cmd package install -S, push + pm install), and checks what
// dumpsys package then shows.

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
