package install_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/install"
)

// The samples in testdata/real are `dumpsys package` output of real
// devices; testdata/real/SOURCES.md says where each comes from.
func TestParseDumpsysPackageRealDevices(t *testing.T) {
	for _, tc := range []struct {
		file, pkg string
		want      install.Package
	}{
		{"android4-lufthansa.txt", "com.lufthansa.android.lufthansa",
			install.Package{Name: "com.lufthansa.android.lufthansa", VersionCode: 10210, VersionName: "4.7.1", TargetSDK: 18}},
		// An updated system app: the running version is under Packages:,
		// the system image's (9083448) under Hidden system packages:.
		{"android7-gms-updated-system-app.excerpt.txt", "com.google.android.gms",
			install.Package{Name: "com.google.android.gms", VersionCode: 11062448, VersionName: "11.0.62 (448-160311229)", TargetSDK: 23}},
		{"wearos-updated-system-app.txt", "com.tekartik.package1",
			install.Package{Name: "com.tekartik.package1", VersionCode: 20, VersionName: "1.0.16", MinSDK: 27, TargetSDK: 36}},
	} {
		text := readReal(t, tc.file)
		got, err := install.ParseDumpsysPackage(text, tc.pkg)
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.file, got, tc.want)
		}
		// The same text read for a package it does not list.
		if _, err := install.ParseDumpsysPackage(text, tc.pkg+".other"); !errors.Is(err, install.ErrPackageNotFound) {
			t.Errorf("%s: another package: %v, want ErrPackageNotFound", tc.file, err)
		}
	}
}

func readReal(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseDumpsysPackageEdges(t *testing.T) {
	// Only under Hidden system packages: the package does not run.
	real := readReal(t, "wearos-updated-system-app.txt")
	i := strings.Index(real, "Packages:\n")
	j := strings.Index(real, "Hidden system packages:")
	hiddenOnly := real[:i] + real[j:]
	if _, err := install.ParseDumpsysPackage(hiddenOnly, "com.tekartik.package1"); !errors.Is(err, install.ErrPackageNotFound) {
		t.Errorf("a package only under Hidden system packages: %v; want ErrPackageNotFound", err)
	}
	// Windows line ends and a byte-order mark, as a capture saved on a
	// Windows host has them.
	crlf := "\ufeff" + strings.ReplaceAll(readReal(t, "android4-lufthansa.txt"), "\n", "\r\n")
	if p, err := install.ParseDumpsysPackage(crlf, "com.lufthansa.android.lufthansa"); err != nil || p.VersionName != "4.7.1" || p.VersionCode != 10210 {
		t.Errorf("CRLF and BOM: %+v, %v", p, err)
	}
	for name, tc := range map[string]struct{ text, want string }{
		"bad versionCode": {"Packages:\n  Package [a.b] (1):\n    versionCode=x1 targetSdk=29\n    versionName=1\n", `versionCode "x1": want an integer`},
		"no versionName":  {"Packages:\n  Package [a.b] (1):\n    versionCode=1 targetSdk=29\n", "no versionCode= or versionName= line"},
		"empty":           {"", "no entry for it under Packages:"},
	} {
		_, err := install.ParseDumpsysPackage(tc.text, "a.b")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", name, err, tc.want)
		}
	}
	p, err := install.ParseDumpsysPackage("Packages:\n  Package [a.b] (1):\n    versionCode=3 minSdk=1 targetSdk=29\n    versionName=null\n  Package [a.b.c] (2):\n    versionCode=9 targetSdk=29\n    versionName=9\n", "a.b")
	if err != nil || p.VersionName != "" || p.VersionCode != 3 {
		t.Errorf("versionName=null: %+v, %v; want an empty name and code 3", p, err)
	}
}
