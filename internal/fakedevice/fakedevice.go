// Package fakedevice is a small scripted Android device for unit tests of
// code that talks ADB: simulator/adbd serves its transport (so the real adb
// server connects to it), and this package answers the services a test
// needs: sync (push, pull, stat) over an in-memory file system, exec and
// shell commands (getprop, rm, screencap, pm/cmd package install, dumpsys
// package), abb_exec, and reboot (the device goes away and comes back on
// the same port).
//
// It is deliberately small: the simulated device of simulator/ is the full
// one; this one lets a test script what a device says (a refusal, a lie in
// dumpsys, a missing screencap) and see what it received.
package fakedevice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
)

// Config sets how the device behaves.
type Config struct {
	// Features the banner lists; nil means shell_v2 and cmd.
	Features []string
	// Model names the device in its banner; default "fake".
	Model string
	// RefuseReboot, when set, is what the device prints instead of
	// rebooting (e.g. "reboot: Operation not permitted").
	RefuseReboot string
	// Down is how long a reboot keeps the device away; default 200 ms.
	Down time.Duration
	// Booting is how long, once back, sys.boot_completed stays unset;
	// default 200 ms.
	Booting time.Duration
	// Screencap is what `screencap -p` prints; nil means a generated
	// 4×2 PNG. NoScreencap makes the command not found.
	Screencap   []byte
	NoScreencap bool
	// Installer decides the outcome of each install from the install's
	// arguments (e.g. "install -r -S 1234") and the APK's bytes; nil means
	// Accept (register nothing, print "Success").
	Installer func(args string, apk []byte) Outcome
}

// Outcome is what the package manager does with an APK.
type Outcome struct {
	// Text is what pm prints: "Success" or "Failure [CODE: why]".
	Text string
	// Package, when set, is recorded as installed (dumpsys shows it).
	Package *Package
}

// Package is an installed package as dumpsys shows it.
type Package struct {
	Name        string
	VersionCode int64
	VersionName string
	MinSDK      int
	TargetSDK   int
}

// File is a file on the device.
type File struct {
	Data  []byte
	Mode  uint32 // st_mode, S_IFREG included
	MTime uint32
}

// Install records one install the device received.
type Install struct {
	Via    string // "abb_exec", "exec" or "pm" (the push-and-pm path)
	Args   string // the command line (abb_exec: arguments joined by spaces)
	Size   int
	SHA256 string
}

// Device is a running fake device.
type Device struct {
	t    testing.TB
	cfg  Config
	addr string

	mu        sync.Mutex
	srv       *adbd.Server
	files     map[string]File
	pkgs      map[string]Package
	dumpsys   map[string]string
	installs  []Install
	reboots   int
	bootedAt  time.Time
	commands  []string
	closed    bool
	rebooting chan struct{} // closed when a reboot has brought the device back

	wg   sync.WaitGroup
	stop chan struct{}
}

// Start starts a device on a free 127.0.0.1 port (never 5555-5585) and
// closes it when the test ends.
func Start(t testing.TB, cfg Config) *Device {
	t.Helper()
	if cfg.Features == nil {
		cfg.Features = []string{"shell_v2", "cmd"}
	}
	if cfg.Model == "" {
		cfg.Model = "fake"
	}
	if cfg.Down == 0 {
		cfg.Down = 200 * time.Millisecond
	}
	if cfg.Booting == 0 {
		cfg.Booting = 200 * time.Millisecond
	}
	d := &Device{t: t, cfg: cfg, files: map[string]File{}, pkgs: map[string]Package{}, dumpsys: map[string]string{}, stop: make(chan struct{})}
	var ln net.Listener
	for {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatalf("fake device: listen: %v", err)
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p < 5555 || p > 5585 {
			break
		}
		ln.Close()
	}
	d.addr = ln.Addr().String()
	if err := d.serve(ln); err != nil {
		t.Fatalf("fake device: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

func (d *Device) serve(ln net.Listener) error {
	srv, err := adbd.Start(adbd.Config{
		Listener: ln,
		Banner:   adbd.Banner{Product: "fake", Model: d.cfg.Model, Device: "fake", Features: d.cfg.Features},
		Shell:    adbd.ShellFunc(d.runShell),
		Services: map[string]adbd.ServiceFunc{
			"sync:":     d.serveSync,
			"reboot:":   d.serveReboot,
			"abb_exec:": d.serveAbbExec,
		},
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.srv = srv
	d.bootedAt = time.Now()
	d.mu.Unlock()
	return nil
}

// Serial is the device's address, its serial once connected.
func (d *Device) Serial() string { return d.addr }

// Close stops the device.
func (d *Device) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	close(d.stop)
	srv := d.srv
	d.mu.Unlock()
	d.wg.Wait()
	if srv != nil {
		srv.Close()
	}
}

// Freeze makes the device stop answering on its connections, which stay
// open, as a hung device does; Thaw undoes it.
func (d *Device) Freeze() { d.server().Freeze() }

// Thaw undoes Freeze.
func (d *Device) Thaw() { d.server().Thaw() }

func (d *Device) server() *adbd.Server {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.srv
}

// PutFile stores a file on the device.
func (d *Device) PutFile(path string, f File) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files[path] = f
}

// File returns a file on the device.
func (d *Device) File(path string) (File, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.files[path]
	return f, ok
}

// SetPackage records a package as installed.
func (d *Device) SetPackage(p Package) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pkgs[p.Name] = p
}

// SetDumpsys makes `dumpsys package NAME` print text, whatever is
// installed.
func (d *Device) SetDumpsys(name, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dumpsys[name] = text
}

// Installs lists the installs the device received.
func (d *Device) Installs() []Install {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Install(nil), d.installs...)
}

// Commands lists the shell and exec command lines the device ran.
func (d *Device) Commands() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.commands...)
}

