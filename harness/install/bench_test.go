package install_test

import (
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/install"
	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
)

// BenchmarkInstall installs a signed 8 MiB APK each way and reports MB/s
// (the device's package manager here is aapt reading the APK, a few ms).
func BenchmarkInstall(b *testing.B) {
	apk := inspect(b, apktest.New(b).Build(apktest.Manifest{Package: "com.example.bench", VersionCode: 3, VersionName: "3", Padding: 8 << 20}))
	for _, tc := range []struct {
		name     string
		features []string
	}{
		{"abb_exec", []string{"shell_v2", "cmd", "abb_exec"}},
		{"exec", []string{"shell_v2", "cmd"}},
		{"push", []string{"shell_v2"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_, dev := device(b, tc.features...)
			ctx := bounded(b)
			b.SetBytes(apk.Size)
			b.ResetTimer()
			for range b.N {
				if _, err := install.Install(ctx, dev, apk, install.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
