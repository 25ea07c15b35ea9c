package adbd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
)

// testShell understands a handful of commands, enough to exercise the
// transport: the simulated Android shell is tested in its own package.
type testShell struct {
	lines chan string
}

func (t *testShell) RunShell(ctx context.Context, req adbd.ShellRequest) int {
	f := strings.Fields(req.Command)
	if len(f) == 0 {
		fmt.Fprint(req.Stdout, "$ ")
		io.Copy(req.Stdout, req.Stdin)
		return 0
	}
	switch f[0] {
	case "echo":
		fmt.Fprintln(req.Stdout, strings.Join(f[1:], " "))
		return 0
	case "fail":
		fmt.Fprintln(req.Stderr, "bad thing")
		var code int
		fmt.Sscan(f[1], &code)
		return code
	case "big":
		var n int
		fmt.Sscan(f[1], &n)
		req.Stdout.Write([]byte(strings.Repeat("x", n)))
		return 0
	case "cat":
		io.Copy(req.Stdout, req.Stdin)
		return 0
	case "follow":
		for {
			select {
			case l := <-t.lines:
				fmt.Fprintln(req.Stdout, l)
			case <-ctx.Done():
				return 130
			}
		}
	}
	fmt.Fprintf(req.Stderr, "/system/bin/sh: %s: not found\n", f[0])
	return 127
}

type env struct {
	srv   *adb.LocalServer
	c     *adb.Client
	dev   *adbd.Server
	shell *testShell
}

func setup(t *testing.T, auth adbd.AuthMode) *env {
	t.Helper()
	if _, err := exec.LookPath("adb"); err != nil {
		t.Fatalf("adb is required (apt-get install -y adb): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := adb.StartServer(ctx, adb.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sh := &testShell{lines: make(chan string, 10)}
	dev, err := adbd.Start(adbd.Config{Banner: adbd.Banner{Product: "p", Model: "M:1", Device: "d"}, Shell: sh, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return &env{srv: srv, c: srv.Client(), dev: dev, shell: sh}
}

func (e *env) adb(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("adb", args...)
	cmd.Env = append(cmd.Environ(), e.srv.Env()...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("adb %v: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func TestShellThroughRealServer(t *testing.T) {
	e := setup(t, adbd.AuthNone)
	ctx := context.Background()
	if err := e.c.Connect(ctx, e.dev.Addr()); err != nil {
		t.Fatal(err)
	}
	if st, err := e.c.WaitForState(ctx, e.dev.Addr(), adb.StateDevice); err != nil {
		t.Fatalf("state %s: %v", st, err)
	}
	out, code := e.adb(t, "-s", e.dev.Addr(), "shell", "echo", "hi")
	if out != "hi\n" || code != 0 {
		t.Fatalf("adb shell echo hi: %q, %d", out, code)
	}
	out, code = e.adb(t, "-s", e.dev.Addr(), "shell", "fail", "5")
	if code != 5 || !strings.Contains(out, "bad thing") {
		t.Fatalf("adb shell fail 5: %q, %d", out, code)
	}
	d := e.c.Device(e.dev.Addr())
	res, err := d.Shell(ctx, "fail 3")
	if err != nil || res.ExitCode != 3 || string(res.Stderr) != "bad thing\n" || len(res.Stdout) != 0 {
		t.Fatalf("Shell(fail 3) = %+v, %v", res, err)
	}
	res, err = d.Shell(ctx, "big 3000000")
	if err != nil || len(res.Stdout) != 3000000 {
		t.Fatalf("big output: %d bytes, %v", len(res.Stdout), err)
	}
	devs, err := e.c.Devices(ctx)
	if err != nil || len(devs) != 1 || devs[0].Model != "M_1" || devs[0].State != adb.StateDevice {
		t.Fatalf("devices: %+v %v", devs, err)
	}
}

func TestStreamEndsWhenDeviceDies(t *testing.T) {
	e := setup(t, adbd.AuthNone)
	ctx := context.Background()
	if err := e.c.Connect(ctx, e.dev.Addr()); err != nil {
		t.Fatal(err)
	}
	d := e.c.Device(e.dev.Addr())
	s, err := d.StreamShell(ctx, "follow")
	if err != nil {
		t.Fatal(err)
	}
	e.shell.lines <- "one"
	if l := <-s.Lines(); l.Text != "one" {
		t.Fatalf("got %q", l.Text)
	}
	e.dev.Close()
	select {
	case <-s.Done():
	case <-time.After(time.Second):
		t.Fatal("stream still open a second after the device died")
	}
	if !errors.Is(s.Err(), adb.ErrStreamLost) {
		t.Fatalf("Err = %v, want ErrStreamLost", s.Err())
	}
}

func TestUnauthorized(t *testing.T) {
	e := setup(t, adbd.AuthReject)
	ctx := context.Background()
	_ = e.c.Connect(ctx, e.dev.Addr())
	st, err := e.c.WaitForState(ctx, e.dev.Addr(), adb.StateUnauthorized)
	if err != nil {
		t.Fatalf("state %s: %v", st, err)
	}
	_, err = e.c.Device(e.dev.Addr()).Shell(ctx, "echo hi")
	if !errors.Is(err, adb.ErrUnauthorized) {
		t.Fatalf("shell on unauthorized device: %v", err)
	}
}

func TestMalformedInputClosesOnlyThatConnection(t *testing.T) {
	e := setup(t, adbd.AuthNone)
	ctx := context.Background()
	if err := e.c.Connect(ctx, e.dev.Addr()); err != nil {
		t.Fatal(err)
	}
	d := e.c.Device(e.dev.Addr())
	hostile := [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: device\r\n\r\n"),
		// A CNXN header that announces 2 GiB of payload.
		{0x43, 0x4e, 0x58, 0x4e, 0, 0, 0, 1, 0, 0, 4, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0xbc, 0xb1, 0xa7, 0xb1},
		make([]byte, 24),
	}
	for i, h := range hostile {
		nc, err := net.Dial("tcp", e.dev.Addr())
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(h)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("hostile input %d: connection not closed: %v", i, err)
		}
		nc.Close()
		// The adb server's own connection is unaffected.
		if out, err := d.Run(ctx, "echo still here"); err != nil || out != "still here\n" {
			t.Fatalf("after hostile input %d: %q %v", i, out, err)
		}
	}
}

func TestStdinReachesTheCommand(t *testing.T) {
	e := setup(t, adbd.AuthNone)
	if err := e.c.Connect(context.Background(), e.dev.Addr()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("adb", "-s", e.dev.Addr(), "shell", "cat")
	cmd.Env = append(cmd.Environ(), e.srv.Env()...)
	cmd.Stdin = strings.NewReader("line one\nline two\n")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "line one\nline two\n" {
		t.Fatalf("adb shell cat: %q %v", out, err)
	}
}
