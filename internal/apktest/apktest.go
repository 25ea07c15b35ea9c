// Package apktest builds real, signed APKs for tests with Debian's Android
// tools: aapt compiles a manifest (and, when asked, a string resource,
// assets and components) against framework-res.apk, zipalign aligns it and
// apksigner signs it with a key keytool made for the test — the way a
// vendor's build makes them, independently of the project's own APK
// encoder (simulator/build) and readers. Nothing is faked: the result
// installs on a real device (it has no code: android:hasCode="false").
//
// The tools come from Debian's packages aapt, zipalign, apksigner and
// android-framework-res (apksigner brings the Java runtime whose keytool
// makes the key); a test without them fails with the command that
// installs them.
package apktest

import (
	"crypto/rand"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// FrameworkRes is the framework resources APK that aapt links against.
const FrameworkRes = "/usr/share/android-framework-res/framework-res.apk"

// Install is the command that brings the tools.
// (apksigner depends on a Java runtime, which brings keytool.)
const Install = "apt-get install -y aapt zipalign apksigner android-framework-res"

// Manifest describes an APK to build.
type Manifest struct {
	Package     string // e.g. com.example.hostapp
	VersionCode int32
	VersionName string
	MinSDK      int // 0: no minSdkVersion attribute
	TargetSDK   int // 0: no targetSdkVersion attribute
	// VersionNameFromResource puts VersionName in res/values/strings.xml
	// and the manifest refers to it (@string/version_name), as many
	// builds do.
	VersionNameFromResource bool
	// Padding adds an uncompressed asset of that many random bytes, for a
	// large APK.
	Padding int
	// Application is XML put inside <application>: activities, receivers.
	Application string
	// Assets are files put under assets/ (name → content).
	Assets map[string]string
}

// Builder builds APKs signed with one key.
type Builder struct {
	t        testing.TB
	dir      string
	keystore string
	n        int
}

// Need fails the test when a tool is missing, with the command that
// installs them.
func Need(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"aapt", "zipalign", "apksigner", "keytool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("apktest: %s is required (%s): %v", tool, Install, err)
		}
	}
	if _, err := os.Stat(FrameworkRes); err != nil {
		t.Fatalf("apktest: %s is required (%s): %v", FrameworkRes, Install, err)
	}
}

// MakeKey makes a signing key with keytool in dir, named for cn (a PKCS#12
// keystore, alias "test", password "android"), and returns its path. Tests
// that share keys make them once, in TestMain's directory, as keytool
// starts a Java runtime.
func MakeKey(dir, cn string) (string, error) {
	name := strings.NewReplacer(" ", "_", "/", "_").Replace(cn) + ".p12"
	path := filepath.Join(dir, name)
	cmd := exec.Command("keytool", "-genkeypair", "-keystore", path, "-storetype", "PKCS12",
		"-storepass", "android", "-keypass", "android", "-alias", "test",
		"-keyalg", "RSA", "-keysize", "2048", "-validity", "10000", "-dname", "CN="+cn)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apktest: keytool for %q: %v\n%s", cn, err, out)
	}
	return path, nil
}

// New checks the tools, makes a signing key in a temporary directory and
// returns a builder. Everything is removed when the test ends.
func New(t testing.TB) *Builder {
	t.Helper()
	Need(t)
	dir := t.TempDir()
	key, err := MakeKey(dir, "wmpf-hil test")
	if err != nil {
		t.Fatal(err)
	}
	return &Builder{t: t, dir: dir, keystore: key}
}

// WithKey checks the tools and returns a builder that signs with a key
// MakeKey made. Its APKs are removed when the test ends.
func WithKey(t testing.TB, keystore string) *Builder {
	t.Helper()
	Need(t)
	return &Builder{t: t, dir: t.TempDir(), keystore: keystore}
}

// Unsigned checks the tools and builds and aligns an APK without signing
// it, as BuildUnsigned does.
func Unsigned(t testing.TB, m Manifest) string {
	t.Helper()
	Need(t)
	return (&Builder{t: t, dir: t.TempDir()}).BuildUnsigned(m)
}

