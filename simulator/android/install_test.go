package android

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/apktest"
	"github.com/wmpf-hil/wmpf-hil/simulator/build"
)

func runIn(t testing.TB, s *System, cmd string, stdin []byte) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	st := s.Exec(ctx, cmd, Stdio{Stdin: bytes.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), st
}

var (
	ksOnce   sync.Once
	ksA, ksB string
	ksErr    error
	// sharedDir holds what several tests share; TestMain removes it.
	sharedDir string
)

func TestMain(m *testing.M) {
	var err error
	sharedDir, err = os.MkdirTemp("", "android-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(sharedDir)
	os.Exit(code)
}

// keystores makes two keystores once for the package's tests.
func keystores(t *testing.T) (string, string) {
	t.Helper()
	apktest.Need(t)
	ksOnce.Do(func() {
		if ksA, ksErr = apktest.MakeKey(sharedDir, "Vendor A"); ksErr == nil {
			ksB, ksErr = apktest.MakeKey(sharedDir, "Vendor B")
		}
	})
	if ksErr != nil {
		t.Fatal(ksErr)
	}
	return ksA, ksB
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testApp(code int32, name string) apktest.Manifest {
	return apktest.Manifest{Package: "com.vendor.tool", VersionCode: code, VersionName: name, MinSDK: 21, TargetSDK: 30,
		Application: `<activity android:name=".Main" android:exported="true"><intent-filter><action android:name="android.intent.action.MAIN"/><category android:name="android.intent.category.LAUNCHER"/></intent-filter></activity>`}
}

func TestPmInstallFromFileListsPathDumpsysUninstall(t *testing.T) {
	a, _ := keystores(t)
	apk := readFile(t, apktest.WithKey(t, a).Build(testApp(7, "0.7-beta")))
	s := newSys(t, Config{Rooted: true})
	if err := s.WriteFile("/data/local/tmp/tool.apk", apk); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, s, "pm install -r -t /data/local/tmp/tool.apk"); out != "Success\n" {
		t.Fatalf("pm install: %q", out)
	}
	if out := mustRun(t, s, "pm list packages --show-versioncode com.vendor"); out != "package:com.vendor.tool versionCode:7\n" {
		t.Errorf("pm list packages: %q", out)
	}
	path := strings.TrimPrefix(strings.TrimSpace(mustRun(t, s, "pm path com.vendor.tool")), "package:")
	if !regexp.MustCompile(`^/data/app/~~[A-Za-z0-9_=-]+/com\.vendor\.tool-[A-Za-z0-9_=-]+/base\.apk$`).MatchString(path) {
		t.Fatalf("pm path: %q", path)
	}
	if out := mustRun(t, s, "cat "+path+" | wc -c"); strings.TrimSpace(out) != fmt.Sprint(len(apk)) {
		t.Errorf("installed base.apk has %s bytes, want %d", out, len(apk))
	}
	dump := mustRun(t, s, "dumpsys package com.vendor.tool")
	for _, want := range []string{"    versionCode=7 minSdk=21 targetSdk=30\n", "    versionName=0.7-beta\n", "Package [com.vendor.tool]"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dumpsys package lacks %q:\n%s", want, dump)
		}
	}
	// The manifest's launcher activity starts.
	if out := mustRun(t, s, "am start -W -n com.vendor.tool/.Main"); !strings.Contains(out, "Status: ok") {
		t.Errorf("am start: %s", out)
	}
	if out := mustRun(t, s, "pm uninstall com.vendor.tool"); out != "Success\n" {
		t.Errorf("pm uninstall: %q", out)
	}
	if out, _, st := run(t, s, "pm path com.vendor.tool"); st != 1 || out != "" {
		t.Errorf("pm path after uninstall: %q %d", out, st)
	}
	if _, _, st := run(t, s, "ls "+path); st == 0 {
		t.Errorf("%s still there after uninstall", path)
	}
}

