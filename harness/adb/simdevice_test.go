// These tests run push, pull, stat, exec-out, screencap, reboot and
// wait-boot through the real adb server against the full simulated device
// (simulator/), not the scripted one.

package adb_test

import (
	"bytes"
	"errors"
	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"image/png"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func TestSimulatedDevicePushStatPull(t *testing.T) {
	_, _, d := setup(t)
	ctx := bounded(t)
	data := randomBytes(t, 2*64*1024+99)
	mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const remote = "/data/local/tmp/wmpf-hil-push.bin"
	if err := d.Push(ctx, bytes.NewReader(data), remote, 0o640, mtime); err != nil {
		t.Fatal(err)
	}
	st, err := d.Stat(ctx, remote)
	// adbd copies the user's permission bits to group and other
	// (file_sync_service.cpp): 0640 arrives as 0666.
	if err != nil || st.Size != int64(len(data)) || st.Mode.Perm() != 0o666 || !st.ModTime.Equal(mtime) {
		t.Fatalf("Stat = %+v, %v; want %d bytes, 0666, %s", st, err, len(data), mtime)
	}
	var got bytes.Buffer
	if _, err := d.Pull(ctx, remote, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("Pull: %d bytes, %v; want the %d pushed", got.Len(), err, len(data))
	}
	if _, err := d.Stat(ctx, "/data/local/tmp/wmpf-hil-none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing file: %v", err)
	}
	if _, err := d.Pull(ctx, "/data/local/tmp/wmpf-hil-none", &got); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Pull of a missing file: %v", err)
	}
	if out, err := d.Run(ctx, "ls "+remote); err != nil || !strings.Contains(out, "wmpf-hil-push.bin") {
		t.Errorf("the shell does not see the pushed file: %q, %v", out, err)
	}
}

func TestSimulatedDeviceExecOutAndScreencap(t *testing.T) {
	_, _, d := setup(t)
	ctx := bounded(t)
	out, err := d.ExecOut(ctx, "echo exec-out")
	if err != nil || string(out) != "exec-out\n" {
		t.Fatalf("ExecOut = %q, %v", out, err)
	}
	img, err := d.Screencap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width == 0 || cfg.Height == 0 {
		t.Fatalf("screencap: %+v, %v", cfg, err)
	}
}

func TestSimulatedDeviceRebootWaitBoot(t *testing.T) {
	srv, dev, d := setup(t)
	ctx := bounded(t)
	start := time.Now()
	if err := d.Reboot(ctx, adb.RebootSystem); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitBoot(ctx, adb.LinkNetwork); err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot to booted: %s", time.Since(start).Round(time.Millisecond))
	if st, err := srv.Client().Device(dev.Serial()).State(ctx); st != adb.StateDevice {
		t.Fatalf("after WaitBoot: %s, %v", st, err)
	}
	if out, err := d.Run(ctx, "getprop sys.boot_completed"); err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("boot_completed = %q, %v", out, err)
	}
}