// Rebooting reports whether a reboot has the device away.
func (d *Device) Rebooting() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rebooting != nil
}

// Reboots counts the reboots the device went through.
func (d *Device) Reboots() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reboots
}

// Accept is the default installer: pm says Success.
func Accept(string, []byte) Outcome { return Outcome{Text: "Success"} }

// Package returns an installed package.
func (d *Device) Package(name string) (Package, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.pkgs[name]
	return p, ok
}

// runShell serves shell and exec commands.
func (d *Device) runShell(ctx context.Context, req adbd.ShellRequest) int {
	cmd := strings.TrimSpace(req.Command)
	d.mu.Lock()
	d.commands = append(d.commands, cmd)
	d.mu.Unlock()
	f := strings.Fields(cmd)
	if len(f) == 0 {
		fmt.Fprintln(req.Stderr, "fake device: no interactive shell")
		return 1
	}
	switch {
	case cmd == "getprop sys.boot_completed":
		d.mu.Lock()
		booted := time.Since(d.bootedAt) >= d.cfg.Booting
		d.mu.Unlock()
		if booted {
			fmt.Fprintln(req.Stdout, "1")
		} else {
			fmt.Fprintln(req.Stdout)
		}
		return 0
	case f[0] == "head" && len(f) == 3 && f[1] == "-c":
		// head -c N: copy N bytes of stdin to stdout, as toybox does.
		n, err := strconv.Atoi(f[2])
		if err != nil {
			fmt.Fprintf(req.Stderr, "head: bad -c %q\n", f[2])
			return 1
		}
		_, err = io.CopyN(req.Stdout, req.Stdin, int64(n))
		if err != nil {
			return 1
		}
		return 0
	case f[0] == "echo":
		fmt.Fprintln(req.Stdout, strings.Join(f[1:], " "))
		return 0
	case cmd == "screencap -p" && !d.cfg.NoScreencap:
		out := d.cfg.Screencap
		if out == nil {
			out = samplePNG()
		}
		_, _ = req.Stdout.Write(out)
		return 0
	case f[0] == "rm" && len(f) == 3 && f[1] == "-f":
		d.mu.Lock()
		delete(d.files, unquote(f[2]))
		d.mu.Unlock()
		return 0
	case len(f) >= 3 && f[0] == "cmd" && f[1] == "package" && f[2] == "install":
		size, err := sizeArg(f[3:])
		if err != nil {
			fmt.Fprintf(req.Stdout, "Error: %v\n", err)
			return 1
		}
		apk := make([]byte, size)
		if _, err := io.ReadFull(req.Stdin, apk); err != nil {
			fmt.Fprintf(req.Stdout, "Failure [INSTALL_FAILED_INTERNAL_ERROR: read %d of %d bytes]\n", len(apk), size)
			return 1
		}
		fmt.Fprintln(req.Stdout, d.install("exec", cmd, apk))
		return 0
	case len(f) >= 3 && f[0] == "pm" && f[1] == "install":
		path := unquote(f[len(f)-1])
		file, ok := d.File(path)
		if !ok {
			fmt.Fprintf(req.Stdout, "Failure [INSTALL_FAILED_INVALID_URI]\n")
			return 1
		}
		fmt.Fprintln(req.Stdout, d.install("pm", cmd, file.Data))
		return 0
	case len(f) == 3 && f[0] == "dumpsys" && f[1] == "package":
		fmt.Fprint(req.Stdout, d.dumpsysPackage(f[2]))
		return 0
	}
	fmt.Fprintf(req.Stderr, "/system/bin/sh: %s: not found\n", f[0])
	return 127
}

// sizeArg finds -S SIZE among install arguments.
func sizeArg(args []string) (int, error) {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-S" {
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 0 {
				return 0, fmt.Errorf("bad size %q", args[i+1])
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("APK content must be streamed")
}

// unquote undoes the single quotes of a shell word.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return strings.ReplaceAll(s[1:len(s)-1], `'\''`, `'`)
	}
	return s
}