func TestStreamedInstallReadsSizeBytesFromStdin(t *testing.T) {
	a, _ := keystores(t)
	apk := readFile(t, apktest.WithKey(t, a).Build(testApp(3, "3")))
	s := newSys(t, Config{})
	// What adb install runs: exec:cmd package 'install' -S SIZE.
	out, errs, st := runIn(t, s, fmt.Sprintf("cmd package 'install' -S %d", len(apk)), append(apk, "trailing bytes are not read"...))
	if st != 0 || out != "Success\n" {
		t.Fatalf("streamed install: %d %q %q", st, out, errs)
	}
	if p := s.Package("com.vendor.tool"); p == nil || p.VersionCode != 3 || p.APK == nil || p.APK.SigningScheme < 2 {
		t.Fatalf("installed package %+v", p)
	}
	out, _, st = run(t, s, "pm install")
	if st != 1 || out != "Error: must either specify a package size or an APK file\n" {
		t.Errorf("pm install without input: %d %q", st, out)
	}
}

var vmdl = regexp.MustCompile(`/data/app/vmdl[0-9]+\.tmp/`)

func TestInstallFailuresUseThePackageManagerTexts(t *testing.T) {
	a, b := keystores(t)
	s := newSys(t, Config{})
	unsigned := readFile(t, apktest.Unsigned(t, testApp(1, "1")))
	v5 := readFile(t, apktest.WithKey(t, a).Build(testApp(5, "5")))
	v4 := readFile(t, apktest.WithKey(t, a).Build(testApp(4, "4")))
	v6other := readFile(t, apktest.WithKey(t, b).Build(testApp(6, "6")))
	install := func(data []byte, flags string) (string, int) {
		out, errs, st := runIn(t, s, fmt.Sprintf("pm install %s -S %d", flags, len(data)), data)
		if errs != "" {
			t.Errorf("stderr %q", errs)
		}
		return vmdl.ReplaceAllString(out, "/data/app/vmdlN.tmp/"), st
	}
	cases := []struct {
		name  string
		data  []byte
		flags string
		want  string
		code  int
	}{
		{"unsigned", unsigned, "", "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed collecting certificates for /data/app/vmdlN.tmp/base.apk: Failed to collect certificates from /data/app/vmdlN.tmp/base.apk: Attempt to get length of null array]\n", 1},
		{"not a zip", []byte("this is not an APK at all"), "", "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse /data/app/vmdlN.tmp/base.apk: Failed to load asset path /data/app/vmdlN.tmp/base.apk]\n", 1},
		{"v5", v5, "-r", "Success\n", 0},
		{"downgrade", v4, "-r", "Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code 4 is older than current 5]\n", 1},
		{"other key", v6other, "", "Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com.vendor.tool signatures do not match previously installed version; ignoring!]\n", 1},
		{"-R", v5, "-R", "Failure [INSTALL_FAILED_ALREADY_EXISTS: Attempt to re-install com.vendor.tool without first uninstalling.]\n", 1},
		{"downgrade -d", v4, "-r -d", "Success\n", 0},
	}
	for _, c := range cases {
		out, st := install(c.data, c.flags)
		if out != c.want || st != c.code {
			t.Errorf("%s: exit %d %q, want %d %q", c.name, st, out, c.code, c.want)
		}
	}
	if p := s.Package("com.vendor.tool"); p.VersionCode != 4 {
		t.Errorf("after the -d install: versionCode %d", p.VersionCode)
	}
	// A file that is not an APK, by path: the size is read from the APK
	// first, as Android 11 does.
	_ = s.WriteFile("/data/local/tmp/junk.apk", []byte("junk"))
	_, errs, st := run(t, s, "pm install /data/local/tmp/junk.apk")
	if st != 255 || !strings.HasPrefix(errs, "Error: Failed to parse APK file: /data/local/tmp/junk.apk\n\nException occurred while executing 'install':\njava.lang.IllegalArgumentException: Error: Failed to parse APK file: /data/local/tmp/junk.apk\n\tat ") {
		t.Errorf("pm install junk: %d %q", st, errs)
	}
	_, errs, st = run(t, s, "pm install /data/local/tmp/missing.apk")
	if st != 255 || !strings.Contains(errs, "Error: Can't open file: /data/local/tmp/missing.apk") {
		t.Errorf("pm install missing: %d %q", st, errs)
	}
	_, errs, st = run(t, s, "pm install --bogus x.apk")
	if st != 255 || !strings.Contains(errs, "java.lang.IllegalArgumentException: Unknown option --bogus") {
		t.Errorf("pm install --bogus: %d %q", st, errs)
	}
}

