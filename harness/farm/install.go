package farm

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/install"
)

// apks reads each APK once, however many devices install it.
type apks struct {
	mu   sync.Mutex
	seen map[string]apkRead
}

type apkRead struct {
	apk install.APK
	err error
}

func (a *apks) inspect(path string) (install.APK, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]apkRead{}
	}
	r, ok := a.seen[path]
	if !ok {
		r.apk, r.err = install.Inspect(path)
		a.seen[path] = r
	}
	return r.apk, r.err
}

// installBuild installs the device's build under test (d.Install) and
// records what the device then reports. An error is the reason to take the
// device out of the run: the device's own text when it refused the APK.
func (f *Farm) installBuild(ctx context.Context, d *device.Spec) error {
	in := d.Install
	apk, err := f.apks.inspect(in.APK)
	if err != nil {
		return fmt.Errorf("the build under test cannot be installed: %v", err)
	}
	if in.Package != "" && apk.Package != in.Package {
		return fmt.Errorf("the build under test %s is package %s, not %s as the farm file says", in.APK, apk.Package, in.Package)
	}
	got, err := install.Install(ctx, adb.NewClient(d.Server).Device(d.Serial), apk, install.Options{})
	if err != nil {
		return fmt.Errorf("installing the build under test failed: %v", err)
	}
	d.Installed = &device.Installed{APK: filepath.Base(in.APK), Package: got.Package, VersionName: got.VersionName,
		VersionCode: got.VersionCode, SHA256: got.SHA256, Build: fmt.Sprintf("%s %s (%d)", filepath.Base(in.APK), got.VersionName, got.VersionCode)}
	if got.Package == d.HostPackage || d.HostPackage == "" {
		d.HostPackage = got.Package
	}
	return nil
}
