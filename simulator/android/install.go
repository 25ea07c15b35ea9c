package android

import (
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// InstallFunc gives code to a package installed from an APK file (pm
// install, adb install; Config.InstallAPK). It is called once the package
// manager's checks have passed and must install the package with
// System.Install, with Package.APK set to apk. Returning ErrNoCode lets the
// system install it itself: the components the manifest declares, and for
// a package the simulator already runs code for, that code.
type InstallFunc func(apk *APK) error

// ErrNoCode is what an InstallFunc returns for a package it has no code for.
var ErrNoCode = errors.New("no simulated code for this package")

// InstallOptions are pm install's options that change what is allowed.
type InstallOptions struct {
	// AllowDowngrade is -d: a lower versionCode may replace the installed one.
	AllowDowngrade bool
	// AllowTest is -t: an APK with android:testOnly may be installed.
	AllowTest bool
	// NoReplace is -R: an installed package is not replaced.
	NoReplace bool
	// GrantPermissions is -g (no effect: permissions are not simulated).
	GrantPermissions bool
}

// installSession is a PackageInstaller session: files written to
// /data/app/vmdlID.tmp/ and committed together.
type installSession struct {
	id    int
	opts  InstallOptions
	names []string
	files map[string][]byte
}

func (ss *installSession) dir() string { return fmt.Sprintf("/data/app/vmdl%d.tmp", ss.id) }

// InstallAPK installs an APK file as `pm install` does, and returns the
// installed package. A refusal is an *InstallError with the texts of the
// package manager.
func (s *System) InstallAPK(data []byte, opts InstallOptions) (*Package, error) {
	ss := s.createSession(opts)
	ss.write("base.apk", data)
	defer s.abandonSession(ss.id)
	return s.commitSession(ss)
}

func (s *System) createSession(opts InstallOptions) *installSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		id := 1 + s.rng.Intn(1<<31-2)
		if s.sessions[id] == nil {
			ss := &installSession{id: id, opts: opts, files: map[string][]byte{}}
			s.sessions[id] = ss
			return ss
		}
	}
}

func (ss *installSession) write(name string, data []byte) {
	if _, ok := ss.files[name]; !ok {
		ss.names = append(ss.names, name)
	}
	ss.files[name] = data
}

func (s *System) session(id int) *installSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

func (s *System) abandonSession(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sessions[id]
	delete(s.sessions, id)
	return ok
}

func (s *System) sdk() int {
	n, err := strconv.Atoi(s.GetProp("ro.build.version.sdk"))
	if err != nil {
		return 30
	}
	return n
}

