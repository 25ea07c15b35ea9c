package android

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/simulator/build"
)

// FuzzParseAPK feeds the package manager's parse APKs and manifests it
// could be sent: it must refuse them with an InstallError, never panic or
// allocate what the file does not hold.
func FuzzParseAPK(f *testing.F) {
	k, err := build.NewKey("fuzz")
	if err != nil {
		f.Fatal(err)
	}
	apk, err := build.Make(build.Options{VersionName: "1", Key: k})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(apk)
	f.Add([]byte("PK\x05\x06"))
	manifest, _ := build.EncodeXML(build.Manifest(build.Options{Package: "a.b", VersionName: "x", VersionCode: 1}))
	f.Add(manifest)
	f.Fuzz(func(t *testing.T, data []byte) {
		// As an APK, and as the manifest of an otherwise valid APK.
		a, ierr := parseAPK(data, "/data/app/vmdl1.tmp/base.apk", 30, true)
		if (a == nil) == (ierr == nil) {
			t.Fatalf("parseAPK: %v %v", a, ierr)
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("AndroidManifest.xml")
		_, _ = w.Write(data)
		_ = zw.Close()
		_, _ = parseAPK(buf.Bytes(), "/data/app/vmdl1.tmp/base.apk", 30, false)
	})
}

// A manifest whose string pool claims two billion strings is refused
// before anything is allocated for them.
func TestHugeStringPoolIsRefused(t *testing.T) {
	manifest, err := build.EncodeXML(build.Manifest(build.Options{Package: "a.b", VersionName: "x", VersionCode: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{16, 20} { // stringCount, styleCount of the pool after the 8-byte XML header
		bad := append([]byte(nil), manifest...)
		bad[off], bad[off+1], bad[off+2], bad[off+3] = 0xff, 0xff, 0xff, 0x7f
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("AndroidManifest.xml")
		_, _ = w.Write(bad)
		_ = zw.Close()
		_, ierr := parseAPK(buf.Bytes(), "/data/app/vmdl1.tmp/base.apk", 30, false)
		if ierr == nil || ierr.Code != "INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION" {
			t.Errorf("count at %d: %v", off, ierr)
		}
	}
}
