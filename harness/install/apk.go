// Package install installs the build under test, an APK, on a device and
// verifies that the device runs that build: Inspect reads the package,
// version and minimum SDK from the APK's binary AndroidManifest.xml (and
// its sha256); Install streams it to the device as `adb install` does (or
// pushes it and runs pm on devices without `cmd`) and then checks with
// `dumpsys package` that the device reports the APK's versionCode and
// versionName.
package install

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shogo82148/androidbinary"
)

// APK is what Inspect read from an APK file.
type APK struct {
	Path        string
	Package     string
	VersionCode int64 // versionCodeMajor<<32 | versionCode, as Android's long version code
	VersionName string
	// MinSDK and TargetSDK are as the manifest declares them; 0 when not
	// declared (Android then assumes minSdkVersion 1).
	MinSDK    int
	TargetSDK int
	Size      int64
	SHA256    string // hex
}

func (a APK) String() string {
	return fmt.Sprintf("%s %s (versionCode %d) from %s", a.Package, a.VersionName, a.VersionCode, a.Path)
}

// maxManifest bounds the manifest and resource table Inspect reads.
const maxManifest = 32 << 20

// manifest is the part of AndroidManifest.xml Inspect needs.
type manifest struct {
	Package          androidbinary.String `xml:"package,attr"`
	VersionCode      androidbinary.Int32  `xml:"http://schemas.android.com/apk/res/android versionCode,attr"`
	VersionCodeMajor androidbinary.Int32  `xml:"http://schemas.android.com/apk/res/android versionCodeMajor,attr"`
	VersionName      androidbinary.String `xml:"http://schemas.android.com/apk/res/android versionName,attr"`
	SDK              struct {
		Min    androidbinary.Int32 `xml:"http://schemas.android.com/apk/res/android minSdkVersion,attr"`
		Target androidbinary.Int32 `xml:"http://schemas.android.com/apk/res/android targetSdkVersion,attr"`
	} `xml:"uses-sdk"`
}

// Inspect reads an APK: package name, version code and name, SDK levels
// from its binary AndroidManifest.xml (references such as @string/... are
// resolved through resources.arsc), and the file's size and sha256. Errors
// name the file and what is wrong with it.
func Inspect(path string) (apk APK, err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("inspect APK %s: %s", path, fmt.Sprintf(format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		return APK{}, fmt.Errorf("inspect APK: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return APK{}, fmt.Errorf("inspect APK: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return APK{}, fail("not a regular file (%v)", fi.Mode().Type())
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return APK{}, fail("reading it: %v", err)
	}
	apk = APK{Path: path, Size: fi.Size(), SHA256: hex.EncodeToString(h.Sum(nil))}

	z, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return APK{}, fail("not a zip archive, so not an APK (%v)", err)
	}
	raw, err := readEntry(z, "AndroidManifest.xml")
	if err != nil {
		return APK{}, fail("%v", err)
	}
	var table *androidbinary.TableFile
	if arsc, err := readEntry(z, "resources.arsc"); err == nil {
		table, err = parseTable(arsc)
		if err != nil {
			return APK{}, fail("resources.arsc: %v", err)
		}
	} else if !errors.Is(err, errNoEntry) {
		return APK{}, fail("%v", err)
	}
	var m manifest
	if err := decodeManifest(raw, table, &m); err != nil {
		return APK{}, fail("AndroidManifest.xml: %v", err)
	}
	if apk.Package, err = stringAttr(m.Package, "package", table); err != nil || apk.Package == "" {
		return APK{}, fail("AndroidManifest.xml has no package attribute (%v)", err)
	}
	if apk.VersionName, err = stringAttr(m.VersionName, "android:versionName", table); err != nil {
		return APK{}, fail("AndroidManifest.xml: %v", err)
	}
	code, err := intAttr(m.VersionCode, "android:versionCode", table)
	if err != nil {
		return APK{}, fail("AndroidManifest.xml: %v", err)
	}
	major, err := intAttr(m.VersionCodeMajor, "android:versionCodeMajor", table)
	if err != nil {
		return APK{}, fail("AndroidManifest.xml: %v", err)
	}
	apk.VersionCode = int64(major)<<32 | int64(uint32(code))
	if apk.MinSDK, err = intAttr(m.SDK.Min, "android:minSdkVersion", table); err != nil {
		return APK{}, fail("AndroidManifest.xml: %v", err)
	}
	if apk.TargetSDK, err = intAttr(m.SDK.Target, "android:targetSdkVersion", table); err != nil {
		return APK{}, fail("AndroidManifest.xml: %v", err)
	}
	return apk, nil
}

var errNoEntry = errors.New("no such entry")

// readEntry reads one file of the archive.
func readEntry(z *zip.Reader, name string) ([]byte, error) {
	for _, e := range z.File {
		if e.Name != name {
			continue
		}
		if e.UncompressedSize64 > maxManifest {
			return nil, fmt.Errorf("%s is %d bytes, more than the %d read", name, e.UncompressedSize64, maxManifest)
		}
		r, err := e.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer r.Close()
		b, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	if name == "AndroidManifest.xml" {
		return nil, fmt.Errorf("no AndroidManifest.xml in the archive: not an APK")
	}
	return nil, fmt.Errorf("%s: %w", name, errNoEntry)
}

// parseTable parses resources.arsc; malformed input is an error, never a
// panic of the parser.
func parseTable(b []byte) (t *androidbinary.TableFile, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("malformed resource table (%v)", r)
		}
	}()
	return androidbinary.NewTableFile(bytes.NewReader(b))
}

// decodeManifest parses the binary XML into m.
func decodeManifest(b []byte, table *androidbinary.TableFile, m *manifest) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed binary XML (%v)", r)
		}
	}()
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
		return errors.New("text XML, not the binary XML a built APK holds")
	}
	x, err := androidbinary.NewXMLFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not binary XML, or cut short: %w", err)
	}
	if err := x.Decode(m, table, nil); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}

// rawAttr is an attribute's value as written in the manifest: a literal or
// a resource reference such as @0x7f010000.
func rawAttr(v xml.MarshalerAttr) string {
	a, err := v.MarshalXMLAttr(xml.Name{})
	if err != nil {
		return ""
	}
	return a.Value
}

func stringAttr(v androidbinary.String, name string, table *androidbinary.TableFile) (s string, err error) {
	if raw := rawAttr(v); androidbinary.IsResID(raw) && table == nil {
		return "", fmt.Errorf("%s refers to resource %s but the APK has no resources.arsc", name, raw)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: unresolvable (%v)", name, r)
		}
	}()
	s, err = v.String()
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", name, rawAttr(v), err)
	}
	return s, nil
}

func intAttr(v androidbinary.Int32, name string, table *androidbinary.TableFile) (n int, err error) {
	raw := rawAttr(v)
	if androidbinary.IsResID(raw) && table == nil {
		return 0, fmt.Errorf("%s refers to resource %s but the APK has no resources.arsc", name, raw)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: unresolvable (%v)", name, r)
		}
	}()
	i, err := v.Int32()
	if err != nil {
		return 0, fmt.Errorf("%s %q: want an integer: %w", name, raw, err)
	}
	return int(i), nil
}
