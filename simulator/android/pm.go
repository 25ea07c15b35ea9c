package android

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ActivityInfo declares an activity of a package.
type ActivityInfo struct {
	Class string // "pkg.Main" or ".Main"
	// Process is the process the activity runs in; the package name by
	// default, e.g. "com.tencent.wmpf:appbrand0".
	Process  string
	Exported bool
	// Launcher marks the MAIN/LAUNCHER activity.
	Launcher bool
	// Actions are the actions of its intent filter (besides MAIN/LAUNCHER).
	Actions []string
	// TaskAffinity defaults to the package name.
	TaskAffinity string
}

// ReceiverInfo declares a manifest broadcast receiver.
type ReceiverInfo struct {
	Class    string
	Actions  []string
	Process  string
	Exported bool
}

// App is the code of a package. Its callbacks run on the main thread of the
// process concerned (see Process.Post): one at a time, in order, after
// OnProcessStart of that process has returned.
type App interface {
	// OnProcessStart is Application.onCreate in a newly created process of
	// this package (any of its process names).
	OnProcessStart(p *Process)
	// StartActivity builds the activity's content (a.SetContent) and calls
	// a.Displayed() when the first frame is drawn, possibly later from
	// another goroutine. It should not block for long.
	StartActivity(p *Process, a *Activity, in Intent)
	// OnReceive is a manifest receiver getting a broadcast.
	OnReceive(p *Process, in Intent)
}

// Package is an installed application.
type Package struct {
	Name        string
	Uid         int // 0: assigned at install (10100 and up)
	VersionName string
	VersionCode int
	Label       string // launcher label; defaults to the last part of Name
	System      bool   // preinstalled (not listed by pm list packages -3)
	Activities  []ActivityInfo
	Receivers   []ReceiverInfo
	App         App
	// APK is the file the package was installed from (pm install, adb
	// install); nil for a package the simulator installed itself.
	APK *APK
}

type pkgState struct {
	pkg       *Package
	codePath  string
	installed time.Time // last install or update
	first     time.Time // first install
	hash      uint32
	stopped   bool
}

func (ps *pkgState) apk() string {
	if ps.pkg.System {
		return ps.codePath
	}
	return ps.codePath + "/base.apk"
}

func (ps *pkgState) codeDir() string {
	if ps.pkg.System {
		return ps.codePath[:strings.LastIndexByte(ps.codePath, '/')]
	}
	return ps.codePath
}

func validPackageName(n string) bool {
	return looksLikePackage(n)
}

func expandClass(pkg, cls string) string {
	if strings.HasPrefix(cls, ".") {
		return pkg + cls
	}
	if !strings.Contains(cls, ".") {
		return pkg + "." + cls
	}
	return cls
}

