package simulator_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// adbCLI runs the real adb command against a test's own adb server.
type adbCLI struct {
	t   *testing.T
	srv *adb.LocalServer
}

func newADB(t *testing.T) *adbCLI { return &adbCLI{t: t, srv: simtest.ADBServer(t)} }

// run runs adb ARGS and returns stdout, stderr and the exit status.
func (a *adbCLI) run(args ...string) (string, string, int) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", args...)
	cmd.Env = append(baseEnv(a.t.TempDir()), "ADB_SERVER_SOCKET="+a.srv.SocketSpec())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		a.t.Fatalf("adb %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// must runs adb and fails the test unless it exits 0.
func (a *adbCLI) must(args ...string) string {
	a.t.Helper()
	out, errs, code := a.run(args...)
	if code != 0 {
		a.t.Fatalf("adb %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// connect runs adb connect, which exits 0 even when it fails, and checks
// its text.
func (a *adbCLI) connect(serial string) {
	a.t.Helper()
	out := a.must("connect", serial)
	if !strings.Contains(out, "connected to "+serial) {
		a.t.Fatalf("adb connect %s: %q", serial, out)
	}
	a.waitState(serial, "device", 15*time.Second)
}

// state is the serial's state in `adb devices`, "" when not listed.
func (a *adbCLI) state(serial string) string {
	out, _, _ := a.run("devices")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == serial {
			return f[1]
		}
	}
	return ""
}

func (a *adbCLI) waitState(serial, want string, within time.Duration) {
	a.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if a.state(serial) == want {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s did not become %q in %v (now %q)", serial, want, within, a.state(serial))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shell runs adb -s SERIAL shell CMD and returns its trimmed stdout.
func (a *adbCLI) shell(serial, cmd string) string {
	a.t.Helper()
	return strings.TrimSpace(a.must("-s", serial, "shell", cmd))
}

// farm starts the WeChat side and one panel device that uses it.
func startFarm(t *testing.T, dc simulator.DeviceConfig) (*simulator.Farm, *simulator.Device, *caller.Client) {
	t.Helper()
	if dc.Profile == nil {
		dc.Profile = simtest.Profile(t, "panel")
	}
	ctx, cancel := context.WithTimeout(context.Background(), simtest.Timeout)
	defer cancel()
	f, err := simulator.NewFarm(ctx, simulator.FarmConfig{Devices: []simulator.DeviceConfig{dc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	dev := f.Devices[0]
	if err := simulator.CheckPort(simtest.Port(t, dev.Serial())); err != nil {
		t.Fatal(err)
	}
	return f, dev, caller.New(f.WeChat.URL(), f.WeChat.AppID(), f.WeChat.AppSecret())
}

// pushToken waits until the WeChat side has issued sn a push token other
// than old, and returns it.
func pushToken(t *testing.T, c *caller.Client, sn, old string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := c.Device(ctx, sn)
		cancel()
		if err == nil && d.PushToken != "" && d.PushToken != old {
			return d.PushToken
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new push token for %s in %v (last %q, err %v)", sn, within, d.PushToken, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
