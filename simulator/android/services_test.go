package android_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
)

// These tests drive a simulated Android system behind the simulated adbd
// with the real adb server and the real adb command.

const svcTimeout = 30 * time.Second

type svcEnv struct {
	srv    *adb.LocalServer
	sys    *android.System
	dev    *adbd.Server
	serial string
}

type svcOptions struct {
	debuggable, root bool
	reboot           func(string) error
	screen           android.Size
	props            map[string]string
}

func startSvc(t testing.TB, o svcOptions) *svcEnv {
	t.Helper()
	if _, err := exec.LookPath("adb"); err != nil {
		t.Fatalf("the adb command is required (apt-get install -y adb): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), svcTimeout)
	defer cancel()
	srv, err := adb.StartServer(ctx, adb.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sys, err := android.New(android.Config{Rooted: o.root, Seed: 7, Screen: o.screen, Props: o.props})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	dev, err := adbd.Start(adbd.Config{
		Banner:     adbd.Banner{Product: "sargo", Model: "Pixel 3a", Device: "sargo"},
		Shell:      sys,
		FS:         sys,
		Debuggable: o.debuggable,
		Root:       o.root,
		Reboot:     o.reboot,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	e := &svcEnv{srv: srv, sys: sys, dev: dev, serial: dev.Addr()}
	c := srv.Client()
	if err := c.Connect(ctx, dev.Addr()); err != nil {
		t.Fatal(err)
	}
	if st, err := c.WaitForState(ctx, dev.Addr(), adb.StateDevice); err != nil {
		t.Fatalf("state %s: %v", st, err)
	}
	return e
}

// adb runs the real adb command on the device and returns stdout, stderr
// and the exit status.
func (e *svcEnv) adb(t testing.TB, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), svcTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-s", e.serial}, args...)...)
	cmd.Env = append(os.Environ(), e.srv.Env()...)
	cmd.WaitDelay = time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("adb %v: %v", args, err)
	}
	return o.String(), er.String(), cmd.ProcessState.ExitCode()
}

func (e *svcEnv) mustAdb(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, code := e.adb(t, nil, args...)
	if code != 0 {
		t.Fatalf("adb %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

func randomFile(t testing.TB, dir, name string, size int) (string, [32]byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(data)
}

func fileSum(t testing.TB, p string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func TestPushPullThreeMegabytes(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	dir := t.TempDir()
	src, sum := randomFile(t, dir, "blob.bin", 3*1024*1024+17)
	out := e.mustAdb(t, "push", src, "/data/local/tmp/blob.bin")
	if !strings.Contains(out, "1 file pushed") {
		t.Fatalf("adb push: %q", out)
	}
	if got := strings.TrimSpace(e.mustAdb(t, "shell", "stat", "-c", "%s", "/data/local/tmp/blob.bin")); got != "3145745" {
		t.Fatalf("stat -c %%s = %q, want 3145745", got)
	}
	if e.sys.SpillDir() == "" {
		t.Fatalf("a 3 MB file is kept in memory, not in a host file")
	}
	back := filepath.Join(dir, "back.bin")
	out = e.mustAdb(t, "pull", "/data/local/tmp/blob.bin", back)
	if !strings.Contains(out, "1 file pulled") {
		t.Fatalf("adb pull: %q", out)
	}
	if fileSum(t, back) != sum {
		t.Fatalf("pulled file differs from the pushed one")
	}
	// The shell sees the same bytes.
	data, err := e.sys.ReadFile("/data/local/tmp/blob.bin")
	if err != nil || sha256.Sum256(data) != sum {
		t.Fatalf("device copy differs: %v", err)
	}
	// The host files go when the system closes.
	spill := e.sys.SpillDir()
	e.sys.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(spill); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists after the system closed", spill)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPushDirectoryAndPermissions(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	dir := filepath.Join(t.TempDir(), "tree")
	sums := map[string][32]byte{}
	for _, n := range []string{"a.txt", "sub/b.bin", "sub/deeper/c.bin"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		_, sums[n] = randomFile(t, dir, n, 1000+len(n)*70000)
	}
	out := e.mustAdb(t, "push", dir, "/sdcard/x")
	if !strings.Contains(out, "3 files pushed") {
		t.Fatalf("adb push dir: %q", out)
	}
	// /sdcard/x did not exist: it becomes the copy of tree, as cp -r does.
	ls := e.mustAdb(t, "shell", "ls", "/sdcard/x/sub/deeper")
	if strings.TrimSpace(ls) != "c.bin" {
		t.Fatalf("ls after push: %q", ls)
	}
	back := t.TempDir()
	out = e.mustAdb(t, "pull", "/sdcard/x", back)
	if !strings.Contains(out, "3 files pulled") {
		t.Fatalf("adb pull dir: %q", out)
	}
	for n, sum := range sums {
		if fileSum(t, filepath.Join(back, "x", n)) != sum {
			t.Fatalf("%s differs after the round trip", n)
		}
	}
	// shell (uid 2000) may not write /system; the error is the device's.
	src, _ := randomFile(t, t.TempDir(), "f", 10)
	out, errOut, code := e.adb(t, nil, "push", src, "/system/f")
	if code == 0 || !strings.Contains(errOut+out, "couldn't create file: Read-only file system") {
		t.Fatalf("push to /system: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = e.adb(t, nil, "pull", "/data/local/tmp/missing", t.TempDir())
	if code == 0 || !strings.Contains(out+errOut, "failed to stat remote object '/data/local/tmp/missing': No such file or directory") {
		t.Fatalf("pull of a missing file: exit %d, %q %q", code, out, errOut)
	}
}

func TestExecOutScreencapIsPNG(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true, screen: android.Size{Width: 720, Height: 1280}})
	out, _, code := e.adb(t, nil, "exec-out", "screencap", "-p")
	if code != 0 {
		t.Fatalf("exec-out screencap -p: exit %d", code)
	}
	img, err := png.Decode(strings.NewReader(out))
	if err != nil {
		t.Fatalf("exec-out screencap -p is not a PNG (%d bytes, %q...): %v", len(out), out[:min(len(out), 40)], err)
	}
	if b := img.Bounds(); b.Dx() != 720 || b.Dy() != 1280 {
		t.Fatalf("screenshot is %v, want 720x1280 as wm size says", b)
	}
	if ws := e.mustAdb(t, "shell", "wm", "size"); ws != "Physical size: 720x1280\n" {
		t.Fatalf("wm size: %q", ws)
	}
	// adb shell screencap -p through shell v2 is the same picture format.
	out2 := e.mustAdb(t, "shell", "screencap", "-p")
	if _, err := png.Decode(strings.NewReader(out2)); err != nil {
		t.Fatalf("adb shell screencap -p: %v", err)
	}
}

func TestRootAndUnroot(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true, root: true})
	if id := e.mustAdb(t, "shell", "id", "-u"); id != "0\n" {
		t.Fatalf("id -u on a rooted device: %q", id)
	}
	if out := e.mustAdb(t, "root"); out != "adbd is already running as root\n" {
		t.Fatalf("adb root: %q", out)
	}
	start := time.Now()
	if out := e.mustAdb(t, "unroot"); out != "restarting adbd as non root\n" {
		t.Fatalf("adb unroot: %q", out)
	}
	t.Logf("adb unroot returned after %v", time.Since(start))
	e.mustAdb(t, "wait-for-device")
	if id := e.mustAdb(t, "shell", "id", "-u"); id != "2000\n" {
		t.Fatalf("id -u after unroot: %q", id)
	}
	if out := e.mustAdb(t, "unroot"); out != "adbd not running as root\n" {
		t.Fatalf("second adb unroot: %q", out)
	}
	if out := e.mustAdb(t, "root"); out != "restarting adbd as root\n" {
		t.Fatalf("adb root: %q", out)
	}
	e.mustAdb(t, "wait-for-device")
	if id := e.mustAdb(t, "shell", "id", "-u"); id != "0\n" {
		t.Fatalf("id -u after root: %q", id)
	}
}

func TestRootRefusedOnProductionBuild(t *testing.T) {
	e := startSvc(t, svcOptions{})
	if out := e.mustAdb(t, "root"); out != "adbd cannot run as root in production builds\n" {
		t.Fatalf("adb root: %q", out)
	}
	if id := e.mustAdb(t, "shell", "id", "-u"); id != "2000\n" {
		t.Fatalf("id -u: %q", id)
	}
}

func TestReverse(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	e.mustAdb(t, "reverse", "tcp:6100", "tcp:7100")
	e.mustAdb(t, "reverse", "localabstract:scrcpy", "tcp:27183")
	list := e.mustAdb(t, "reverse", "--list")
	// adb prints the device's listing and a newline.
	want := "host-19 tcp:6100 tcp:7100\nhost-19 localabstract:scrcpy tcp:27183\n\n"
	if list != want {
		t.Fatalf("adb reverse --list = %q, want %q", list, want)
	}
	out, errOut, code := e.adb(t, nil, "reverse", "--no-rebind", "tcp:6100", "tcp:7200")
	if code == 0 || !strings.Contains(out+errOut, "cannot rebind existing socket") {
		t.Fatalf("reverse --no-rebind: %d %q %q", code, out, errOut)
	}
	if port := e.mustAdb(t, "reverse", "tcp:0", "tcp:7300"); port != "37001\n" {
		t.Fatalf("reverse tcp:0: %q", port)
	}
	e.mustAdb(t, "reverse", "--remove", "tcp:6100")
	out, errOut, code = e.adb(t, nil, "reverse", "--remove", "tcp:6100")
	if code == 0 || !strings.Contains(out+errOut, "listener 'tcp:6100' not found") {
		t.Fatalf("second remove: %d %q %q", code, out, errOut)
	}
	e.mustAdb(t, "reverse", "--remove-all")
	if list := e.mustAdb(t, "reverse", "--list"); list != "\n" {
		t.Fatalf("list after remove-all: %q", list)
	}
	out, errOut, code = e.adb(t, nil, "reverse", "bogus:1", "tcp:1")
	if code == 0 || !strings.Contains(out+errOut, "unknown socket specification 'bogus:1'") {
		t.Fatalf("bad spec: %d %q %q", code, out, errOut)
	}
}

func TestAmInstrumentMissing(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	out, errOut, code := e.adb(t, nil, "shell", "am", "instrument", "-w", "x/y")
	wantOut := "INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo{x/y}\n" +
		"INSTRUMENTATION_STATUS: id=ActivityManagerService\n" +
		"INSTRUMENTATION_STATUS_CODE: -1\n"
	if code != 1 || out != wantOut || !strings.HasPrefix(errOut, "android.util.AndroidException: INSTRUMENTATION_FAILED: x/y\n\tat com.android.commands.am.Instrument.run(") {
		t.Fatalf("am instrument -w x/y: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}

func TestFeaturesAreWhatIsImplemented(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	got := strings.Split(strings.TrimSpace(e.mustAdb(t, "features")), "\n")
	want := []string{"shell_v2", "cmd", "stat_v2", "ls_v2", "fixed_push_mkdir", "abb_exec", "abb"}
	if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
		t.Fatalf("adb features = %v, want %v", got, want)
	}
	if strings.Join(e.dev.Features(), ",") != strings.Join(want, ",") {
		t.Fatalf("Server.Features = %v", e.dev.Features())
	}
	// Each one works: abb and abb_exec reach cmd, ls_v2 lists, stat_v2 stats.
	viaCmd := e.mustAdb(t, "shell", "cmd", "package", "list", "packages")
	if viaAbb := e.mustAdb(t, "abb", "package", "list", "packages"); viaAbb != viaCmd || !strings.Contains(viaCmd, "package:") {
		t.Fatalf("adb abb package list packages = %q, cmd gives %q", viaAbb, viaCmd)
	}
	if ls := e.mustAdb(t, "ls", "/data/local"); !strings.Contains(ls, " tmp\n") {
		t.Fatalf("adb ls /data/local: %q", ls)
	}
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	slices.Sort(c)
	return c
}

func TestPipedShellHasNoPrompt(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	script := []byte("echo one\nx=2\necho $x\nexit 3\necho never\n")
	out, errOut, code := e.adb(t, script, "shell")
	if out != "one\n2\n" || code != 3 {
		t.Fatalf("adb shell < script: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// With a terminal there is a prompt, as today.
	out, _, _ = e.adb(t, []byte("echo hi\nexit\n"), "shell", "-t", "-t")
	if !strings.Contains(out, "sargo:/ $ ") {
		t.Fatalf("adb shell -t -t: %q", out)
	}
}

func TestReboot(t *testing.T) {
	targets := make(chan string, 4)
	e := startSvc(t, svcOptions{debuggable: true, reboot: func(target string) error {
		targets <- target
		if target == "bootloader" {
			return errors.New("no bootloader on this device")
		}
		return nil
	}})
	out := e.mustAdb(t, "reboot", "bootloader")
	if out != "reboot (reboot,bootloader) failed\n" {
		t.Fatalf("adb reboot bootloader: %q", out)
	}
	if got := <-targets; got != "bootloader" {
		t.Fatalf("hook got %q", got)
	}
	conns := e.dev.Conns()
	e.mustAdb(t, "reboot")
	if got := <-targets; got != "" {
		t.Fatalf("hook got %q for a normal reboot", got)
	}
	if conns == 0 {
		t.Fatal("no connection before the reboot")
	}
	// Every connection dropped; the adb server comes back to the device,
	// which here stayed up.
	e.mustAdb(t, "wait-for-device")
	if out := e.mustAdb(t, "shell", "echo", "back"); out != "back\n" {
		t.Fatalf("after reboot: %q", out)
	}
}

// hostService opens a device service through the adb server's host
// protocol (host:transport:SERIAL, then the service) and returns all it
// sends before closing.
func (e *svcEnv) hostService(t testing.TB, service string, stdin []byte) []byte {
	t.Helper()
	nc, err := net.DialTimeout("tcp", e.srv.Addr(), svcTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(svcTimeout))
	request := func(s string) {
		t.Helper()
		fmt.Fprintf(nc, "%04x%s", len(s), s)
		status := make([]byte, 4)
		if _, err := io.ReadFull(nc, status); err != nil || string(status) != "OKAY" {
			t.Fatalf("%s: %q %v", s, status, err)
		}
	}
	request("host:transport:" + e.serial)
	request(service)
	if stdin != nil {
		nc.Write(stdin)
		nc.(*net.TCPConn).CloseWrite()
	}
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAbbExecRoutesToCmd: abb_exec (what adb install streams through)
// runs `cmd SERVICE ARGS...` with the stream as stdin and stdout.
func TestAbbExecRoutesToCmd(t *testing.T) {
	e := startSvc(t, svcOptions{debuggable: true})
	viaAbb := e.hostService(t, "abb_exec:package\x00list\x00packages", nil)
	viaCmd := e.mustAdb(t, "shell", "cmd package list packages")
	if string(viaAbb) != viaCmd || !strings.Contains(viaCmd, "package:com.android.settings\n") {
		t.Fatalf("abb_exec:package list packages = %q\ncmd package list packages = %q", viaAbb, viaCmd)
	}
	// Arguments with spaces and quotes reach the command as single words.
	got := e.hostService(t, "abb_exec:settings\x00put\x00global\x00wmpf_x\x00a 'b' c", nil)
	if len(got) != 0 {
		t.Fatalf("settings put: %q", got)
	}
	if v := e.mustAdb(t, "shell", "settings get global wmpf_x"); v != "a 'b' c\n" {
		t.Fatalf("value stored through abb_exec: %q", v)
	}
}