// Install installs (or replaces) a package. A replaced package's processes
// are killed first. The stored copy has its uid assigned and class names
// expanded; Package returns it.
func (s *System) Install(pkg *Package) error {
	if pkg == nil {
		return errors.New("install: nil package")
	}
	if !validPackageName(pkg.Name) {
		return fmt.Errorf("install %q: invalid package name", pkg.Name)
	}
	cp := *pkg
	cp.Activities = append([]ActivityInfo(nil), pkg.Activities...)
	cp.Receivers = append([]ReceiverInfo(nil), pkg.Receivers...)
	seen := map[string]bool{}
	for i := range cp.Activities {
		a := &cp.Activities[i]
		if a.Class == "" {
			return fmt.Errorf("install %s: activity %d has no class", pkg.Name, i)
		}
		a.Class = expandClass(pkg.Name, a.Class)
		if seen[a.Class] {
			return fmt.Errorf("install %s: duplicate component %s", pkg.Name, a.Class)
		}
		seen[a.Class] = true
		a.Process = processName(pkg.Name, a.Process)
		if a.TaskAffinity == "" {
			a.TaskAffinity = pkg.Name
		}
		a.Actions = append([]string(nil), a.Actions...)
	}
	for i := range cp.Receivers {
		r := &cp.Receivers[i]
		if r.Class == "" {
			return fmt.Errorf("install %s: receiver %d has no class", pkg.Name, i)
		}
		r.Class = expandClass(pkg.Name, r.Class)
		if seen[r.Class] {
			return fmt.Errorf("install %s: duplicate component %s", pkg.Name, r.Class)
		}
		seen[r.Class] = true
		r.Process = processName(pkg.Name, r.Process)
		r.Actions = append([]string(nil), r.Actions...)
	}
	if cp.Label == "" {
		cp.Label = pkg.Name[strings.LastIndexByte(pkg.Name, '.')+1:]
	}
	if cp.VersionName == "" {
		cp.VersionName = "1.0"
	}
	if cp.VersionCode == 0 {
		cp.VersionCode = 1
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("install %s: %w", pkg.Name, ErrClosed)
	}
	old := s.packages[pkg.Name]
	oldDir := ""
	if old != nil {
		if cp.Uid == 0 {
			cp.Uid = old.pkg.Uid
		}
		if cp.APK == nil && old.pkg.APK != nil && old.pkg.App == nil && cp.App != nil {
			// Code given back to a package restored after a reboot: it
			// keeps the APK and version it was installed with.
			cp.APK, cp.VersionName, cp.VersionCode = old.pkg.APK, old.pkg.VersionName, old.pkg.VersionCode
		}
		oldDir = old.codeDir()
		s.stopPackageLocked(pkg.Name, "replace")
	}
	if cp.Uid == 0 {
		cp.Uid = s.allocUidLocked()
	}
	ps := s.installLocked(&cp)
	s.mu.Unlock()
	s.afterDeaths()
	s.installedFiles(ps, oldDir)
	return nil
}

func processName(pkg, proc string) string {
	switch {
	case proc == "":
		return pkg
	case strings.HasPrefix(proc, ":"):
		return pkg + proc
	}
	return proc
}

func (s *System) allocUidLocked() int {
	for {
		u := s.nextUid
		s.nextUid++
		used := false
		for _, p := range s.packages {
			if p.pkg.Uid == u {
				used = true
			}
		}
		if !used {
			return u
		}
	}
}

func (s *System) randB64Locked() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(s.rng.Intn(256))
	}
	return base64.URLEncoding.EncodeToString(b)
}

func (s *System) installLocked(p *Package) *pkgState {
	ps := &pkgState{pkg: p, installed: s.clock.Now(), hash: s.newHashLocked()}
	ps.first = ps.installed
	old := s.packages[p.Name]
	if old != nil {
		ps.first = old.first
	}
	if old != nil && !p.System && (p.APK == nil || p.APK == old.pkg.APK) {
		ps.codePath = old.codePath
	}
	if ps.codePath == "" {
		if p.System {
			ps.codePath = systemApkPath(p.Name)
		} else {
			ps.codePath = "/data/app/~~" + s.randB64Locked() + "/" + p.Name + "-" + s.randB64Locked()
		}
	}
	s.packages[p.Name] = ps
	s.refreshLauncherLocked()
	return ps
}

func systemApkPath(name string) string {
	known := map[string]string{
		"android":                        "/system/framework/framework-res.apk",
		systemuiPkg:                      "/system_ext/priv-app/SystemUI/SystemUI.apk",
		launcherPkg:                      "/system_ext/priv-app/Launcher3/Launcher3.apk",
		"com.android.settings":           "/system_ext/priv-app/Settings/Settings.apk",
		"com.android.shell":              "/system/priv-app/Shell/Shell.apk",
		"com.android.phone":              "/system/priv-app/TeleService/TeleService.apk",
		"com.android.providers.settings": "/system/priv-app/SettingsProvider/SettingsProvider.apk",
		"com.android.inputmethod.latin":  "/system/app/LatinIME/LatinIME.apk",
		"com.android.webview":            "/system/app/webview/webview.apk",
		"com.android.documentsui":        "/system/priv-app/DocumentsUI/DocumentsUI.apk",
		"com.android.packageinstaller":   "/system/priv-app/PackageInstaller/PackageInstaller.apk",
		"com.android.providers.media":    "/system/priv-app/MediaProvider/MediaProvider.apk",
	}
	if p, ok := known[name]; ok {
		return p
	}
	base := name[strings.LastIndexByte(name, '.')+1:]
	return "/system/app/" + base + "/" + base + ".apk"
}