// install runs the installer on the APK and records it.
func (d *Device) install(via, args string, apk []byte) string {
	sum := sha256.Sum256(apk)
	installer := d.cfg.Installer
	if installer == nil {
		installer = Accept
	}
	out := installer(args, apk)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.installs = append(d.installs, Install{Via: via, Args: args, Size: len(apk), SHA256: hex.EncodeToString(sum[:])})
	if out.Package != nil {
		d.pkgs[out.Package.Name] = *out.Package
	}
	return out.Text
}

// serveAbbExec serves abb_exec:package\0install\0...\0-S\0SIZE.
func (d *Device) serveAbbExec(ctx context.Context, arg string, s *adbd.Stream) error {
	args := strings.Split(arg, "\x00")
	line := strings.Join(args, " ")
	d.mu.Lock()
	d.commands = append(d.commands, "abb_exec "+line)
	d.mu.Unlock()
	if len(args) < 2 || args[0] != "package" || args[1] != "install" {
		fmt.Fprintf(s, "Unknown command: %s\n", line)
		return s.Close()
	}
	size, err := sizeArg(args[2:])
	if err != nil {
		fmt.Fprintf(s, "Error: %v\n", err)
		return s.Close()
	}
	apk := make([]byte, size)
	if _, err := io.ReadFull(s, apk); err != nil {
		return s.Close()
	}
	fmt.Fprintln(s, d.install("abb_exec", line, apk))
	return s.Close()
}

// dumpsysPackage prints what `dumpsys package NAME` prints on Android 11+
// for an installed package (the lines that matter, in their order), or
// the override a test set.
func (d *Device) dumpsysPackage(name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if text, ok := d.dumpsys[name]; ok {
		return text
	}
	p, ok := d.pkgs[name]
	if !ok {
		// An unknown package prints the tables' headings and no Packages:.
		return "Dexopt state:\n  Unable to find package: " + name + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Key Set Manager:\n  [%s]\n      Signing KeySets: 7\n\n", p.Name)
	fmt.Fprintf(&b, "Packages:\n  Package [%s] (4a1c2e3):\n    userId=10123\n", p.Name)
	fmt.Fprintf(&b, "    pkg=Package{9f8e7d6 %s}\n    codePath=/data/app/~~q1w2e3==/%s-r4t5y6==\n", p.Name, p.Name)
	fmt.Fprintf(&b, "    versionCode=%d minSdk=%d targetSdk=%d\n    versionName=%s\n", p.VersionCode, p.MinSDK, p.TargetSDK, p.VersionName)
	fmt.Fprintf(&b, "    splits=[base]\n    apkSigningVersion=2\n    flags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]\n")
	fmt.Fprintf(&b, "    User 0: ceDataInode=4242 installed=true hidden=false suspended=false stopped=false notLaunched=false enabled=0 instant=false virtual=false\n\n")
	fmt.Fprintf(&b, "Queries:\n  system apps queryable: false\n")
	return b.String()
}

// samplePNG is a small real PNG.
func samplePNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for x := 0; x < 4; x++ {
		img.Set(x, 0, color.RGBA{R: uint8(60 * x), G: 100, B: 200, A: 255})
		img.Set(x, 1, color.RGBA{R: 10, G: uint8(60 * x), B: 20, A: 255})
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// serveReboot serves reboot:TARGET: the device closes every connection,
// stays away for Config.Down and comes back on the same port.
func (d *Device) serveReboot(ctx context.Context, target string, s *adbd.Stream) error {
	if d.cfg.RefuseReboot != "" {
		fmt.Fprintln(s, d.cfg.RefuseReboot)
		return s.Close()
	}
	d.mu.Lock()
	if d.closed || d.rebooting != nil {
		d.mu.Unlock()
		<-ctx.Done()
		return nil
	}
	d.reboots++
	d.rebooting = make(chan struct{})
	srv := d.srv
	d.wg.Add(1)
	d.mu.Unlock()
	go d.reboot(srv)
	// The reboot ends this stream with the connection; like reboot(8),
	// print nothing and wait.
	<-ctx.Done()
	return nil
}

// reboot takes the device down and brings it back on the same address.
func (d *Device) reboot(old *adbd.Server) {
	defer d.wg.Done()
	old.Close()
	select {
	case <-time.After(d.cfg.Down):
	case <-d.stop:
		return
	}
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		d.t.Errorf("fake device: back on %s: %v", d.addr, err)
		return
	}
	if err := d.serve(ln); err != nil {
		d.t.Errorf("fake device: back on %s: %v", d.addr, err)
		ln.Close()
		return
	}
	d.mu.Lock()
	close(d.rebooting)
	d.rebooting = nil
	if d.closed {
		srv := d.srv
		d.mu.Unlock()
		srv.Close()
		return
	}
	d.mu.Unlock()
}

// Paths lists the files on the device, sorted.
func (d *Device) Paths() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for p := range d.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
