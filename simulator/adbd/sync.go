package adbd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"syscall"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

// FileSystem is the device's file system as the sync service sees it. Every
// call says who asks: root (adbd runs as root) or the shell user (uid
// 2000), and the FileSystem enforces the permissions of that user. Errors
// must wrap a syscall.Errno (ENOENT, EACCES, EROFS, EISDIR, ENOTDIR, ...):
// the sync protocol carries errno values and their texts.
type FileSystem interface {
	// Stat describes path (the simulated device has no symbolic links, so
	// stat and lstat agree).
	Stat(path string, root bool) (FileInfo, error)
	// ReadDir lists a directory, without "." and "..".
	ReadDir(path string, root bool) ([]FileInfo, error)
	// Open opens a regular file for reading.
	Open(path string, root bool) (io.ReadCloser, error)
	// Create creates or truncates a regular file with the permission bits
	// of mode, making missing parent directories first (adbd's
	// secure_mkdirs). Its content becomes visible when the FileWriter is
	// committed.
	Create(path string, mode fs.FileMode, root bool) (FileWriter, error)
}

// FileWriter receives the content of a pushed file.
type FileWriter interface {
	io.Writer
	// Commit finishes the file and sets its modification time.
	Commit(mtime time.Time) error
	// Abort drops what was written (the push failed).
	Abort()
}

// FileInfo describes one file.
type FileInfo struct {
	Name  string
	Mode  fs.FileMode // type bits (fs.ModeDir) and permission bits
	Size  int64
	MTime time.Time
	UID   uint32
	GID   uint32
	Nlink uint32
	Ino   uint64
}

// unixMode converts a FileMode to st_mode.
func unixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	switch {
	case m.IsDir():
		mode |= syscall.S_IFDIR
	case m&fs.ModeSymlink != 0:
		mode |= syscall.S_IFLNK
	case m&fs.ModeCharDevice != 0:
		mode |= syscall.S_IFCHR
	default:
		mode |= syscall.S_IFREG
	}
	return mode
}

// errno extracts the errno of a FileSystem error (EIO when it has none).
func errno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// strerror is bionic's text for the errno values a file system returns;
// Go's texts are lower case.
func strerror(e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		return "No such file or directory"
	case syscall.EACCES:
		return "Permission denied"
	case syscall.EPERM:
		return "Operation not permitted"
	case syscall.EROFS:
		return "Read-only file system"
	case syscall.EISDIR:
		return "Is a directory"
	case syscall.ENOTDIR:
		return "Not a directory"
	case syscall.EEXIST:
		return "File exists"
	case syscall.ENOTEMPTY:
		return "Directory not empty"
	case syscall.EINVAL:
		return "Invalid argument"
	case syscall.ENOSPC:
		return "No space left on device"
	case syscall.ENAMETOOLONG:
		return "File name too long"
	}
	return "I/O error"
}

// syncConn is one sync: session.
type syncConn struct {
	s    *Server
	r    *bufio.Reader
	w    io.Writer
	root bool
	out  []byte
	buf  []byte
}

