package adbd_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
)

// memFS is a FileSystem for testing the sync service: a flat map of files
// under directories, where only /tmp is writable.
type memFS struct {
	mu    sync.Mutex
	files map[string][]byte
	mtime map[string]time.Time
}

func newMemFS() *memFS {
	return &memFS{files: map[string][]byte{"/tmp/a.txt": []byte("hello")}, mtime: map[string]time.Time{"/tmp/a.txt": time.Unix(1600000000, 0)}}
}

func (m *memFS) Stat(p string, root bool) (adbd.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p == "/tmp" || p == "/" || p == "/tmp/.." {
		return adbd.FileInfo{Name: path.Base(p), Mode: fs.ModeDir | 0o771, MTime: time.Unix(1500000000, 0)}, nil
	}
	data, ok := m.files[p]
	if !ok {
		return adbd.FileInfo{}, fmt.Errorf("stat %s: %w", p, syscall.ENOENT)
	}
	return adbd.FileInfo{Name: path.Base(p), Mode: 0o644, Size: int64(len(data)), MTime: m.mtime[p], UID: 2000, GID: 2000}, nil
}

func (m *memFS) ReadDir(p string, root bool) ([]adbd.FileInfo, error) {
	if p != "/tmp" {
		return nil, fmt.Errorf("opendir %s: %w", p, syscall.ENOENT)
	}
	m.mu.Lock()
	var names []string
	for n := range m.files {
		names = append(names, n)
	}
	m.mu.Unlock()
	sort.Strings(names)
	var out []adbd.FileInfo
	for _, n := range names {
		fi, _ := m.Stat(n, root)
		out = append(out, fi)
	}
	return out, nil
}

func (m *memFS) Open(p string, root bool) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.files[p]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", p, syscall.ENOENT)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *memFS) Create(p string, mode fs.FileMode, root bool) (adbd.FileWriter, error) {
	if !strings.HasPrefix(p, "/tmp/") {
		return nil, fmt.Errorf("create %s: %w", p, syscall.EACCES)
	}
	return &memWriter{fs: m, path: p}, nil
}

type memWriter struct {
	fs   *memFS
	path string
	buf  bytes.Buffer
}

func (w *memWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *memWriter) Abort()                      {}
func (w *memWriter) Commit(mtime time.Time) error {
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	w.fs.files[w.path] = w.buf.Bytes()
	w.fs.mtime[w.path] = mtime
	return nil
}

// syncStream is one sync: stream opened over a raw connection.
type syncStream struct {
	h     *rawHost
	local uint32
	peer  uint32
	in    bytes.Buffer
	done  bool
}

func openSync(t *testing.T, dev *adbd.Server) *syncStream {
	h := dialRaw(t, dev.Addr())
	h.handshake()
	h.send(adbwire.Message{Command: adbwire.CmdOPEN, Arg0: 1, Data: []byte("sync:\x00")})
	m := h.read()
	if m.Command != adbwire.CmdOKAY {
		t.Fatalf("OPEN sync: %v", m)
	}
	return &syncStream{h: h, local: 1, peer: m.Arg0}
}

func (s *syncStream) write(b []byte) {
	s.h.send(adbwire.Message{Command: adbwire.CmdWRTE, Arg0: s.local, Arg1: s.peer, Data: b})
	for {
		m := s.h.read()
		if m.Command == adbwire.CmdOKAY {
			return
		}
		s.take(m)
	}
}

func (s *syncStream) take(m adbwire.Message) {
	switch m.Command {
	case adbwire.CmdWRTE:
		s.in.Write(m.Data)
		s.h.send(adbwire.Message{Command: adbwire.CmdOKAY, Arg0: s.local, Arg1: s.peer})
	case adbwire.CmdCLSE:
		s.done = true
	default:
		s.h.t.Fatalf("unexpected %v", m)
	}
}

