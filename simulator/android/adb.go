package android

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
)

// The System is what adbd serves: its shell and its file system.
var (
	_ adbd.Shell      = (*System)(nil)
	_ adbd.FileSystem = (*System)(nil)
)

// uidKey carries the uid a shell started by adbd runs as.
type uidKey struct{}

// withShellUID makes shells started with ctx run as uid.
func withShellUID(ctx context.Context, uid int) context.Context {
	return context.WithValue(ctx, uidKey{}, uid)
}

// shellUIDFrom is the uid a shell started with ctx runs as: the one adbd
// asked for, else root on a rooted device and shell otherwise.
func (s *System) shellUIDFrom(ctx context.Context) int {
	if uid, ok := ctx.Value(uidKey{}).(int); ok {
		return uid
	}
	return s.shellUid()
}

func uidFor(root bool) int {
	if root {
		return 0
	}
	return 2000
}

// RunShell serves one shell stream of adbd: a command line (`adb shell
// CMD`, exec:), an interactive shell with a prompt when the host asked for
// a terminal (`adb shell`), or a script read from stdin without any prompt
// when it did not (`adb shell < script`, shell,v2,raw: with no command).
// The shell runs as root when adbd does, else as shell (uid 2000).
func (s *System) RunShell(ctx context.Context, req adbd.ShellRequest) int {
	ctx = withShellUID(ctx, uidFor(req.Root))
	stdio := Stdio{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr}
	switch {
	case req.Command != "":
		return s.Exec(ctx, req.Command, stdio)
	case req.PTY:
		return s.Interactive(ctx, stdio)
	}
	return s.Script(ctx, stdio)
}

// ---- the file system as the sync service sees it ----

// fileErr turns a file system error into one that wraps its errno.
func fileErr(err error) error {
	var e syscall.Errno
	switch {
	case errors.Is(err, errNoEnt):
		e = syscall.ENOENT
	case errors.Is(err, errAccess):
		e = syscall.EACCES
	case errors.Is(err, errRofs):
		e = syscall.EROFS
	case errors.Is(err, errIsDir):
		e = syscall.EISDIR
	case errors.Is(err, errNotDir):
		e = syscall.ENOTDIR
	case errors.Is(err, errExist):
		e = syscall.EEXIST
	case errors.Is(err, errNotEmpty):
		e = syscall.ENOTEMPTY
	case errors.Is(err, errInval):
		e = syscall.EINVAL
	case errors.Is(err, errNoSpc):
		e = syscall.ENOSPC
	case errors.Is(err, errPerm):
		e = syscall.EPERM
	default:
		e = syscall.EIO
	}
	return fmt.Errorf("%w (%w)", err, e)
}

// groupIDs are the groups files are owned by, beyond the users.
var groupIDs = map[string]int{"sdcard_rw": 1015, "sdcard_r": 1028, "cache": 2001, "everybody": 9997, "ext_data_rw": 1078}

func idOfName(name string) uint32 {
	if id, ok := groupIDs[name]; ok {
		return uint32(id)
	}
	if id := uidOfName(name); id >= 0 {
		return uint32(id)
	}
	return 0
}

// permBits parses an ls mode column without its type letter ("rwxr-x--x").
func permBits(mode string) fs.FileMode {
	var m fs.FileMode
	for i := 0; i < 9 && i < len(mode); i++ {
		if mode[i] != '-' {
			m |= 1 << (8 - i)
		}
	}
	return m
}

// permString is the inverse of permBits.
func permString(m fs.FileMode) string {
	const letters = "rwxrwxrwx"
	b := []byte("---------")
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			b[i] = letters[i]
		}
	}
	return string(b)
}

func (fi finfo) public() adbd.FileInfo {
	mode := permBits(fi.mode)
	if fi.dir {
		mode |= fs.ModeDir
	}
	var ino uint64
	for _, c := range fi.name {
		ino = ino*131 + uint64(c)
	}
	return adbd.FileInfo{Name: fi.name, Mode: mode, Size: int64(fi.size), MTime: fi.mtime, UID: idOfName(fi.owner),
		GID: idOfName(fi.group), Nlink: uint32(max(fi.links, 1)), Ino: ino%1000000 + 1000}
}

