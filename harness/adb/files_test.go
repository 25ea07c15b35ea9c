package adb_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/electricbubble/gadb"
	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/internal/fakedevice"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// These tests run the new primitives through the real adb server against
// a small scripted device (internal/fakedevice) that answers sync, exec,
// abb_exec and reboot as adbd does.

// fakeSetup is an adb server of the test's own and one connected fake
// device.
func fakeSetup(t testing.TB, cfg fakedevice.Config) (*adb.LocalServer, *fakedevice.Device, *adb.Device) {
	t.Helper()
	srv := simtest.ADBServer(t)
	fd := fakedevice.Start(t, cfg)
	c := srv.Client()
	ctx := bounded(t)
	if err := c.Connect(ctx, fd.Serial()); err != nil {
		t.Fatalf("connect %s: %v", fd.Serial(), err)
	}
	if st, err := c.WaitForState(ctx, fd.Serial(), adb.StateDevice); err != nil {
		t.Fatalf("wait for %s: state %s: %v", fd.Serial(), st, err)
	}
	return srv, fd, c.Device(fd.Serial())
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPushStatPull(t *testing.T) {
	for _, features := range [][]string{{"shell_v2", "cmd"}, {"shell_v2", "cmd", "stat_v2"}} {
		t.Run(strings.Join(features, ","), func(t *testing.T) {
			_, fd, d := fakeSetup(t, fakedevice.Config{Features: features})
			ctx := bounded(t)
			// Three whole 64 KiB chunks and a partial one.
			data := randomBytes(t, 3*64*1024+1234)
			mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
			const remote = "/data/local/tmp/dir/payload.bin"
			if err := d.Push(ctx, bytes.NewReader(data), remote, 0o640, mtime); err != nil {
				t.Fatal(err)
			}
			f, ok := fd.File(remote)
			if !ok {
				t.Fatalf("the device has no %s; it has %v", remote, fd.Paths())
			}
			if !bytes.Equal(f.Data, data) {
				t.Fatalf("the device holds %d bytes, not the %d pushed", len(f.Data), len(data))
			}
			if f.Mode != 0o100640 || !f.ModTime().Equal(mtime) {
				t.Errorf("device file mode %o mtime %s; want 100640 and %s", f.Mode, f.ModTime().UTC(), mtime)
			}

			st, err := d.Stat(ctx, remote)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size != int64(len(data)) || st.Mode != 0o640 || !st.ModTime.Equal(mtime) || st.IsDir() || st.Path != remote {
				t.Errorf("Stat = %+v; want size %d mode 0640 mtime %s", st, len(data), mtime)
			}
			dir, err := d.Stat(ctx, "/data/local/tmp/dir")
			if err != nil || !dir.IsDir() {
				t.Errorf("Stat of the directory = %+v, %v; want a directory", dir, err)
			}

			var got bytes.Buffer
			n, err := d.Pull(ctx, remote, &got)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("Pull gave %d bytes (reported %d), not the %d pushed", got.Len(), n, len(data))
			}

			// A missing file.
			_, err = d.Stat(ctx, "/data/local/tmp/none")
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/data/local/tmp/none") {
				t.Errorf("Stat of a missing file: %v; want fs.ErrNotExist naming the path", err)
			}
			t.Logf("missing file: %v", err)
			// stat_v2, the last feature of the banner, is seen (the server
			// leaves the banner's NUL on it) and used: the device says why.
			v2, ferr := d.HasFeature(ctx, "stat_v2")
			if ferr != nil || v2 != (len(features) == 3) {
				t.Errorf("HasFeature(stat_v2) = %v, %v with features %v", v2, ferr, features)
			}
			if why := "stat v1 cannot tell which"; v2 == strings.Contains(err.Error(), why) {
				t.Errorf("stat_v2 %v, yet the error %q says %q: the wrong request was used", v2, err, why)
			}
			_, err = d.Pull(ctx, "/data/local/tmp/none", io.Discard)
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "open failed: No such file or directory") {
				t.Errorf("Pull of a missing file: %v; want fs.ErrNotExist with the device's words", err)
			}
		})
	}
}

func TestPushEmptyAndZeroTime(t *testing.T) {
	_, fd, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	before := time.Now().Add(-time.Second)
	if err := d.Push(ctx, strings.NewReader(""), "/data/local/tmp/empty", 0o600, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f, ok := fd.File("/data/local/tmp/empty")
	if !ok || len(f.Data) != 0 {
		t.Fatalf("empty push: %+v, %v", f, ok)
	}
	if f.ModTime().Before(before.Truncate(time.Second)) || f.ModTime().After(time.Now()) {
		t.Errorf("zero mtime stamped %s, want the current time", f.ModTime())
	}
}

func TestPushRefusedByDevice(t *testing.T) {
	_, fd, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	err := d.Push(ctx, bytes.NewReader(randomBytes(t, 200*1024)), "/system/bin/evil", 0o755, time.Now())
	if err == nil {
		t.Fatal("push to /system succeeded")
	}
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "couldn't create file: Read-only file system") {
		t.Errorf("push to /system: %v; want fs.ErrPermission with the device's words", err)
	}
	err = d.Push(ctx, strings.NewReader("x"), "/data/local/tmp", 0o644, time.Now())
	if err == nil || !strings.Contains(err.Error(), "Is a directory") {
		t.Errorf("push onto a directory: %v; want the device's 'Is a directory'", err)
	}
	// The session still works after a refusal.
	if err := d.Push(ctx, strings.NewReader("ok"), "/data/local/tmp/ok", 0o644, time.Now()); err != nil {
		t.Fatal(err)
	}
	if f, _ := fd.File("/data/local/tmp/ok"); string(f.Data) != "ok" {
		t.Errorf("after a refusal: %q", f.Data)
	}
}

