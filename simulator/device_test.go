package simulator_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// These tests drive simulated devices with the real adb server and the real
// adb command only; the harness is used for nothing but starting the server.

// opTimeout bounds every single adb command or wait in these tests.
const opTimeout = 30 * time.Second

func loadProfile(t testing.TB, name string) *profile.Profile { return simtest.Profile(t, name) }

func startServer(t testing.TB) *adb.LocalServer { return simtest.ADBServer(t) }

func portOf(t testing.TB, addr string) int { return simtest.Port(t, addr) }

func startDevice(t testing.TB, cfg simulator.DeviceConfig) *simulator.Device {
	return simtest.Device(t, cfg)
}

// adbCmd runs the real adb command against srv and returns its stdout,
// stderr and exit status.
func adbCmd(t testing.TB, srv *adb.LocalServer, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code, err := adbRun(srv, args...)
	if err != nil {
		t.Fatal(err)
	}
	return stdout, stderr, code
}

// adbRun is adbCmd for any goroutine: failures to run are returned.
func adbRun(srv *adb.LocalServer, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", args...)
	cmd.Env = append(os.Environ(), srv.Env()...)
	cmd.WaitDelay = time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ctx.Err() != nil {
		return o.String(), e.String(), -1, fmt.Errorf("adb %s: no answer within %s (stdout %q, stderr %q)", strings.Join(args, " "), opTimeout, o.String(), e.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return o.String(), e.String(), -1, fmt.Errorf("adb %s: %w", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode(), nil
}

// adbConnect runs `adb connect`, which exits 0 even when it fails, and
// returns what it printed.
func adbConnect(t testing.TB, srv *adb.LocalServer, serial string) string {
	t.Helper()
	out, errOut, code := adbCmd(t, srv, "connect", serial)
	if code != 0 {
		t.Fatalf("adb connect %s: exit %d: %s%s", serial, code, out, errOut)
	}
	return out + errOut
}

func mustConnect(t testing.TB, srv *adb.LocalServer, serial string) {
	t.Helper()
	if text := adbConnect(t, srv, serial); !strings.Contains(text, "connected to") || strings.Contains(text, "failed") {
		t.Fatalf("adb connect %s: %q", serial, text)
	}
}

// waitListed follows `adb track-devices` until every serial is listed in
// state, and returns the last list it saw (serial → state).
func waitListed(t testing.TB, srv *adb.LocalServer, state string, serials ...string) map[string]string {
	t.Helper()
	return waitList(t, srv, fmt.Sprintf("%v %s", serials, state), func(list map[string]string) bool {
		for _, s := range serials {
			if list[s] != state {
				return false
			}
		}
		return true
	})
}

// waitList follows `adb track-devices` (the server pushes every change of
// its device list) until done accepts the list (serial → state).
func waitList(t testing.TB, srv *adb.LocalServer, what string, done func(map[string]string) bool) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", "track-devices")
	cmd.Env = append(os.Environ(), srv.Env()...)
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	r := bufio.NewReader(out)
	var last map[string]string
	for {
		// Each update is a block: four hex digits of length, then
		// "SERIAL\tSTATE\n" lines.
		var lb [4]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			t.Fatalf("adb track-devices ended before %s (last list %v): %v", what, last, err)
		}
		n, err := strconv.ParseUint(string(lb[:]), 16, 16)
		if err != nil {
			t.Fatalf("adb track-devices: bad length %q", lb[:])
		}
		block := make([]byte, n)
		if _, err := io.ReadFull(r, block); err != nil {
			t.Fatalf("adb track-devices ended before %s (last list %v): %v", what, last, err)
		}
		last = map[string]string{}
		for _, line := range strings.Split(string(block), "\n") {
			if s, st, ok := strings.Cut(line, "\t"); ok {
				last[s] = st
			}
		}
		if done(last) {
			return last
		}
	}
}

// listedDevices parses `adb devices`.
func listedDevices(t testing.TB, srv *adb.LocalServer) map[string]string {
	t.Helper()
	out, errOut, code := adbCmd(t, srv, "devices")
	if code != 0 {
		t.Fatalf("adb devices: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[0] != "List of devices attached" {
		t.Fatalf("adb devices: unexpected output %q", out)
	}
	m := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) >= 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// connected starts a server and one connected device listed as `device`.
func connected(t testing.TB, cfg simulator.DeviceConfig) (*adb.LocalServer, *simulator.Device) {
	t.Helper()
	srv := startServer(t)
	dev := startDevice(t, cfg)
	mustConnect(t, srv, dev.Serial())
	waitListed(t, srv, "device", dev.Serial())
	return srv, dev
}

// runningLogcat is a streaming `adb logcat` whose output is read line by
// line.
type runningLogcat struct {
	lines  chan string   // closed when its output ends
	exited chan struct{} // closed when the command has exited
}

// startLogcat starts `adb -s SERIAL logcat` and returns once it has printed
// its first line, so that logcat surely runs on the device. The command is
// stopped when the test ends.
func startLogcat(t testing.TB, srv *adb.LocalServer, serial string) *runningLogcat {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "adb", "-s", serial, "logcat")
	cmd.Env = append(os.Environ(), srv.Env()...)
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &runningLogcat{lines: make(chan string, 4096), exited: make(chan struct{})}
	go func() {
		defer close(l.exited)
		defer cmd.Wait()
		defer close(l.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			select {
			case l.lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-l.exited
	})
	select {
	case _, ok := <-l.lines:
		if !ok {
			t.Fatal("adb logcat ended at once")
		}
	case <-time.After(opTimeout):
		t.Fatalf("adb logcat printed nothing within %s", opTimeout)
	}
	return l
}

func TestThreeDevicesListedByADB(t *testing.T) {
	srv := startServer(t)
	tv := loadProfile(t, "tv")
	var devs []*simulator.Device
	for _, p := range []*profile.Profile{loadProfile(t, "panel"), tv, loadProfile(t, "panel")} {
		devs = append(devs, startDevice(t, simulator.DeviceConfig{Profile: p}))
	}
	serials := make([]string, len(devs))
	for i, d := range devs {
		serials[i] = d.Serial()
		mustConnect(t, srv, d.Serial())
	}
	waitListed(t, srv, "device", serials...)
	listed := listedDevices(t, srv)
	if len(listed) != 3 {
		t.Fatalf("adb devices lists %d devices, want 3: %v", len(listed), listed)
	}
	for _, s := range serials {
		if listed[s] != "device" {
			t.Errorf("adb devices: %s is %q, want device", s, listed[s])
		}
	}
	// Each answers as itself.
	for _, d := range devs {
		out, _, code := adbCmd(t, srv, "-s", d.Serial(), "shell", "getprop", "ro.product.model")
		if code != 0 || out != d.Model()+"\n" {
			t.Errorf("%s: getprop ro.product.model = %q (exit %d), want %q", d.Serial(), out, code, d.Model())
		}
	}
	// `adb devices -l` carries each banner's model, as adb sanitizes it.
	out, _, _ := adbCmd(t, srv, "devices", "-l")
	for _, d := range devs {
		want := d.Serial() + " device product:" + d.Profile().Device.Product + " model:" + sanitize(d.Model()) + " device:" + d.Profile().Device.Name + " "
		found := false
		for _, l := range strings.Split(out, "\n") {
			found = found || strings.HasPrefix(strings.Join(strings.Fields(l), " ")+" ", want)
		}
		if !found {
			t.Errorf("adb devices -l: no line starting %q in\n%s", want, out)
		}
	}
}

// sanitize is what the adb server does to banner values in `adb devices -l`.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

func TestADBShellOutputAndExitCodes(t *testing.T) {
	srv, dev := connected(t, simulator.DeviceConfig{})
	s := dev.Serial()

	out, errOut, code := adbCmd(t, srv, "-s", s, "shell", "echo", "hi")
	if out != "hi\n" || errOut != "" || code != 0 {
		t.Errorf("adb shell echo hi: stdout %q stderr %q exit %d; want \"hi\\n\", \"\", 0", out, errOut, code)
	}
	if _, _, code := adbCmd(t, srv, "-s", s, "shell", "true"); code != 0 {
		t.Errorf("adb shell true: exit %d, want 0", code)
	}
	if _, _, code := adbCmd(t, srv, "-s", s, "shell", "false"); code != 1 {
		t.Errorf("adb shell false: exit %d, want 1", code)
	}
	out, errOut, code = adbCmd(t, srv, "-s", s, "shell", "nosuchcmd")
	if code != 127 || out != "" || !strings.Contains(errOut, "/system/bin/sh: nosuchcmd: not found") {
		t.Errorf("adb shell nosuchcmd: stdout %q stderr %q exit %d; want 127 and \"/system/bin/sh: nosuchcmd: not found\" on stderr", out, errOut, code)
	}
	if _, _, code := adbCmd(t, srv, "-s", s, "shell", "sh -c 'exit 5'"); code != 5 {
		t.Errorf("adb shell sh -c 'exit 5': exit %d, want 5", code)
	}
	if _, _, code := adbCmd(t, srv, "-s", s, "shell", "exit 42"); code != 42 {
		t.Errorf("adb shell exit 42: exit %d, want 42", code)
	}
	out, errOut, code = adbCmd(t, srv, "-s", s, "shell", "echo out; echo err >&2")
	if out != "out\n" || errOut != "err\n" || code != 0 {
		t.Errorf("adb shell 'echo out; echo err >&2': stdout %q stderr %q exit %d; want \"out\\n\", \"err\\n\", 0", out, errOut, code)
	}
	out, _, code = adbCmd(t, srv, "-s", s, "shell", "getprop", "ro.product.model")
	if want := loadProfile(t, "panel").Device.Model; out != want+"\n" || code != 0 {
		t.Errorf("adb shell getprop ro.product.model: %q (exit %d), want %q", out, code, want)
	}
	// A large output arrives whole.
	out, _, code = adbCmd(t, srv, "-s", s, "shell", "ps -A")
	if code != 0 || !strings.HasPrefix(out, "USER") || strings.Count(out, "\n") < 5 {
		t.Errorf("adb shell ps -A: exit %d, output %q", code, out)
	}
}

func TestADBGetpropMatchesProfile(t *testing.T) {
	for _, name := range []string{"panel", "tv"} {
		t.Run(name, func(t *testing.T) {
			p := loadProfile(t, name)
			srv, dev := connected(t, simulator.DeviceConfig{Profile: p})
			for prop, want := range map[string]string{
				"ro.product.model":         p.Device.Model,
				"ro.product.manufacturer":  p.Device.Manufacturer,
				"ro.build.version.sdk":     strconv.Itoa(p.Device.SDK),
				"ro.build.version.release": p.Device.Release,
			} {
				out, _, code := adbCmd(t, srv, "-s", dev.Serial(), "shell", "getprop", prop)
				if code != 0 || out != want+"\n" {
					t.Errorf("getprop %s = %q (exit %d), want %q", prop, out, code, want)
				}
			}
		})
	}
}

// threadtimeLine is a line of `adb logcat` (format threadtime) logged by
// `log -t T MSG`.
var threadtimeLine = regexp.MustCompile(`^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\s+\d+\s+\d+ I T\s*: (.*)$`)

func TestADBLogcat(t *testing.T) {
	srv, dev := connected(t, simulator.DeviceConfig{})
	s := dev.Serial()

	out, errOut, code := adbCmd(t, srv, "-s", s, "logcat", "-d")
	if code != 0 || strings.Count(out, "\n") < 1 {
		t.Fatalf("adb logcat -d: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A streaming `adb logcat` shows a line logged after it started.
	logcat := startLogcat(t, srv, s)
	lines := logcat.lines
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	msg := fmt.Sprintf("hello-%d", time.Now().UnixNano())
	if _, errOut, code := adbCmd(t, srv, "-s", s, "shell", "log", "-t", "T", msg); code != 0 {
		t.Fatalf("adb shell log -t T %s: exit %d: %s", msg, code, errOut)
	}
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("adb logcat ended before %q arrived", msg)
			}
			if strings.Contains(l, msg) {
				if m := threadtimeLine.FindStringSubmatch(l); m == nil || m[1] != msg {
					t.Errorf("line %q not in logcat's threadtime format with tag T", l)
				}
				return
			}
		case <-ctx.Done():
			t.Fatalf("%q not shown by adb logcat within %s", msg, opTimeout)
		}
	}
}

func TestADBDumpsysNamesResumedActivity(t *testing.T) {
	srv, dev := connected(t, simulator.DeviceConfig{})
	out, errOut, code := adbCmd(t, srv, "-s", dev.Serial(), "shell", "dumpsys", "activity", "activities")
	if code != 0 {
		t.Fatalf("dumpsys activity activities: exit %d: %s", code, errOut)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "ResumedActivity") && strings.Contains(l, "ActivityRecord{") {
			return
		}
	}
	t.Fatalf("no resumed activity in dumpsys activity activities:\n%s", out)
}

