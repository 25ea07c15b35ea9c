package android

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errno-like file errors.
//
//lint:file-ignore ST1005 these are the texts bionic's strerror gives, capitalised as a device's commands print them.
var (
	errNoEnt    = errors.New("No such file or directory")
	errAccess   = errors.New("Permission denied")
	errRofs     = errors.New("Read-only file system")
	errIsDir    = errors.New("Is a directory")
	errNotDir   = errors.New("Not a directory")
	errExist    = errors.New("File exists")
	errNotEmpty = errors.New("Directory not empty")
	errInval    = errors.New("Invalid argument")
	errNoSpc    = errors.New("No space left on device")
	errIO       = errors.New("I/O error")
	errPerm     = errors.New("Operation not permitted")
)

type fsError struct {
	op, path string
	err      error
}

func (e *fsError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *fsError) Unwrap() error { return e.err }

// errnoText returns the strerror text of a file error.
func errnoText(err error) string {
	var fe *fsError
	if errors.As(err, &fe) {
		return fe.err.Error()
	}
	return err.Error()
}

type fnode struct {
	dir      bool
	content  blob
	children map[string]*fnode
	mode     string // ls -l mode column without the type letter
	owner    string
	group    string
	mtime    time.Time
}

// fsys is a small in-memory file system with a few virtual files.
type fsys struct {
	mu    sync.Mutex
	root  *fnode
	sys   *System
	spill spill
}

type finfo struct {
	name  string
	dir   bool
	size  int
	mode  string
	owner string
	group string
	mtime time.Time
	links int
}

const sdcardReal = "/storage/emulated/0"

func newFS(s *System) *fsys {
	f := &fsys{sys: s}
	context.AfterFunc(s.ctx, f.spill.close)
	now := s.clock.Now()
	f.root = &fnode{dir: true, children: map[string]*fnode{}, mode: "rwxr-xr-x", owner: "root", group: "root", mtime: now}
	dirs := []struct{ p, mode, owner, group string }{
		{"/acct", "rwxr-xr-x", "root", "root"}, {"/apex", "rwxr-xr-x", "root", "root"},
		{"/bugreports", "rwxr-xr-x", "root", "root"}, {"/cache", "rwxrwx---", "system", "cache"},
		{"/config", "rwxr-xr-x", "root", "root"}, {"/d", "rwxr-xr-x", "root", "root"},
		{"/data", "rwxrwx--x", "system", "system"}, {"/data/local", "rwxr-x--x", "root", "root"},
		{"/data/local/tmp", "rwxrwx--x", "shell", "shell"}, {"/data/app", "rwxrwx--x", "system", "system"},
		{"/data/data", "rwxrwx--x", "system", "system"}, {"/data/system", "rwxrwxr-x", "system", "system"},
		{"/debug_ramdisk", "rwxr-xr-x", "root", "root"}, {"/dev", "rwxr-xr-x", "root", "root"},
		{"/linkerconfig", "rwxr-xr-x", "root", "root"}, {"/metadata", "rwxr-xr-x", "root", "root"},
		{"/mnt", "rwxr-xr-x", "root", "system"}, {"/odm", "rwxr-xr-x", "root", "root"},
		{"/oem", "rwxr-xr-x", "root", "root"}, {"/proc", "r-xr-xr-x", "root", "root"},
		{"/product", "rwxr-xr-x", "root", "root"}, {"/storage", "rwxr-xr-x", "root", "root"},
		{"/storage/emulated", "rwx--x--x", "root", "sdcard_rw"}, {sdcardReal, "rwxrwx--x", "root", "sdcard_rw"},
		{"/sys", "rwxr-xr-x", "root", "root"}, {"/system", "rwxr-xr-x", "root", "root"},
		{"/system/app", "rwxr-xr-x", "root", "root"}, {"/system/bin", "rwxr-xr-x", "root", "shell"},
		{"/system/etc", "rwxr-xr-x", "root", "root"}, {"/system/framework", "rwxr-xr-x", "root", "root"},
		{"/system/priv-app", "rwxr-xr-x", "root", "root"}, {"/system/xbin", "rwxr-xr-x", "root", "shell"},
		{"/system_ext", "rwxr-xr-x", "root", "root"}, {"/vendor", "rwxr-xr-x", "root", "shell"},
	}
	for _, d := range dirs {
		n := f.mkdirAll(d.p)
		n.mode, n.owner, n.group = d.mode, d.owner, d.group
	}
	for _, d := range []string{"Alarms", "Android", "Audiobooks", "DCIM", "Documents", "Download", "Movies", "Music", "Notifications", "Pictures", "Podcasts", "Ringtones"} {
		n := f.mkdirAll(sdcardReal + "/" + d)
		n.mode, n.owner, n.group = "rwxrwx--x", "root", "sdcard_rw"
	}
	for name := range commands {
		f.root.children["system"].children["bin"].children[name] = &fnode{content: blob{mem: []byte("\x7fELF")}, mode: "rwxr-xr-x", owner: "root", group: "shell", mtime: now}
	}
	f.root.children["system"].children["bin"].children["sh"] = &fnode{content: blob{mem: []byte("\x7fELF")}, mode: "rwxr-xr-x", owner: "root", group: "shell", mtime: now}
	return f
}