// commitSession checks the session's APKs as PackageInstallerSession and
// PackageManagerService do, then installs the package.
func (s *System) commitSession(ss *installSession) (*Package, error) {
	defer s.abandonSession(ss.id)
	sdk := s.sdk()
	if len(ss.names) == 0 {
		return nil, installErr("INSTALL_FAILED_INVALID_APK", "No packages staged")
	}
	var base *APK
	var splits []string
	var first *APK
	for _, name := range ss.names {
		p := ss.dir() + "/" + name
		a, ierr := parseAPK(ss.files[name], p, sdk, true)
		if ierr != nil {
			return nil, ierr
		}
		if first == nil {
			first = a
		} else if a.Package != first.Package {
			return nil, installErr("INSTALL_FAILED_INVALID_APK", "Inconsistent package %s in %s; expected %s", a.Package, p, first.Package)
		} else if a.VersionCode != first.VersionCode {
			return nil, installErr("INSTALL_FAILED_INVALID_APK", "Inconsistent version %d in %s; expected %d", a.VersionCode, p, first.VersionCode)
		}
		if a.Split == "" {
			if base != nil {
				return nil, installErr("INSTALL_FAILED_INVALID_APK", "Split null was defined multiple times")
			}
			base = a
		} else {
			if slicesContains(splits, a.Split) {
				return nil, installErr("INSTALL_FAILED_INVALID_APK", "Split %s was defined multiple times", a.Split)
			}
			splits = append(splits, a.Split)
		}
	}
	if base == nil {
		return nil, installErr("INSTALL_FAILED_INVALID_APK", "Full install must include a base package")
	}
	if base.MinSdk > sdk {
		return nil, installErr("INSTALL_FAILED_OLDER_SDK", "Failed parse during installPackageLI: %s/base.apk: Requires newer sdk version #%d (current version is #%d)", ss.dir(), base.MinSdk, sdk)
	}
	if base.TestOnly && !ss.opts.AllowTest {
		return nil, installErr("INSTALL_FAILED_TEST_ONLY", "installPackageLI")
	}
	s.mu.Lock()
	old := s.packages[base.Package]
	var oldPkg *Package
	if old != nil {
		oldPkg = old.pkg
	}
	s.mu.Unlock()
	if oldPkg != nil {
		if ss.opts.NoReplace {
			return nil, installErr("INSTALL_FAILED_ALREADY_EXISTS", "Attempt to re-install %s without first uninstalling.", base.Package)
		}
		if signerMismatch(oldPkg, base) {
			if sdk >= 33 {
				return nil, installErr("INSTALL_FAILED_UPDATE_INCOMPATIBLE", "Existing package %s signatures do not match newer version; ignoring!", base.Package)
			}
			return nil, installErr("INSTALL_FAILED_UPDATE_INCOMPATIBLE", "Package %s signatures do not match previously installed version; ignoring!", base.Package)
		}
		if base.VersionCode < oldPkg.VersionCode && !ss.opts.AllowDowngrade {
			return nil, installErr("INSTALL_FAILED_VERSION_DOWNGRADE", "Downgrade detected: Update version code %d is older than current %d", base.VersionCode, oldPkg.VersionCode)
		}
	}
	base.splitNames = splits
	s.sysLog("main", Info, "PackageManager", fmt.Sprintf("installPackageLI: %s versionCode=%d", base.Package, base.VersionCode))
	if fn := s.cfg.InstallAPK; fn != nil {
		err := fn(base)
		if err == nil {
			return s.Package(base.Package), nil
		}
		var ie *InstallError
		switch {
		case errors.As(err, &ie):
			return nil, ie
		case !errors.Is(err, ErrNoCode):
			return nil, installErr("INSTALL_FAILED_INTERNAL_ERROR", "%v", err)
		}
	}
	pkg := base.Package0()
	if oldPkg != nil && oldPkg.App != nil {
		// The simulator's code for the package survives its update.
		pkg.App, pkg.Activities, pkg.Receivers = oldPkg.App, oldPkg.Activities, oldPkg.Receivers
	}
	if err := s.Install(pkg); err != nil {
		return nil, installErr("INSTALL_FAILED_INTERNAL_ERROR", "%v", err)
	}
	return s.Package(base.Package), nil
}

// signerMismatch reports an update signed by another key than the
// installed package. A preinstalled system package is signed with the
// platform key, which no APK here has; a package the simulator installed
// itself (no APK) has no recorded certificate and accepts any.
func signerMismatch(old *Package, a *APK) bool {
	if old.APK == nil {
		return old.System
	}
	return old.APK.CertDigest != "" && a.CertDigest != "" && old.APK.CertDigest != a.CertDigest
}

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Package0 is the package an APK declares, without code: its manifest's
// components, version and label.
func (a *APK) Package0() *Package {
	return &Package{Name: a.Package, VersionName: a.VersionName, VersionCode: a.VersionCode, Label: a.Label,
		Activities: append([]ActivityInfo(nil), a.Activities...), Receivers: append([]ReceiverInfo(nil), a.Receivers...), APK: a}
}

// ---- pm install, install-create, install-write, install-commit, install-abandon ----

// pmException prints what ShellCommand prints for an exception and returns
// its exit status (-1).
func pmException(c *cmdCtx, sub, exc string) int {
	c.errf("\nException occurred while executing '%s':\n%s\n%s", sub, exc, javaTrace(
		"com.android.server.pm.PackageManagerShellCommand.onCommand(PackageManagerShellCommand.java:190)",
		"android.os.BasicShellCommandHandler.exec(BasicShellCommandHandler.java:98)",
		"android.os.ShellCommand.exec(ShellCommand.java:44)",
		"com.android.server.pm.PackageManagerService.onShellCommand(PackageManagerService.java:23950)",
		"android.os.Binder.shellCommand(Binder.java:929)",
		"android.os.Binder.onTransact(Binder.java:813)"))
	return 255
}