func (s *System) installBuiltinsLocked() {
	builtins := []*Package{
		{Name: "android", Uid: 1000, VersionName: "11", VersionCode: 30, System: true, Label: "Android System"},
		{Name: "com.android.shell", Uid: 2000, VersionName: "11", VersionCode: 30, System: true, Label: "Shell"},
		{Name: "com.android.providers.settings", Uid: 1000, VersionName: "11", VersionCode: 30, System: true},
		{Name: "com.android.phone", Uid: 1001, VersionName: "11", VersionCode: 30, System: true, Label: "Phone Services"},
		{Name: systemuiPkg, Uid: 10070 + s.rng.Intn(30), VersionName: "11", VersionCode: 30, System: true, Label: "System UI", App: systemUIApp{}},
		{Name: launcherPkg, Uid: 10100 - 12 + s.rng.Intn(10), VersionName: "11", VersionCode: 30, System: true, Label: "Launcher3",
			Activities: []ActivityInfo{{Class: launcherClass, Exported: true, Actions: []string{ActionMain}}}, App: &launcherApp{s: s}},
		{Name: "com.android.settings", Uid: 1000, VersionName: "11", VersionCode: 30, System: true, Label: "Settings",
			Activities: []ActivityInfo{{Class: "com.android.settings.Settings", Exported: true, Launcher: true}}},
		{Name: "com.android.inputmethod.latin", Uid: 10060 + s.rng.Intn(8), VersionName: "11", VersionCode: 30, System: true, Label: "Android Keyboard (AOSP)"},
		{Name: "com.android.webview", Uid: 10040 + s.rng.Intn(8), VersionName: "83.0.4103.106", VersionCode: 410410686, System: true, Label: "Android System WebView"},
		{Name: "com.android.documentsui", Uid: 10030 + s.rng.Intn(8), VersionName: "11", VersionCode: 30, System: true, Label: "Files"},
		{Name: "com.android.providers.media", Uid: 10020 + s.rng.Intn(8), VersionName: "11", VersionCode: 30, System: true, Label: "Media Storage"},
	}
	for _, p := range builtins {
		for i := range p.Activities {
			a := &p.Activities[i]
			a.Process = processName(p.Name, a.Process)
			a.TaskAffinity = p.Name
		}
		s.installLocked(p)
	}
}

// Uninstall removes a package, killing its processes.
func (s *System) Uninstall(name string) error {
	s.mu.Lock()
	if s.packages[name] == nil {
		s.mu.Unlock()
		return fmt.Errorf("uninstall %s: %w", name, ErrNoSuchPackage)
	}
	s.stopPackageLocked(name, "uninstall")
	ps := s.packages[name]
	delete(s.packages, name)
	s.refreshLauncherLocked()
	s.mu.Unlock()
	s.afterDeaths()
	if ps.pkg.APK != nil {
		s.fs.removeTree(ps.codeDir())
		if parent := ps.codeDir()[:strings.LastIndexByte(ps.codeDir(), '/')]; strings.HasPrefix(parent, "/data/app/~~") {
			s.fs.removeTree(parent)
		}
	}
	return nil
}

// Package returns the installed package, or nil. The result must not be
// modified.
func (s *System) Package(name string) *Package {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.packages[name]; ps != nil {
		return ps.pkg
	}
	return nil
}

// Packages returns the installed packages sorted by name.
func (s *System) Packages() []*Package {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Package
	for _, n := range s.packageNamesLocked() {
		out = append(out, s.packages[n].pkg)
	}
	return out
}