func TestPushBadInput(t *testing.T) {
	// Nothing is sent for bad input: the client points at no server.
	d := adb.NewClient("127.0.0.1:1").Device("serial")
	ctx := bounded(t)
	now := time.Now()
	long := "/" + strings.Repeat("a", 1030)
	for _, tc := range []struct {
		name, remote string
		mode         os.FileMode
		mtime        time.Time
		want         string
	}{
		{"empty path", "", 0o644, now, "remote path \"\": empty"},
		{"relative path", "tmp/x", 0o644, now, "not absolute"},
		{"directory path", "/data/local/tmp/", 0o644, now, "names a directory"},
		{"NUL", "/data/x\x00y", 0o644, now, "NUL"},
		{"too long", long, 0o644, now, "adbd accepts at most 1024"},
		{"mode 0", "/data/local/tmp/x", 0, now, "mode ----------: want permission bits"},
		{"directory mode", "/data/local/tmp/x", fs.ModeDir | 0o755, now, "want permission bits of a regular file"},
		{"before 1970", "/data/local/tmp/x", 0o644, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), "mtime 1960-01-01T00:00:00Z"},
		{"after 2106", "/data/local/tmp/x", 0o644, time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC), "1970-01-01 to 2106-02-07"},
	} {
		err := d.Push(ctx, strings.NewReader("x"), tc.remote, tc.mode, tc.mtime)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, adb.ErrServerUnavailable) {
			t.Errorf("%s: %v; want an error saying %q, before dialling", tc.name, err, tc.want)
		}
	}
	if _, err := d.Pull(ctx, "relative", io.Discard); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("Pull of a relative path: %v", err)
	}
	if _, err := d.Stat(ctx, ""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Stat of an empty path: %v", err)
	}
	if err := d.PushFile(ctx, filepath.Join(t.TempDir(), "missing"), "/data/local/tmp/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PushFile of a missing local file: %v", err)
	}
	if err := d.PushFile(ctx, t.TempDir(), "/data/local/tmp/x"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("PushFile of a directory: %v", err)
	}
}

func TestPushFileKeepsModeAndTime(t *testing.T) {
	_, fd, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	local := filepath.Join(t.TempDir(), "tool")
	data := randomBytes(t, 70*1024)
	if err := os.WriteFile(local, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(local, 0o751); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(local, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := d.PushFile(ctx, local, "/data/local/tmp/tool"); err != nil {
		t.Fatal(err)
	}
	f, _ := fd.File("/data/local/tmp/tool")
	if !bytes.Equal(f.Data, data) || f.Mode != 0o100751 || !f.ModTime().Equal(mtime) {
		t.Errorf("device file: %d bytes mode %o mtime %s; want %d bytes, 100751, %s", len(f.Data), f.Mode, f.ModTime().UTC(), len(data), mtime)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPullWriterFails(t *testing.T) {
	_, fd, d := fakeSetup(t, fakedevice.Config{})
	fd.PutFile("/data/local/tmp/f", fakedevice.File{Data: []byte("hello"), Mode: 0o100644})
	_, err := d.Pull(bounded(t), "/data/local/tmp/f", failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "writing the copy") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Pull into a failing writer: %v", err)
	}
}

// TestSyncAgreesWithGadb checks the layer's sync against another
// implementation of the client side: what the layer pushes, gadb pulls,
// and the other way round.
func TestSyncAgreesWithGadb(t *testing.T) {
	srv, fd, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	host, port := splitAddr(t, srv.Addr())
	g, err := gadb.NewClientWith(host, port)
	if err != nil {
		t.Fatal(err)
	}
	list, err := g.DeviceList()
	if err != nil {
		t.Fatal(err)
	}
	var gd *gadb.Device
	for i := range list {
		if list[i].Serial() == fd.Serial() {
			gd = &list[i]
		}
	}
	if gd == nil {
		t.Fatalf("gadb does not list %s", fd.Serial())
	}

	ours := randomBytes(t, 150*1024)
	if err := d.Push(ctx, bytes.NewReader(ours), "/data/local/tmp/ours", 0o644, time.Now()); err != nil {
		t.Fatal(err)
	}
	var viaGadb bytes.Buffer
	if err := gd.Pull("/data/local/tmp/ours", &viaGadb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaGadb.Bytes(), ours) {
		t.Errorf("gadb pulled %d bytes of the %d the layer pushed", viaGadb.Len(), len(ours))
	}

	theirs := randomBytes(t, 100*1024+7)
	mtime := time.Date(2022, 2, 2, 2, 2, 2, 0, time.UTC)
	if err := gd.Push(bytes.NewReader(theirs), "/data/local/tmp/theirs", mtime, 0o600); err != nil {
		t.Fatal(err)
	}
	var viaLayer bytes.Buffer
	if _, err := d.Pull(ctx, "/data/local/tmp/theirs", &viaLayer); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaLayer.Bytes(), theirs) {
		t.Errorf("the layer pulled %d bytes of the %d gadb pushed", viaLayer.Len(), len(theirs))
	}
	st, err := d.Stat(ctx, "/data/local/tmp/theirs")
	if err != nil || st.Size != int64(len(theirs)) || !st.ModTime.Equal(mtime) || st.Mode != 0o600 {
		t.Errorf("Stat of gadb's file = %+v, %v; want size %d, mode 0600, mtime %s", st, err, len(theirs), mtime)
	}
}

func splitAddr(t testing.TB, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return addr[:i], p
}
