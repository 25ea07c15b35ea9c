package adb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/internal/fakedevice"
)

func TestRebootAndWaitBoot(t *testing.T) {
	srv, fd, d := fakeSetup(t, fakedevice.Config{Down: 300 * time.Millisecond, Booting: 400 * time.Millisecond})
	ctx := bounded(t)
	start := time.Now()
	if err := d.Reboot(ctx, adb.RebootSystem); err != nil {
		t.Fatal(err)
	}
	gone := time.Since(start)
	if n := fd.Reboots(); n != 1 {
		t.Fatalf("the device rebooted %d times", n)
	}
	st, err := d.State(ctx)
	if st == adb.StateDevice {
		t.Errorf("Reboot returned with the device still listed as device (%v)", err)
	}

	// A USB-style wait does not reconnect a network device: it is still
	// away when a short wait ends.
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	err = d.WaitBoot(short, adb.LinkUSB)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still") {
		t.Errorf("WaitBoot(usb) on an away network device: %v; want the deadline, saying what it saw", err)
	}
	t.Logf("short usb wait: %v", err)

	if err := d.WaitBoot(ctx, adb.LinkNetwork); err != nil {
		t.Fatal(err)
	}
	t.Logf("away after %s, booted after %s", gone.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if st, err := srv.Client().Device(fd.Serial()).State(ctx); st != adb.StateDevice {
		t.Fatalf("after WaitBoot: %s, %v", st, err)
	}
	out, err := d.Run(ctx, "getprop sys.boot_completed")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("after WaitBoot boot_completed = %q, %v", out, err)
	}
	// WaitBoot asked until the device said 1: it saw the empty value first.
	n := 0
	for _, c := range fd.Commands() {
		if c == "getprop sys.boot_completed" {
			n++
		}
	}
	if n < 2 {
		t.Errorf("boot_completed asked %d times; the device was booting for 400 ms", n)
	}
}

func TestRebootRefused(t *testing.T) {
	_, fd, d := fakeSetup(t, fakedevice.Config{RefuseReboot: "reboot: Operation not permitted"})
	err := d.Reboot(bounded(t), adb.RebootRecovery)
	if err == nil || !strings.Contains(err.Error(), "refused: reboot: Operation not permitted") {
		t.Fatalf("refused reboot: %v", err)
	}
	if fd.Reboots() != 0 {
		t.Errorf("the device rebooted")
	}
}

func TestRebootBadInput(t *testing.T) {
	d := adb.NewClient("127.0.0.1:1").Device("serial")
	ctx := bounded(t)
	err := d.Reboot(ctx, "bootlaoder")
	if err == nil || !strings.Contains(err.Error(), `target "bootlaoder": allowed values are "", "bootloader", "recovery"`) {
		t.Errorf("bad target: %v", err)
	}
	err = d.WaitBoot(ctx, "wifi")
	if err == nil || !strings.Contains(err.Error(), `link "wifi": allowed values are usb and network`) {
		t.Errorf("bad link: %v", err)
	}
	if _, err := adb.ParseLink("network"); err != nil {
		t.Error(err)
	}
}