// Stat describes a file for adbd's sync service.
func (s *System) Stat(p string, root bool) (adbd.FileInfo, error) {
	fi, err := s.fs.stat(p)
	if err != nil {
		return adbd.FileInfo{}, fileErr(err)
	}
	return fi.public(), nil
}

// ReadDir lists a directory for adbd's sync service.
func (s *System) ReadDir(p string, root bool) ([]adbd.FileInfo, error) {
	if fi, err := s.fs.stat(p); err != nil {
		return nil, fileErr(err)
	} else if !fi.dir {
		return nil, fileErr(errNotDir)
	}
	list, err := s.fs.list(p, root)
	if err != nil {
		return nil, fileErr(err)
	}
	out := make([]adbd.FileInfo, len(list))
	for i, fi := range list {
		out[i] = fi.public()
	}
	return out, nil
}

// Open opens a file for adbd's sync service (adb pull). Large files are
// read from their host file as the host reads, not loaded whole.
func (s *System) Open(p string, root bool) (io.ReadCloser, error) {
	p = canon(p)
	if data, ok := s.fs.virtual(p); ok {
		return io.NopCloser(strings.NewReader(string(data))), nil
	}
	if err := s.fs.readable(p, root); err != nil {
		return nil, fileErr(err)
	}
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	n := s.fs.lookup(p)
	if n == nil {
		return nil, fileErr(errNoEnt)
	}
	if n.dir {
		return nil, fileErr(errIsDir)
	}
	r, err := n.content.reader()
	if err != nil {
		return nil, fileErr(errIO)
	}
	return r, nil
}

// Create starts a pushed file (adb push) for adbd's sync service: it makes
// the missing parent directories, checks that the file may be written and
// streams its content, spilling to a host file past SpillBytes. The file
// appears when the push completes.
func (s *System) Create(p string, mode fs.FileMode, root bool) (adbd.FileWriter, error) {
	p = canon(p)
	f := s.fs
	if err := f.writable(p, root); err != nil {
		return nil, fileErr(err)
	}
	dir := path.Dir(p)
	if n := f.lookupLocked(dir); n == nil {
		if err := f.mkdir(dir, true, root); err != nil {
			return nil, fmt.Errorf("%w: %w", adbd.ErrMkdirs, fileErr(err))
		}
	} else if !n.dir {
		return nil, fileErr(errNotDir)
	}
	if n := f.lookupLocked(p); n != nil && n.dir {
		return nil, fileErr(errIsDir)
	}
	return &pushWriter{sys: s, path: p, mode: mode, root: root, w: blobWriter{sp: &f.spill}}, nil
}

// pushWriter receives one pushed file.
type pushWriter struct {
	sys  *System
	path string
	mode fs.FileMode
	root bool
	w    blobWriter
}

func (pw *pushWriter) Write(p []byte) (int, error) {
	n, err := pw.w.Write(p)
	if err != nil {
		return n, fileErr(errNoSpc)
	}
	return n, nil
}

func (pw *pushWriter) Abort() { pw.w.abort() }

// Commit installs the content: a file pushed as shell is owned by shell,
// one on shared storage by root:sdcard_rw with mode 0660 (as sdcardfs
// shows it), others keep the pushed mode.
func (pw *pushWriter) Commit(mtime time.Time) error {
	content, err := pw.w.finish()
	if err != nil {
		return fileErr(errNoSpc)
	}
	f := pw.sys.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := f.lookup(path.Dir(pw.path))
	if dir == nil || !dir.dir {
		content.release()
		return fileErr(errNoEnt)
	}
	name := path.Base(pw.path)
	n := dir.children[name]
	if n != nil && n.dir {
		content.release()
		return fileErr(errIsDir)
	}
	owner, group, mode := "shell", "shell", permString(pw.mode)
	if pw.root {
		owner, group = "root", "root"
	}
	if under(pw.path, sdcardReal) {
		owner, group, mode = "root", "sdcard_rw", "rw-rw----"
	}
	if n == nil {
		n = &fnode{owner: owner, group: group, mode: mode}
		dir.children[name] = n
	} else {
		n.content.release()
	}
	n.content = content
	if mtime.Unix() > 0 {
		n.mtime = mtime
	} else {
		n.mtime = pw.sys.clock.Now()
	}
	return nil
}

// SpillDir is the host directory holding the content of the device's large
// files ("" when there is none): it is removed when the System closes.
func (s *System) SpillDir() string { return s.fs.spill.Dir() }
