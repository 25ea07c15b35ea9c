// Package buildtest builds real APKs for tests with Debian's Android tools:
// aapt (with android-framework-res), zipalign, keytool and apksigner — the
// way a vendor's build makes them, independently of package build's own
// encoder and signer.
package buildtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FrameworkRes is Debian android-framework-res's framework-res.apk.
const FrameworkRes = "/usr/share/android-framework-res/framework-res.apk"

// Need fails the test when a tool is missing, naming its Debian package.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	pkgs := map[string]string{"aapt": "aapt", "zipalign": "zipalign", "apksigner": "apksigner", "keytool": "default-jre-headless", "adb": "adb"}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (apt-get install -y %s): %v", tool, pkgs[tool], err)
		}
	}
	if _, err := os.Stat(FrameworkRes); err != nil {
		t.Fatalf("%s is required (apt-get install -y android-framework-res): %v", FrameworkRes, err)
	}
}

// Manifest describes the APK to build.
type Manifest struct {
	Package     string
	VersionCode int
	VersionName string
	MinSdk      int // default 21
	TargetSdk   int // default 30
	// Extra is inserted in <application> (activities, receivers).
	Extra string
	// Assets are files to put under assets/ (name → content).
	Assets map[string]string
}

func (m Manifest) xml() string {
	if m.MinSdk == 0 {
		m.MinSdk = 21
	}
	if m.TargetSdk == 0 {
		m.TargetSdk = 30
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="%s" android:versionCode="%d" android:versionName="%s">
  <uses-sdk android:minSdkVersion="%d" android:targetSdkVersion="%d"/>
  <application android:label="Test" android:hasCode="false">%s</application>
</manifest>
`, m.Package, m.VersionCode, m.VersionName, m.MinSdk, m.TargetSdk, m.Extra)
}

func run(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Unsigned builds an unsigned, aligned APK with aapt and zipalign and
// returns its path.
func Unsigned(t testing.TB, m Manifest) string {
	t.Helper()
	Need(t, "aapt", "zipalign")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "AndroidManifest.xml"), []byte(m.xml()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"package", "-f", "-M", "AndroidManifest.xml", "-I", FrameworkRes, "-F", "raw.apk"}
	if len(m.Assets) > 0 {
		for name, content := range m.Assets {
			p := filepath.Join(dir, "assets", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "-A", "assets")
	}
	run(t, dir, "aapt", args...)
	run(t, dir, "zipalign", "-f", "4", "raw.apk", "unsigned.apk")
	return filepath.Join(dir, "unsigned.apk")
}

// Keystore makes a keystore with keytool (alias "test", password
// "android") in the test's temporary directory and returns its path.
func Keystore(t testing.TB, cn string) string {
	t.Helper()
	Need(t, "keytool")
	p, err := MakeKeystore(t.TempDir(), cn)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// MakeKeystore makes a keystore like Keystore in dir (for keystores that
// several tests share, made once in TestMain's directory).
func MakeKeystore(dir, cn string) (string, error) {
	name := strings.NewReplacer(" ", "_", "/", "_").Replace(cn) + ".jks"
	cmd := exec.Command("keytool", "-genkeypair", "-keystore", name, "-storetype", "JKS", "-alias", "test",
		"-keyalg", "RSA", "-keysize", "2048", "-validity", "10000", "-storepass", "android", "-keypass", "android",
		"-dname", "CN="+cn+", O=Android, C=US")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("keytool: %v\n%s", err, out)
	}
	return filepath.Join(dir, name), nil
}

// Signed builds the APK and signs it with apksigner (v1 and v2, as apksigner
// chooses for the manifest's minSdk) using keystore.
func Signed(t testing.TB, m Manifest, keystore string) string {
	t.Helper()
	Need(t, "apksigner")
	in := Unsigned(t, m)
	out := filepath.Join(filepath.Dir(in), "signed.apk")
	run(t, filepath.Dir(in), "apksigner", "sign", "--ks", keystore, "--ks-pass", "pass:android", "--key-pass", "pass:android",
		"--ks-key-alias", "test", "--out", out, in)
	return out
}