func (s *System) packageNamesLocked() []string {
	ns := make([]string, 0, len(s.packages))
	for n := range s.packages {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// ---- pm ----

func cmdPm(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) == 0 {
		c.errf("usage: pm [list|path|dump|clear|uninstall|grant|revoke|install] ...\n")
		return 255
	}
	s := c.sys
	switch args[0] {
	case "list":
		if len(args) < 2 {
			c.errf("Error: didn't specify type of data to list\n")
			return 255
		}
		switch args[1] {
		case "packages":
			return pmListPackages(c, args[2:])
		case "features":
			for _, f := range []string{"android.hardware.audio.output", "android.hardware.bluetooth", "android.hardware.camera", "android.hardware.screen.portrait", "android.hardware.touchscreen", "android.hardware.wifi", "android.software.webview"} {
				c.outf("feature:%s\n", f)
			}
			return 0
		case "users":
			c.outf("Users:\n\tUserInfo{0:Owner:c13} running\n")
			return 0
		case "instrumentation", "permission-groups", "libraries":
			return 0
		}
		c.errf("Error: unknown list type '%s'\n", args[1])
		return 255
	case "path":
		name := lastNonOption(args[1:])
		s.mu.Lock()
		ps := s.packages[name]
		s.mu.Unlock()
		if ps == nil {
			return 1
		}
		c.outf("package:%s\n", ps.apk())
		for _, sp := range splitNamesOf(ps.pkg) {
			c.outf("package:%s/split_%s.apk\n", ps.codeDir(), sp)
		}
		return 0
	case "dump":
		if len(args) < 2 {
			c.errf("Error: no package specified\n")
			return 255
		}
		dumpPackage(c, args[1])
		return 0
	case "clear":
		name := lastNonOption(args[1:])
		s.mu.Lock()
		ok := s.packages[name] != nil
		if ok {
			s.stopPackageLocked(name, "clear data")
		}
		s.mu.Unlock()
		s.afterDeaths()
		if !ok {
			c.outf("Failed\n")
			return 1
		}
		c.outf("Success\n")
		return 0
	case "uninstall":
		name := lastNonOption(args[1:])
		s.mu.Lock()
		ps := s.packages[name]
		s.mu.Unlock()
		if ps == nil || ps.pkg.System {
			c.outf("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
			return 1
		}
		if err := s.Uninstall(name); err != nil {
			c.outf("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
			return 1
		}
		c.outf("Success\n")
		return 0
	case "grant", "revoke", "disable-user", "enable", "set-installer", "compile", "trim-caches", "reset-permissions":
		if args[0] == "grant" || args[0] == "revoke" {
			if len(args) < 3 {
				c.errf("Error: no permission specified\n")
				return 255
			}
			s.mu.Lock()
			ok := s.packages[args[1]] != nil
			s.mu.Unlock()
			if !ok {
				c.errf("\nException occurred while executing '%s':\njava.lang.IllegalArgumentException: Unknown package: %s\n", args[0], args[1])
				return 255
			}
		}
		return 0
	case "install":
		return pmInstall(c, args[1:])
	case "install-create":
		return pmInstallCreate(c, args[1:])
	case "install-write":
		return pmInstallWrite(c, args[1:])
	case "install-commit":
		return pmInstallCommit(c, args[1:])
	case "install-abandon", "install-destroy":
		return pmInstallAbandon(c, args[0], args[1:])
	case "help", "-h":
		c.outf("Package manager (package) commands:\n  help\n  path [--user USER_ID] PACKAGE\n  dump PACKAGE\n  list packages [-f] [-d] [-e] [-s] [-3] [-i] [-l] [-u] [-U] [--show-versioncode] [FILTER]\n  clear PACKAGE\n  uninstall PACKAGE\n  install [-r] [-t] [-d] [-g] [-R] [-S BYTES] [PATH|-]\n  install-create [-r] [-t] [-d] [-g] [-S BYTES]\n  install-write [-S BYTES] SESSION_ID SPLIT_NAME [PATH|-]\n  install-commit SESSION_ID\n  install-abandon SESSION_ID\n")
		return 0
	}
	c.errf("Unknown command: %s\n", args[0])
	return 255
}

func lastNonOption(args []string) string {
	name := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--user" {
			i++
			continue
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		name = a
	}
	return name
}

func pmListPackages(c *cmdCtx, args []string) int {
	var showPath, sysOnly, thirdOnly, showUid, showInstaller, disabledOnly, showVersion bool
	filter := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-f":
			showPath = true
		case "-s":
			sysOnly = true
		case "-3":
			thirdOnly = true
		case "-U":
			showUid = true
		case "-i":
			showInstaller = true
		case "-d":
			disabledOnly = true
		case "--show-versioncode":
			showVersion = true
		case "-e", "-l", "-u", "-a", "--apex-only":
		case "--user", "--uid":
			i++
		default:
			if strings.HasPrefix(a, "-") {
				c.errf("Error: Unknown option: %s\n", a)
				return 255
			}
			filter = a
		}
	}
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	if disabledOnly {
		return 0
	}
	for _, n := range s.packageNamesLocked() {
		ps := s.packages[n]
		if (sysOnly && !ps.pkg.System) || (thirdOnly && ps.pkg.System) {
			continue
		}
		if filter != "" && !strings.Contains(n, filter) {
			continue
		}
		line := "package:"
		if showPath {
			line += ps.apk() + "="
		}
		line += n
		if showVersion {
			line += fmt.Sprintf(" versionCode:%d", ps.pkg.VersionCode)
		}
		if showInstaller {
			line += "  installer=null"
		}
		if showUid {
			line += fmt.Sprintf(" uid:%d", ps.pkg.Uid)
		}
		c.outf("%s\n", line)
	}
	return 0
}

