package adbwire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// File sync protocol ids (the "sync:" service), as four little-endian ASCII
// bytes, from AOSP adb's file_sync_protocol.h.
const (
	SyncSTAT uint32 = 'S' | 'T'<<8 | 'A'<<16 | 'T'<<24 // lstat v1
	SyncSTA2 uint32 = 'S' | 'T'<<8 | 'A'<<16 | '2'<<24 // stat v2
	SyncLST2 uint32 = 'L' | 'S'<<8 | 'T'<<16 | '2'<<24 // lstat v2
	SyncLIST uint32 = 'L' | 'I'<<8 | 'S'<<16 | 'T'<<24
	SyncLIS2 uint32 = 'L' | 'I'<<8 | 'S'<<16 | '2'<<24
	SyncDENT uint32 = 'D' | 'E'<<8 | 'N'<<16 | 'T'<<24
	SyncDNT2 uint32 = 'D' | 'N'<<8 | 'T'<<16 | '2'<<24
	SyncSEND uint32 = 'S' | 'E'<<8 | 'N'<<16 | 'D'<<24
	SyncRECV uint32 = 'R' | 'E'<<8 | 'C'<<16 | 'V'<<24
	SyncDONE uint32 = 'D' | 'O'<<8 | 'N'<<16 | 'E'<<24
	SyncDATA uint32 = 'D' | 'A'<<8 | 'T'<<16 | 'A'<<24
	SyncOKAY uint32 = 'O' | 'K'<<8 | 'A'<<16 | 'Y'<<24
	SyncFAIL uint32 = 'F' | 'A'<<8 | 'I'<<16 | 'L'<<24
	SyncQUIT uint32 = 'Q' | 'U'<<8 | 'I'<<16 | 'T'<<24
)

// Sync protocol sizes.
const (
	// SyncDataMax is the largest DATA chunk either side sends (64 KiB).
	SyncDataMax = 64 * 1024
	// SyncPathMax is the longest path adbd accepts in a request.
	SyncPathMax = 1024
	// SyncRequestSize is a request header: id + path length.
	SyncRequestSize = 8
	// SyncStatV1Size is a STAT reply: id, mode, size, mtime.
	SyncStatV1Size = 16
	// SyncStatV2Size is a STA2/LST2 reply.
	SyncStatV2Size = 72
	// SyncDentV1Size is a DENT entry header (the name follows).
	SyncDentV1Size = 20
	// SyncDentV2Size is a DNT2 entry header (the name follows).
	SyncDentV2Size = 76
)

// SyncName returns the four letters of a sync id, or its hex value.
func SyncName(id uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], id)
	for _, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return fmt.Sprintf("%08x", id)
		}
	}
	return string(b[:])
}

// SyncStat is the v2 stat structure (STA2, LST2, and DNT2 without the name).
// Error is a Linux errno, 0 on success.
type SyncStat struct {
	Error uint32
	Dev   uint64
	Ino   uint64
	Mode  uint32
	Nlink uint32
	UID   uint32
	GID   uint32
	Size  uint64
	Atime int64
	Mtime int64
	Ctime int64
}

// AppendSyncRequest appends a request (id, path length, path).
func AppendSyncRequest(buf []byte, id uint32, path string) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, id)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(path)))
	return append(buf, path...)
}

// AppendSyncHeader appends an id and a u32 (a DATA or FAIL length, a DONE
// mtime, an OKAY zero).
func AppendSyncHeader(buf []byte, id, n uint32) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, id)
	return binary.LittleEndian.AppendUint32(buf, n)
}

// AppendSyncFail appends a FAIL with its message.
func AppendSyncFail(buf []byte, msg string) []byte {
	return append(AppendSyncHeader(buf, SyncFAIL, uint32(len(msg))), msg...)
}

// AppendSyncStatV1 appends a STAT reply.
func AppendSyncStatV1(buf []byte, mode, size, mtime uint32) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, SyncSTAT)
	buf = binary.LittleEndian.AppendUint32(buf, mode)
	buf = binary.LittleEndian.AppendUint32(buf, size)
	return binary.LittleEndian.AppendUint32(buf, mtime)
}

func appendStatV2Body(buf []byte, st SyncStat) []byte {
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, st.Error)
	buf = le.AppendUint64(buf, st.Dev)
	buf = le.AppendUint64(buf, st.Ino)
	buf = le.AppendUint32(buf, st.Mode)
	buf = le.AppendUint32(buf, st.Nlink)
	buf = le.AppendUint32(buf, st.UID)
	buf = le.AppendUint32(buf, st.GID)
	buf = le.AppendUint64(buf, st.Size)
	buf = le.AppendUint64(buf, uint64(st.Atime))
	buf = le.AppendUint64(buf, uint64(st.Mtime))
	return le.AppendUint64(buf, uint64(st.Ctime))
}

// AppendSyncStatV2 appends a STA2 or LST2 reply (id is the request's id).
func AppendSyncStatV2(buf []byte, id uint32, st SyncStat) []byte {
	return appendStatV2Body(binary.LittleEndian.AppendUint32(buf, id), st)
}

// AppendSyncDentV1 appends a DENT entry.
func AppendSyncDentV1(buf []byte, mode, size, mtime uint32, name string) []byte {
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, SyncDENT)
	buf = le.AppendUint32(buf, mode)
	buf = le.AppendUint32(buf, size)
	buf = le.AppendUint32(buf, mtime)
	buf = le.AppendUint32(buf, uint32(len(name)))
	return append(buf, name...)
}

// AppendSyncDentV2 appends a DNT2 entry.
func AppendSyncDentV2(buf []byte, st SyncStat, name string) []byte {
	buf = appendStatV2Body(binary.LittleEndian.AppendUint32(buf, SyncDNT2), st)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(name)))
	return append(buf, name...)
}

// ReadSyncHeader reads an id and its u32 argument.
func ReadSyncHeader(r io.Reader) (id, n uint32, err error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, 0, err
	}
	return binary.LittleEndian.Uint32(b[:4]), binary.LittleEndian.Uint32(b[4:]), nil
}

// DecodeSyncStatV2 decodes the 68 bytes of a v2 stat that follow its id.
func DecodeSyncStatV2(b []byte) (SyncStat, error) {
	if len(b) < SyncStatV2Size-4 {
		return SyncStat{}, fmt.Errorf("adbwire: sync stat of %d bytes, want %d", len(b), SyncStatV2Size-4)
	}
	le := binary.LittleEndian
	return SyncStat{
		Error: le.Uint32(b[0:]), Dev: le.Uint64(b[4:]), Ino: le.Uint64(b[12:]), Mode: le.Uint32(b[20:]),
		Nlink: le.Uint32(b[24:]), UID: le.Uint32(b[28:]), GID: le.Uint32(b[32:]), Size: le.Uint64(b[36:]),
		Atime: int64(le.Uint64(b[44:])), Mtime: int64(le.Uint64(b[52:])), Ctime: int64(le.Uint64(b[60:])),
	}, nil
}