func (b *Builder) run(name string, args ...string) {
	b.t.Helper()
	cmd := exec.Command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.t.Fatalf("apktest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Build builds, aligns and signs an APK and returns its path.
func (b *Builder) Build(m Manifest) string {
	b.t.Helper()
	unsigned := b.BuildUnsigned(m)
	signed := strings.TrimSuffix(unsigned, "-unsigned.apk") + ".apk"
	b.run("apksigner", "sign", "--ks", b.keystore, "--ks-pass", "pass:android", "--key-pass", "pass:android",
		"--out", signed, unsigned)
	return signed
}

// BuildUnsigned builds and aligns an APK without signing it (a real device
// refuses it: INSTALL_PARSE_FAILED_NO_CERTIFICATES).
func (b *Builder) BuildUnsigned(m Manifest) string {
	b.t.Helper()
	if m.Package == "" {
		b.t.Fatal("apktest: Manifest.Package is required")
	}
	b.n++
	work := filepath.Join(b.dir, fmt.Sprintf("%d-%s", b.n, m.Package))
	if err := os.MkdirAll(work, 0o755); err != nil {
		b.t.Fatal(err)
	}
	versionName := html.EscapeString(m.VersionName)
	args := []string{"package", "-f", "-M", filepath.Join(work, "AndroidManifest.xml"), "-I", FrameworkRes}
	if m.VersionNameFromResource {
		res := filepath.Join(work, "res", "values")
		if err := os.MkdirAll(res, 0o755); err != nil {
			b.t.Fatal(err)
		}
		strs := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<resources>\n  <string name=\"version_name\">%s</string>\n</resources>\n", versionName)
		if err := os.WriteFile(filepath.Join(res, "strings.xml"), []byte(strs), 0o644); err != nil {
			b.t.Fatal(err)
		}
		versionName = "@string/version_name"
		args = append(args, "-S", filepath.Join(work, "res"))
	}
	if m.Padding > 0 || len(m.Assets) > 0 {
		assets := filepath.Join(work, "assets")
		files := map[string][]byte{}
		for name, content := range m.Assets {
			files[name] = []byte(content)
		}
		if m.Padding > 0 {
			pad := make([]byte, m.Padding)
			if _, err := rand.Read(pad); err != nil {
				b.t.Fatal(err)
			}
			files["padding.bin"] = pad
			args = append(args, "-0", "bin")
		}
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p := filepath.Join(assets, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.t.Fatal(err)
			}
			if err := os.WriteFile(p, files[name], 0o644); err != nil {
				b.t.Fatal(err)
			}
		}
		args = append(args, "-A", assets)
	}
	var sdk string
	if m.MinSDK > 0 || m.TargetSDK > 0 {
		sdk = "  <uses-sdk"
		if m.MinSDK > 0 {
			sdk += fmt.Sprintf(` android:minSdkVersion="%d"`, m.MinSDK)
		}
		if m.TargetSDK > 0 {
			sdk += fmt.Sprintf(` android:targetSdkVersion="%d"`, m.TargetSDK)
		}
		sdk += "/>\n"
	}
	manifest := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="%s"
    android:versionCode="%d" android:versionName="%s">
%s  <application android:label="wmpf-hil test" android:hasCode="false">%s</application>
</manifest>
`, html.EscapeString(m.Package), m.VersionCode, versionName, sdk, m.Application)
	if err := os.WriteFile(filepath.Join(work, "AndroidManifest.xml"), []byte(manifest), 0o644); err != nil {
		b.t.Fatal(err)
	}
	raw := filepath.Join(work, "raw.apk")
	b.run("aapt", append(args, "-F", raw)...)
	aligned := filepath.Join(work, m.Package+"-unsigned.apk")
	b.run("zipalign", "-f", "4", raw, aligned)
	return aligned
}
