package adb_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator"
)

func TestProbeTrack(t *testing.T) {
	srv := startServer(t)
	c := srv.Client()
	ctx := bounded(t)
	cmd := exec.Command("adb", "track-devices")
	cmd.Env = append(os.Environ(), srv.Env()...)
	out, _ := cmd.StdoutPipe()
	cmd.Start()
	start := time.Now()
	go func() {
		r := bufio.NewReader(out)
		for {
			b := make([]byte, 4)
			if _, err := r.Read(b); err != nil { return }
			var n int
			_, _ = fmtSscanf(string(b), &n)
			d := make([]byte, n)
			r.Read(d)
			t.Logf("%v %q", time.Since(start).Round(time.Millisecond), d)
		}
	}()
	dev := startDevice(t, simulator.DeviceConfig{})
	c.Connect(ctx, dev.Serial())
	c.WaitForState(ctx, dev.Serial(), "device")
	time.Sleep(200 * time.Millisecond)
	t.Logf("%v close", time.Since(start).Round(time.Millisecond))
	dev.Close()
	time.Sleep(90 * time.Second)
	cmd.Process.Kill()
	cmd.Wait()
}

func fmtSscanf(s string, n *int) (int, error) { return fmt.Sscanf(s, "%x", n) }
