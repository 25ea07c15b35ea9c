package install_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/install"
	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
	"github.com/wmpf-hil/wmpf-hil/internal/fakedevice"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// These tests install real APKs (built with aapt, signed with apksigner)
// through the real adb server on a scripted device whose package manager
// reads what it received with aapt, as a device's would, and answers with
// the texts real devices print.

func bounded(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var badging = regexp.MustCompile(`package: name='([^']*)' versionCode='([^']*)' versionName='([^']*)'`)

// packageManager answers an install as Android's does, for what the tests
// need: not an APK, not signed, a downgrade without -d, else Success.
func packageManager(t testing.TB, fd **fakedevice.Device) func(args string, apk []byte) fakedevice.Outcome {
	return func(args string, apk []byte) fakedevice.Outcome {
		tmp := filepath.Join(t.TempDir(), "base.apk")
		if err := os.WriteFile(tmp, apk, 0o644); err != nil {
			t.Error(err)
		}
		out, err := exec.Command("aapt", "dump", "badging", tmp).CombinedOutput()
		m := badging.FindSubmatch(out)
		if err != nil || m == nil {
			return fakedevice.Outcome{Text: "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse /data/app/vmdl1666857912.tmp/base.apk: Failed to load asset path /data/app/vmdl1666857912.tmp/base.apk]"}
		}
		if !signed(apk) {
			return fakedevice.Outcome{Text: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from /data/app/vmdl1666857912.tmp/base.apk: Attempt to get length of null array]"}
		}
		code, _ := strconv.ParseInt(string(m[2]), 10, 64)
		p := fakedevice.Package{Name: string(m[1]), VersionCode: code, VersionName: string(m[3]), TargetSDK: 29}
		if old, ok := (*fd).Package(p.Name); ok && old.VersionCode > code && !strings.Contains(args, " -d") {
			return fakedevice.Outcome{Text: "Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code " + string(m[2]) + " is older than current " + strconv.FormatInt(old.VersionCode, 10) + "]"}
		}
		return fakedevice.Outcome{Text: "Success", Package: &p}
	}
}

// signed reports whether the APK carries a v1 signature or a signing block.
func signed(apk []byte) bool {
	if bytes.Contains(apk, []byte("APK Sig Block 42")) {
		return true
	}
	z, err := zip.NewReader(bytes.NewReader(apk), int64(len(apk)))
	if err != nil {
		return false
	}
	for _, f := range z.File {
		if strings.HasPrefix(f.Name, "META-INF/") && (strings.HasSuffix(f.Name, ".RSA") || strings.HasSuffix(f.Name, ".EC") || strings.HasSuffix(f.Name, ".DSA")) {
			return true
		}
	}
	return false
}

// device starts a scripted device with the features and connects it.
func device(t testing.TB, features ...string) (*fakedevice.Device, *adb.Device) {
	t.Helper()
	srv := simtest.ADBServer(t)
	var fd *fakedevice.Device
	fd = fakedevice.Start(t, fakedevice.Config{Features: features, Installer: packageManager(t, &fd)})
	c := srv.Client()
	ctx := bounded(t)
	if err := c.Connect(ctx, fd.Serial()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForState(ctx, fd.Serial(), adb.StateDevice); err != nil {
		t.Fatal(err)
	}
	return fd, c.Device(fd.Serial())
}

func inspect(t testing.TB, path string) install.APK {
	t.Helper()
	apk, err := install.Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	return apk
}

func TestInstallEachWay(t *testing.T) {
	b := apktest.New(t)
	apk := inspect(t, b.Build(apktest.Manifest{Package: "com.example.hostapp", VersionCode: 42, VersionName: "4.2.0-nightly", MinSDK: 21, TargetSDK: 29, Padding: 300 << 10}))
	for _, tc := range []struct {
		name     string
		features []string
		opts     install.Options
		mode     install.Mode
		via      string
		args     string
	}{
		{"abb_exec", []string{"shell_v2", "cmd", "abb_exec"}, install.Options{}, install.ModeStream, "abb_exec",
			"package install -r -S " + strconv.FormatInt(apk.Size, 10)},
		{"exec cmd", []string{"shell_v2", "cmd"}, install.Options{GrantPermissions: true}, install.ModeStream, "exec",
			"cmd package install -r -g -S " + strconv.FormatInt(apk.Size, 10)},
		{"push and pm", []string{"shell_v2"}, install.Options{AllowDowngrade: true}, install.ModePush, "pm",
			"pm install -r -d /data/local/tmp/com.example.hostapp.apk"},
		{"push asked for", []string{"shell_v2", "cmd", "abb_exec"}, install.Options{Mode: install.ModePush, TempDir: "/sdcard"}, install.ModePush, "pm",
			"pm install -r /sdcard/com.example.hostapp.apk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd, dev := device(t, tc.features...)
			got, err := install.Install(bounded(t), dev, apk, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %+v", tc.name, got)
			if got.Package != apk.Package || got.VersionCode != 42 || got.VersionName != "4.2.0-nightly" || got.SHA256 != apk.SHA256 || got.Mode != tc.mode || got.Took <= 0 {
				t.Errorf("Installed = %+v", got)
			}
			ins := fd.Installs()
			if len(ins) != 1 || ins[0].Via != tc.via || ins[0].Args != tc.args || ins[0].SHA256 != apk.SHA256 || int64(ins[0].Size) != apk.Size {
				t.Fatalf("the device received %+v; want one install via %s with %q and the APK's %d bytes", ins, tc.via, tc.args, apk.Size)
			}
			if tc.via == "pm" {
				if paths := fd.Paths(); len(paths) != 0 {
					t.Errorf("the pushed APK was left on the device: %v", paths)
				}
			}
		})
	}
}

func TestInstallRefused(t *testing.T) {
	b := apktest.New(t)
	fd, dev := device(t, "shell_v2", "cmd", "abb_exec")
	ctx := bounded(t)

	unsigned := inspect(t, b.BuildUnsigned(apktest.Manifest{Package: "com.example.unsigned", VersionCode: 1, VersionName: "1"}))
	_, err := install.Install(ctx, dev, unsigned, install.Options{})
	var ie *install.Error
	if !errors.As(err, &ie) || !errors.Is(err, install.ErrRefused) || ie.Code != "INSTALL_PARSE_FAILED_NO_CERTIFICATES" ||
		!strings.Contains(ie.Text, "Failed to collect certificates") || ie.Serial != fd.Serial() {
		t.Errorf("unsigned APK: %v (%+v)", err, ie)
	}
	t.Logf("unsigned: %v", err)

	v2 := inspect(t, b.Build(apktest.Manifest{Package: "com.example.app", VersionCode: 2, VersionName: "2.0"}))
	v1 := inspect(t, b.Build(apktest.Manifest{Package: "com.example.app", VersionCode: 1, VersionName: "1.0"}))
	if _, err := install.Install(ctx, dev, v2, install.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err = install.Install(ctx, dev, v1, install.Options{})
	if !errors.As(err, &ie) || ie.Code != "INSTALL_FAILED_VERSION_DOWNGRADE" || !strings.Contains(err.Error(), "Update version code 1 is older than current 2") {
		t.Errorf("downgrade: %v", err)
	}
	if got, err := install.Install(ctx, dev, v1, install.Options{AllowDowngrade: true}); err != nil || got.VersionCode != 1 {
		t.Errorf("downgrade with AllowDowngrade: %+v, %v", got, err)
	}

	// Bytes that are not an APK reach the device only if the caller made
	// an APK value by hand; the device's words come back all the same.
	junk := filepath.Join(t.TempDir(), "junk.apk")
	os.WriteFile(junk, []byte("not an apk at all"), 0o644)
	fake := install.APK{Path: junk, Package: "com.example.junk", Size: 17, SHA256: "e0bd7b21b3df2c8a3bcbfd1c1a0ba1d6c6a39c0b4c6a3dcbb38ec9ae1d2ef6a0"}
	_, err = install.Install(ctx, dev, fake, install.Options{})
	if !errors.Is(err, install.ErrAPKChanged) {
		t.Errorf("a wrong sha256: %v; want ErrAPKChanged", err)
	}
	fake.SHA256 = sha(t, junk)
	_, err = install.Install(ctx, dev, fake, install.Options{})
	if !errors.As(err, &ie) || ie.Code != "INSTALL_PARSE_FAILED_NOT_APK" || !strings.Contains(err.Error(), "Failed to load asset path") {
		t.Errorf("not an APK: %v", err)
	}
}

func sha(t testing.TB, path string) string {
	t.Helper()
	apk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return hexSHA(apk)
}

func TestInstallVerifiesVersion(t *testing.T) {
	b := apktest.New(t)
	fd, dev := device(t, "shell_v2", "cmd")
	ctx := bounded(t)
	apk := inspect(t, b.Build(apktest.Manifest{Package: "com.example.liar", VersionCode: 5, VersionName: "5.0"}))
	// The device says Success but keeps running an older build.
	fd.SetDumpsys("com.example.liar", "Packages:\n  Package [com.example.liar] (1a2b3c):\n    userId=10100\n    versionCode=4 minSdk=21 targetSdk=29\n    versionName=4.0\n")
	_, err := install.Install(ctx, dev, apk, install.Options{})
	if !errors.Is(err, install.ErrVersionMismatch) || !strings.Contains(err.Error(), `versionCode 4 versionName "4.0"; the APK has 5 "5.0"`) {
		t.Errorf("version mismatch: %v", err)
	}
	fd.SetDumpsys("com.example.liar", "Dexopt state:\n  Unable to find package: com.example.liar\n")
	_, err = install.Install(ctx, dev, apk, install.Options{})
	if !errors.Is(err, install.ErrVersionMismatch) || !errors.Is(err, install.ErrPackageNotFound) {
		t.Errorf("not listed after install: %v", err)
	}
}

func TestInstallBadInput(t *testing.T) {
	b := apktest.New(t)
	path := b.Build(apktest.Manifest{Package: "com.example.bad", VersionCode: 1, VersionName: "1"})
	apk := inspect(t, path)
	dev := adb.NewClient("127.0.0.1:1").Device("x")
	ctx := bounded(t)
	if _, err := install.Install(ctx, dev, apk, install.Options{Mode: "sideways"}); err == nil || !strings.Contains(err.Error(), `install mode "sideways": allowed values are auto, stream and push`) {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := install.Install(ctx, dev, install.APK{}, install.Options{}); err == nil || !strings.Contains(err.Error(), "get it from Inspect") {
		t.Errorf("empty APK: %v", err)
	}
	if _, err := install.Install(ctx, dev, apk, install.Options{TempDir: "tmp"}); err == nil || !strings.Contains(err.Error(), `TempDir "tmp"`) {
		t.Errorf("relative TempDir: %v", err)
	}
	// The file grew after Inspect: refused before anything is sent.
	if err := os.WriteFile(path, append([]byte("x"), mustRead(t, path)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(ctx, dev, apk, install.Options{Mode: install.ModeStream}); !errors.Is(err, install.ErrAPKChanged) {
		t.Errorf("changed file: %v", err)
	}
	if m, err := install.ParseMode(""); err != nil || m != install.ModeAuto {
		t.Errorf(`ParseMode("") = %v, %v`, m, err)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInstallFailureTexts feeds the texts real devices printed (see
// testdata/real/SOURCES.md) through an install and checks the code read
// from each.
func TestInstallFailureTexts(t *testing.T) {
	texts := []struct{ text, code string }{
		{"Failure [INSTALL_FAILED_VERSION_DOWNGRADE]", "INSTALL_FAILED_VERSION_DOWNGRADE"},
		{"Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code 34 is older than current 35]", "INSTALL_FAILED_VERSION_DOWNGRADE"},
		{"Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from /data/app/vmdl989030062.tmp/base.apk: Attempt to get length of null array]", "INSTALL_PARSE_FAILED_NO_CERTIFICATES"},
		{"Error: APK content must be streamed", ""},
		{"", ""},
	}
	next := 0
	srv := simtest.ADBServer(t)
	fd := fakedevice.Start(t, fakedevice.Config{Installer: func(string, []byte) fakedevice.Outcome {
		out := fakedevice.Outcome{Text: texts[next].text}
		next++
		return out
	}})
	c := srv.Client()
	ctx := bounded(t)
	if err := c.Connect(ctx, fd.Serial()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForState(ctx, fd.Serial(), adb.StateDevice); err != nil {
		t.Fatal(err)
	}
	apk := inspect(t, apktest.New(t).Build(apktest.Manifest{Package: "com.example.texts", VersionCode: 1, VersionName: "1"}))
	for _, tc := range texts {
		_, err := install.Install(ctx, c.Device(fd.Serial()), apk, install.Options{})
		var ie *install.Error
		if !errors.As(err, &ie) || !errors.Is(err, install.ErrRefused) || ie.Code != tc.code {
			t.Errorf("device says %q: %v (code %q); want ErrRefused with code %q", tc.text, err, codeOf(ie), tc.code)
			continue
		}
		if tc.text != "" && ie.Text != tc.text {
			t.Errorf("device says %q; the error carries %q", tc.text, ie.Text)
		}
		if tc.text == "" && !strings.Contains(err.Error(), "printed nothing") {
			t.Errorf("silent package manager: %v", err)
		}
	}
}

func codeOf(e *install.Error) string {
	if e == nil {
		return ""
	}
	return e.Code
}
