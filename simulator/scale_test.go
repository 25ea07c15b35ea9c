package simulator_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/simulator"
)

// farmFigures is what one bring-up of a farm measured.
type farmFigures struct {
	heapDelta  uint64        // HeapInuse+StackInuse growth of this process
	serverRSS  uint64        // the adb server's resident memory afterwards
	toOnline   time.Duration // from the first connect to all listed `device`
	totalSetup time.Duration // boot, connect, online, one command each
}

// manyDevices boots farmSize simulated devices, connects them all to one
// adb server, waits until every one is `device`, runs one shell command on
// each and checks it, and measures memory. Everything is stopped before it
// returns.
func manyDevices(tb testing.TB, farmSize int) farmFigures {
	tb.Helper()
	srv := startServer(tb)
	defer srv.Close()
	c := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*opTimeout)
	defer cancel()
	p := loadProfile(tb, "panel")

	before := inUse()
	start := time.Now()
	cfgs := make([]simulator.DeviceConfig, farmSize)
	for i := range cfgs {
		cfgs[i] = simulator.DeviceConfig{Profile: p, Addr: "127.0.0.1:0"}
	}
	farm, err := simulator.NewFarm(ctx, simulator.FarmConfig{NoWeChat: true, Devices: cfgs})
	if err != nil {
		tb.Fatal(err)
	}
	defer farm.Close()
	if len(farm.Devices) != farmSize {
		tb.Fatalf("farm has %d devices, want %d", len(farm.Devices), farmSize)
	}
	for _, d := range farm.Devices {
		if err := simulator.CheckPort(portOf(tb, d.Serial())); err != nil {
			tb.Fatalf("device %s: %v", d.Serial(), err)
		}
	}

	// The tracker is registered before the first connect, so it sees every
	// device come online.
	tr, err := c.TrackDevices(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tr.Close()
	if _, ok := <-tr.Updates(); !ok {
		tb.Fatalf("tracking: %v; %s", tr.Err(), serverState(srv))
	}
	want := map[string]bool{}
	for _, d := range farm.Devices {
		want[d.Serial()] = true
	}
	online, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		for list := range tr.Updates() {
			n := 0
			for _, d := range list {
				if want[d.Serial] && d.State == adb.StateDevice {
					n++
				}
			}
			if n == farmSize {
				close(online)
				break
			}
		}
		for range tr.Updates() {
		}
	}()

	// `adb connect`, a few at a time. (The real command reads the server's
	// reply to its end before closing; Client.Connect closes at once, which
	// now and then crashes the adb 29.0.6 server when connects overlap.)
	connectStart := time.Now()
	parallel(tb, srv, farm.Devices, func(d *simulator.Device) error {
		out, errOut, code, err := adbRun(srv, "connect", d.Serial())
		if err != nil {
			return err
		}
		if code != 0 || !strings.HasPrefix(out, "connected to") {
			return fmt.Errorf("adb connect: exit %d: %q %q", code, out, errOut)
		}
		return nil
	})
	select {
	case <-online:
	case <-ended:
		select {
		case <-online:
		default:
			tb.Fatalf("tracking ended before all %d devices were online: %v; %s", farmSize, tr.Err(), serverState(srv))
		}
	case <-ctx.Done():
		devs, _ := c.Devices(context.Background())
		tb.Fatalf("not all %d devices online in time: %+v", farmSize, devs)
	}
	toOnline := time.Since(connectStart)
	tr.Close()

	devs, err := c.Devices(ctx)
	if err != nil {
		tb.Fatalf("%v; %s", err, serverState(srv))
	}
	if len(devs) != farmSize {
		tb.Fatalf("the server lists %d devices, want %d", len(devs), farmSize)
	}
	for _, d := range devs {
		if !want[d.Serial] || d.State != adb.StateDevice {
			tb.Errorf("listed %s %s", d.Serial, d.State)
		}
	}

	// One command on each, through the server; each answers as itself.
	parallel(tb, srv, farm.Devices, func(d *simulator.Device) error {
		res, err := c.Device(d.Serial()).Shell(ctx, "getprop ro.serialno")
		if err != nil {
			return err
		}
		if res.ExitCode != 0 || string(res.Stdout) != d.SN()+"\n" {
			return fmt.Errorf("getprop ro.serialno: exit %d, %q, want %q", res.ExitCode, res.Stdout, d.SN())
		}
		return nil
	})
	total := time.Since(start)
	after := inUse()

	return farmFigures{
		heapDelta:  after - min(before, after),
		serverRSS:  rssOf(tb, srv.Pid()),
		toOnline:   toOnline,
		totalSetup: total,
	}
}

// serverState says whether the adb server is still running, and what it
// printed.
func serverState(srv *adb.LocalServer) string {
	select {
	case <-srv.Exited():
	case <-time.After(time.Second):
	}
	select {
	case <-srv.Exited():
		return "the adb server (pid " + strconv.Itoa(srv.Pid()) + ") has exited; it printed:\n" + srv.Logs()
	default:
		return "the adb server (pid " + strconv.Itoa(srv.Pid()) + ") is running"
	}
}

// parallel runs fn for every device, a few at a time, and fails on the
// first error.
func parallel(tb testing.TB, srv *adb.LocalServer, devs []*simulator.Device, fn func(*simulator.Device) error) {
	tb.Helper()
	work := make(chan *simulator.Device)
	errs := make(chan error, len(devs))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if err := fn(d); err != nil {
					errs <- fmt.Errorf("%s: %w", d.Serial(), err)
				}
			}
		}()
	}
	for _, d := range devs {
		work <- d
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Error(err)
	}
	if tb.Failed() {
		tb.Fatal(serverState(srv))
	}
}

// inUse is the process's heap and stack in use after a collection.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// rssOf reads VmRSS of a process, in bytes.
func rssOf(tb testing.TB, pid int) uint64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Logf("adb server memory: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func TestHundredDevices(t *testing.T) {
	const farmSize = 100
	f := manyDevices(t, farmSize)
	t.Logf("%d devices: %.1f MiB in this process (%.0f KiB per device); adb server RSS %.1f MiB; all online %v after the first connect; bring-up with one command each %v",
		farmSize, float64(f.heapDelta)/(1<<20), float64(f.heapDelta)/farmSize/1024, float64(f.serverRSS)/(1<<20), f.toOnline.Round(time.Millisecond), f.totalSetup.Round(time.Millisecond))
}

// BenchmarkDevices brings up 100 and 200 simulated devices on one adb
// server (the farm size a 2-core host is meant to carry).
func BenchmarkDevices(b *testing.B) {
	for _, n := range []int{100, 200} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var f farmFigures
			for range b.N {
				f = manyDevices(b, n)
			}
			b.ReportMetric(float64(f.heapDelta)/(1<<20), "MiB-total")
			b.ReportMetric(float64(f.heapDelta)/float64(n)/1024, "KiB-per-device")
			b.ReportMetric(float64(f.serverRSS)/(1<<20), "server-RSS-MiB")
			b.ReportMetric(f.toOnline.Seconds()*1e3, "ms-to-all-online")
			b.ReportMetric(f.totalSetup.Seconds()*1e3, "ms-bring-up")
		})
	}
}
