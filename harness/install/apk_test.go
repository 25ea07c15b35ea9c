package install_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/install"
	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
)

func TestInspect(t *testing.T) {
	b := apktest.New(t)
	for _, m := range []apktest.Manifest{
		{Package: "com.example.hostapp", VersionCode: 42, VersionName: "1.2.3 (build 7)", MinSDK: 21, TargetSDK: 29},
		{Package: "com.example.res", VersionCode: 2147483647, VersionName: "9.9-from-res", MinSDK: 24, VersionNameFromResource: true},
		{Package: "com.example.bare", VersionCode: 1, VersionName: "1"},
	} {
		path := b.Build(m)
		apk, err := install.Inspect(path)
		if err != nil {
			t.Fatalf("%s: %v", m.Package, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		want := install.APK{Path: path, Package: m.Package, VersionCode: int64(m.VersionCode), VersionName: m.VersionName,
			MinSDK: m.MinSDK, TargetSDK: m.TargetSDK, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
		if apk != want {
			t.Errorf("Inspect:\n got %+v\nwant %+v", apk, want)
		}
	}
}

func TestInspectBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zipWith := func(name string, entries map[string]string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := zip.NewWriter(f)
		for n, body := range entries {
			e, err := w.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			e.Write([]byte(body))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	// A real manifest cut in half.
	real := apktest.New(t).BuildUnsigned(apktest.Manifest{Package: "com.example.cut", VersionCode: 1, VersionName: "1"})
	z, err := zip.OpenReader(real)
	if err != nil {
		t.Fatal(err)
	}
	var manifest []byte
	for _, e := range z.File {
		if e.Name == "AndroidManifest.xml" {
			r, _ := e.Open()
			buf := make([]byte, e.UncompressedSize64)
			n, _ := r.Read(buf)
			for n < len(buf) {
				m, err := r.Read(buf[n:])
				if err != nil {
					break
				}
				n += m
			}
			manifest = buf[:n]
		}
	}
	z.Close()

	for name, tc := range map[string]struct{ path, want string }{
		"missing":       {filepath.Join(dir, "none.apk"), "no such file"},
		"directory":     {dir, "not a regular file"},
		"not a zip":     {write("text.apk", []byte("this is not an APK\n")), "not a zip archive, so not an APK"},
		"no manifest":   {zipWith("empty.apk", map[string]string{"classes.dex": "dex\n"}), "no AndroidManifest.xml in the archive"},
		"text manifest": {zipWith("text-manifest.apk", map[string]string{"AndroidManifest.xml": `<manifest package="a.b"/>`}), "text XML, not the binary XML"},
		"cut manifest":  {zipWith("cut.apk", map[string]string{"AndroidManifest.xml": string(manifest[:len(manifest)/2])}), "AndroidManifest.xml"},
		"garbage":       {zipWith("garbage.apk", map[string]string{"AndroidManifest.xml": "\x03\x00\x08\x00\xff\xff\xff\x7f garbage"}), "AndroidManifest.xml"},
	} {
		_, err := install.Inspect(tc.path)
		t.Logf("%s: %v", name, err)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (name != "missing" && !strings.Contains(err.Error(), tc.path)) {
			t.Errorf("%s: %v; want an error naming the file and saying %q", name, err, tc.want)
		}
	}
}
