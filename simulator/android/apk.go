package android

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/shogo82148/androidbinary"
)

// APK is an Android package file as the package manager reads it before
// installing: the manifest's attributes and components, and who signed it.
// Resources and code are not read.
type APK struct {
	Package     string
	Split       string // "" for a base APK
	VersionCode int
	VersionName string
	MinSdk      int
	TargetSdk   int
	Label       string
	TestOnly    bool
	Activities  []ActivityInfo
	Receivers   []ReceiverInfo
	// SigningScheme is the newest signature scheme found: 1 (JAR signing),
	// 2 or 3 (APK Signature Schemes v2 and v3).
	SigningScheme int
	// CertDigest is the SHA-256 of the signing certificate in hex, "" when
	// it could not be read.
	CertDigest string

	data       []byte
	zr         *zip.Reader
	splitNames []string // of the session it was installed with
}

// Size is the file's size in bytes.
func (a *APK) Size() int { return len(a.data) }

// Bytes returns the file's content; it must not be modified.
func (a *APK) Bytes() []byte { return a.data }

// Has reports whether the APK has an entry of that name.
func (a *APK) Has(name string) bool {
	for _, f := range a.zr.File {
		if f.Name == name {
			return true
		}
	}
	return false
}

// File returns the content of one entry of the APK (e.g. "assets/x.json").
func (a *APK) File(name string) ([]byte, error) {
	for _, f := range a.zr.File {
		if f.Name != name {
			continue
		}
		if f.UncompressedSize64 > maxAPKEntry {
			return nil, fmt.Errorf("apk entry %s: %d bytes: allowed at most %d", name, f.UncompressedSize64, maxAPKEntry)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("apk entry %s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxAPKEntry))
		if err != nil {
			return nil, fmt.Errorf("apk entry %s: %w", name, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("apk entry %s: %w", name, errNoEnt)
}

// maxAPKEntry bounds the manifest and the assets read from an APK.
const maxAPKEntry = 8 << 20

// InstallError is a package manager failure as pm prints it: "Failure
// [CODE: Msg]".
type InstallError struct {
	Code string // e.g. INSTALL_FAILED_VERSION_DOWNGRADE
	Msg  string
}

func (e *InstallError) Error() string {
	if e.Msg == "" {
		return e.Code
	}
	return e.Code + ": " + e.Msg
}

// Status is the PackageInstaller status the failure maps to
// (PackageManager.installStatusToPublicStatus), which `pm install-commit`
// exits with: 4 invalid, 5 conflict, 7 incompatible, 1 other.
func (e *InstallError) Status() int {
	switch {
	case strings.HasPrefix(e.Code, "INSTALL_PARSE_FAILED_"), e.Code == "INSTALL_FAILED_INVALID_APK", e.Code == "INSTALL_FAILED_TEST_ONLY":
		return 4
	case e.Code == "INSTALL_FAILED_ALREADY_EXISTS", e.Code == "INSTALL_FAILED_UPDATE_INCOMPATIBLE":
		return 5
	case e.Code == "INSTALL_FAILED_VERSION_DOWNGRADE", e.Code == "INSTALL_FAILED_OLDER_SDK":
		return 7
	}
	return 1
}

func installErr(code, format string, a ...any) *InstallError {
	return &InstallError{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// manifestXML is what the package manager reads from AndroidManifest.xml.
type manifestXML struct {
	XMLName     xml.Name
	Package     androidbinary.String `xml:"package,attr"`
	Split       androidbinary.String `xml:"split,attr"`
	VersionCode androidbinary.Int32  `xml:"http://schemas.android.com/apk/res/android versionCode,attr"`
	VersionName androidbinary.String `xml:"http://schemas.android.com/apk/res/android versionName,attr"`
	SDK         struct {
		Min    androidbinary.Int32 `xml:"http://schemas.android.com/apk/res/android minSdkVersion,attr"`
		Target androidbinary.Int32 `xml:"http://schemas.android.com/apk/res/android targetSdkVersion,attr"`
	} `xml:"uses-sdk"`
	App struct {
		Label      androidbinary.String `xml:"http://schemas.android.com/apk/res/android label,attr"`
		TestOnly   androidbinary.Bool   `xml:"http://schemas.android.com/apk/res/android testOnly,attr"`
		Activities []componentXML       `xml:"activity"`
		Receivers  []componentXML       `xml:"receiver"`
	} `xml:"application"`
}

type componentXML struct {
	Name     androidbinary.String `xml:"http://schemas.android.com/apk/res/android name,attr"`
	Exported androidbinary.Bool   `xml:"http://schemas.android.com/apk/res/android exported,attr"`
	Process  androidbinary.String `xml:"http://schemas.android.com/apk/res/android process,attr"`
	Filters  []struct {
		Actions []struct {
			Name androidbinary.String `xml:"http://schemas.android.com/apk/res/android name,attr"`
		} `xml:"action"`
		Categories []struct {
			Name androidbinary.String `xml:"http://schemas.android.com/apk/res/android name,attr"`
		} `xml:"category"`
	} `xml:"intent-filter"`
}

// str reads a string attribute; a resource reference that cannot be
// resolved stays as "@0x7F…".
func str(v androidbinary.String) string {
	s, err := v.String()
	if err != nil {
		a, _ := v.MarshalXMLAttr(xml.Name{})
		return a.Value
	}
	return s
}

func num(v androidbinary.Int32, def int) (int, error) {
	a, _ := v.MarshalXMLAttr(xml.Name{})
	if a.Value == "0" {
		return def, nil
	}
	n, err := v.Int32()
	return int(n), err
}

// parseAPK reads an APK the way the package manager's lite parse does,
// with path the file's name on the device (in the messages). With certs
// it also collects the signatures, as an install does; sdk is the device's
// API level (the texts changed with Android 11).
func parseAPK(data []byte, path string, sdk int, certs bool) (a *APK, ierr *InstallError) {
	defer func() {
		// A malformed binary manifest must not take the device down.
		if r := recover(); r != nil {
			a, ierr = nil, installErr("INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION", "Failed to parse %s", path)
		}
	}()
	notAPK := installErr("INSTALL_PARSE_FAILED_NOT_APK", "Failed to parse %s: Failed to load asset path %s", path, path)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, notAPK
	}
	a = &APK{data: data, zr: zr}
	raw, err := a.File("AndroidManifest.xml")
	if err != nil {
		return nil, installErr("INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION", "Failed to parse %s", path)
	}
	if !checkBinaryXML(raw) {
		return nil, installErr("INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION", "Failed to parse %s", path)
	}
	x, err := androidbinary.NewXMLFile(bytes.NewReader(raw))
	if err != nil {
		return nil, installErr("INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION", "Failed to parse %s", path)
	}
	// Resources are not read: an attribute that refers to one (a label
	// @string/app_name) stays a reference.
	var m manifestXML
	if err := x.Decode(&m, nil, nil); err != nil {
		return nil, installErr("INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION", "Failed to parse %s", path)
	}
	if m.XMLName.Local != "manifest" {
		return nil, installErr("INSTALL_PARSE_FAILED_MANIFEST_MALFORMED", "No <manifest> tag")
	}
	a.Package = str(m.Package)
	if a.Package == "" {
		return nil, installErr("INSTALL_PARSE_FAILED_BAD_MANIFEST", "<manifest> does not specify package")
	}
	if msg := packageNameProblem(a.Package); msg != "" {
		return nil, installErr("INSTALL_PARSE_FAILED_BAD_PACKAGE_NAME", "Invalid manifest package: %s", msg)
	}
	a.Split = str(m.Split)
	a.VersionName = str(m.VersionName)
	if a.VersionCode, err = num(m.VersionCode, 0); err != nil {
		return nil, installErr("INSTALL_PARSE_FAILED_BAD_MANIFEST", "Bad versionCode in %s", path)
	}
	if a.MinSdk, err = num(m.SDK.Min, 1); err != nil {
		return nil, installErr("INSTALL_PARSE_FAILED_MANIFEST_MALFORMED", "Bad minSdkVersion in %s", path)
	}
	if a.TargetSdk, err = num(m.SDK.Target, a.MinSdk); err != nil {
		return nil, installErr("INSTALL_PARSE_FAILED_MANIFEST_MALFORMED", "Bad targetSdkVersion in %s", path)
	}
	a.Label = str(m.App.Label)
	a.TestOnly, _ = m.App.TestOnly.Bool()
	for _, c := range m.App.Activities {
		ai := ActivityInfo{Class: expandClass(a.Package, str(c.Name)), Process: str(c.Process)}
		ai.Exported, _ = c.Exported.Bool()
		for _, f := range c.Filters {
			main, launcher := false, false
			for _, act := range f.Actions {
				n := str(act.Name)
				if n == ActionMain {
					main = true
					continue
				}
				ai.Actions = append(ai.Actions, n)
			}
			for _, cat := range f.Categories {
				launcher = launcher || str(cat.Name) == "android.intent.category.LAUNCHER"
			}
			if main && launcher {
				ai.Launcher, ai.Exported = true, true
			}
		}
		a.Activities = append(a.Activities, ai)
	}
	for _, c := range m.App.Receivers {
		ri := ReceiverInfo{Class: expandClass(a.Package, str(c.Name)), Process: str(c.Process)}
		ri.Exported, _ = c.Exported.Bool()
		for _, f := range c.Filters {
			for _, act := range f.Actions {
				ri.Actions = append(ri.Actions, str(act.Name))
			}
		}
		a.Receivers = append(a.Receivers, ri)
	}
	if !certs {
		return a, nil
	}
	a.SigningScheme, a.CertDigest = signatures(a)
	if a.SigningScheme == 0 {
		msg := fmt.Sprintf("Failed to collect certificates from %s: Attempt to get length of null array", path)
		if sdk >= 30 {
			msg = fmt.Sprintf("Failed collecting certificates for %s: %s", path, msg)
		}
		return nil, &InstallError{Code: "INSTALL_PARSE_FAILED_NO_CERTIFICATES", Msg: msg}
	}
	return a, nil
}

// checkBinaryXML checks the chunk structure of a binary XML file before
// it is decoded: every chunk inside its parent, and every string pool's
// counts, offsets and string lengths inside the pool, so that a crafted
// manifest cannot make the decoder allocate more than the file holds.
func checkBinaryXML(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	u16 := func(c []byte, o uint64) uint64 { return uint64(binary.LittleEndian.Uint16(c[o:])) }
	u32 := func(c []byte, o uint64) uint64 { return uint64(binary.LittleEndian.Uint32(c[o:])) }
	hs, size := u16(b, 2), u32(b, 4)
	if u16(b, 0) != 0x0003 || hs < 8 || size > uint64(len(b)) || size < hs {
		return false
	}
	for off := hs; off+8 <= size; {
		chs, cs := u16(b, off+2), u32(b, off+4)
		if chs < 8 || cs < chs || off+cs > size {
			return false
		}
		if u16(b, off) == 0x0001 && !checkStringPool(b[off:off+cs]) {
			return false
		}
		off += cs
	}
	return true
}

func checkStringPool(c []byte) bool {
	n := uint64(len(c))
	if n < 28 {
		return false
	}
	u32 := func(o uint64) uint64 { return uint64(binary.LittleEndian.Uint32(c[o:])) }
	count, styles, flags, strStart, styleStart := u32(8), u32(12), u32(16), u32(20), u32(24)
	if 28+4*(count+styles) > n || strStart > n || (styles > 0 && styleStart > n) {
		return false
	}
	for i := uint64(0); i < count; i++ {
		p := strStart + u32(28+4*i)
		if flags&(1<<8) != 0 { // UTF-8: two lengths (1 or 2 bytes each), bytes, NUL
			for k := 0; k < 2; k++ {
				if p >= n {
					return false
				}
				l := uint64(c[p])
				p++
				if l&0x80 != 0 {
					if p >= n {
						return false
					}
					l = (l&0x7f)<<8 | uint64(c[p])
					p++
				}
				if k == 1 && p+l > n {
					return false
				}
			}
			continue
		}
		if p+2 > n { // UTF-16: length (1 or 2 units), units, NUL
			return false
		}
		l := uint64(binary.LittleEndian.Uint16(c[p:]))
		p += 2
		if l&0x8000 != 0 {
			if p+2 > n {
				return false
			}
			l = (l&0x7fff)<<16 | uint64(binary.LittleEndian.Uint16(c[p:]))
			p += 2
		}
		if p+2*l > n {
			return false
		}
	}
	for i := uint64(0); i < styles; i++ {
		if styleStart+u32(28+4*(count+i))+12 > n {
			return false
		}
	}
	return true
}

// packageNameProblem is PackageParser.validateName's complaint about a
// package name, or "".
func packageNameProblem(name string) string {
	front, dots := true, 0
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			front = false
			continue
		case !front && (c >= '0' && c <= '9' || c == '_'):
			continue
		case c == '.':
			dots++
			front = true
			continue
		}
		return fmt.Sprintf("bad character '%c'", c)
	}
	if dots == 0 {
		return "must have at least one '.' separator"
	}
	return ""
}

// Signature blocks of the APK Signing Block (source.android.com,
// "APK Signature Scheme v2"/"v3").
const (
	sigBlockMagic = "APK Sig Block 42"
	sigV2ID       = 0x7109871a
	sigV3ID       = 0xf05368c0
)

// signatures finds the newest signature scheme present and the signing
// certificate's digest. The signatures are not verified: a simulated device
// refuses an unsigned APK as a real one does, but trusts any signature.
func signatures(a *APK) (scheme int, certDigest string) {
	if blocks := signingBlock(a.data); blocks != nil {
		for _, id := range []uint32{sigV3ID, sigV2ID} {
			if v, ok := blocks[id]; ok {
				scheme = 2
				if id == sigV3ID {
					scheme = 3
				}
				return scheme, schemeCert(v, id == sigV3ID)
			}
		}
	}
	var hasMF, hasSF bool
	var sigFile string
	for _, f := range a.zr.File {
		dir, base := path.Split(f.Name)
		if dir != "META-INF/" {
			continue
		}
		up := strings.ToUpper(base)
		switch {
		case up == "MANIFEST.MF":
			hasMF = true
		case strings.HasSuffix(up, ".SF"):
			hasSF = true
		case strings.HasSuffix(up, ".RSA"), strings.HasSuffix(up, ".DSA"), strings.HasSuffix(up, ".EC"):
			sigFile = f.Name
		}
	}
	if hasMF && hasSF && sigFile != "" {
		p7, err := a.File(sigFile)
		if err != nil {
			return 1, ""
		}
		return 1, pkcs7Cert(p7)
	}
	return 0, ""
}

// signingBlock returns the ID-value pairs of the APK Signing Block that
// precedes the central directory, or nil.
func signingBlock(b []byte) map[uint32][]byte {
	eocd := -1
	for i := len(b) - 22; i >= 0 && i >= len(b)-22-0xffff; i-- {
		if binary.LittleEndian.Uint32(b[i:]) == 0x06054b50 {
			eocd = i
			break
		}
	}
	if eocd < 0 {
		return nil
	}
	cd := int(binary.LittleEndian.Uint32(b[eocd+16:]))
	if cd < 32 || cd > eocd || string(b[cd-16:cd]) != sigBlockMagic {
		return nil
	}
	size := binary.LittleEndian.Uint64(b[cd-24:])
	if size < 24 || size > uint64(cd-8) {
		return nil
	}
	start := cd - int(size) - 8
	if binary.LittleEndian.Uint64(b[start:]) != size {
		return nil
	}
	pairs := b[start+8 : cd-24]
	out := map[uint32][]byte{}
	for len(pairs) >= 12 {
		n := binary.LittleEndian.Uint64(pairs)
		if n < 4 || n > uint64(len(pairs)-8) {
			return out
		}
		out[binary.LittleEndian.Uint32(pairs[8:])] = pairs[12 : 8+n]
		pairs = pairs[8+n:]
	}
	return out
}

// lpNext splits off a uint32-length-prefixed field.
func lpNext(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

// schemeCert reads the first signer's first certificate of a v2 or v3
// block: signers → signer → signed data → (digests, certificates).
func schemeCert(v []byte, _ bool) string {
	signers, _, ok := lpNext(v)
	if !ok {
		return ""
	}
	signer, _, ok := lpNext(signers)
	if !ok {
		return ""
	}
	signed, _, ok := lpNext(signer)
	if !ok {
		return ""
	}
	_, rest, ok := lpNext(signed) // digests
	if !ok {
		return ""
	}
	certs, _, ok := lpNext(rest)
	if !ok {
		return ""
	}
	cert, _, ok := lpNext(certs)
	if !ok || len(cert) == 0 {
		return ""
	}
	sum := sha256.Sum256(cert)
	return hex.EncodeToString(sum[:])
}

// pkcs7Cert reads the first certificate of a PKCS#7 SignedData (the JAR
// signature block, META-INF/CERT.RSA).
func pkcs7Cert(der []byte) string {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return ""
	}
	var sd struct {
		Version     int
		DigestAlgs  asn1.RawValue
		ContentInfo asn1.RawValue
		Certs       asn1.RawValue `asn1:"optional,tag:0"`
		Rest        asn1.RawValue `asn1:"optional"`
		More        asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return ""
	}
	var cert asn1.RawValue
	if _, err := asn1.Unmarshal(sd.Certs.Bytes, &cert); err != nil {
		return ""
	}
	sum := sha256.Sum256(cert.FullBytes)
	return hex.EncodeToString(sum[:])
}
