package adbwire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSyncIDsAreTheirLetters(t *testing.T) {
	for id, name := range map[uint32]string{SyncSTAT: "STAT", SyncSTA2: "STA2", SyncLST2: "LST2", SyncLIST: "LIST",
		SyncLIS2: "LIS2", SyncDENT: "DENT", SyncDNT2: "DNT2", SyncSEND: "SEND", SyncRECV: "RECV", SyncDONE: "DONE",
		SyncDATA: "DATA", SyncOKAY: "OKAY", SyncFAIL: "FAIL", SyncQUIT: "QUIT"} {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], id)
		if string(b[:]) != name || SyncName(id) != name {
			t.Errorf("%s: bytes %q, SyncName %q", name, b, SyncName(id))
		}
	}
	if got := SyncName(0x01020304); got != "01020304" {
		t.Errorf("SyncName of a non-letter id = %q", got)
	}
}

func TestSyncEncodings(t *testing.T) {
	st := SyncStat{Error: 2, Dev: 3, Ino: 4, Mode: 0o100644, Nlink: 1, UID: 2000, GID: 1015, Size: 1 << 40, Atime: 5, Mtime: 6, Ctime: 7}
	b := AppendSyncStatV2(nil, SyncSTA2, st)
	if len(b) != SyncStatV2Size || binary.LittleEndian.Uint32(b) != SyncSTA2 {
		t.Fatalf("STA2 of %d bytes", len(b))
	}
	back, err := DecodeSyncStatV2(b[4:])
	if err != nil || back != st {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := DecodeSyncStatV2(b[4:20]); err == nil {
		t.Fatal("a short stat decoded")
	}
	if d := AppendSyncDentV2(nil, st, "abc"); len(d) != SyncDentV2Size+3 || string(d[SyncDentV2Size:]) != "abc" {
		t.Fatalf("DNT2 % x", d)
	}
	if d := AppendSyncDentV1(nil, 1, 2, 3, "abc"); len(d) != SyncDentV1Size+3 || binary.LittleEndian.Uint32(d[16:]) != 3 {
		t.Fatalf("DENT % x", d)
	}
	if s := AppendSyncStatV1(nil, 1, 2, 3); len(s) != SyncStatV1Size {
		t.Fatalf("STAT of %d bytes", len(s))
	}
	req := AppendSyncRequest(nil, SyncRECV, "/sdcard/x")
	id, n, err := ReadSyncHeader(bytes.NewReader(req))
	if err != nil || id != SyncRECV || n != 9 || string(req[8:]) != "/sdcard/x" {
		t.Fatalf("request: %s %d %v", SyncName(id), n, err)
	}
	f := AppendSyncFail(nil, "open failed: No such file or directory")
	if string(f[:4]) != "FAIL" || int(binary.LittleEndian.Uint32(f[4:])) != len(f)-8 {
		t.Fatalf("FAIL % x", f)
	}
	if _, _, err := ReadSyncHeader(bytes.NewReader([]byte("DAT"))); err == nil {
		t.Fatal("a truncated header was read")
	}
}