func TestOlderDevicesPrintTheOlderTexts(t *testing.T) {
	s := newSys(t, Config{Props: map[string]string{"ro.build.version.sdk": "28"}})
	unsigned := readFile(t, apktest.Unsigned(t, testApp(1, "1")))
	out, _, _ := runIn(t, s, fmt.Sprintf("pm install -S %d", len(unsigned)), unsigned)
	out = vmdl.ReplaceAllString(out, "/data/app/vmdlN.tmp/")
	if out != "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from /data/app/vmdlN.tmp/base.apk: Attempt to get length of null array]\n" {
		t.Errorf("sdk 28 unsigned: %q", out)
	}
	min31 := testApp(1, "1")
	min31.MinSDK = 31
	a, _ := keystores(t)
	apk := readFile(t, apktest.WithKey(t, a).Build(min31))
	out, _, _ = runIn(t, s, fmt.Sprintf("pm install -S %d", len(apk)), apk)
	if !strings.HasPrefix(out, "Failure [INSTALL_FAILED_OLDER_SDK: ") || !strings.Contains(out, "Requires newer sdk version #31 (current version is #28)") {
		t.Errorf("minSdk 31 on sdk 28: %q", out)
	}
}

func TestInstallSessions(t *testing.T) {
	a, _ := keystores(t)
	apk := readFile(t, apktest.WithKey(t, a).Build(testApp(9, "9")))
	s := newSys(t, Config{})
	out := mustRun(t, s, fmt.Sprintf("pm install-create -r -S %d", len(apk)))
	m := regexp.MustCompile(`^Success: created install session \[([0-9]+)\]\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("install-create: %q", out)
	}
	id := m[1]
	out, errs, st := runIn(t, s, fmt.Sprintf("pm install-write -S %d %s tool.apk -", len(apk), id), apk)
	if st != 0 || out != fmt.Sprintf("Success: streamed %d bytes\n", len(apk)) {
		t.Fatalf("install-write: %d %q %q", st, out, errs)
	}
	if out := mustRun(t, s, "pm install-commit "+id); out != "Success\n" {
		t.Fatalf("install-commit: %q", out)
	}
	if p := s.Package("com.vendor.tool"); p == nil || p.VersionCode != 9 {
		t.Fatalf("package after commit: %+v", p)
	}
	// The committed session is gone.
	_, errs, st = run(t, s, "pm install-commit "+id)
	if st != 255 || !strings.Contains(errs, "java.lang.SecurityException: Caller has no access to session "+id+"\n\tat ") {
		t.Errorf("second commit: %d %q", st, errs)
	}
	// A file pushed to the device, written by path; two base APKs conflict.
	_ = s.WriteFile("/data/local/tmp/a.apk", apk)
	id = regexp.MustCompile(`[0-9]+`).FindString(mustRun(t, s, "pm install-create"))
	mustRun(t, s, "pm install-write "+id+" a.apk /data/local/tmp/a.apk")
	mustRun(t, s, "pm install-write "+id+" b.apk /data/local/tmp/a.apk")
	out, _, st = run(t, s, "pm install-commit "+id)
	if st != 4 || out != "Failure [INSTALL_FAILED_INVALID_APK: Split null was defined multiple times]\n" {
		t.Errorf("two bases: %d %q", st, out)
	}
	id = regexp.MustCompile(`[0-9]+`).FindString(mustRun(t, s, "pm install-create"))
	if out := mustRun(t, s, "pm install-abandon "+id); out != "Success\n" {
		t.Errorf("abandon: %q", out)
	}
	for _, c := range []struct{ cmd, want string }{
		{"pm install-write -S 10 " + id + " x.apk -", "java.lang.SecurityException: Caller has no access to session " + id},
		{"pm install-commit abc", `java.lang.NumberFormatException: For input string: "abc"`},
		{"pm install-write -Q 1", "java.lang.IllegalArgumentException: Unknown option: -Q"},
	} {
		_, errs, st := run(t, s, c.cmd)
		if st != 255 || !strings.Contains(errs, c.want) {
			t.Errorf("%s: %d %q, want %q", c.cmd, st, errs, c.want)
		}
	}
}

func TestSimulatedBuildInstallsAndItsCertificateIsRecorded(t *testing.T) {
	k, err := build.NewKey("Sim")
	if err != nil {
		t.Fatal(err)
	}
	apk, err := build.Make(build.Options{Package: "com.vendor.sim", VersionName: "2.0-rc1", VersionCode: 200, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	s := newSys(t, Config{})
	p, err := s.InstallAPK(apk, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.VersionName != "2.0-rc1" || p.APK.SigningScheme != 2 || len(p.APK.CertDigest) != 64 {
		t.Errorf("package %+v apk %+v", p, p.APK)
	}
	spec, err := p.APK.File(build.SpecPath)
	if err != nil || !bytes.Contains(spec, []byte(build.Format)) {
		t.Errorf("build.json: %v %q", err, spec)
	}
	var ie *InstallError
	other, _ := build.NewKey("Other")
	apk2, _ := build.Make(build.Options{Package: "com.vendor.sim", VersionName: "2.1", VersionCode: 210, Key: other})
	if _, err := s.InstallAPK(apk2, InstallOptions{}); err == nil || !asInstallError(err, &ie) || ie.Code != "INSTALL_FAILED_UPDATE_INCOMPATIBLE" {
		t.Errorf("other key: %v", err)
	}
	// Updating a preinstalled system app needs the platform key.
	sysApp, _ := build.Make(build.Options{Package: "com.android.settings", VersionName: "99", VersionCode: 99, Key: k})
	if _, err := s.InstallAPK(sysApp, InstallOptions{}); err == nil || !strings.Contains(err.Error(), "INSTALL_FAILED_UPDATE_INCOMPATIBLE") {
		t.Errorf("system app: %v", err)
	}
}

func asInstallError(err error, target **InstallError) bool {
	ie, ok := err.(*InstallError)
	if ok {
		*target = ie
	}
	return ok
}

func TestInstallFuncGivesCode(t *testing.T) {
	var got *APK
	var s *System
	s = newSys(t, Config{InstallAPK: func(a *APK) error {
		if a.Package != "com.vendor.sim" {
			return ErrNoCode
		}
		got = a
		p := a.Package0()
		p.Label = "with code"
		return s.Install(p)
	}})
	k, _ := build.NewKey("Sim")
	apk, _ := build.Make(build.Options{Package: "com.vendor.sim", VersionName: "1", Key: k})
	p, err := s.InstallAPK(apk, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || p.Label != "with code" || p.APK != got {
		t.Errorf("InstallFunc not used: %+v", p)
	}
}

// TestTextsMatchRealDevices checks the simulator's install texts against
// texts real devices printed (testdata/pm-install-real.txt), with numbers,
// session paths and package names generalised.
func TestTextsMatchRealDevices(t *testing.T) {
	f, err := os.Open("testdata/pm-install-real.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shape := func(s string) string {
		s = vmdl.ReplaceAllString(s, "/data/app/vmdlN.tmp/")
		s = regexp.MustCompile(`[0-9]+`).ReplaceAllString(s, "N")
		s = regexp.MustCompile(`(Package|package) [a-z][a-z0-9_.]+`).ReplaceAllString(s, "$1 P")
		return s
	}
	real := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, src, ok := strings.Cut(line, "\t")
		if !ok || !strings.HasPrefix(src, "https://") {
			t.Fatalf("testdata line without its source: %q", line)
		}
		real[shape(text)] = true
	}
	mine := []string{
		(&InstallError{"INSTALL_FAILED_VERSION_DOWNGRADE", "Downgrade detected: Update version code 4 is older than current 5"}).Error(),
	}
	// Texts produced by the simulator in the tests above.
	s := newSys(t, Config{})
	unsigned := readFile(t, apktest.Unsigned(t, testApp(1, "1")))
	for _, data := range [][]byte{unsigned, []byte("junk")} {
		out, _, _ := runIn(t, s, fmt.Sprintf("pm install -S %d", len(data)), data)
		mine = append(mine, strings.TrimSuffix(strings.TrimPrefix(out, "Failure ["), "]\n"))
	}
	mine = append(mine,
		installErr("INSTALL_FAILED_UPDATE_INCOMPATIBLE", "Package com.vendor.tool signatures do not match previously installed version; ignoring!").Error(),
		installErr("INSTALL_FAILED_INVALID_APK", "Split null was defined multiple times").Error())
	for _, m := range mine {
		if !real["Failure ["+shape(m)+"]"] {
			t.Errorf("no real device printed the shape of %q", m)
		}
	}
}