// installParams reads pm install's options (makeInstallParams); the rest
// are the operands.
func installParams(c *cmdCtx, sub string, args []string) (opts InstallOptions, size int64, rest []string, code int, ok bool) {
	size = -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return opts, size, args[i:], 0, true
		}
		if a == "--" {
			return opts, size, args[i+1:], 0, true
		}
		next := func() (string, bool) {
			if i+1 >= len(args) {
				return "", false
			}
			i++
			return args[i], true
		}
		switch a {
		case "-r", "-f", "--dont-kill", "--force-sdk", "--full", "--restrict-permissions", "--staged", "--multi-package", "--instant", "--ephemeral", "--instantapp", "--preload", "--enable-rollback", "--apex", "--force-queryable", "--skip-verification":
		case "-R":
			opts.NoReplace = true
		case "-t":
			opts.AllowTest = true
		case "-d":
			opts.AllowDowngrade = true
		case "-g":
			opts.GrantPermissions = true
		case "-i", "--originating-uri", "--referrer", "-p", "--pkg", "--abi", "--user", "--install-location", "--install-reason", "--force-uuid":
			if _, ok := next(); !ok {
				return opts, size, nil, pmException(c, sub, "java.lang.IllegalArgumentException: Argument expected after \""+a+"\""), false
			}
		case "-S":
			v, _ := next()
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return opts, size, nil, pmException(c, sub, fmt.Sprintf("java.lang.NumberFormatException: For input string: \"%s\"", v)), false
			}
			if n <= 0 {
				return opts, size, nil, pmException(c, sub, "java.lang.IllegalArgumentException: Size must be positive"), false
			}
			size = n
		default:
			return opts, size, nil, pmException(c, sub, "java.lang.IllegalArgumentException: Unknown option "+a), false
		}
	}
	return opts, size, nil, 0, true
}

// readInput reads an APK the session writes: a device file, or stdin ("-"
// or no path) of size bytes.
func readInput(c *cmdCtx, p string, size int64) ([]byte, error) {
	if p != "" && p != "-" {
		return c.sys.fs.readFile(c.abs(p), c.root())
	}
	data, err := io.ReadAll(io.LimitReader(c.stdin, size))
	if err != nil {
		return data, err
	}
	return data, nil
}

func pmInstall(c *cmdCtx, args []string) int {
	opts, size, rest, code, ok := installParams(c, "install", args)
	if !ok {
		return code
	}
	inPath := ""
	if len(rest) > 0 {
		inPath = rest[0]
	}
	sdk := c.sys.sdk()
	var data []byte
	if inPath != "" && inPath != "-" {
		d, err := c.sys.fs.readFile(c.abs(inPath), c.root())
		if err != nil {
			c.errf("Error: Unable to open file: %s\nConsider using a file under /data/local/tmp/\n", inPath)
			c.errf("Error: Can't open file: %s\n", inPath)
			return pmException(c, "install", "java.lang.IllegalArgumentException: Error: Can't open file: "+inPath)
		}
		if size == -1 {
			// setParamsSize parses the APK first (without certificates).
			if _, ierr := parseAPK(d, inPath, sdk, false); ierr != nil {
				msg := "Error: Failed to parse APK file: " + inPath
				if sdk >= 31 {
					msg += ": " + ierr.Msg
				}
				c.errf("%s\n", msg)
				return pmException(c, "install", "java.lang.IllegalArgumentException: "+msg)
			}
		}
		data = d
	} else {
		if size <= 0 {
			c.outf("Error: must either specify a package size or an APK file\n")
			return 1
		}
		d, err := readInput(c, "-", size)
		if err != nil {
			c.errf("Error: failed to write; %v\n", err)
			return 1
		}
		data = d
	}
	ss := c.sys.createSession(opts)
	ss.write("base.apk", data)
	if _, err := c.sys.commitSession(ss); err != nil {
		c.outf("Failure [%s]\n", err)
		return 1
	}
	c.outf("Success\n")
	return 0
}

func pmInstallCreate(c *cmdCtx, args []string) int {
	opts, _, _, code, ok := installParams(c, "install-create", args)
	if !ok {
		return code
	}
	ss := c.sys.createSession(opts)
	c.outf("Success: created install session [%d]\n", ss.id)
	return 0
}

// sessionArg parses a session id operand; ok false after printing the
// exception a device prints.
func sessionArg(c *cmdCtx, sub, v string) (*installSession, int, bool) {
	id, err := strconv.Atoi(v)
	if err != nil {
		if v == "" {
			return nil, pmException(c, sub, "java.lang.NumberFormatException: null"), false
		}
		return nil, pmException(c, sub, fmt.Sprintf("java.lang.NumberFormatException: For input string: \"%s\"", v)), false
	}
	ss := c.sys.session(id)
	if ss == nil {
		return nil, pmException(c, sub, fmt.Sprintf("java.lang.SecurityException: Caller has no access to session %d", id)), false
	}
	return ss, 0, true
}