func dumpPackage(c *cmdCtx, name string) {
	s := c.sys
	s.mu.Lock()
	ps := s.packages[name]
	s.mu.Unlock()
	if ps == nil {
		return
	}
	p := ps.pkg
	var b strings.Builder
	hex := func(off uint32) string { return fmt.Sprintf("%x", (ps.hash+off)&0xfffffff) }
	var launch []ActivityInfo
	var actions []ActivityInfo
	for _, a := range p.Activities {
		if a.Launcher {
			launch = append(launch, a)
		}
		if len(a.Actions) > 0 {
			actions = append(actions, a)
		}
	}
	if len(launch) > 0 || len(actions) > 0 {
		b.WriteString("Activity Resolver Table:\n  Non-Data Actions:\n")
		if len(launch) > 0 {
			b.WriteString("      android.intent.action.MAIN:\n")
			for i, a := range launch {
				cn := ComponentName{p.Name, a.Class}
				fmt.Fprintf(&b, "        %s %s filter %s\n          Action: \"android.intent.action.MAIN\"\n          Category: \"android.intent.category.LAUNCHER\"\n", hex(uint32(i+1)), cn, hex(uint32(i+101)))
			}
		}
		for i, a := range actions {
			cn := ComponentName{p.Name, a.Class}
			for _, act := range a.Actions {
				fmt.Fprintf(&b, "      %s:\n        %s %s filter %s\n          Action: \"%s\"\n          Category: \"android.intent.category.DEFAULT\"\n", act, hex(uint32(i+11)), cn, hex(uint32(i+111)), act)
			}
		}
		b.WriteString("\n")
	}
	if len(p.Receivers) > 0 {
		b.WriteString("Receiver Resolver Table:\n  Non-Data Actions:\n")
		for i, r := range p.Receivers {
			cn := ComponentName{p.Name, r.Class}
			for _, act := range r.Actions {
				fmt.Fprintf(&b, "      %s:\n        %s %s filter %s\n          Action: \"%s\"\n", act, hex(uint32(i+21)), cn, hex(uint32(i+121)), act)
			}
		}
		b.WriteString("\n")
	}
	ts := ps.installed.In(s.Location()).Format("2006-01-02 15:04:05")
	firstTS := ps.first.In(s.Location()).Format("2006-01-02 15:04:05")
	minSdk, targetSdk, signing, sigHash := 21, 30, 2, ps.hash*2654435761
	splits := "[base]"
	if a := p.APK; a != nil {
		minSdk, targetSdk, signing = a.MinSdk, a.TargetSdk, a.SigningScheme
		if len(a.CertDigest) >= 8 {
			h, _ := strconv.ParseUint(a.CertDigest[:8], 16, 32)
			sigHash = uint32(h)
		}
		if names := splitNamesOf(p); len(names) > 0 {
			splits = "[base, " + strings.Join(names, ", ") + "]"
		}
	}
	flags := "[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]"
	if p.System {
		flags = "[ SYSTEM HAS_CODE PERSISTENT ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]"
	}
	fmt.Fprintf(&b, "Key Set Manager:\n  [%s]\n      Signing KeySets: %d\n\n", p.Name, 1+int(ps.hash%97))
	fmt.Fprintf(&b, "Packages:\n  Package [%s] (%s):\n", p.Name, hex(0))
	fmt.Fprintf(&b, "    userId=%d\n", p.Uid)
	fmt.Fprintf(&b, "    pkg=Package{%s %s}\n", hex(7), p.Name)
	fmt.Fprintf(&b, "    codePath=%s\n    resourcePath=%s\n", ps.codeDir(), ps.codeDir())
	fmt.Fprintf(&b, "    legacyNativeLibraryDir=%s/lib\n", ps.codeDir())
	fmt.Fprintf(&b, "    primaryCpuAbi=%s\n    secondaryCpuAbi=null\n", s.GetProp("ro.product.cpu.abi"))
	fmt.Fprintf(&b, "    versionCode=%d minSdk=%d targetSdk=%d\n", p.VersionCode, minSdk, targetSdk)
	fmt.Fprintf(&b, "    versionName=%s\n", p.VersionName)
	fmt.Fprintf(&b, "    splits=%s\n    apkSigningVersion=%d\n", splits, signing)
	fmt.Fprintf(&b, "    applicationInfo=ApplicationInfo{%s %s}\n", hex(3), p.Name)
	fmt.Fprintf(&b, "    flags=%s\n", flags)
	fmt.Fprintf(&b, "    privateFlags=[ PRIVATE_FLAG_ACTIVITIES_RESIZE_MODE_RESIZEABLE_VIA_SDK_VERSION ALLOW_AUDIO_PLAYBACK_CAPTURE ]\n")
	fmt.Fprintf(&b, "    forceQueryable=false\n    queriesPackages=[]\n")
	fmt.Fprintf(&b, "    dataDir=/data/user/0/%s\n", p.Name)
	fmt.Fprintf(&b, "    supportsScreens=[small, medium, large, xlarge, resizeable, anyDensity]\n")
	fmt.Fprintf(&b, "    timeStamp=%s\n    firstInstallTime=%s\n    lastUpdateTime=%s\n", ts, firstTS, ts)
	fmt.Fprintf(&b, "    installerPackageName=null\n")
	fmt.Fprintf(&b, "    signatures=PackageSignatures{%s version:%d, signatures:[%08x], past signatures:[]}\n", hex(9), signing, sigHash)
	fmt.Fprintf(&b, "    installPermissionsFixed=true\n")
	fmt.Fprintf(&b, "    pkgFlags=%s\n", flags)
	fmt.Fprintf(&b, "    User 0: ceDataInode=%d installed=true hidden=false suspended=false distractionFlags=0 stopped=%t notLaunched=false enabled=0 instant=false virtual=false\n", 100000+int(ps.hash%900000), ps.stopped)
	c.outf("%s", b.String())
}
