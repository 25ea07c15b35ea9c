package adb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/internal/fakedevice"
)

// No goroutine of the layer outlives the context of the call that started
// it. Each call below is cancelled while it waits (on a server that never
// answers, or a device that hangs); then the goroutines are counted until
// they are back to what they were before.

// layerFrame matches a stack frame of this package or of gadb.
var layerFrame = regexp.MustCompile(`(?m)^(github\.com/wmpf-hil/wmpf-hil/harness/adb\.|github\.com/electricbubble/gadb\.)`)

// layerGoroutines returns the stacks of the goroutines running code of the
// layer, by goroutine id.
func layerGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if layerFrame.MatchString(g) {
			out[strings.Fields(head)[1]] = g
		}
	}
	return out
}

// awaitNoLeak polls until the layer runs no goroutine that was not running
// at baseline and the total count is back to what it was, or fails the
// test with the stacks of the goroutines left.
func awaitNoLeak(t *testing.T, what string, baseline map[string]string, total int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var extra []string
		for id, g := range layerGoroutines() {
			if _, ok := baseline[id]; !ok {
				extra = append(extra, g)
			}
		}
		n := runtime.NumGoroutine()
		if len(extra) == 0 && n <= total {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(extra)
			t.Fatalf("%s: %d goroutines of the layer outlived the cancelled call (total %d, baseline %d):\n%s",
				what, len(extra), n, total, strings.Join(extra, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hangingServer accepts connections and reads them but never answers, as
// a hung adb server does.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// cancelMidCall runs call with a context cancelled 50 ms in, checks that it
// returns with the cancellation, and that its goroutines are gone.
func cancelMidCall(t *testing.T, name string, call func(ctx context.Context) error) {
	t.Helper()
	baseline, total := layerGoroutines(), runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(50*time.Millisecond, cancel)
	defer timer.Stop()
	result := make(chan error, 1)
	go func() { result <- call(ctx) }()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled mid-call: %v; want context.Canceled", name, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return within 20 s of its context being cancelled", name)
	}
	cancel()
	awaitNoLeak(t, name, baseline, total)
}

func TestNoGoroutineOutlivesContextHungServer(t *testing.T) {
	addr := hangingServer(t)
	c := adb.NewClient(addr)
	d := c.Device("127.0.0.1:40404")
	calls := map[string]func(ctx context.Context) error{
		"Version":      func(ctx context.Context) error { _, err := c.Version(ctx); return err },
		"Devices":      func(ctx context.Context) error { _, err := c.Devices(ctx); return err },
		"Connect":      func(ctx context.Context) error { return c.Connect(ctx, "127.0.0.1:40404") },
		"Disconnect":   func(ctx context.Context) error { return c.Disconnect(ctx, "127.0.0.1:40404") },
		"Kill":         func(ctx context.Context) error { return c.Kill(ctx) },
		"TrackDevices": func(ctx context.Context) error { _, err := c.TrackDevices(ctx); return err },
		"WaitForState": func(ctx context.Context) error { _, err := c.WaitForState(ctx, "x", adb.StateDevice); return err },
		"State":        func(ctx context.Context) error { _, err := d.State(ctx); return err },
		"Features":     func(ctx context.Context) error { _, err := d.Features(ctx); return err },
		"Shell":        func(ctx context.Context) error { _, err := d.Shell(ctx, "true"); return err },
		"StreamShell":  func(ctx context.Context) error { _, err := d.StreamShell(ctx, "logcat"); return err },
		"ExecOut":      func(ctx context.Context) error { _, err := d.ExecOut(ctx, "true"); return err },
		"Push": func(ctx context.Context) error {
			return d.Push(ctx, strings.NewReader("x"), "/data/local/tmp/x", 0o644, time.Now())
		},
		"Pull":       func(ctx context.Context) error { _, err := d.Pull(ctx, "/data/local/tmp/x", io.Discard); return err },
		"Stat":       func(ctx context.Context) error { _, err := d.Stat(ctx, "/data/local/tmp/x"); return err },
		"Screencap":  func(ctx context.Context) error { _, err := d.Screencap(ctx); return err },
		"Reboot":     func(ctx context.Context) error { return d.Reboot(ctx, adb.RebootSystem) },
		"WaitBoot":   func(ctx context.Context) error { return d.WaitBoot(ctx, adb.LinkNetwork) },
		"HasFeature": func(ctx context.Context) error { _, err := d.HasFeature(ctx, "cmd"); return err },
	}
	for name, call := range calls {
		cancelMidCall(t, name, call)
	}
}

func TestNoGoroutineOutlivesContextHungDevice(t *testing.T) {
	_, fd, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	if _, err := d.HasFeature(ctx, "cmd"); err != nil { // cache the features
		t.Fatal(err)
	}
	fd.PutFile("/data/local/tmp/f", fakedevice.File{Data: []byte("x"), Mode: 0o100644})
	calls := map[string]func(ctx context.Context) error{
		"Shell":   func(ctx context.Context) error { _, err := d.Shell(ctx, "echo hi"); return err },
		"ExecOut": func(ctx context.Context) error { _, err := d.ExecOut(ctx, "echo hi"); return err },
		"Exec with stdin": func(ctx context.Context) error {
			return d.Exec(ctx, "head -c 100000000", bytes.NewReader(make([]byte, 8<<20)), io.Discard)
		},
		"Push": func(ctx context.Context) error {
			return d.Push(ctx, bytes.NewReader(make([]byte, 8<<20)), "/data/local/tmp/big", 0o644, time.Now())
		},
		"Pull":      func(ctx context.Context) error { _, err := d.Pull(ctx, "/data/local/tmp/f", io.Discard); return err },
		"Stat":      func(ctx context.Context) error { _, err := d.Stat(ctx, "/data/local/tmp/f"); return err },
		"Screencap": func(ctx context.Context) error { _, err := d.Screencap(ctx); return err },
		"Reboot":    func(ctx context.Context) error { return d.Reboot(ctx, adb.RebootSystem) },
	}
	for name, call := range calls {
		fd.Freeze()
		cancelMidCall(t, name+" (device hung)", func(ctx context.Context) error {
			err := call(ctx)
			fd.Thaw()
			return err
		})
		fd.Thaw()
		if name == "Reboot" {
			// The request reaches the device once it thaws, and the device
			// acts on it a moment later: let it go and come back.
			for end := time.Now().Add(3 * time.Second); (fd.Reboots() == 0 || fd.Rebooting()) && time.Now().Before(end); {
				time.Sleep(10 * time.Millisecond)
			}
			if err := d.WaitBoot(ctx, adb.LinkNetwork); err != nil {
				t.Fatalf("after %s: %v", name, err)
			}
		}
		if out, err := d.Run(ctx, "echo alive"); err != nil || out != "alive\n" {
			t.Fatalf("after %s: %q, %v", name, out, err)
		}
	}
}

func TestNoGoroutineOutlivesStreamsAndTrackers(t *testing.T) {
	srv, _, d := fakeSetup(t, fakedevice.Config{})
	baseline, total := layerGoroutines(), runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := d.StreamShell(ctx, "head -c 1000000")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := srv.Client().TrackDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-tr.Updates()
	cancel()
	for range s.Lines() {
	}
	for range tr.Updates() {
	}
	awaitNoLeak(t, "StreamShell and TrackDevices", baseline, total)
}