func (f *fsys) mkdirAll(p string) *fnode {
	n := f.root
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		c := n.children[part]
		if c == nil {
			c = &fnode{dir: true, children: map[string]*fnode{}, mode: "rwxr-xr-x", owner: "root", group: "root", mtime: f.root.mtime}
			n.children[part] = c
		}
		n = c
	}
	return n
}

// canon cleans an absolute path and resolves the storage aliases.
func canon(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p)
	for _, alias := range []string{"/sdcard", "/storage/self/primary", "/mnt/sdcard", "/mnt/user/0/primary"} {
		if p == alias || strings.HasPrefix(p, alias+"/") {
			return sdcardReal + p[len(alias):]
		}
	}
	return p
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func (f *fsys) writable(p string, root bool) error {
	switch {
	case under(p, "/proc"), under(p, "/system"), under(p, "/vendor"), under(p, "/product"), under(p, "/apex"),
		under(p, "/system_ext"), under(p, "/odm"), under(p, "/oem"), p == "/":
		return errRofs
	case strings.Count(p, "/") == 1 && !under(p, "/data") && !under(p, "/cache") && !under(p, "/storage") && !under(p, "/mnt"):
		return errRofs // rootfs entries
	case under(p, sdcardReal), under(p, "/data/local/tmp"):
		return nil
	case root:
		return nil
	}
	return errAccess
}

func (f *fsys) readable(p string, root bool) error {
	if root {
		return nil
	}
	if under(p, "/data") && !under(p, "/data/local/tmp") && p != "/data/local" && !under(p, "/data/app") {
		return errAccess
	}
	if under(p, "/data/app") && p != "/data/app" {
		return nil
	}
	if p == "/data/app" {
		return errAccess
	}
	return nil
}

func (f *fsys) lookup(p string) *fnode {
	n := f.root
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		if !n.dir {
			return nil
		}
		n = n.children[part]
		if n == nil {
			return nil
		}
	}
	return n
}

// virtual returns the content of a virtual file, and whether p is one.
func (f *fsys) virtual(p string) ([]byte, bool) {
	s := f.sys
	switch p {
	case "/dev/null", "/dev/tty", "/dev/zero":
		return nil, true
	case "/proc/uptime":
		up := s.clock.Uptime()
		idle := up * 6 / 10 * 8
		return []byte(fmt.Sprintf("%d.%02d %d.%02d\n", int64(up/time.Second), int64(up%time.Second/(10*time.Millisecond)),
			int64(idle/time.Second), int64(idle%time.Second/(10*time.Millisecond)))), true
	case "/proc/version":
		return []byte("Linux version 4.9.223-g5d3a4b6 (android-build@abfarm-release-rbe-64-00044) (Android (6443078 based on r383902) clang version 11.0.1) #1 SMP PREEMPT " + s.GetProp("ro.build.date") + "\n"), true
	case "/proc/meminfo":
		return []byte("MemTotal:        3761664 kB\nMemFree:          152328 kB\nMemAvailable:    1554320 kB\nBuffers:            8044 kB\nCached:          1425176 kB\nSwapCached:         5024 kB\nSwapTotal:       1048572 kB\nSwapFree:         651516 kB\n"), true
	case "/system/build.prop":
		var b strings.Builder
		b.WriteString("\n# begin common build properties\n# autogenerated by build/make/tools/buildinfo_common.sh\n")
		for _, k := range s.sortedPropKeys() {
			if strings.HasPrefix(k, "ro.") {
				fmt.Fprintf(&b, "%s=%s\n", k, s.GetProp(k))
			}
		}
		return []byte(b.String()), true
	}
	if strings.HasPrefix(p, "/proc/") {
		rest := strings.Split(p[len("/proc/"):], "/")
		pid, err := strconv.Atoi(rest[0])
		if err != nil || len(rest) != 2 {
			return nil, false
		}
		pr := s.ProcessByPid(pid)
		if pr == nil {
			return nil, false
		}
		switch rest[1] {
		case "cmdline":
			return []byte(pr.cmdline()), true
		case "comm":
			return []byte(pr.comm + "\n"), true
		case "status":
			st := "S (sleeping)"
			if pr.running.Load() {
				st = "R (running)"
			}
			return []byte(fmt.Sprintf("Name:\t%s\nUmask:\t0077\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\nVmSize:\t%8d kB\nVmRSS:\t%8d kB\nThreads:\t1\n",
				pr.comm, st, pr.Pid, pr.Pid, pr.PPid, pr.Uid, pr.Uid, pr.Uid, pr.Uid, pr.Uid, pr.Uid, pr.Uid, pr.Uid, pr.vsz, pr.rss)), true
		case "oom_score_adj":
			return []byte("0\n"), true
		}
	}
	return nil, false
}

