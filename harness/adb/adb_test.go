package adb_test

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// These tests run the ADB layer against the real adb server (started per
// test on a free port) and simulated devices on free 127.0.0.1 ports.

// opTimeout bounds each operation; nothing here should come close to it.
const opTimeout = 30 * time.Second

func bounded(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func loadProfile(t testing.TB, name string) *profile.Profile { return simtest.Profile(t, name) }

func startServer(t testing.TB) *adb.LocalServer { return simtest.ADBServer(t) }

func startDevice(t testing.TB, cfg simulator.DeviceConfig) *simulator.Device {
	return simtest.Device(t, cfg)
}

// connect connects dev to the server and waits until it is a `device`.
func connect(t testing.TB, c *adb.Client, dev *simulator.Device) *adb.Device {
	t.Helper()
	ctx := bounded(t)
	if err := c.Connect(ctx, dev.Serial()); err != nil {
		t.Fatalf("connect %s: %v", dev.Serial(), err)
	}
	if st, err := c.WaitForState(ctx, dev.Serial(), adb.StateDevice); err != nil {
		t.Fatalf("wait for %s: state %s: %v", dev.Serial(), st, err)
	}
	return c.Device(dev.Serial())
}

// setup is one server and one connected device.
func setup(t testing.TB) (*adb.LocalServer, *simulator.Device, *adb.Device) {
	t.Helper()
	srv := startServer(t)
	dev := startDevice(t, simulator.DeviceConfig{})
	return srv, dev, connect(t, srv.Client(), dev)
}

// nextLine returns the next line of s, failing the test if the stream ends
// or nothing comes within opTimeout.
func nextLine(t testing.TB, ctx context.Context, s *adb.Stream) adb.Line {
	t.Helper()
	select {
	case l, ok := <-s.Lines():
		if !ok {
			t.Fatalf("stream ended: %v", s.Err())
		}
		return l
	case <-ctx.Done():
		t.Fatalf("no line within %s", opTimeout)
	}
	panic("unreachable")
}

func TestServerVersion(t *testing.T) {
	srv := startServer(t)
	v, err := srv.Client().Version(bounded(t))
	if err != nil || v != 41 {
		t.Fatalf("Version = %d, %v; want 41 (platform-tools 29)", v, err)
	}
}

func TestConnectThreeDevices(t *testing.T) {
	srv := startServer(t)
	c := srv.Client()
	ctx := bounded(t)
	profiles := []*profile.Profile{loadProfile(t, "panel"), loadProfile(t, "tv"), loadProfile(t, "panel")}
	want := map[string]*simulator.Device{}
	for _, p := range profiles {
		dev := startDevice(t, simulator.DeviceConfig{Profile: p})
		if err := c.Connect(ctx, dev.Serial()); err != nil {
			t.Fatalf("connect %s: %v", dev.Serial(), err)
		}
		want[dev.Serial()] = dev
	}
	for s := range want {
		if st, err := c.WaitForState(ctx, s, adb.StateDevice); err != nil {
			t.Fatalf("wait for %s: state %s: %v", s, st, err)
		}
	}
	// Connecting again is not an error ("already connected").
	for s := range want {
		if err := c.Connect(ctx, s); err != nil {
			t.Errorf("second connect %s: %v", s, err)
		}
	}
	devs, err := c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 3 {
		t.Fatalf("Devices lists %d, want 3: %+v", len(devs), devs)
	}
	for _, d := range devs {
		dev := want[d.Serial]
		if dev == nil {
			t.Errorf("unexpected device %+v", d)
			continue
		}
		pd := dev.Profile().Device
		if d.State != adb.StateDevice || d.Product != pd.Product || d.Device != pd.Name || d.Model != strings.ReplaceAll(pd.Model, "-", "_") || d.TransportID == "" {
			t.Errorf("Devices: %+v; want state device, product %s, model %s, device %s", d, pd.Product, pd.Model, pd.Name)
		}
		st, err := c.Device(d.Serial).State(ctx)
		if err != nil || st != adb.StateDevice {
			t.Errorf("%s: State = %s, %v", d.Serial, st, err)
		}
		feats, err := c.Device(d.Serial).Features(ctx)
		if err != nil || !contains(feats, "shell_v2") {
			t.Errorf("%s: Features = %v, %v; want shell_v2 among them", d.Serial, feats, err)
		}
		out, err := c.Device(d.Serial).Run(ctx, "getprop ro.product.model")
		if err != nil || out != pd.Model+"\n" {
			t.Errorf("%s: getprop ro.product.model = %q, %v; want %q", d.Serial, out, err, pd.Model)
		}
	}
	// Disconnect takes a device off the list.
	var gone string
	for s := range want {
		gone = s
		break
	}
	if err := c.Disconnect(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if st, err := c.WaitForState(ctx, gone, adb.StateGone); err != nil {
		t.Fatalf("after disconnect: %s, %v", st, err)
	}
	if devs, err := c.Devices(ctx); err != nil || len(devs) != 2 {
		t.Fatalf("after disconnect: %+v, %v", devs, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestShellStdoutStderrExitCode(t *testing.T) {
	_, _, d := setup(t)
	ctx := bounded(t)
	cases := []struct {
		cmd            string
		stdout, stderr string
		code           int
	}{
		{"echo hi", "hi\n", "", 0},
		{"true", "", "", 0},
		{"false", "", "", 1},
		{"nosuchcmd", "", "/system/bin/sh: nosuchcmd: not found\n", 127},
		{adb.Command("sh", "-c", "exit 5"), "", "", 5},
		{"exit 42", "", "", 42},
		{"echo out; echo err >&2", "out\n", "err\n", 0},
		{"echo err >&2; echo out; exit 3", "out\n", "err\n", 3},
		{adb.Command("echo", "it's a \"quoted\" $HOME"), "it's a \"quoted\" $HOME\n", "", 0},
	}
	for _, c := range cases {
		res, err := d.Shell(ctx, c.cmd)
		if err != nil {
			t.Errorf("Shell(%q): %v", c.cmd, err)
			continue
		}
		if string(res.Stdout) != c.stdout || string(res.Stderr) != c.stderr || res.ExitCode != c.code {
			t.Errorf("Shell(%q) = stdout %q stderr %q exit %d; want %q %q %d", c.cmd, res.Stdout, res.Stderr, res.ExitCode, c.stdout, c.stderr, c.code)
		}
	}
	// A large output arrives whole.
	res, err := d.Shell(ctx, "ps -A")
	if err != nil || res.ExitCode != 0 || !strings.HasPrefix(string(res.Stdout), "USER") || strings.Count(string(res.Stdout), "\n") < 5 {
		t.Errorf("ps -A: %q, exit %d, %v", res.Stdout, res.ExitCode, err)
	}
}

func TestRunAndExitError(t *testing.T) {
	_, dev, d := setup(t)
	ctx := bounded(t)
	out, err := d.Run(ctx, "echo x")
	if err != nil || out != "x\n" {
		t.Fatalf("Run(echo x) = %q, %v", out, err)
	}
	_, err = d.Run(ctx, "nosuchcmd --flag")
	var ee *adb.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Run(nosuchcmd) error %T %v, want *adb.ExitError", err, err)
	}
	if ee.Code != 127 || ee.Serial != dev.Serial() || ee.Command != "nosuchcmd --flag" || !strings.Contains(ee.Stderr, "nosuchcmd: not found") {
		t.Errorf("ExitError = %+v", ee)
	}
	if msg := err.Error(); !strings.Contains(msg, "exited 127") || !strings.Contains(msg, "not found") {
		t.Errorf("ExitError message %q", msg)
	}
	out, err = d.Run(ctx, "echo partial; exit 2")
	if !errors.As(err, &ee) || ee.Code != 2 || out != "partial\n" {
		t.Errorf("Run(echo partial; exit 2) = %q, %v", out, err)
	}
	// A non-zero exit is not a transport failure.
	for _, kind := range []error{adb.ErrStreamLost, adb.ErrServerUnavailable, adb.ErrDeviceNotFound} {
		if errors.Is(err, kind) {
			t.Errorf("exit error matches %v", kind)
		}
	}
}

func TestDeviceCommandsThroughLayer(t *testing.T) {
	_, dev, d := setup(t)
	ctx := bounded(t)

	out, err := d.Run(ctx, "getprop ro.product.model")
	if err != nil || out != dev.Model()+"\n" {
		t.Errorf("getprop ro.product.model = %q, %v; want %q", out, err, dev.Model())
	}
	out, err = d.Run(ctx, "getprop ro.serialno")
	if err != nil || out != dev.SN()+"\n" {
		t.Errorf("getprop ro.serialno = %q, %v; want %q", out, err, dev.SN())
	}

	out, err = d.Run(ctx, "logcat -d")
	if err != nil || strings.Count(out, "\n") < 1 {
		t.Errorf("logcat -d: %q, %v", out, err)
	}

	out, err = d.Run(ctx, "dumpsys activity activities")
	if err != nil {
		t.Fatalf("dumpsys: %v", err)
	}
	resumed := false
	for _, l := range strings.Split(out, "\n") {
		resumed = resumed || strings.Contains(l, "ResumedActivity") && strings.Contains(l, "ActivityRecord{")
	}
	if !resumed {
		t.Errorf("no resumed activity in dumpsys activity activities:\n%s", out)
	}

	out, err = d.Run(ctx, "uiautomator dump /dev/tty")
	if err != nil {
		t.Fatalf("uiautomator dump: %v", err)
	}
	doc, _, _ := strings.Cut(out, "UI hierchary dumped to:")
	var h struct {
		XMLName xml.Name `xml:"hierarchy"`
		Nodes   []struct {
			Class string `xml:"class,attr"`
		} `xml:"node"`
	}
	if err := xml.Unmarshal([]byte(doc), &h); err != nil || len(h.Nodes) == 0 || h.Nodes[0].Class == "" {
		t.Errorf("uiautomator dump: %v, %+v\n%s", err, h, out)
	}
}

var epochLine = regexp.MustCompile(`^\s*\d+\.\d{6}\s+\d+\s+\d+ I T\s*: (.*)$`)

func TestStreamShellLogcat(t *testing.T) {
	_, _, d := setup(t)
	ctx := bounded(t)
	s, err := d.StreamShell(ctx, "logcat -v epoch,usec -T 1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// -T 1 prints the last line first: logcat is running once it arrives.
	if l := nextLine(t, ctx, s); l.Received.IsZero() || l.Stderr {
		t.Fatalf("first line %+v", l)
	}
	var msgs []string
	for i := range 3 {
		msg := fmt.Sprintf("hello-%d-%d", i, time.Now().UnixNano())
		msgs = append(msgs, msg)
		if _, err := d.Run(ctx, adb.Command("log", "-t", "T", msg)); err != nil {
			t.Fatal(err)
		}
	}
	for _, msg := range msgs {
		for {
			l := nextLine(t, ctx, s)
			if !strings.Contains(l.Text, msg) {
				continue
			}
			if m := epochLine.FindStringSubmatch(l.Text); m == nil || m[1] != msg {
				t.Errorf("line %q not in the epoch,usec format with tag T", l.Text)
			}
			if l.Received.IsZero() || time.Since(l.Received) < 0 {
				t.Errorf("line %q: Received %v", l.Text, l.Received)
			}
			break
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("running stream: Err = %v", err)
	}
	s.Close()
	for range s.Lines() {
	}
	if err := s.Err(); !errors.Is(err, context.Canceled) || errors.Is(err, adb.ErrStreamLost) {
		t.Fatalf("closed stream: Err = %v, want context.Canceled", err)
	}
	// The device is still fine.
	if out, err := d.Run(ctx, "echo after"); err != nil || out != "after\n" {
		t.Fatalf("after the stream: %q, %v", out, err)
	}
}

func TestStreamShellExitAndCancel(t *testing.T) {
	_, _, d := setup(t)
	ctx := bounded(t)

	// A command that ends by itself: its lines, then its exit status.
	s, err := d.StreamShell(ctx, "echo one; echo two >&2; echo three; exit 7")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	for l := range s.Lines() {
		if l.Stderr {
			stderr = append(stderr, l.Text)
		} else {
			stdout = append(stdout, l.Text)
		}
	}
	if code, ok := s.ExitCode(); !ok || code != 7 || s.Err() != nil {
		t.Fatalf("ExitCode = %d, %v; Err = %v", code, ok, s.Err())
	}
	if strings.Join(stdout, ",") != "one,three" || strings.Join(stderr, ",") != "two" {
		t.Fatalf("stdout lines %q, stderr lines %q", stdout, stderr)
	}

	// Cancelling the context ends a stream that would run for ever.
	sctx, cancel := context.WithCancel(ctx)
	s, err = d.StreamShell(sctx, "logcat -T 1")
	if err != nil {
		t.Fatal(err)
	}
	nextLine(t, ctx, s)
	cancel()
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("stream still running after its context was cancelled")
	}
	if err := s.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v, want context.Canceled", err)
	}

	// A Shell whose context ends returns the context's error.
	tctx, tcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer tcancel()
	_, err = d.Shell(tctx, "logcat")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shell(logcat) with a deadline: %v", err)
	}
	if out, err := d.Run(ctx, "echo ok"); err != nil || out != "ok\n" {
		t.Fatalf("after cancelled commands: %q, %v", out, err)
	}
}

func TestStreamLostWhenDeviceKilled(t *testing.T) {
	_, dev, d := setup(t)
	ctx := bounded(t)
	s, err := d.StreamShell(ctx, "logcat -v epoch,usec -T 1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nextLine(t, ctx, s)

	killed := time.Now()
	dev.Close()
	for {
		select {
		case _, ok := <-s.Lines():
			if ok {
				continue
			}
		case <-ctx.Done():
			t.Fatalf("stream still open %s after the device was killed", opTimeout)
		}
		break
	}
	<-s.Done()
	took := time.Since(killed)
	t.Logf("stream reader saw the device die %v after the kill", took)
	if code, ok := s.ExitCode(); ok || !errors.Is(s.Err(), adb.ErrStreamLost) {
		t.Fatalf("stream of a killed device: Err = %v, exit status %d (reported: %v); want ErrStreamLost and no exit status", s.Err(), code, ok)
	}
	if took > 5*time.Second {
		t.Fatalf("stream lost reported %v after the kill (bound 5s)", took)
	}
}

func TestShellFailsWhenServerStopped(t *testing.T) {
	srv, dev, d := setup(t)
	ctx := bounded(t)
	c := srv.Client()
	if _, err := d.Run(ctx, "true"); err != nil {
		t.Fatal(err)
	}
	s, err := d.StreamShell(ctx, "logcat -T 1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nextLine(t, ctx, s)
	tr, err := c.TrackDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	<-tr.Updates()

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Exited():
	default:
		t.Fatal("server still running after Close")
	}

	// Running streams end as lost.
	for range s.Lines() {
	}
	if !errors.Is(s.Err(), adb.ErrStreamLost) {
		t.Errorf("stream after the server stopped: %v, want ErrStreamLost", s.Err())
	}
	for range tr.Updates() {
	}
	if err := tr.Err(); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("tracker after the server stopped: %v", err)
	}

	// New requests fail at once with ErrServerUnavailable, on a handle that
	// has been used and on a fresh one.
	for name, call := range map[string]func() error{
		"Shell":          func() error { _, err := d.Shell(ctx, "echo hi"); return err },
		"Run":            func() error { _, err := d.Run(ctx, "echo hi"); return err },
		"fresh Shell":    func() error { _, err := c.Device(dev.Serial()).Shell(ctx, "echo hi"); return err },
		"StreamShell":    func() error { _, err := d.StreamShell(ctx, "logcat"); return err },
		"Devices":        func() error { _, err := c.Devices(ctx); return err },
		"Connect":        func() error { return c.Connect(ctx, dev.Serial()) },
		"TrackDevices":   func() error { _, err := c.TrackDevices(ctx); return err },
		"WaitForState":   func() error { _, err := c.WaitForState(ctx, dev.Serial(), adb.StateDevice); return err },
		"Version":        func() error { _, err := c.Version(ctx); return err },
		"State":          func() error { _, err := d.State(ctx); return err },
		"Features":       func() error { _, err := d.Features(ctx); return err },
		"Disconnect":     func() error { return c.Disconnect(ctx, dev.Serial()) },
		"fresh client":   func() error { _, err := adb.NewClient(srv.Addr()).Device(dev.Serial()).Shell(ctx, "true"); return err },
		"Kill (stopped)": func() error { return c.Kill(ctx) },
	} {
		err := call()
		if !errors.Is(err, adb.ErrServerUnavailable) {
			t.Errorf("%s with the server stopped: %v, want ErrServerUnavailable", name, err)
		} else if !strings.Contains(err.Error(), srv.Addr()) && !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: message %q names neither the address nor the refusal", name, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s hung until the test's deadline", name)
		}
	}
}

func TestConnectClosedPortFails(t *testing.T) {
	srv := startServer(t)
	c := srv.Client()
	ctx := bounded(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	err = c.Connect(ctx, addr)
	if !errors.Is(err, adb.ErrConnectFailed) {
		t.Fatalf("Connect to closed port %s: %v, want ErrConnectFailed", addr, err)
	}
	msg := err.Error()
	t.Logf("Connect to a closed port: %v", msg)
	if !strings.Contains(msg, addr) || !strings.Contains(strings.ToLower(msg), "refused") {
		t.Errorf("message %q should name %s and the refusal", msg, addr)
	}
	for _, kind := range []error{adb.ErrServerUnavailable, adb.ErrUnauthorized} {
		if errors.Is(err, kind) {
			t.Errorf("Connect to closed port also matches %v", kind)
		}
	}
	devs, err := c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Serial == addr && d.State == adb.StateDevice {
			t.Errorf("closed port listed as a device: %+v", d)
		}
	}
	// A bad address is refused before anything is sent.
	if err := c.Connect(ctx, "no-port-here"); err == nil {
		t.Error("Connect(no-port-here) succeeded")
	}
	// Shell to a serial the server does not know.
	_, err = c.Device("127.0.0.1:1").Shell(ctx, "true")
	if !errors.Is(err, adb.ErrDeviceNotFound) {
		t.Errorf("Shell on an unknown serial: %v, want ErrDeviceNotFound", err)
	}
}

func TestUnauthorizedDevice(t *testing.T) {
	srv := startServer(t)
	c := srv.Client()
	ctx := bounded(t)
	dev := startDevice(t, simulator.DeviceConfig{Auth: adbd.AuthReject})
	err := c.Connect(ctx, dev.Serial())
	if !errors.Is(err, adb.ErrUnauthorized) {
		t.Errorf("Connect to a device that rejects the key: %v, want ErrUnauthorized", err)
	}
	if st, err := c.WaitForState(ctx, dev.Serial(), adb.StateUnauthorized); err != nil {
		t.Fatalf("state %s: %v", st, err)
	}
	if _, err := c.Device(dev.Serial()).Shell(ctx, "echo hi"); !errors.Is(err, adb.ErrUnauthorized) {
		t.Fatalf("Shell on an unauthorized device: %v, want ErrUnauthorized", err)
	}
}

func TestTrackDevicesSeesDeviceGo(t *testing.T) {
	srv := startServer(t)
	c := srv.Client()
	ctx := bounded(t)
	tr, err := c.TrackDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	first := <-tr.Updates()
	if len(first) != 0 {
		t.Fatalf("first update of a fresh server: %+v", first)
	}

	dev := startDevice(t, simulator.DeviceConfig{})
	stay := startDevice(t, simulator.DeviceConfig{})
	for _, d := range []*simulator.Device{dev, stay} {
		if err := c.Connect(ctx, d.Serial()); err != nil {
			t.Fatal(err)
		}
	}
	stateIn := func(list []adb.DeviceInfo, serial string) adb.State {
		for _, d := range list {
			if d.Serial == serial {
				return d.State
			}
		}
		return adb.StateGone
	}
	await := func(what string, ok func([]adb.DeviceInfo) bool) []adb.DeviceInfo {
		t.Helper()
		for {
			select {
			case list, open := <-tr.Updates():
				if !open {
					t.Fatalf("tracking ended before %s: %v", what, tr.Err())
				}
				if ok(list) {
					return list
				}
			case <-ctx.Done():
				t.Fatalf("no update with %s", what)
			}
		}
	}
	await("both devices online", func(l []adb.DeviceInfo) bool {
		return stateIn(l, dev.Serial()) == adb.StateDevice && stateIn(l, stay.Serial()) == adb.StateDevice
	})

	// A stream on the device ends once the server has seen the connection
	// close, and the server marks the device offline before it closes the
	// device's streams.
	s, err := c.Device(dev.Serial()).StreamShell(ctx, "logcat -T 1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nextLine(t, ctx, s)
	closed := time.Now()
	dev.Close()
	for range s.Lines() {
	}
	if !errors.Is(s.Err(), adb.ErrStreamLost) {
		t.Fatalf("stream on the killed device: %v", s.Err())
	}
	// The server now lists the device offline while it retries. (adb 29
	// pushes no track-devices update for that change: a tracker that was
	// running before the kill hears nothing until the retries end about a
	// minute later; a tracker started now sees it in its first list.)
	st, err := c.WaitForState(ctx, dev.Serial(), adb.StateOffline, adb.StateGone)
	if err != nil {
		t.Fatalf("WaitForState offline/gone after the kill: %s, %v", st, err)
	}
	t.Logf("%s listed %s %v after the kill", dev.Serial(), st, time.Since(closed))
	later, err := c.TrackDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list := <-later.Updates()
	later.Close()
	if st := stateIn(list, dev.Serial()); st != adb.StateOffline && st != adb.StateGone {
		t.Errorf("tracker started after the kill: %s is %s", dev.Serial(), st)
	}
	if st := stateIn(list, stay.Serial()); st != adb.StateDevice {
		t.Errorf("the other device went %s", st)
	}
	if _, err := c.Device(dev.Serial()).Shell(ctx, "true"); err == nil {
		t.Error("Shell on a killed device succeeded")
	}
	// Disconnecting the dead device ends the retries: the running tracker
	// sees it gone.
	if err := c.Disconnect(ctx, dev.Serial()); err != nil {
		t.Fatal(err)
	}
	list = await(dev.Serial()+" gone", func(l []adb.DeviceInfo) bool { return stateIn(l, dev.Serial()) == adb.StateGone })
	if st := stateIn(list, stay.Serial()); st != adb.StateDevice {
		t.Errorf("the other device went %s", st)
	}
	if out, err := c.Device(stay.Serial()).Run(ctx, "echo ok"); err != nil || out != "ok\n" {
		t.Fatalf("other device: %q, %v", out, err)
	}
}

func TestFrozenDeviceHonoursContext(t *testing.T) {
	_, dev, d := setup(t)
	ctx := bounded(t)
	dev.Freeze()
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := d.Shell(tctx, "echo hi")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		dev.Thaw()
		t.Fatalf("Shell on a frozen device: %v, want context.DeadlineExceeded", err)
	}
	dev.Thaw()
	if out, err := d.Run(ctx, "echo thawed"); err != nil || out != "thawed\n" {
		t.Fatalf("after Thaw: %q, %v", out, err)
	}
}

// rawConn dials the device directly, as something other than the adb
// server would.
func rawConn(t *testing.T, dev *simulator.Device) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", dev.Serial())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// expectClosed reads until the device closes nc.
func expectClosed(t *testing.T, nc net.Conn, what string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(opTimeout))
	if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Errorf("%s: connection not closed by the device: %v", what, err)
	}
	nc.Close()
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func header(cmd, arg0, arg1, length, check, magic uint32) []byte {
	b := make([]byte, 0, adbwire.HeaderSize)
	for _, v := range []uint32{cmd, arg0, arg1, length, check, magic} {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return b
}

// handshake does the host's CNXN on a raw connection.
func handshake(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.Write(adbwire.AppendMessage(nil, adbwire.Message{Command: adbwire.CmdCNXN, Arg0: adbwire.VersionSkipChecksum, Arg1: adbwire.MaxPayload, Data: []byte("host::\x00")}))
	nc.SetReadDeadline(time.Now().Add(opTimeout))
	m, err := adbwire.ReadMessage(nc, adbwire.MaxPayload)
	if err != nil || m.Command != adbwire.CmdCNXN || !strings.HasPrefix(string(m.Data), "device::") {
		t.Fatalf("raw CNXN: %v, %v", m, err)
	}
	nc.SetReadDeadline(time.Time{})
}

func TestHostileTrafficLeavesServerConnectionAlone(t *testing.T) {
	srv, dev, d := setup(t)
	ctx := bounded(t)
	check := func(after string) {
		t.Helper()
		out, err := d.Run(ctx, "echo still here")
		if err != nil || out != "still here\n" {
			t.Fatalf("after %s: %q, %v", after, out, err)
		}
		if st, err := d.State(ctx); err != nil || st != adb.StateDevice {
			t.Fatalf("after %s: state %s, %v", after, st, err)
		}
	}
	// A stream running through the server's connection all along.
	s, err := d.StreamShell(ctx, "logcat -v epoch,usec -T 1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nextLine(t, ctx, s)

	// A connection that sends half a header and then nothing stays open
	// throughout.
	idle := rawConn(t, dev)
	idle.Write(header(adbwire.CmdCNXN, 0, 0, 0, 0, 0)[:10])

	junk := make([]byte, 1<<20)
	rand.Read(junk)
	closedCases := []struct {
		name string
		data []byte
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: device\r\n\r\n")},
		{"2 GiB payload announced", header(adbwire.CmdCNXN, adbwire.VersionSkipChecksum, adbwire.MaxPayload, 1<<31, 0, adbwire.CmdCNXN^0xffffffff)},
		{"4 GiB-1 payload announced", header(adbwire.CmdWRTE, 1, 1, 0xffffffff, 0, adbwire.CmdWRTE^0xffffffff)},
		{"bad magic", header(adbwire.CmdCNXN, adbwire.VersionSkipChecksum, adbwire.MaxPayload, 0, 0, 0x12345678)},
		{"unknown command", header(0x41414141, 0, 0, 0, 0, 0x41414141^0xffffffff)},
		{"zeros", make([]byte, 24)},
		{"1 MiB of random bytes", junk},
		{"CNXN below version 1", adbwire.AppendMessage(nil, adbwire.Message{Command: adbwire.CmdCNXN, Arg0: 1, Arg1: 4096, Data: []byte("host::\x00")})},
	}
	for _, c := range closedCases {
		nc := rawConn(t, dev)
		nc.Write(c.data)
		expectClosed(t, nc, c.name)
		check(c.name)
	}

	// Oversized and nonsensical traffic after a proper handshake.
	nc := rawConn(t, dev)
	handshake(t, nc)
	var msgs []byte
	for _, m := range []adbwire.Message{
		{Command: adbwire.CmdWRTE, Arg0: 1, Arg1: 999, Data: []byte("to nobody")},
		{Command: adbwire.CmdOKAY, Arg0: 7, Arg1: 12345},
		{Command: adbwire.CmdCLSE, Arg0: 0, Arg1: 1},
		{Command: adbwire.CmdCLSE, Arg0: 0, Arg1: 2},
		{Command: adbwire.CmdOPEN, Arg0: 3, Arg1: 0, Data: []byte("no-such-service:\x00")},
		{Command: adbwire.CmdOPEN, Arg0: 4, Arg1: 0, Data: []byte("shell,v2,raw:echo raw")},
	} {
		msgs = adbwire.AppendMessage(msgs, m)
	}
	nc.Write(msgs)
	check("stray messages after a handshake")
	nc.Write(header(adbwire.CmdWRTE, 4, 1, 16<<20, 0, adbwire.CmdWRTE^0xffffffff))
	nc.Write(make([]byte, 64*1024))
	expectClosed(t, nc, "16 MiB WRTE after a handshake")
	check("16 MiB WRTE after a handshake")

	// Many hostile connections at once.
	var wg sync.WaitGroup
	for i := range 32 {
		nc := rawConn(t, dev)
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc.Write(junk[i*1024 : (i+1)*1024])
			nc.SetReadDeadline(time.Now().Add(opTimeout))
			io.Copy(io.Discard, nc)
			nc.Close()
		}()
	}
	check("32 concurrent junk connections")
	wg.Wait()
	check("32 junk connections closed")

	// The stream on the server's connection never noticed.
	msg := fmt.Sprintf("hostile-done-%d", time.Now().UnixNano())
	if _, err := d.Run(ctx, adb.Command("log", "-t", "T", msg)); err != nil {
		t.Fatal(err)
	}
	for {
		if l := nextLine(t, ctx, s); strings.Contains(l.Text, msg) {
			break
		}
	}
	if devs, err := srv.Client().Devices(ctx); err != nil || len(devs) != 1 || devs[0].State != adb.StateDevice {
		t.Fatalf("devices after hostile traffic: %+v, %v", devs, err)
	}
	idle.Close()
}

// A server that crashes can be started again on the same port and with the
// same HOME; network devices come back with a new connect.
func TestRestartAfterServerCrash(t *testing.T) {
	srv, dev, _ := setup(t)
	ctx := bounded(t)
	if err := srv.Restart(ctx); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Restart of a running server: %v, want an error saying it is still running", err)
	}
	old := srv.Pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.Exited()
	c := srv.Client()
	if _, err := c.Version(ctx); !errors.Is(err, adb.ErrServerUnavailable) {
		t.Fatalf("Version with the server dead: %v, want ErrServerUnavailable", err)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Pid() == old || srv.Restarts() != 1 {
		t.Errorf("after Restart: pid %d (was %d), Restarts %d; want a new pid and 1", srv.Pid(), old, srv.Restarts())
	}
	select {
	case <-srv.Exited():
		t.Fatal("Exited is closed for the restarted server")
	default:
	}
	if _, err := c.Device(dev.Serial()).Run(ctx, "true"); !errors.Is(err, adb.ErrDeviceNotFound) {
		t.Errorf("shell before reconnecting: %v, want ErrDeviceNotFound", err)
	}
	d := connect(t, c, dev)
	if out, err := d.Run(ctx, "echo back"); err != nil || out != "back\n" {
		t.Errorf("shell after reconnecting: %q, %v", out, err)
	}
}