// need reads until n bytes are buffered and returns them.
func (s *syncStream) need(n int) []byte {
	for s.in.Len() < n {
		if s.done {
			s.h.t.Fatalf("stream closed with %d of %d bytes", s.in.Len(), n)
		}
		s.take(s.h.read())
	}
	return s.in.Next(n)
}

// closed waits for the device to close the stream.
func (s *syncStream) closed() bool {
	for !s.done {
		s.take(s.h.read())
	}
	return s.in.Len() == 0
}

func (s *syncStream) fail() string {
	s.h.t.Helper()
	hdr := s.need(8)
	if id := binary.LittleEndian.Uint32(hdr); id != adbwire.SyncFAIL {
		s.h.t.Fatalf("got %s, want FAIL", adbwire.SyncName(id))
	}
	return string(s.need(int(binary.LittleEndian.Uint32(hdr[4:]))))
}

func startSyncDevice(t *testing.T) *adbd.Server {
	dev, err := adbd.Start(adbd.Config{Shell: &testShell{}, FS: newMemFS()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func TestSyncStatListRecv(t *testing.T) {
	s := openSync(t, startSyncDevice(t))
	le := binary.LittleEndian
	// STAT (v1): mode, size, mtime; zeros for a missing file.
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncSTAT, "/tmp/a.txt"))
	b := s.need(adbwire.SyncStatV1Size)
	if le.Uint32(b) != adbwire.SyncSTAT || le.Uint32(b[4:]) != 0o100644 || le.Uint32(b[8:]) != 5 || le.Uint32(b[12:]) != 1600000000 {
		t.Fatalf("STAT reply % x", b)
	}
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncSTAT, "/tmp/none"))
	if b := s.need(adbwire.SyncStatV1Size); !bytes.Equal(b[4:], make([]byte, 12)) {
		t.Fatalf("STAT of a missing file: % x", b)
	}
	// STA2: errno on failure.
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncSTA2, "/tmp/none"))
	b = s.need(adbwire.SyncStatV2Size)
	st, err := adbwire.DecodeSyncStatV2(b[4:])
	if err != nil || le.Uint32(b) != adbwire.SyncSTA2 || st.Error != uint32(syscall.ENOENT) {
		t.Fatalf("STA2 of a missing file: %+v %v", st, err)
	}
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncLST2, "/tmp/a.txt"))
	b = s.need(adbwire.SyncStatV2Size)
	st, _ = adbwire.DecodeSyncStatV2(b[4:])
	if le.Uint32(b) != adbwire.SyncLST2 || st.Error != 0 || st.Size != 5 || st.Mode != 0o100644 || st.UID != 2000 || st.Mtime != 1600000000 {
		t.Fatalf("LST2: %+v", st)
	}
	// LIST: ".", "..", the entries, then a DONE the size of a DENT.
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncLIST, "/tmp"))
	var names []string
	for {
		h := s.need(adbwire.SyncDentV1Size)
		if le.Uint32(h) == adbwire.SyncDONE {
			break
		}
		names = append(names, string(s.need(int(le.Uint32(h[16:])))))
	}
	if strings.Join(names, ",") != ".,..,a.txt" {
		t.Fatalf("LIST names %v", names)
	}
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncLIS2, "/tmp"))
	names = nil
	for {
		h := s.need(adbwire.SyncDentV2Size)
		if le.Uint32(h) == adbwire.SyncDONE {
			break
		}
		names = append(names, string(s.need(int(le.Uint32(h[72:])))))
	}
	if strings.Join(names, ",") != ".,..,a.txt" {
		t.Fatalf("LIS2 names %v", names)
	}
	// RECV: DATA then DONE.
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncRECV, "/tmp/a.txt"))
	h := s.need(8)
	if le.Uint32(h) != adbwire.SyncDATA || string(s.need(int(le.Uint32(h[4:])))) != "hello" {
		t.Fatalf("RECV data")
	}
	if h := s.need(8); le.Uint32(h) != adbwire.SyncDONE {
		t.Fatalf("RECV end: % x", h)
	}
	// QUIT ends the session.
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncQUIT, ""))
	if !s.closed() {
		t.Fatal("bytes after QUIT")
	}
}

