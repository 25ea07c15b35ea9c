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

func TestBuildComponentsAssetsAndSharedKeys(t *testing.T) {
	apktest.Need(t)
	dir := t.TempDir()
	keyA, err := apktest.MakeKey(dir, "Vendor A")
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := apktest.MakeKey(dir, "Vendor B")
	if err != nil {
		t.Fatal(err)
	}
	m := apktest.Manifest{Package: "com.example.tool", VersionCode: 3, VersionName: "3", MinSDK: 21, TargetSDK: 30,
		Application: `<activity android:name=".Main" android:exported="true"><intent-filter><action android:name="android.intent.action.MAIN"/><category android:name="android.intent.category.LAUNCHER"/></intent-filter></activity>`,
		Assets:      map[string]string{"wmpf-hil/build.json": `{"x":1}`}}
	a := apktest.WithKey(t, keyA).Build(m)
	badging, err := exec.Command("aapt", "dump", "badging", a).CombinedOutput()
	if err != nil || !strings.Contains(string(badging), "launchable-activity: name='com.example.tool.Main'") {
		t.Fatalf("badging: %v\n%s", err, badging)
	}
	z, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	found := false
	for _, f := range z.File {
		found = found || f.Name == "assets/wmpf-hil/build.json"
	}
	if !found {
		t.Error("no assets/wmpf-hil/build.json in the APK")
	}

	// Two keys sign differently: the certificates' digests differ.
	b := apktest.WithKey(t, keyB).Build(m)
	if certDigest(t, a) == certDigest(t, b) {
		t.Error("APKs signed with two keys have one certificate")
	}
	if out, err := exec.Command("apksigner", "verify", apktest.Unsigned(t, m)).CombinedOutput(); err == nil {
		t.Errorf("an unsigned APK verifies: %s", out)
	}
}

// certDigest is the SHA-256 digest of an APK's signer certificate, as
// apksigner prints it.
func certDigest(t *testing.T, apk string) string {
	t.Helper()
	out, err := exec.Command("apksigner", "verify", "--print-certs", apk).CombinedOutput()
	if err != nil {
		t.Fatalf("apksigner verify --print-certs: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "certificate SHA-256 digest:") {
			return l[strings.LastIndex(l, ":")+1:]
		}
	}
	t.Fatalf("no certificate digest in:\n%s", out)
	return ""
}