func TestADBUiautomatorDumpIsXML(t *testing.T) {
	srv, dev := connected(t, simulator.DeviceConfig{})
	out, errOut, code := adbCmd(t, srv, "-s", dev.Serial(), "shell", "uiautomator", "dump", "/dev/tty")
	if code != 0 {
		t.Fatalf("uiautomator dump /dev/tty: exit %d: %s", code, errOut)
	}
	// uiautomator follows the document with a note of where it went.
	doc, _, _ := strings.Cut(out, "UI hierchary dumped to:")
	type node struct {
		Class    string `xml:"class,attr"`
		Package  string `xml:"package,attr"`
		Bounds   string `xml:"bounds,attr"`
		Children []node `xml:"node"`
	}
	var h struct {
		XMLName xml.Name `xml:"hierarchy"`
		Nodes   []node   `xml:"node"`
	}
	if err := xml.Unmarshal([]byte(doc), &h); err != nil {
		t.Fatalf("uiautomator dump is not XML: %v\n%s", err, out)
	}
	if len(h.Nodes) == 0 || h.Nodes[0].Class == "" || h.Nodes[0].Bounds == "" {
		t.Fatalf("uiautomator dump has no root node: %+v", h)
	}
	// The whole document is well-formed, to its last token.
	dec := xml.NewDecoder(strings.NewReader(doc))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("uiautomator dump: %v", err)
		}
	}
}

