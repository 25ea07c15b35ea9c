package adb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
	"syscall"
	"time"
)

// The sync protocol (AOSP packages/modules/adb SYNC.TXT and
// file_sync_protocol.h): after the "sync:" service is opened, the client
// sends requests of a 4-byte id, a little-endian u32 length and that many
// bytes; the device answers with the same framing.
const (
	syncStat  = "STAT" // lstat, v1: mode, size, mtime (u32 each)
	syncLst2  = "LST2" // lstat, v2 (feature stat_v2): errno and 64-bit fields
	syncSend  = "SEND" // "PATH,MODE", then DATA... DONE(mtime)
	syncRecv  = "RECV" // PATH; answered by DATA... DONE, or FAIL
	syncData  = "DATA"
	syncDone  = "DONE"
	syncOkay  = "OKAY"
	syncFail  = "FAIL"
	syncQuit  = "QUIT"
	syncChunk = 64 * 1024 // SYNC_DATA_MAX: the largest DATA either side sends
	syncPath  = 1024      // the longest request payload adbd accepts
)

// RemoteFile is what Stat says of a file on the device.
type RemoteFile struct {
	Path    string
	Mode    fs.FileMode // permission bits and type (fs.ModeDir, fs.ModeSymlink, ...)
	Size    int64
	ModTime time.Time
}

// IsDir reports whether the file is a directory.
func (f RemoteFile) IsDir() bool { return f.Mode.IsDir() }

// syncConn is an open sync service.
type syncConn struct {
	d   *Device
	h   *hostConn
	op  string
	hdr [8]byte
}

// openSync opens the sync service; the returned stop ends the context watch.
func (d *Device) openSync(ctx context.Context, op string) (*syncConn, func(), error) {
	h, err := d.open(ctx, op, "sync:")
	if err != nil {
		return nil, nil, err
	}
	stop := watch(ctx, h)
	return &syncConn{d: d, h: h, op: op}, func() { stop(); h.Close() }, nil
}

// request sends one sync request with its payload in one write.
func (s *syncConn) request(id string, payload []byte) error {
	msg := make([]byte, 8, 8+len(payload))
	copy(msg, id)
	binary.LittleEndian.PutUint32(msg[4:], uint32(len(payload)))
	_, err := s.h.Write(append(msg, payload...))
	return err
}

// header reads one 8-byte reply header.
func (s *syncConn) header() (string, uint32, error) {
	if _, err := io.ReadFull(s.h.r, s.hdr[:]); err != nil {
		return "", 0, err
	}
	return string(s.hdr[:4]), binary.LittleEndian.Uint32(s.hdr[4:]), nil
}