func pmInstallWrite(c *cmdCtx, args []string) int {
	size := int64(-1)
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		if args[i] != "-S" {
			return pmException(c, "install-write", "java.lang.IllegalArgumentException: Unknown option: "+args[i])
		}
		i++
		v := ""
		if i < len(args) {
			v = args[i]
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return pmException(c, "install-write", fmt.Sprintf("java.lang.NumberFormatException: For input string: \"%s\"", v))
		}
		size = n
	}
	rest := args[i:]
	get := func(k int) string {
		if k < len(rest) {
			return rest[k]
		}
		return ""
	}
	ss, code, ok := sessionArg(c, "install-write", get(0))
	if !ok {
		return code
	}
	name, p := get(1), get(2)
	if name == "" {
		return pmException(c, "install-write", "java.lang.IllegalArgumentException: Invalid name: null")
	}
	if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return pmException(c, "install-write", "java.lang.IllegalArgumentException: Invalid name: "+name)
	}
	if p != "" && p != "-" {
		data, err := c.sys.fs.readFile(c.abs(p), c.root())
		if err != nil {
			c.errf("Error: Can't open file: %s\n", p)
			return pmException(c, "install-write", "java.lang.IllegalArgumentException: Error: Can't open file: "+p)
		}
		c.sys.mu.Lock()
		ss.write(name, data)
		c.sys.mu.Unlock()
		c.outf("Success: streamed %d bytes\n", len(data))
		return 0
	}
	if size <= 0 {
		c.errf("Error: must specify a APK size\n")
		return 1
	}
	data, err := readInput(c, "-", size)
	if err != nil {
		c.errf("Error: failed to write; %v\n", err)
		return 1
	}
	c.sys.mu.Lock()
	ss.write(name, data)
	c.sys.mu.Unlock()
	c.outf("Success: streamed %d bytes\n", size)
	return 0
}

func pmInstallCommit(c *cmdCtx, args []string) int {
	v := ""
	if len(args) > 0 {
		v = args[0]
	}
	ss, code, ok := sessionArg(c, "install-commit", v)
	if !ok {
		return code
	}
	c.sys.mu.Lock()
	cp := &installSession{id: ss.id, opts: ss.opts, names: append([]string(nil), ss.names...), files: map[string][]byte{}}
	for k, d := range ss.files {
		cp.files[k] = d
	}
	c.sys.mu.Unlock()
	if _, err := c.sys.commitSession(cp); err != nil {
		var ie *InstallError
		c.outf("Failure [%s]\n", err)
		if errors.As(err, &ie) {
			return ie.Status()
		}
		return 1
	}
	c.outf("Success\n")
	return 0
}

func pmInstallAbandon(c *cmdCtx, sub string, args []string) int {
	v := ""
	if len(args) > 0 {
		v = args[0]
	}
	ss, code, ok := sessionArg(c, sub, v)
	if !ok {
		return code
	}
	c.sys.abandonSession(ss.id)
	c.outf("Success\n")
	return 0
}

// ---- what install leaves on the device ----

// putFile stores a file on the device file system, creating its parent
// directories, owned by system (as the package manager writes /data/app).
func (f *fsys) putFile(p string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := f.mkdirAll(path.Dir(p))
	dir.owner, dir.group, dir.mode = "system", "system", "rwxr-xr-x"
	n := &fnode{mode: "rw-r--r--", owner: "system", group: "system", mtime: f.sys.clock.Now()}
	if err := n.content.set(&f.spill, data); err != nil {
		return
	}
	if old := dir.children[path.Base(p)]; old != nil {
		old.content.release()
	}
	dir.children[path.Base(p)] = n
}

// removeTree deletes p and everything under it; no error if absent.
func (f *fsys) removeTree(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if parent := f.lookup(path.Dir(p)); parent != nil && parent.dir {
		delete(parent.children, path.Base(p))
	}
}

// installedFiles writes an APK-installed package's files under its code
// path and removes those of the version it replaced.
func (s *System) installedFiles(ps *pkgState, oldDir string) {
	if ps.pkg.APK == nil {
		return
	}
	if oldDir != "" && oldDir != ps.codeDir() {
		s.fs.removeTree(oldDir)
		if parent := path.Dir(oldDir); strings.HasPrefix(path.Base(parent), "~~") {
			s.fs.removeTree(parent)
		}
	}
	s.fs.putFile(ps.codeDir()+"/base.apk", ps.pkg.APK.data)
	for _, sp := range ps.pkg.APK.splitNames {
		s.fs.putFile(ps.codeDir()+"/split_"+sp+".apk", nil)
	}
}

// splitNamesOf lists the package's split APKs' names, sorted.
func splitNamesOf(p *Package) []string {
	if p.APK == nil {
		return nil
	}
	out := append([]string(nil), p.APK.splitNames...)
	sort.Strings(out)
	return out
}
