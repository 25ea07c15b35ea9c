package simulator

import (
	"context"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/build"
	"github.com/wmpf-hil/wmpf-hil/simulator/hostapp"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// hostBuild is a host-app build installed from an APK.
type hostBuild struct {
	apk *android.APK
	// spec is the build's behaviour (assets/wmpf-hil/build.json); nil for
	// an APK that carries none: the reference app's behaviour, no defects.
	spec *build.Spec
}

// installAPK gives code to an APK installed on the device (pm install, adb
// install). The host app's package runs the reference host app with the
// APK's version and the behaviour its simulated build carries; it restarts
// at once, as an app that listens for MY_PACKAGE_REPLACED does. Other
// packages get what the package manager gives them.
func (d *Device) installAPK(apk *android.APK) error {
	if apk.Package != d.cfg.HostPackage {
		return android.ErrNoCode
	}
	var spec *build.Spec
	if apk.Has(build.SpecPath) {
		raw, err := apk.File(build.SpecPath)
		if err == nil {
			spec, err = build.ParseSpec(raw)
		}
		if err != nil {
			// A broken build: refused with what is wrong in it.
			return &android.InstallError{Code: "INSTALL_FAILED_INVALID_APK", Msg: "simulated build " + err.Error()}
		}
	}
	defects := profile.DefectSet{}
	if spec != nil {
		defects = spec.DefectSet()
	}
	d.mu.Lock()
	sys, old, oldBuild, oldDefects := d.sys, d.app, d.build, d.defects
	d.build, d.defects = &hostBuild{apk: apk, spec: spec}, defects
	d.mu.Unlock()
	var settings *hostapp.Settings
	if sys.Package(d.cfg.HostPackage) != nil && old != nil {
		s := old.Settings() // an update keeps the app's data
		settings = &s
	}
	app, err := d.installHostApp(sys, settings)
	if err != nil {
		d.mu.Lock()
		d.build, d.defects = oldBuild, oldDefects
		d.mu.Unlock()
		return err
	}
	if old != nil {
		old.Detach()
	}
	timing, _ := d.behaviour()
	d.mu.Lock()
	d.app = app
	wm := d.wmpf
	d.mu.Unlock()
	wm.SetBehaviour(timing, defects)
	d.logf("device %s: host app %s %s installed (defects: %v)", d.cfg.SN, apk.Package, apk.VersionName, defects.List())
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
		defer cancel()
		if err := app.Boot(ctx); err != nil && d.ctx.Err() == nil {
			d.logf("device %s: host app did not start after its update: %v", d.cfg.SN, err)
		}
	}()
	return nil
}