func TestADBUnauthorizedDevice(t *testing.T) {
	srv := startServer(t)
	dev := startDevice(t, simulator.DeviceConfig{Auth: adbd.AuthReject})
	if text := adbConnect(t, srv, dev.Serial()); !strings.Contains(text, "failed to authenticate to "+dev.Serial()) {
		t.Errorf("adb connect to a device that rejects the key: %q", text)
	}
	waitListed(t, srv, "unauthorized", dev.Serial())
	if st := listedDevices(t, srv)[dev.Serial()]; st != "unauthorized" {
		t.Fatalf("adb devices: %s is %q, want unauthorized", dev.Serial(), st)
	}
	_, errOut, code := adbCmd(t, srv, "-s", dev.Serial(), "shell", "echo", "hi")
	if code == 0 || !strings.Contains(errOut, "unauthorized") {
		t.Fatalf("adb shell on an unauthorized device: exit %d, stderr %q", code, errOut)
	}
}

func TestADBClosedDeviceLeavesDeviceState(t *testing.T) {
	srv, dev := connected(t, simulator.DeviceConfig{})
	other := startDevice(t, simulator.DeviceConfig{})
	mustConnect(t, srv, other.Serial())
	waitListed(t, srv, "device", other.Serial())
	// A running `adb logcat` ends once the server has seen the device's
	// connection close; the server marks the device offline before it
	// closes the device's streams.
	logcat := startLogcat(t, srv, dev.Serial())
	dev.Close()
	select {
	case <-logcat.exited:
	case <-time.After(opTimeout):
		t.Fatalf("adb logcat still running %s after the device was closed", opTimeout)
	}
	// The device is offline (it stays listed while the server retries) or
	// dropped.
	waitList(t, srv, dev.Serial()+" not device", func(list map[string]string) bool {
		return list[dev.Serial()] != "device"
	})
	if st := listedDevices(t, srv)[dev.Serial()]; st == "device" {
		t.Fatalf("closed device still listed as device")
	}
	// `adb wait-for-disconnect` agrees and returns.
	if out, errOut, code := adbCmd(t, srv, "-s", dev.Serial(), "wait-for-disconnect"); code != 0 {
		t.Fatalf("adb wait-for-disconnect: exit %d: %s%s", code, out, errOut)
	}
	// The other device is untouched.
	if out, _, code := adbCmd(t, srv, "-s", other.Serial(), "shell", "echo", "still"); out != "still\n" || code != 0 {
		t.Fatalf("other device after the close: %q, exit %d", out, code)
	}
	// A restarted device at a new address connects at once.
	again := startDevice(t, simulator.DeviceConfig{})
	mustConnect(t, srv, again.Serial())
	waitListed(t, srv, "device", again.Serial(), other.Serial())
}