func TestSyncFailures(t *testing.T) {
	dev := startSyncDevice(t)
	cases := []struct {
		name string
		req  []byte
		more []byte
		want string
	}{
		{"recv missing", adbwire.AppendSyncRequest(nil, adbwire.SyncRECV, "/tmp/none"), nil, "open failed: No such file or directory"},
		{"send without mode", adbwire.AppendSyncRequest(nil, adbwire.SyncSEND, "/tmp/x"), nil, "missing , in ID_SEND_V1"},
		{"send bad mode", adbwire.AppendSyncRequest(nil, adbwire.SyncSEND, "/tmp/x,zz"), nil, "bad mode"},
		{"send denied", adbwire.AppendSyncRequest(nil, adbwire.SyncSEND, "/etc/x,33188"),
			adbwire.AppendSyncHeader(nil, adbwire.SyncDONE, 0), "couldn't create file: Permission denied"},
		{"oversize data", adbwire.AppendSyncRequest(nil, adbwire.SyncSEND, "/tmp/x,33188"),
			adbwire.AppendSyncHeader(nil, adbwire.SyncDATA, adbwire.SyncDataMax+1), "oversize data message"},
		{"not data", adbwire.AppendSyncRequest(nil, adbwire.SyncSEND, "/tmp/x,33188"),
			adbwire.AppendSyncHeader(nil, adbwire.SyncSTAT, 0), "invalid data message"},
		{"unknown", adbwire.AppendSyncRequest(nil, 0x58585858, "/"), nil, "unknown command 58585858"},
		{"path too long", adbwire.AppendSyncHeader(nil, adbwire.SyncSTAT, 1025), nil, "path too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openSync(t, dev)
			s.write(c.req)
			if c.more != nil {
				s.write(c.more)
			}
			if got := s.fail(); got != c.want {
				t.Fatalf("FAIL %q, want %q", got, c.want)
			}
		})
	}
}

func TestSyncSend(t *testing.T) {
	fs := newMemFS()
	dev, err := adbd.Start(adbd.Config{Shell: &testShell{}, FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	s := openSync(t, dev)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	s.write(adbwire.AppendSyncRequest(nil, adbwire.SyncSEND, "/tmp/dir,x/f,33188"))
	for rest := payload; len(rest) > 0; {
		n := min(len(rest), adbwire.SyncDataMax)
		s.write(append(adbwire.AppendSyncHeader(nil, adbwire.SyncDATA, uint32(n)), rest[:n]...))
		rest = rest[n:]
	}
	s.write(adbwire.AppendSyncHeader(nil, adbwire.SyncDONE, 1700000000))
	if h := s.need(8); binary.LittleEndian.Uint32(h) != adbwire.SyncOKAY {
		t.Fatalf("SEND answer % x", h)
	}
	fs.mu.Lock()
	got, mt := fs.files["/tmp/dir,x/f"], fs.mtime["/tmp/dir,x/f"]
	fs.mu.Unlock()
	if !bytes.Equal(got, payload) || mt.Unix() != 1700000000 {
		t.Fatalf("stored %d bytes at %v", len(got), mt)
	}
}

func TestSyncNotOfferedWithoutFS(t *testing.T) {
	dev, err := adbd.Start(adbd.Config{Shell: &testShell{}})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	for _, f := range dev.Features() {
		if f == adbd.FeatureStatV2 || f == adbd.FeatureLsV2 || f == adbd.FeatureFixedPushMkdir {
			t.Fatalf("feature %s advertised without a file system", f)
		}
	}
	h := dialRaw(t, dev.Addr())
	h.handshake()
	h.send(adbwire.Message{Command: adbwire.CmdOPEN, Arg0: 1, Data: []byte("sync:\x00")})
	if m := h.read(); m.Command != adbwire.CmdCLSE {
		t.Fatalf("sync: without a file system answered %v", m)
	}
}
