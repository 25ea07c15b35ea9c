package build

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
)

// Options describe one simulated build.
type Options struct {
	// Package is the host app's package; default com.example.voipdevice.
	Package string
	// VersionName is android:versionName (required), e.g. "1.5.0-nightly".
	VersionName string
	// VersionCode is android:versionCode; default 1.
	VersionCode int
	// MinSdk and TargetSdk default to 24 and 30. A v2-only signature needs
	// MinSdk 24 or more (older Android verifies only v1 signatures).
	MinSdk, TargetSdk int
	// Label is the application label; default "VoipDevice".
	Label string
	Spec  Spec
	// Key signs the APK (APK Signature Scheme v2).
	Key *Key
}

// DefaultPackage is the reference host app's package.
const DefaultPackage = "com.example.voipdevice"

var packagePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)

func (o *Options) fill() error {
	if o.Package == "" {
		o.Package = DefaultPackage
	}
	if !packagePattern.MatchString(o.Package) {
		return fmt.Errorf("package %q: allowed a Java package name with at least one '.' (letters, digits, '_')", o.Package)
	}
	if o.VersionName == "" {
		return errors.New("version name: required (e.g. 1.5.0-nightly)")
	}
	if o.VersionCode == 0 {
		o.VersionCode = 1
	}
	if o.VersionCode < 0 {
		return fmt.Errorf("version code %d: allowed 1 or more", o.VersionCode)
	}
	if o.MinSdk == 0 {
		o.MinSdk = 24
	}
	if o.TargetSdk == 0 {
		o.TargetSdk = 30
	}
	if o.MinSdk < 24 {
		return fmt.Errorf("min sdk %d: allowed 24 or more (the APK has a v2 signature only)", o.MinSdk)
	}
	if o.TargetSdk < o.MinSdk {
		return fmt.Errorf("target sdk %d: allowed %d (min sdk) or more", o.TargetSdk, o.MinSdk)
	}
	if o.Label == "" {
		o.Label = "VoipDevice"
	}
	if o.Key == nil {
		return errors.New("key: required to sign the APK")
	}
	if o.Spec.Format == "" {
		o.Spec.Format = Format
	}
	return o.Spec.Validate()
}

// Manifest is the manifest of a simulated build: the host app's components
// (as the reference host app declares them) under the given package.
func Manifest(o Options) *Element {
	a := func(name string, v any) Attr { return Attr{Android: true, Name: name, Value: v} }
	named := func(tag, name string) *Element { return &Element{Name: tag, Attrs: []Attr{a("name", name)}} }
	filter := func(children ...*Element) *Element { return &Element{Name: "intent-filter", Children: children} }
	return &Element{Name: "manifest", Attrs: []Attr{
		a("versionCode", o.VersionCode), a("versionName", o.VersionName), {Name: "package", Value: o.Package},
	}, Children: []*Element{
		{Name: "uses-sdk", Attrs: []Attr{a("minSdkVersion", o.MinSdk), a("targetSdkVersion", o.TargetSdk)}},
		{Name: "application", Attrs: []Attr{a("label", o.Label), a("hasCode", false), a("debuggable", true)}, Children: []*Element{
			{Name: "activity", Attrs: []Attr{a("name", ".MainActivity"), a("exported", true)}, Children: []*Element{
				filter(named("action", "android.intent.action.MAIN"), named("category", "android.intent.category.LAUNCHER")),
			}},
			{Name: "activity", Attrs: []Attr{a("name", ".IncomingCallActivity"), a("exported", false)}},
			{Name: "receiver", Attrs: []Attr{a("name", ".TestHookReceiver"), a("exported", true)}, Children: []*Element{
				filter(named("action", contract.ActionInjectPush), named("action", contract.ActionConfigure), named("action", contract.ActionReport)),
			}},
			{Name: "receiver", Attrs: []Attr{a("name", ".BootReceiver"), a("exported", false)}, Children: []*Element{
				filter(named("action", "android.intent.action.BOOT_COMPLETED")),
			}},
		}},
	}}
}

// Make writes a signed simulated-build APK: AndroidManifest.xml (binary),
// assets/wmpf-hil/build.json, and the v2 signing block.
func Make(o Options) ([]byte, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	manifest, err := EncodeXML(Manifest(o))
	if err != nil {
		return nil, err
	}
	spec, err := o.Spec.Marshal()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"AndroidManifest.xml", manifest}, {SpecPath, spec}} {
		// Stored, with sizes and CRC in the local header (no data
		// descriptor), as zipalign-friendly tools write them.
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: f.name, Method: zip.Store, Modified: time.Date(1981, 1, 1, 1, 1, 2, 0, time.UTC),
			CRC32: crc32.ChecksumIEEE(f.data), CompressedSize64: uint64(len(f.data)), UncompressedSize64: uint64(len(f.data)),
		})
		if err != nil {
			return nil, fmt.Errorf("apk: %w", err)
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, fmt.Errorf("apk: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("apk: %w", err)
	}
	return SignV2(buf.Bytes(), o.Key)
}
