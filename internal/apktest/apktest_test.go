package apktest_test

import (
	"archive/zip"
	"os/exec"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
)

func TestBuildSignedAPK(t *testing.T) {
	b := apktest.New(t)
	path := b.Build(apktest.Manifest{Package: "com.example.hostapp", VersionCode: 42, VersionName: "1.2.3 (test)", MinSDK: 21, TargetSDK: 29, Padding: 1000})
	out, err := exec.Command("apksigner", "verify", "-v", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified using v2 scheme (APK Signature Scheme v2): true") {
		t.Fatalf("apksigner verify: %v\n%s", err, out)
	}
	badging, err := exec.Command("aapt", "dump", "badging", path).CombinedOutput()
	if err != nil {
		t.Fatalf("aapt dump badging: %v\n%s", err, badging)
	}
	for _, want := range []string{"package: name='com.example.hostapp' versionCode='42' versionName='1.2.3 (test)'", "sdkVersion:'21'", "targetSdkVersion:'29'"} {
		if !strings.Contains(string(badging), want) {
			t.Errorf("badging lacks %q:\n%s", want, badging)
		}
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "assets/padding.bin") {
		t.Errorf("no padding asset in %v", names)
	}
}

func TestBuildVersionNameFromResource(t *testing.T) {
	b := apktest.New(t)
	path := b.BuildUnsigned(apktest.Manifest{Package: "com.example.res", VersionCode: 7, VersionName: "7.0-res", VersionNameFromResource: true})
	badging, err := exec.Command("aapt", "dump", "badging", path).CombinedOutput()
	if err != nil || !strings.Contains(string(badging), "versionName='7.0-res'") {
		t.Fatalf("badging: %v\n%s", err, badging)
	}
	if out, err := exec.Command("apksigner", "verify", path).CombinedOutput(); err == nil {
		t.Errorf("an unsigned APK verifies: %s", out)
	}
}
