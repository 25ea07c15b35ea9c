package build

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/profile"

	"github.com/shogo82148/androidbinary"
	"github.com/shogo82148/androidbinary/apk"
)

var (
	keyOnce sync.Once
	testKey *Key
	keyErr  error
)

func key(t *testing.T) *Key {
	t.Helper()
	keyOnce.Do(func() { testKey, keyErr = NewKey("Test Debug") })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return testKey
}

func makeAPK(t *testing.T, o Options) string {
	t.Helper()
	if o.Key == nil {
		o.Key = key(t)
	}
	data, err := Make(o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "build.apk")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is required (Debian package %s): %v", tool, tool, err)
	}
}

func TestAaptReadsTheManifest(t *testing.T) {
	need(t, "aapt")
	p := makeAPK(t, Options{VersionName: "1.5.0-nightly", VersionCode: 150, Spec: Spec{Defects: []string{"slow-launch"}}})
	out, err := exec.Command("aapt", "dump", "badging", p).CombinedOutput()
	if err != nil {
		t.Fatalf("aapt dump badging: %v\n%s", err, out)
	}
	for _, want := range []string{
		"package: name='com.example.voipdevice' versionCode='150' versionName='1.5.0-nightly'",
		"sdkVersion:'24'", "targetSdkVersion:'30'",
		"launchable-activity: name='com.example.voipdevice.MainActivity'",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("aapt dump badging lacks %q:\n%s", want, out)
		}
	}
	tree, err := exec.Command("aapt", "dump", "xmltree", p, "AndroidManifest.xml").CombinedOutput()
	if err != nil {
		t.Fatalf("aapt dump xmltree: %v\n%s", err, tree)
	}
	for _, want := range []string{
		"A: android:versionCode(0x0101021b)=(type 0x10)0x96",
		`A: android:exported(0x01010010)=(type 0x12)0xffffffff`,
		`E: receiver`, `A: android:name(0x01010003)="android.intent.action.BOOT_COMPLETED"`,
	} {
		if !strings.Contains(string(tree), want) {
			t.Errorf("aapt dump xmltree lacks %q:\n%s", want, tree)
		}
	}
}

func TestAndroidbinaryReadsTheManifest(t *testing.T) {
	p := makeAPK(t, Options{Package: "com.vendor.phone", VersionName: "2.0 (β)", VersionCode: 2000001, Label: "Phone"})
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var raw []byte
	for _, f := range zr.File {
		if f.Name == "AndroidManifest.xml" {
			rc, _ := f.Open()
			raw, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	x, err := androidbinary.NewXMLFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var m apk.Manifest
	if err := x.Decode(&m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := m.Package.MustString(); got != "com.vendor.phone" {
		t.Errorf("package %q", got)
	}
	if got := m.VersionCode.MustInt32(); got != 2000001 {
		t.Errorf("versionCode %d", got)
	}
	if got := m.VersionName.MustString(); got != "2.0 (β)" {
		t.Errorf("versionName %q", got)
	}
	if got := m.SDK.Min.MustInt32(); got != 24 {
		t.Errorf("minSdkVersion %d", got)
	}
	if len(m.App.Activities) != 2 || m.App.Activities[0].Name.MustString() != ".MainActivity" {
		t.Errorf("activities %+v", m.App.Activities)
	}
}

func TestApksignerVerifiesTheSignature(t *testing.T) {
	need(t, "apksigner")
	p := makeAPK(t, Options{VersionName: "1.0"})
	out, err := exec.Command("apksigner", "verify", "--verbose", p).CombinedOutput()
	if err != nil {
		t.Fatalf("apksigner verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Verified using v2 scheme (APK Signature Scheme v2): true") {
		t.Errorf("apksigner verify:\n%s", out)
	}
	// A flipped byte in the signed contents must break the signature.
	data, _ := os.ReadFile(p)
	i := bytes.Index(data, []byte(Format))
	data[i] ^= 1
	bad := filepath.Join(t.TempDir(), "bad.apk")
	_ = os.WriteFile(bad, data, 0o644)
	if out, err := exec.Command("apksigner", "verify", bad).CombinedOutput(); err == nil {
		t.Errorf("apksigner verify accepted a modified APK:\n%s", out)
	}
}

func TestSpecRoundTripAndErrors(t *testing.T) {
	s := Spec{Format: Format, Defects: []string{"slow-launch", "late-listener"}, Timing: map[string]string{"appHandle": "lognormal(30ms, 90ms)", "slowLaunchFactor": "6"}}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSpec(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.DefectSet().Has("slow-launch") || !got.DefectSet().Has("late-listener") {
		t.Errorf("defects %v", got.Defects)
	}
	tm, err := got.ApplyTiming(profileTiming())
	if err != nil {
		t.Fatal(err)
	}
	if tm.SlowLaunchFactor != 6 || tm.AppHandle.String() != "lognormal(30ms, 90ms)" || tm.JoinRoom.String() != "150ms" {
		t.Errorf("timing %+v", tm)
	}
	for _, c := range []struct{ json, want string }{
		{`{"format":"x"}`, `format "x": allowed "wmpf-hil/simulated-build/1"`},
		{`{"format":"` + Format + `","defects":["fast"]}`, `defect "fast": allowed values are`},
		{`{"format":"` + Format + `","timing":{"warp":"1s"}}`, `timing "warp": allowed activation,`},
		{`{"format":"` + Format + `","timing":{"joinRoom":"1"}}`, `timing.joinRoom: duration "1" has no unit`},
		{`{"format":"` + Format + `","timing":{"slowLaunchFactor":"0.5"}}`, `timing.slowLaunchFactor "0.5": allowed a number, 1 or more`},
		{`{"format":"` + Format + `","color":"red"}`, `unknown field "color"`},
	} {
		_, err := ParseSpec([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSpec(%s) = %v, want %q", c.json, err, c.want)
		}
	}
}

func TestMakeRejectsBadOptions(t *testing.T) {
	k := key(t)
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Key: k}, "version name: required"},
		{Options{Key: k, VersionName: "1", Package: "nodot"}, `package "nodot": allowed`},
		{Options{Key: k, VersionName: "1", VersionCode: -3}, "version code -3: allowed 1 or more"},
		{Options{Key: k, VersionName: "1", MinSdk: 21}, "min sdk 21: allowed 24 or more"},
		{Options{VersionName: "1"}, "key: required"},
		{Options{Key: k, VersionName: "1", Spec: Spec{Defects: []string{"nope"}}}, `defect "nope"`},
	} {
		_, err := Make(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Make(%+v) = %v, want %q", c.o, err, c.want)
		}
	}
}

func TestKeyFileIsCreatedOnceAndReused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "key.pem")
	k1, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.Cert.Raw, k2.Cert.Raw) {
		t.Error("the second load made a new key")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode())
	}
	_ = os.WriteFile(p, []byte("junk"), 0o600)
	if _, err := LoadOrCreateKey(p); err == nil || !strings.Contains(err.Error(), "want a PEM") {
		t.Errorf("junk key file: %v", err)
	}
}

func profileTiming() profile.Timing {
	return profile.Timing{JoinRoom: profile.Const(150 * time.Millisecond), SlowLaunchFactor: 4}
}