// serveSync runs the file sync protocol (AOSP adb daemon/
// file_sync_service.cpp) until QUIT, an error or the host closing.
func (s *Server) serveSync(ctx context.Context, st *Stream) error {
	sc := &syncConn{s: s, r: bufio.NewReaderSize(st, 64*1024), w: st, root: s.root.Load(),
		buf: make([]byte, adbwire.SyncDataMax)}
	for ctx.Err() == nil {
		more, err := sc.command()
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (sc *syncConn) flush() error {
	if len(sc.out) == 0 {
		return nil
	}
	_, err := sc.w.Write(sc.out)
	sc.out = sc.out[:0]
	return err
}

func (sc *syncConn) fail(msg string) error {
	sc.out = adbwire.AppendSyncFail(sc.out, msg)
	if err := sc.flush(); err != nil {
		return err
	}
	return fmt.Errorf("sync: %s", msg)
}

// command serves one request; more is false when the session ends.
func (sc *syncConn) command() (more bool, err error) {
	id, n, err := adbwire.ReadSyncHeader(sc.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, sc.fail("command read failure")
	}
	if n > adbwire.SyncPathMax {
		return false, sc.fail("path too long")
	}
	name := make([]byte, n)
	if _, err := io.ReadFull(sc.r, name); err != nil {
		return false, sc.fail("filename read failure")
	}
	path := string(name)
	switch id {
	case adbwire.SyncSTAT:
		fi, err := sc.s.cfg.FS.Stat(path, sc.root)
		if err != nil {
			fi = FileInfo{}
		}
		var mode uint32
		if err == nil {
			mode = unixMode(fi.Mode)
		}
		sc.out = adbwire.AppendSyncStatV1(sc.out, mode, uint32(fi.Size), uint32(unixTime(fi.MTime)))
	case adbwire.SyncSTA2, adbwire.SyncLST2:
		fi, err := sc.s.cfg.FS.Stat(path, sc.root)
		st := adbwire.SyncStat{Error: uint32(errno(err))}
		if err == nil {
			st = statV2(fi)
		}
		sc.out = adbwire.AppendSyncStatV2(sc.out, id, st)
	case adbwire.SyncLIST, adbwire.SyncLIS2:
		if err := sc.list(path, id == adbwire.SyncLIS2); err != nil {
			return false, err
		}
	case adbwire.SyncSEND:
		return sc.send(path)
	case adbwire.SyncRECV:
		return sc.recv(path)
	case adbwire.SyncQUIT:
		return false, sc.flush()
	default:
		return false, sc.fail(fmt.Sprintf("unknown command %08x", id))
	}
	return true, sc.flush()
}

func unixTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func statV2(fi FileInfo) adbwire.SyncStat {
	mt := unixTime(fi.MTime)
	nlink := fi.Nlink
	if nlink == 0 {
		nlink = 1
	}
	return adbwire.SyncStat{Dev: 0xfd00, Ino: fi.Ino, Mode: unixMode(fi.Mode), Nlink: nlink, UID: fi.UID, GID: fi.GID,
		Size: uint64(fi.Size), Atime: mt, Mtime: mt, Ctime: mt}
}

// list sends one DENT/DNT2 per entry, "." and ".." first as readdir gives
// them, then DONE. A directory that cannot be opened lists nothing.
func (sc *syncConn) list(path string, v2 bool) error {
	entries, err := sc.s.cfg.FS.ReadDir(path, sc.root)
	if err == nil {
		self, serr := sc.s.cfg.FS.Stat(path, sc.root)
		parent, perr := sc.s.cfg.FS.Stat(path+"/..", sc.root)
		if perr != nil {
			parent = self
		}
		if serr == nil {
			self.Name, parent.Name = ".", ".."
			entries = append([]FileInfo{self, parent}, entries...)
		}
	}
	for _, e := range entries {
		if v2 {
			sc.out = adbwire.AppendSyncDentV2(sc.out, statV2(e), e.Name)
		} else {
			sc.out = adbwire.AppendSyncDentV1(sc.out, unixMode(e.Mode), uint32(e.Size), uint32(unixTime(e.MTime)), e.Name)
		}
		if len(sc.out) >= adbwire.SyncDataMax {
			if err := sc.flush(); err != nil {
				return err
			}
		}
	}
	size := adbwire.SyncDentV1Size
	if v2 {
		size = adbwire.SyncDentV2Size
	}
	sc.out = adbwire.AppendSyncHeader(sc.out, adbwire.SyncDONE, 0)
	sc.out = append(sc.out, make([]byte, size-8)...)
	return sc.flush()
}

// send receives a file: SEND "path,mode", DATA chunks, DONE with the mtime;
// OKAY, or FAIL with adbd's message.
func (sc *syncConn) send(spec string) (bool, error) {
	comma := -1
	for i := len(spec) - 1; i >= 0; i-- {
		if spec[i] == ',' {
			comma = i
			break
		}
	}
	if comma < 0 {
		return false, sc.fail("missing , in ID_SEND_V1")
	}
	path := spec[:comma]
	mode, err := strconv.ParseUint(spec[comma+1:], 0, 32)
	if err != nil {
		return false, sc.fail("bad mode")
	}
	if mode&syscall.S_IFMT == syscall.S_IFLNK {
		return false, sc.fail("symlink failed: " + strerror(syscall.EPERM))
	}
	// Copy the user bits to group and other, as adbd does.
	perm := mode & 0777
	perm |= (perm >> 3) & 0070
	perm |= (perm >> 3) & 0007
	w, err := sc.s.cfg.FS.Create(path, fs.FileMode(perm), sc.root)
	if err != nil {
		msg := "couldn't create file: " + strerror(errno(err))
		if errors.Is(err, ErrMkdirs) {
			msg = "secure_mkdirs failed: " + strerror(errno(err))
		}
		sc.out = adbwire.AppendSyncFail(sc.out, msg)
		if err := sc.flush(); err != nil {
			return false, err
		}
		return sc.drain()
	}
	for {
		id, n, err := adbwire.ReadSyncHeader(sc.r)
		if err != nil {
			w.Abort()
			return false, fmt.Errorf("sync: send %s: %w", path, err)
		}
		switch id {
		case adbwire.SyncDATA:
			if n > adbwire.SyncDataMax {
				w.Abort()
				return false, sc.fail("oversize data message")
			}
			if _, err := io.ReadFull(sc.r, sc.buf[:n]); err != nil {
				w.Abort()
				return false, fmt.Errorf("sync: send %s: %w", path, err)
			}
			if _, err := w.Write(sc.buf[:n]); err != nil {
				w.Abort()
				sc.out = adbwire.AppendSyncFail(sc.out, "write failed: "+strerror(errno(err)))
				if err := sc.flush(); err != nil {
					return false, err
				}
				return sc.drain()
			}
		case adbwire.SyncDONE:
			if err := w.Commit(time.Unix(int64(n), 0)); err != nil {
				return false, sc.fail("write failed: " + strerror(errno(err)))
			}
			sc.out = adbwire.AppendSyncHeader(sc.out, adbwire.SyncOKAY, 0)
			return true, sc.flush()
		default:
			w.Abort()
			return false, sc.fail("invalid data message")
		}
	}
}

// drain reads and drops the DATA of a failed push until DONE, as adbd does
// so that the host sees the FAIL, then ends the session.
func (sc *syncConn) drain() (bool, error) {
	for {
		id, n, err := adbwire.ReadSyncHeader(sc.r)
		if err != nil || id != adbwire.SyncDATA || n > adbwire.SyncDataMax {
			return false, nil
		}
		if _, err := io.ReadFull(sc.r, sc.buf[:n]); err != nil {
			return false, nil
		}
	}
}

// recv sends a file: DATA chunks of up to 64 KiB, then DONE; FAIL "open
// failed: ..." when it cannot be read.
func (sc *syncConn) recv(path string) (bool, error) {
	f, err := sc.s.cfg.FS.Open(path, sc.root)
	if err != nil {
		return false, sc.fail("open failed: " + strerror(errno(err)))
	}
	defer f.Close()
	const hdr = 8
	chunk := make([]byte, hdr+adbwire.SyncDataMax)
	for {
		n, rerr := io.ReadFull(f, chunk[hdr:])
		if n > 0 {
			adbwire.AppendSyncHeader(chunk[:0], adbwire.SyncDATA, uint32(n))
			if _, err := sc.w.Write(chunk[:hdr+n]); err != nil {
				return false, err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return false, sc.fail("read failed: " + strerror(errno(rerr)))
		}
	}
	sc.out = adbwire.AppendSyncHeader(sc.out, adbwire.SyncDONE, 0)
	return true, sc.flush()
}

// ErrMkdirs marks a Create error that happened while making the parent
// directories (adbd reports it as "secure_mkdirs failed").
var ErrMkdirs = errors.New("make parent directories")
