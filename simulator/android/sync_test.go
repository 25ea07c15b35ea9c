package android_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/electricbubble/gadb"
)

func (e *svcEnv) gadbDevice(t testing.TB) gadb.Device {
	t.Helper()
	host, port, err := net.SplitHostPort(e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	c, err := gadb.NewClientWith(host, p)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := c.DeviceList()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Serial() == e.serial {
			return d
		}
	}
	t.Fatalf("gadb does not list %s", e.serial)
	return gadb.Device{}
}

// TestGadbPushPull pushes and pulls with the ADB client library the project
// uses (sync SEND/RECV/LIST v1 through the real adb server).
func TestGadbPushPull(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	d := e.gadbDevice(t)
	data := make([]byte, 3*1024*1024+5)
	rand.Read(data)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := d.Push(bytes.NewReader(data), "/data/local/tmp/gadb.bin", mtime); err != nil {
		t.Fatalf("gadb Push: %v", err)
	}
	var back bytes.Buffer
	if err := d.Pull("/data/local/tmp/gadb.bin", &back); err != nil {
		t.Fatalf("gadb Pull: %v", err)
	}
	if sha256.Sum256(back.Bytes()) != sha256.Sum256(data) {
		t.Fatalf("gadb round trip differs: %d bytes back of %d", back.Len(), len(data))
	}
	list, err := d.List("/data/local/tmp")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, fi := range list {
		if fi.Name == "gadb.bin" {
			found = true
			if int(fi.Size) != len(data) || !fi.LastModified.Equal(mtime) || fi.Mode.Perm() != 0o666 {
				t.Fatalf("LIST entry %+v: want size %d, mtime %v, mode 0666", fi, len(data), mtime)
			}
		}
	}
	if !found {
		t.Fatalf("LIST of /data/local/tmp lacks gadb.bin: %+v", list)
	}
	if err := d.Pull("/data/local/tmp/none", io.Discard); err == nil {
		t.Fatal("gadb Pull of a missing file succeeded")
	}
	if err := d.Push(bytes.NewReader([]byte("x")), "/system/x", mtime); err == nil {
		t.Fatal("gadb Push to /system succeeded as shell")
	}
}

// BenchmarkPush20MB pushes a 20 MB file with the real adb command and
// reports the rate and how much the Go heap grew (the content goes to a
// host file, so the heap should not grow by the file's size).
func BenchmarkPush20MB(b *testing.B) {
	e := startSvc(b, svcOptions{debuggable: true})
	src, _ := randomFile(b, b.TempDir(), "big.bin", 20*1024*1024)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	peak := uint64(0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e.mustAdb(b, "push", src, fmt.Sprintf("/data/local/tmp/big%d.bin", i%2))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	<-done
	runtime.GC()
	runtime.ReadMemStats(&ms)
	mb := float64(20*b.N) * 1024 * 1024 / 1e6
	b.ReportMetric(mb/elapsed.Seconds(), "MB/s")
	b.ReportMetric(float64(int64(peak)-int64(before))/1e6, "peak-heap-growth-MB")
	b.ReportMetric(float64(int64(ms.HeapInuse)-int64(before))/1e6, "heap-growth-MB")
	if fi, err := os.Stat(filepath.Join(e.sys.SpillDir())); err != nil || !fi.IsDir() {
		b.Fatalf("no spill directory: %v", err)
	}
}