// failText reads the message of a FAIL reply of n bytes.
func (s *syncConn) failText(n uint32) (string, error) {
	if n > syncPath*4 {
		return "", fmt.Errorf("%w: FAIL message of %d bytes", ErrProtocol, n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(s.h.r, b)
	return string(b), err
}

// quit ends the sync session politely; the connection is closed after.
func (s *syncConn) quit() { _ = s.request(syncQuit, nil) }

// fail builds the error of a FAIL reply: the device's own words, matching
// fs.ErrNotExist or fs.ErrPermission where they say so.
func (s *syncConn) fail(path, text string) error {
	e := &remoteErr{text: text}
	switch {
	case strings.Contains(text, "No such file or directory"):
		e.kind = fs.ErrNotExist
	case strings.Contains(text, "Permission denied"), strings.Contains(text, "Operation not permitted"),
		strings.Contains(text, "Read-only file system"):
		e.kind = fs.ErrPermission
	}
	return &Error{Op: s.op, Serial: s.d.serial, Msg: path, Err: e}
}

// remoteErr is what the device said of a failed sync request.
type remoteErr struct {
	text string
	kind error // fs.ErrNotExist, fs.ErrPermission or nil
}

func (e *remoteErr) Error() string { return e.text }

func (e *remoteErr) Is(target error) bool { return e.kind != nil && target == e.kind }

// lost turns a transport failure in the middle of a sync request into an
// error.
func (s *syncConn) lost(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil {
		return &Error{Op: s.op, Serial: s.d.serial, Msg: path, Err: context.Cause(ctx)}
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, ErrProtocol) {
		return &Error{Op: s.op, Serial: s.d.serial, Kind: ErrProtocol, Msg: path, Err: err}
	}
	return &Error{Op: s.op, Serial: s.d.serial, Kind: ErrStreamLost, Msg: path + ": the sync stream ended early", Err: err}
}

// checkRemotePath validates a device path for a sync request.
func checkRemotePath(op, serial, remote string) error {
	bad := func(why string) error {
		return &Error{Op: op, Serial: serial, Msg: fmt.Sprintf("remote path %q: %s", remote, why)}
	}
	switch {
	case remote == "":
		return bad("empty; want an absolute device path such as /data/local/tmp/file")
	case !strings.HasPrefix(remote, "/"):
		return bad("not absolute; want an absolute device path such as /data/local/tmp/file")
	case strings.ContainsRune(remote, 0):
		return bad("contains a NUL byte")
	case len(remote) > syncPath:
		return bad(fmt.Sprintf("%d bytes; adbd accepts at most %d", len(remote), syncPath))
	}
	return nil
}

// Stat describes a file on the device, as lstat does: a symbolic link is
// reported as itself. A missing file is an error matching fs.ErrNotExist.
// Devices with the stat_v2 feature say why a stat failed; older ones
// cannot (their answer is all zeroes), and that is reported as
// fs.ErrNotExist.
func (d *Device) Stat(ctx context.Context, remote string) (RemoteFile, error) {
	if err := checkRemotePath("stat", d.serial, remote); err != nil {
		return RemoteFile{}, err
	}
	v2, err := d.HasFeature(ctx, "stat_v2")
	if err != nil {
		return RemoteFile{}, err
	}
	s, done, err := d.openSync(ctx, "stat")
	if err != nil {
		return RemoteFile{}, err
	}
	defer done()
	id := syncStat
	if v2 {
		id = syncLst2
	}
	if err := s.request(id, []byte(remote)); err != nil {
		return RemoteFile{}, s.lost(ctx, remote, err)
	}
	f, err := s.readStat(id, remote)
	if err != nil {
		return RemoteFile{}, s.lost(ctx, remote, err)
	}
	s.quit()
	return f, nil
}

// readStat reads a STAT or LST2 reply. A file that cannot be stat'ed is an
// *Error saying why; other errors are the transport's.
func (s *syncConn) readStat(id, remote string) (RemoteFile, error) {
	var buf [72]byte // sync_stat_v2 is the larger: 4+4+8+8+4+4+4+4+8+8+8+8
	n := 16
	if id == syncLst2 {
		n = 72
	}
	if _, err := io.ReadFull(s.h.r, buf[:n]); err != nil {
		return RemoteFile{}, err
	}
	if got := string(buf[:4]); got != id {
		if got == syncFail {
			text, err := s.failText(binary.LittleEndian.Uint32(buf[4:]))
			if err != nil {
				return RemoteFile{}, err
			}
			return RemoteFile{}, s.fail(remote, text)
		}
		return RemoteFile{}, fmt.Errorf("%w: %s reply %q", ErrProtocol, id, got)
	}
	le := binary.LittleEndian
	if id == syncStat {
		mode, size, mtime := le.Uint32(buf[4:]), le.Uint32(buf[8:]), le.Uint32(buf[12:])
		if mode == 0 && size == 0 && mtime == 0 {
			return RemoteFile{}, &Error{Op: s.op, Serial: s.d.serial, Msg: remote,
				Err: &remoteErr{text: "no such file, or it cannot be read (stat v1 cannot tell which)", kind: fs.ErrNotExist}}
		}
		return RemoteFile{Path: remote, Mode: unixMode(mode), Size: int64(size), ModTime: time.Unix(int64(mtime), 0)}, nil
	}
	if errno := le.Uint32(buf[4:]); errno != 0 {
		en := syscall.Errno(errno)
		return RemoteFile{}, &Error{Op: s.op, Serial: s.d.serial, Msg: remote, Err: en}
	}
	// error u32, dev u64, ino u64, mode u32, nlink u32, uid u32, gid u32,
	// size u64, atime i64, mtime i64, ctime i64
	mode := le.Uint32(buf[24:])
	size := le.Uint64(buf[40:])
	mtime := int64(le.Uint64(buf[56:]))
	if size > math.MaxInt64 {
		return RemoteFile{}, fmt.Errorf("%w: size %d", ErrProtocol, size)
	}
	return RemoteFile{Path: remote, Mode: unixMode(mode), Size: int64(size), ModTime: time.Unix(mtime, 0)}, nil
}

// unixMode converts a st_mode to an fs.FileMode.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		mode |= fs.ModeDir
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o020000:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		mode |= fs.ModeDevice
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o140000:
		mode |= fs.ModeSocket
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// sendMode converts the permission bits of mode to the st_mode that `adb
// push` sends: a regular file's.
func sendMode(mode fs.FileMode) uint32 {
	m := uint32(mode.Perm()) | 0o100000
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// Push writes everything r yields to the file remote on the device (an
// absolute path; missing directories are created by the device), with the
// permission bits of mode and the modification time mtime (a zero mtime
// stamps the current time). It follows `adb push`: 64 KiB DATA chunks over
// the sync service, then DONE with the time, and the device's OKAY or
// FAIL. A FAIL is an error quoting the device ("couldn't create file:
// Read-only file system"). r is read in the caller's goroutine: when ctx
// ends, Push returns once r's Read has returned.
func (d *Device) Push(ctx context.Context, r io.Reader, remote string, mode os.FileMode, mtime time.Time) error {
	if err := checkRemotePath("push", d.serial, remote); err != nil {
		return err
	}
	if strings.HasSuffix(remote, "/") {
		return &Error{Op: "push", Serial: d.serial, Msg: fmt.Sprintf("remote path %q: names a directory; want the file's path", remote)}
	}
	if mode&^(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || mode.Perm() == 0 {
		return &Error{Op: "push", Serial: d.serial, Msg: fmt.Sprintf("mode %v: want permission bits of a regular file, such as 0644 or 0755", mode)}
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	if sec := mtime.Unix(); sec < 0 || sec > math.MaxUint32 {
		return &Error{Op: "push", Serial: d.serial, Msg: fmt.Sprintf("mtime %s: the sync protocol carries 1970-01-01 to 2106-02-07 (u32 seconds)", mtime.UTC().Format(time.RFC3339))}
	}
	spec := fmt.Sprintf("%s,%d", remote, sendMode(mode))
	if len(spec) > syncPath {
		return &Error{Op: "push", Serial: d.serial, Msg: fmt.Sprintf("remote path %q: with its mode %d bytes; adbd accepts at most %d", remote, len(spec), syncPath)}
	}
	if r == nil {
		return &Error{Op: "push", Serial: d.serial, Msg: "no reader given"}
	}
	s, done, err := d.openSync(ctx, "push")
	if err != nil {
		return err
	}
	defer done()
	if err := s.request(syncSend, []byte(spec)); err != nil {
		return s.pushLost(ctx, remote, err)
	}
	buf := make([]byte, 8+syncChunk)
	copy(buf, syncData)
	for {
		n, rerr := io.ReadFull(r, buf[8:])
		if n > 0 {
			binary.LittleEndian.PutUint32(buf[4:8], uint32(n))
			if _, err := s.h.Write(buf[:8+n]); err != nil {
				return s.pushLost(ctx, remote, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return &Error{Op: "push", Serial: d.serial, Msg: remote + ": reading the source", Err: rerr}
		}
	}
	var fin [8]byte
	copy(fin[:], syncDone)
	binary.LittleEndian.PutUint32(fin[4:], uint32(mtime.Unix()))
	if _, err := s.h.Write(fin[:]); err != nil {
		return s.pushLost(ctx, remote, err)
	}
	if err := s.status(remote); err != nil {
		return s.lost(ctx, remote, err)
	}
	s.quit()
	return nil
}

// status reads the device's answer to DONE: OKAY, or FAIL with its reason.
func (s *syncConn) status(remote string) error {
	id, n, err := s.header()
	if err != nil {
		return err
	}
	switch id {
	case syncOkay:
		if n > 0 {
			_, err := io.CopyN(io.Discard, s.h.r, int64(n))
			return err
		}
		return nil
	case syncFail:
		text, err := s.failText(n)
		if err != nil {
			return err
		}
		return s.fail(remote, text)
	}
	return fmt.Errorf("%w: reply %q to DONE", ErrProtocol, id)
}

// pushLost handles a write that failed mid-push: a device that refused the
// file may have said why before it closed the stream, as adb reads it.
func (s *syncConn) pushLost(ctx context.Context, remote string, werr error) error {
	if ctx.Err() == nil {
		if err := s.status(remote); err != nil {
			var ae *Error
			if errors.As(err, &ae) {
				return err
			}
		}
	}
	return s.lost(ctx, remote, werr)
}

// PushFile pushes the local file to remote with its permission bits and
// modification time, as `adb push` does.
func (d *Device) PushFile(ctx context.Context, local, remote string) error {
	f, err := os.Open(local)
	if err != nil {
		return &Error{Op: "push", Serial: d.serial, Msg: "local file", Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return &Error{Op: "push", Serial: d.serial, Msg: "local file", Err: err}
	}
	if !fi.Mode().IsRegular() {
		return &Error{Op: "push", Serial: d.serial, Msg: fmt.Sprintf("local file %s: not a regular file (%v)", local, fi.Mode().Type())}
	}
	return d.Push(ctx, f, remote, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), fi.ModTime())
}

// Pull copies the file remote from the device to w and returns how many
// bytes it wrote. A FAIL from the device is an error quoting it ("open
// failed: No such file or directory", matching fs.ErrNotExist).
func (d *Device) Pull(ctx context.Context, remote string, w io.Writer) (int64, error) {
	if err := checkRemotePath("pull", d.serial, remote); err != nil {
		return 0, err
	}
	if w == nil {
		return 0, &Error{Op: "pull", Serial: d.serial, Msg: "no writer given"}
	}
	s, done, err := d.openSync(ctx, "pull")
	if err != nil {
		return 0, err
	}
	defer done()
	if err := s.request(syncRecv, []byte(remote)); err != nil {
		return 0, s.lost(ctx, remote, err)
	}
	var total int64
	buf := make([]byte, syncChunk)
	for {
		id, n, err := s.header()
		if err != nil {
			return total, s.lost(ctx, remote, err)
		}
		switch id {
		case syncData:
			if n > syncChunk {
				return total, s.lost(ctx, remote, fmt.Errorf("%w: DATA of %d bytes (at most %d)", ErrProtocol, n, syncChunk))
			}
			if _, err := io.ReadFull(s.h.r, buf[:n]); err != nil {
				return total, s.lost(ctx, remote, err)
			}
			wn, err := w.Write(buf[:n])
			total += int64(wn)
			if err != nil {
				return total, &Error{Op: "pull", Serial: d.serial, Msg: remote + ": writing the copy", Err: err}
			}
		case syncDone:
			s.quit()
			return total, nil
		case syncFail:
			text, err := s.failText(n)
			if err != nil {
				return total, s.lost(ctx, remote, err)
			}
			return total, s.fail(remote, text)
		default:
			return total, s.lost(ctx, remote, fmt.Errorf("%w: reply %q to RECV", ErrProtocol, id))
		}
	}
}
