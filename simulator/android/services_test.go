package android_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
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
	sys, err := android.New(android.Config{Rooted: o.root, Seed: 7, Screen: o.screen})
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
	if os.Getenv("SCREENCAP_OUT") != "" {
		os.WriteFile(os.Getenv("SCREENCAP_OUT"), []byte(out), 0o644)
	}
}