func (f *fsys) stat(p string) (finfo, error) {
	p = canon(p)
	if _, ok := f.virtual(p); ok {
		return finfo{name: path.Base(p), mode: "r--r--r--", owner: "root", group: "root", mtime: f.sys.clock.Now(), links: 1}, nil
	}
	if strings.HasPrefix(p, "/proc/") {
		rest := strings.Split(p[len("/proc/"):], "/")
		if pid, err := strconv.Atoi(rest[0]); err == nil && len(rest) == 1 {
			if pr := f.sys.ProcessByPid(pid); pr != nil {
				return finfo{name: rest[0], dir: true, mode: "r-xr-xr-x", owner: userName(pr.Uid), group: userName(pr.Uid), mtime: pr.Started, links: 9}, nil
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	if n == nil {
		return finfo{}, &fsError{"stat", p, errNoEnt}
	}
	return n.info(path.Base(p)), nil
}

func (n *fnode) info(name string) finfo {
	fi := finfo{name: name, dir: n.dir, size: int(n.content.len()), mode: n.mode, owner: n.owner, group: n.group, mtime: n.mtime, links: 1}
	if n.dir {
		fi.size = 3452
		fi.links = 2
		for _, c := range n.children {
			if c.dir {
				fi.links++
			}
		}
	}
	return fi
}

func (f *fsys) readFile(p string, root bool) ([]byte, error) {
	p = canon(p)
	if data, ok := f.virtual(p); ok {
		return data, nil
	}
	if err := f.readable(p, root); err != nil {
		return nil, &fsError{"open", p, err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	if n == nil {
		return nil, &fsError{"open", p, errNoEnt}
	}
	if n.dir {
		return nil, &fsError{"read", p, errIsDir}
	}
	data, err := n.content.bytes()
	if err != nil {
		return nil, &fsError{"read", p, errIO}
	}
	return data, nil
}

func (f *fsys) writeFile(p string, data []byte, appendTo, root bool) error {
	p = canon(p)
	if p == "/dev/null" || p == "/dev/zero" {
		return nil
	}
	if err := f.writable(p, root); err != nil {
		return &fsError{"open", p, err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := f.lookup(path.Dir(p))
	if dir == nil {
		return &fsError{"open", p, errNoEnt}
	}
	if !dir.dir {
		return &fsError{"open", p, errNotDir}
	}
	n := dir.children[path.Base(p)]
	if n != nil && n.dir {
		return &fsError{"open", p, errIsDir}
	}
	if n == nil {
		owner, group, mode := "shell", "shell", "rw-rw-rw-"
		if root {
			owner, group = "root", "root"
		}
		if under(p, sdcardReal) {
			owner, group, mode = "root", "sdcard_rw", "rw-rw----"
		}
		n = &fnode{mode: mode, owner: owner, group: group}
		dir.children[path.Base(p)] = n
	}
	var err error
	if appendTo {
		err = n.content.append(&f.spill, data)
	} else {
		err = n.content.set(&f.spill, data)
	}
	if err != nil {
		return &fsError{"write", p, errNoSpc}
	}
	n.mtime = f.sys.clock.Now()
	return nil
}

func (f *fsys) mkdir(p string, parents, root bool) error {
	p = canon(p)
	if !parents {
		return f.mkdirOne(p, root)
	}
	cur := ""
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		if n := f.lookupLocked(cur); n != nil {
			if !n.dir {
				return &fsError{"mkdir", cur, errNotDir}
			}
			continue
		}
		if err := f.mkdirOne(cur, root); err != nil {
			return err
		}
	}
	return nil
}

func (f *fsys) mkdirOne(p string, root bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lookup(p) != nil {
		return &fsError{"mkdir", p, errExist}
	}
	parent := f.lookup(path.Dir(p))
	if parent == nil {
		return &fsError{"mkdir", p, errNoEnt}
	}
	if !parent.dir {
		return &fsError{"mkdir", p, errNotDir}
	}
	if err := f.writable(p, root); err != nil {
		return &fsError{"mkdir", p, err}
	}
	owner, group, mode := "shell", "shell", "rwxrwxrwx"
	if root {
		owner, group = "root", "root"
	}
	if under(p, sdcardReal) {
		owner, group, mode = "root", "sdcard_rw", "rwxrwx--x"
	}
	parent.children[path.Base(p)] = &fnode{dir: true, children: map[string]*fnode{}, mode: mode, owner: owner, group: group, mtime: f.sys.clock.Now()}
	return nil
}

func (f *fsys) lookupLocked(p string) *fnode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookup(p)
}

func (f *fsys) remove(p string, recursive, root bool) error {
	p = canon(p)
	if p == "/" {
		return &fsError{"rm", p, errRofs}
	}
	if f.lookupLocked(p) == nil {
		if _, ok := f.virtual(p); ok {
			return &fsError{"rm", p, errAccess}
		}
		return &fsError{"rm", p, errNoEnt}
	}
	if err := f.writable(p, root); err != nil {
		return &fsError{"rm", p, err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parent := f.lookup(path.Dir(p))
	n := parent.children[path.Base(p)]
	if n.dir && !recursive {
		return &fsError{"rm", p, errIsDir}
	}
	if under(p, sdcardReal) && strings.Count(p[len(sdcardReal):], "/") == 0 {
		return &fsError{"rm", p, errAccess}
	}
	delete(parent.children, path.Base(p))
	n.releaseAll()
	return nil
}

// releaseAll removes the host files of a node and everything under it.
func (n *fnode) releaseAll() {
	n.content.release()
	for _, c := range n.children {
		c.releaseAll()
	}
}

func (f *fsys) rmdir(p string, root bool) error {
	p = canon(p)
	n := f.lookupLocked(p)
	if n == nil {
		return &fsError{"rmdir", p, errNoEnt}
	}
	if !n.dir {
		return &fsError{"rmdir", p, errNotDir}
	}
	if err := f.writable(p, root); err != nil {
		return &fsError{"rmdir", p, err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(n.children) > 0 {
		return &fsError{"rmdir", p, errNotEmpty}
	}
	delete(f.lookup(path.Dir(p)).children, path.Base(p))
	return nil
}

func (f *fsys) touch(p string, root bool) error {
	p = canon(p)
	if _, ok := f.virtual(p); ok {
		return nil
	}
	if n := f.lookupLocked(p); n != nil {
		if err := f.writable(p, root); err != nil {
			return &fsError{"touch", p, err}
		}
		f.mu.Lock()
		n.mtime = f.sys.clock.Now()
		f.mu.Unlock()
		return nil
	}
	return f.writeFile(p, nil, true, root)
}

// list returns the entries of a directory sorted by name.
func (f *fsys) list(p string, root bool) ([]finfo, error) {
	p = canon(p)
	if p == "/proc" {
		var out []finfo
		for _, pr := range f.sys.Processes() {
			out = append(out, finfo{name: strconv.Itoa(pr.Pid), dir: true, mode: "r-xr-xr-x", owner: userName(pr.Uid), group: userName(pr.Uid), mtime: pr.Started, links: 9})
		}
		for _, n := range []string{"cpuinfo", "meminfo", "uptime", "version"} {
			out = append(out, finfo{name: n, mode: "r--r--r--", owner: "root", group: "root", mtime: f.sys.clock.Now(), links: 1})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
		return out, nil
	}
	if strings.HasPrefix(p, "/proc/") {
		fi, err := f.stat(p)
		if err != nil {
			return nil, err
		}
		if fi.dir {
			var out []finfo
			for _, n := range []string{"cmdline", "comm", "oom_score_adj", "status"} {
				out = append(out, finfo{name: n, mode: "r--r--r--", owner: fi.owner, group: fi.group, mtime: fi.mtime, links: 1})
			}
			return out, nil
		}
		return []finfo{fi}, nil
	}
	if p == "/dev" {
		var out []finfo
		for _, n := range []string{"null", "tty", "zero"} {
			out = append(out, finfo{name: n, mode: "rw-rw-rw-", owner: "root", group: "root", mtime: f.root.mtime, links: 1})
		}
		return out, nil
	}
	if err := f.readable(p, root); err != nil {
		return nil, &fsError{"opendir", p, err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	if n == nil {
		return nil, &fsError{"opendir", p, errNoEnt}
	}
	if !n.dir {
		return []finfo{n.info(path.Base(p))}, nil
	}
	out := make([]finfo, 0, len(n.children))
	for name, c := range n.children {
		out = append(out, c.info(name))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// ReadFile reads a file of the device file system (as root).
func (s *System) ReadFile(p string) ([]byte, error) { return s.fs.readFile(p, true) }

// WriteFile writes a file of the device file system (as root).
func (s *System) WriteFile(p string, data []byte) error { return s.fs.writeFile(p, data, false, true) }
