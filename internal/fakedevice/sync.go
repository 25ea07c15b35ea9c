package fakedevice

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
)

// The device side of the sync protocol, as adbd's file_sync_service.cpp
// answers it: STAT (lstat v1), LST2/STA2 (v2, with errno), SEND, RECV,
// QUIT. Directories are implied by the files under them; paths under
// /system are read-only.

const syncMax = 64 * 1024

func (d *Device) serveSync(ctx context.Context, _ string, s *adbd.Stream) error {
	defer s.Close()
	for {
		var req [8]byte
		if _, err := io.ReadFull(s, req[:]); err != nil {
			return nil
		}
		id, n := string(req[:4]), binary.LittleEndian.Uint32(req[4:])
		if n > 1024 {
			return syncFail(s, "path too long")
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(s, name); err != nil {
			return syncFail(s, "filename read failure")
		}
		path := string(name)
		var err error
		switch id {
		case "STAT":
			err = d.statV1(s, path)
		case "LST2", "STA2":
			err = d.statV2(s, id, path)
		case "SEND":
			err = d.recvFile(s, path)
		case "RECV":
			err = d.sendFile(s, path)
		case "QUIT":
			return nil
		default:
			return syncFail(s, fmt.Sprintf("unknown command %08x", binary.LittleEndian.Uint32(req[:4])))
		}
		if err != nil {
			return nil
		}
	}
}

// errSyncDone ends a sync session after a FAIL.
var errSyncDone = fmt.Errorf("sync failed")

func syncFail(s *adbd.Stream, reason string) error {
	msg := make([]byte, 8, 8+len(reason))
	copy(msg, "FAIL")
	binary.LittleEndian.PutUint32(msg[4:], uint32(len(reason)))
	_, _ = s.Write(append(msg, reason...))
	return errSyncDone
}

// lookup finds a file or an implied directory.
func (d *Device) lookup(path string) (File, bool, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.files[path]; ok {
		return f, true, false
	}
	if path == "/" {
		return File{}, false, true
	}
	prefix := strings.TrimSuffix(path, "/") + "/"
	for p := range d.files {
		if strings.HasPrefix(p, prefix) {
			return File{}, false, true
		}
	}
	for _, dir := range []string{"/data", "/data/local", "/data/local/tmp", "/sdcard", "/system", "/system/bin"} {
		if path == dir {
			return File{}, false, true
		}
	}
	return File{}, false, false
}

func (d *Device) statV1(s *adbd.Stream, path string) error {
	var out [16]byte
	copy(out[:], "STAT")
	if f, ok, dir := d.lookup(path); ok {
		binary.LittleEndian.PutUint32(out[4:], f.Mode)
		binary.LittleEndian.PutUint32(out[8:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint32(out[12:], f.MTime)
	} else if dir {
		binary.LittleEndian.PutUint32(out[4:], 0o040771)
		binary.LittleEndian.PutUint32(out[8:], 4096)
		binary.LittleEndian.PutUint32(out[12:], 1700000000)
	}
	_, err := s.Write(out[:])
	return err
}

func (d *Device) statV2(s *adbd.Stream, id, path string) error {
	var out [72]byte
	copy(out[:], id)
	le := binary.LittleEndian
	f, ok, dir := d.lookup(path)
	switch {
	case ok:
		le.PutUint32(out[24:], f.Mode)
		le.PutUint32(out[28:], 1)
		le.PutUint64(out[40:], uint64(len(f.Data)))
		le.PutUint64(out[56:], uint64(f.MTime))
	case dir:
		le.PutUint32(out[24:], 0o040771)
		le.PutUint64(out[40:], 4096)
		le.PutUint64(out[56:], 1700000000)
	default:
		le.PutUint32(out[4:], uint32(syscall.ENOENT))
	}
	_, err := s.Write(out[:])
	return err
}

// recvFile serves SEND: "PATH,MODE", DATA..., DONE(mtime).
func (d *Device) recvFile(s *adbd.Stream, spec string) error {
	comma := strings.LastIndexByte(spec, ',')
	if comma < 0 {
		return syncFail(s, "missing , in ID_SEND_V1")
	}
	path := spec[:comma]
	mode, err := strconv.ParseUint(spec[comma+1:], 0, 32)
	if err != nil {
		return syncFail(s, "bad mode")
	}
	refuse := ""
	if _, _, dir := d.lookup(path); dir {
		refuse = "couldn't create file: Is a directory"
	} else if strings.HasPrefix(path, "/system/") {
		refuse = "couldn't create file: Read-only file system"
	}
	if refuse != "" {
		// adbd says why at once, then reads and drops the data until DONE.
		_ = syncFail(s, refuse)
	}
	var data []byte
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(s, hdr[:]); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint32(hdr[4:])
		switch string(hdr[:4]) {
		case "DATA":
			if n > syncMax {
				return syncFail(s, "oversize data message")
			}
			chunk := make([]byte, n)
			if _, err := io.ReadFull(s, chunk); err != nil {
				return err
			}
			data = append(data, chunk...)
		case "DONE":
			if refuse != "" {
				return errSyncDone
			}
			d.PutFile(path, File{Data: data, Mode: uint32(mode&0o7777) | 0o100000, MTime: n})
			_, err := s.Write([]byte("OKAY\x00\x00\x00\x00"))
			return err
		default:
			return syncFail(s, "invalid data message")
		}
	}
}

// sendFile serves RECV.
func (d *Device) sendFile(s *adbd.Stream, path string) error {
	f, ok, dir := d.lookup(path)
	if dir {
		return syncFail(s, "open failed: Is a directory")
	}
	if !ok {
		return syncFail(s, "open failed: No such file or directory")
	}
	data := f.Data
	for len(data) > 0 {
		n := min(len(data), syncMax)
		hdr := make([]byte, 8, 8+n)
		copy(hdr, "DATA")
		binary.LittleEndian.PutUint32(hdr[4:], uint32(n))
		if _, err := s.Write(append(hdr, data[:n]...)); err != nil {
			return err
		}
		data = data[n:]
	}
	_, err := s.Write([]byte("DONE\x00\x00\x00\x00"))
	return err
}

// ModTime is a file's modification time.
func (f File) ModTime() time.Time { return time.Unix(int64(f.MTime), 0) }
