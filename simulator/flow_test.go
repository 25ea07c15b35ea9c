package simulator_test

// The tests in this file and in defects_test.go drive a simulated farm the
// way a QA engineer would by hand: the wmpf-sim command runs the farm and
// places calls, the real adb server (started by each test on a port of its
// own) connects to the simulated devices, and every observation is made with
// the real adb command: logcat, pidof, dumpsys, uiautomator, input. No harness
// code is used.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// What the device contract and the vendor guide name.
const (
	hookTag       = "WmpfHilHook" // contract lines, one JSON object a line
	syncTag       = "WmpfHilTest" // this file's own barrier lines
	wmpfPkg       = "com.tencent.wmpf"
	hostPkg       = "com.example.voipdevice"
	appBrandUI    = "com.tencent.wmpf/com.tencent.mm.plugin.appbrand.ui.AppBrandUI00"
	callPagePath  = "plugin-private://wxf830863afde621eb/pages/call-page-plugin/call-page-plugin"
	answerText    = "接听"
	hangUpText    = "挂断"
	farmSeed      = "7301"
	adbCmdTimeout = 30 * time.Second
)

var (
	// wmpfSimBin is the wmpf-sim command built once for this test binary.
	wmpfSimBin string
	// moduleRoot is the directory of go.mod.
	moduleRoot string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "wmpf-sim-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "wmpf-sim")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wmpf-sim")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/wmpf-sim: %v\n%s", err, out)
		return 1
	}
	wmpfSimBin, moduleRoot = bin, root
	return m.Run()
}

func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/wmpf-hil/wmpf-hil\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod of github.com/wmpf-hil/wmpf-hil not found above the working directory")
		}
		dir = parent
	}
}

// --- the real adb server ---

type realADB struct {
	port int
	env  []string // for adb clients: HOME and ADB_SERVER_SOCKET
}

// baseEnv is the environment without anything that would point adb
// elsewhere.
func baseEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "ADB_SERVER_SOCKET", "ANDROID_ADB_SERVER_PORT", "ANDROID_ADB_SERVER_ADDRESS", "ANDROID_SERIAL", "ADB_EMU", "ADB_VENDOR_KEYS", "ADB_MDNS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "ADB_EMU=0")
}

// startRealADB starts `adb -P PORT server nodaemon` on a free port, with a
// HOME of the test's own, and kills it when the test ends.
func startRealADB(t *testing.T) *realADB {
	t.Helper()
	if _, err := exec.LookPath("adb"); err != nil {
		t.Fatalf("the adb command is needed: %v", err)
	}
	home := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		srv := exec.Command("adb", "-P", strconv.Itoa(port), "server", "nodaemon")
		srv.Env = baseEnv(home)
		out := &syncBuffer{}
		srv.Stdout, srv.Stderr = out, out
		if err := srv.Start(); err != nil {
			t.Fatalf("start adb server: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- srv.Wait() }()
		up := false
		deadline := time.Now().Add(15 * time.Second)
		for !up && time.Now().Before(deadline) {
			select {
			case err := <-exited:
				lastErr = fmt.Errorf("adb server on port %d exited at once (%v): %s", port, err, out.String())
				deadline = time.Time{}
				continue
			case <-time.After(50 * time.Millisecond):
			}
			if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
				c.Close()
				up = true
			}
		}
		if !up {
			if lastErr == nil {
				lastErr = fmt.Errorf("adb server on port %d did not listen within 15 s: %s", port, out.String())
			}
			_ = srv.Process.Kill()
			continue
		}
		t.Cleanup(func() {
			_ = srv.Process.Kill()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Errorf("adb server (pid %d) did not exit after SIGKILL", srv.Process.Pid)
			}
		})
		a := &realADB{port: port, env: append(baseEnv(home), fmt.Sprintf("ADB_SERVER_SOCKET=tcp:127.0.0.1:%d", port))}
		if _, stderr, code := a.run(t, "devices"); code != 0 {
			t.Fatalf("adb devices: exit %d: %s", code, stderr)
		}
		return a
	}
	t.Fatalf("could not start an adb server: %v", lastErr)
	return nil
}

// freePort returns a TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run runs the adb command against this test's server; code is its exit
// status.
func (a *realADB) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adbCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", args...)
	cmd.Env = a.env
	cmd.WaitDelay = 5 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("adb %s: %v (stderr %q)", strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String(), code
}

// --- the simulated farm, run by wmpf-sim ---

type farmDevice struct{ serial, sn, model string }

type simFarm struct {
	api, token string
	devices    []farmDevice
}

var (
	readyLine = regexp.MustCompile(`^READY serial=(\S+) sn=(\S+) model=(\S+)$`)
	apiLine   = regexp.MustCompile(`^API url=(\S+) token=(\S+)$`)
)

// startSimFarm runs `wmpf-sim farm -n N -port P args…` on free ports and
// stops it with SIGINT when the test ends, checking that it exits 0.
func startSimFarm(t *testing.T, n int, args ...string) *simFarm {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		base := freePortRun(t, n)
		f, err := tryFarm(t, base, n, args)
		if err == nil {
			return f
		}
		lastErr = err
	}
	t.Fatalf("wmpf-sim farm: %v", lastErr)
	return nil
}

// freePortRun returns the first of n consecutive free ports below the
// ephemeral range and clear of 5555-5585.
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(12000-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d free consecutive ports found", n)
	return 0
}

func tryFarm(t *testing.T, base, n int, args []string) (*simFarm, error) {
	all := append([]string{"farm", "-n", strconv.Itoa(n), "-port", strconv.Itoa(base),
		"-profiles", filepath.Join(moduleRoot, "fixtures", "profiles"), "-seed", farmSeed}, args...)
	cmd := exec.Command(wmpfSimBin, all...)
	cmd.Dir = moduleRoot
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// One goroutine reads stdout to its end (so that the farm never blocks
	// on it) and hands over the farm once the API line is read.
	ready := make(chan *simFarm, 1)
	exited := make(chan error, 1)
	go func() {
		f := &simFarm{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f == nil {
				continue
			}
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				f.devices = append(f.devices, farmDevice{serial: m[1], sn: m[2], model: m[3]})
			} else if m := apiLine.FindStringSubmatch(sc.Text()); m != nil {
				f.api, f.token = m[1], m[2]
				ready <- f
				f = nil
			}
		}
		exited <- cmd.Wait()
	}()
	var f *simFarm
	select {
	case f = <-ready:
	case err := <-exited:
		return nil, fmt.Errorf("exited before it was ready (%v): %s", err, stderr.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return nil, fmt.Errorf("not ready within 30 s: %s", stderr.String())
	}
	t.Cleanup(func() {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("SIGINT to wmpf-sim farm: %v", err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("wmpf-sim farm after SIGINT: %v; stderr:\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("wmpf-sim farm did not exit within 20 s of SIGINT; stderr:\n%s", stderr.String())
		}
	})
	if len(f.devices) != n {
		t.Fatalf("wmpf-sim farm printed %d READY lines, want %d", len(f.devices), n)
	}
	return f, nil
}

// call runs `wmpf-sim call` and returns the room and group ids it printed.
func (f *simFarm) call(t *testing.T, sn, caller string, extra ...string) (roomID, groupID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"call", "--api", f.api, "--token", f.token, "--sn", sn, "--room", "video", "--caller", caller}, extra...)
	cmd := exec.CommandContext(ctx, wmpfSimBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("wmpf-sim call --sn %s --caller %q: %v\nstdout: %s\nstderr: %s", sn, caller, err, o.String(), e.String())
	}
	if m := regexp.MustCompile(`(?m)^roomId=(\S+)$`).FindStringSubmatch(o.String()); m != nil {
		roomID = m[1]
	}
	if m := regexp.MustCompile(`(?m)^\s*groupId=(\S+)$`).FindStringSubmatch(e.String()); m != nil {
		groupID = m[1]
	}
	if roomID == "" || groupID == "" {
		t.Fatalf("wmpf-sim call: no roomId/groupId in stdout %q stderr %q", o.String(), e.String())
	}
	return roomID, groupID
}

// room actions and reads through the WeChat side's HTTP API
// (docs/wechat-sim.md).

type simRoom struct {
	RoomID    string `json:"roomId"`
	GroupID   string `json:"groupId"`
	State     string `json:"state"`
	EndReason string `json:"endReason"`
}

type simPush struct {
	ID          string    `json:"id"`
	RoomID      string    `json:"roomId"`
	GroupID     string    `json:"groupId"`
	Status      string    `json:"status"`
	QueuedAt    time.Time `json:"queuedAt"`
	DeliveredAt time.Time `json:"deliveredAt"`
}

func (f *simFarm) http(t *testing.T, method, path string, query url.Values, out any) {
	t.Helper()
	if query == nil {
		query = url.Values{}
	}
	query.Set("access_token", f.token)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.api+path+"?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, body)
		}
	}
}

// roomAction is POST /sim/voip/rooms/{roomId}/{action}: the caller cancels a
// ringing call or hangs up an answered one.
func (f *simFarm) roomAction(t *testing.T, roomID, action string) simRoom {
	t.Helper()
	var r simRoom
	f.http(t, http.MethodPost, "/sim/voip/rooms/"+url.PathEscape(roomID)+"/"+action, nil, &r)
	return r
}

func (f *simFarm) room(t *testing.T, roomID string) simRoom {
	t.Helper()
	var r simRoom
	f.http(t, http.MethodGet, "/sim/voip/rooms/"+url.PathEscape(roomID), nil, &r)
	return r
}

func (f *simFarm) push(t *testing.T, roomID string) simPush {
	t.Helper()
	var res struct{ Pushes []simPush }
	f.http(t, http.MethodGet, "/sim/pushes", url.Values{"roomId": {roomID}}, &res)
	if len(res.Pushes) != 1 {
		t.Fatalf("pushes of room %s: %+v, want one", roomID, res.Pushes)
	}
	return res.Pushes[0]
}

// --- one device, seen through adb ---

type simDev struct {
	adb *realADB
	farmDevice
	log *hookLog
}

// rig is an adb server of the test's own, a farm, and its devices connected
// and booted (WMPF activated, push listener registered, push token got).
type rig struct {
	adb  *realADB
	farm *simFarm
	devs []*simDev
}

func newRig(t *testing.T, n int, farmArgs ...string) *rig {
	t.Helper()
	r := &rig{adb: startRealADB(t)}
	r.farm = startSimFarm(t, n, farmArgs...)
	for _, fd := range r.farm.devices {
		out, _, _ := r.adb.run(t, "connect", fd.serial)
		if !strings.Contains(out, "connected to "+fd.serial) {
			t.Fatalf("adb connect %s: %q", fd.serial, out)
		}
		d := &simDev{adb: r.adb, farmDevice: fd}
		pollUntil(t, 15*time.Second, 100*time.Millisecond, "adb get-state of "+fd.serial+" is device", func() bool {
			out, _, code := r.adb.run(t, "-s", fd.serial, "get-state")
			return code == 0 && strings.TrimSpace(out) == "device"
		})
		d.log = startHookLog(t, d)
		r.devs = append(r.devs, d)
	}
	for _, d := range r.devs {
		// The push token comes last in the app's start-up (after the
		// listener, even a late one): the device can be called.
		d.log.wait(t, 0, 30*time.Second, "push_token at boot", isEv("push_token"))
	}
	return r
}

// adbs runs `adb -s SERIAL args…`.
func (d *simDev) adbs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return d.adb.run(t, append([]string{"-s", d.serial}, args...)...)
}

// shell runs `adb -s SERIAL shell CMD` and fails the test unless it exits 0.
func (d *simDev) shell(t *testing.T, cmd string) string {
	t.Helper()
	out, stderr, code := d.adbs(t, "shell", cmd)
	if code != 0 {
		t.Fatalf("adb -s %s shell %s: exit %d, stdout %q, stderr %q", d.serial, cmd, code, out, stderr)
	}
	return out
}

// pidof is `adb shell pidof NAME`: "" when no such process runs.
func (d *simDev) pidof(t *testing.T, name string) string {
	t.Helper()
	out, stderr, code := d.adbs(t, "shell", "pidof "+name)
	out = strings.TrimSpace(out)
	if code != 0 && (code != 1 || out != "") {
		t.Fatalf("adb shell pidof %s: exit %d, stdout %q, stderr %q", name, code, out, stderr)
	}
	return out
}

var resumedRE = regexp.MustCompile(`(?m)^\s*(m?)ResumedActivity: ActivityRecord\{\S+ \S+ ([^\s}]+)`)

// resumedActivity reads the resumed activity from `dumpsys activity
// activities` ("" if none).
func (d *simDev) resumedActivity(t *testing.T) string {
	t.Helper()
	out := d.shell(t, "dumpsys activity activities")
	first := ""
	for _, m := range resumedRE.FindAllStringSubmatch(out, -1) {
		if m[1] == "" { // the display-wide "ResumedActivity:" line
			return m[2]
		}
		if first == "" {
			first = m[2]
		}
	}
	return first
}

type uiNode struct {
	Text        string   `xml:"text,attr"`
	Class       string   `xml:"class,attr"`
	Package     string   `xml:"package,attr"`
	ContentDesc string   `xml:"content-desc,attr"`
	Clickable   bool     `xml:"clickable,attr"`
	Enabled     bool     `xml:"enabled,attr"`
	Bounds      string   `xml:"bounds,attr"`
	Nodes       []uiNode `xml:"node"`
}

// uiNodes is `uiautomator dump /dev/tty`, flattened.
func (d *simDev) uiNodes(t *testing.T) []uiNode {
	t.Helper()
	out := d.shell(t, "uiautomator dump /dev/tty")
	end := strings.LastIndex(out, "</hierarchy>")
	if end < 0 {
		t.Fatalf("uiautomator dump: no </hierarchy> in %q", out)
	}
	var h struct {
		Nodes []uiNode `xml:"node"`
	}
	if err := xml.Unmarshal([]byte(out[:end+len("</hierarchy>")]), &h); err != nil {
		t.Fatalf("uiautomator dump: %v in %q", err, out)
	}
	var flat []uiNode
	var walk func([]uiNode)
	walk = func(ns []uiNode) {
		for _, n := range ns {
			flat = append(flat, n)
			walk(n.Nodes)
		}
	}
	walk(h.Nodes)
	return flat
}

func findNode(nodes []uiNode, text string) (uiNode, bool) {
	for _, n := range nodes {
		if n.Text == text {
			return n, true
		}
	}
	return uiNode{}, false
}

func nodeTexts(nodes []uiNode) []string {
	var out []string
	for _, n := range nodes {
		if n.Text != "" {
			out = append(out, n.Text)
		}
	}
	return out
}

var boundsRE = regexp.MustCompile(`^\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]$`)

func center(t *testing.T, n uiNode) (x, y int) {
	t.Helper()
	m := boundsRE.FindStringSubmatch(n.Bounds)
	if m == nil {
		t.Fatalf("node %q: bounds %q", n.Text, n.Bounds)
	}
	v := make([]int, 4)
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return (v[0] + v[2]) / 2, (v[1] + v[3]) / 2
}

// configure sends the host app's CONFIGURE broadcast and waits for its
// "configured" line.
func (d *simDev) configure(t *testing.T, extras string) {
	t.Helper()
	from := d.log.sync(t)
	out := d.shell(t, "am broadcast -a wmpf.hil.action.CONFIGURE -p "+hostPkg+" "+extras)
	if !strings.Contains(out, "Broadcast completed") {
		t.Fatalf("am broadcast CONFIGURE: %q", out)
	}
	l, _ := d.log.wait(t, from, 10*time.Second, "configured", isEv("configured"))
	if ok, _ := l.ev["ok"].(bool); !ok {
		t.Fatalf("CONFIGURE %s refused: %s", extras, l.msg)
	}
}

// --- the contract log, streamed with adb logcat ---

type hookLine struct {
	at   time.Time // logcat time stamp (device clock), from -v epoch,usec
	pid  int
	tag  string
	msg  string
	ev   map[string]any // the JSON object of a contract line, nil otherwise
	seen time.Time      // host time the line was read
}

func (l hookLine) name() string          { s, _ := l.ev["ev"].(string); return s }
func (l hookLine) str(key string) string { s, _ := l.ev[key].(string); return s }

func (l hookLine) num(key string) (int, bool) {
	n, ok := l.ev[key].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil
}

type hookLog struct {
	d *simDev

	mu      sync.Mutex
	lines   []hookLine
	changed chan struct{} // closed and replaced on every new line
	ended   error         // set when the stream ends
	nsync   int
}

var logcatLine = regexp.MustCompile(`^\s*(\d+)\.(\d{6})\s+(\d+)\s+(\d+)\s+([VDIWEFA])\s+(\S+?)\s*: (.*)$`)

// startHookLog streams `adb logcat -v epoch,usec -s WmpfHilHook WmpfHilTest`
// from the device until the test ends.
func startHookLog(t *testing.T, d *simDev) *hookLog {
	t.Helper()
	h := &hookLog{d: d, changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "adb", "-s", d.serial, "logcat", "-v", "epoch,usec", "-s", hookTag, syncTag)
	cmd.Env = d.adb.env
	cmd.WaitDelay = 5 * time.Second
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m := logcatLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue // "--------- beginning of main" and the like
			}
			sec, _ := strconv.ParseInt(m[1], 10, 64)
			usec, _ := strconv.ParseInt(m[2], 10, 64)
			pid, _ := strconv.Atoi(m[3])
			l := hookLine{at: time.Unix(sec, usec*1000), pid: pid, tag: m[6], msg: m[7], seen: time.Now()}
			if l.tag == hookTag {
				dec := json.NewDecoder(strings.NewReader(l.msg))
				dec.UseNumber()
				var ev map[string]any
				if dec.Decode(&ev) == nil {
					l.ev = ev
				}
			}
			h.mu.Lock()
			h.lines = append(h.lines, l)
			close(h.changed)
			h.changed = make(chan struct{})
			h.mu.Unlock()
		}
		err := cmd.Wait()
		h.mu.Lock()
		h.ended = fmt.Errorf("adb logcat ended (%v): %s", err, stderr.String())
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

// wait returns the first line at index from or later that matches, and the
// index after it; it fails the test after timeout.
func (h *hookLog) wait(t *testing.T, from int, timeout time.Duration, what string, match func(hookLine) bool) (hookLine, int) {
	t.Helper()
	l, next, ok := h.await(from, time.Now().Add(timeout), match)
	if !ok {
		t.Fatalf("%s: no %s within %v; contract lines since #%d:\n%s", h.d.serial, what, timeout, from, h.dump(from))
	}
	return l, next
}

// await is wait without failing: ok is false when deadline passes.
func (h *hookLog) await(from int, deadline time.Time, match func(hookLine) bool) (hookLine, int, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for i := from; ; {
		h.mu.Lock()
		for ; i < len(h.lines); i++ {
			if match(h.lines[i]) {
				l := h.lines[i]
				h.mu.Unlock()
				return l, i + 1, true
			}
		}
		changed, ended := h.changed, h.ended
		h.mu.Unlock()
		if ended != nil {
			return hookLine{}, i, false
		}
		select {
		case <-changed:
		case <-timer.C:
			return hookLine{}, i, false
		}
	}
}

// find returns the matching lines from index from on, as read so far.
func (h *hookLog) find(from int, match func(hookLine) bool) []hookLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookLine
	for _, l := range h.lines[min(from, len(h.lines)):] {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

func (h *hookLog) dump(from int) string {
	var sb strings.Builder
	for _, l := range h.find(from, func(hookLine) bool { return true }) {
		fmt.Fprintf(&sb, "  %s %d %s: %s\n", l.at.Format("15:04:05.000000"), l.pid, l.tag, l.msg)
	}
	return sb.String()
}

// sync writes a marker line on the device (log -t WmpfHilTest) and waits
// until the stream has read it: every line logged before is then in the
// log, and the index returned is where lines logged after begin.
func (h *hookLog) sync(t *testing.T) int {
	t.Helper()
	h.mu.Lock()
	h.nsync++
	token := fmt.Sprintf("sync-%d-%d", h.nsync, time.Now().UnixNano())
	h.mu.Unlock()
	h.d.shell(t, "log -t "+syncTag+" "+token)
	_, next := h.wait(t, 0, 15*time.Second, "sync marker "+token, func(l hookLine) bool { return l.tag == syncTag && l.msg == token })
	return next
}

// matchers for contract lines

func isEv(name string) func(hookLine) bool {
	return func(l hookLine) bool { return l.ev != nil && l.name() == name }
}

// evFor matches a contract line of a call: its groupId field, or for
// push_received and launch_called the groupId in the message or path.
func evFor(name, groupID string) func(hookLine) bool {
	return func(l hookLine) bool {
		if l.ev == nil || l.name() != name {
			return false
		}
		switch name {
		case "push_received":
			return strings.Contains(l.str("msg"), "groupId="+groupID+"&")
		case "launch_called":
			return strings.Contains(l.str("path"), "groupId="+groupID+"&")
		}
		return l.str("groupId") == groupID
	}
}

func voipEv(eventName, groupID string) func(hookLine) bool {
	return func(l hookLine) bool {
		return l.ev != nil && l.name() == "voip_event" && l.str("eventName") == eventName && l.str("groupId") == groupID
	}
}

// pushPath is the path in a push_received line's message.
func pushPath(t *testing.T, l hookLine) (path string, appType int, appID string) {
	t.Helper()
	var pm struct {
		Path    string `json:"path"`
		AppType int    `json:"appType"`
		AppID   string `json:"appid"`
	}
	if err := json.Unmarshal([]byte(l.str("msg")), &pm); err != nil {
		t.Fatalf("push_received msg %q: %v", l.str("msg"), err)
	}
	return pm.Path, pm.AppType, pm.AppID
}

// --- small things ---

// jsEncodeURIComponent is JavaScript's encodeURIComponent for valid UTF-8:
// every byte but A-Z a-z 0-9 - _ . ! ~ * ' ( ) as %XX, upper-case hex.
func jsEncodeURIComponent(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// callPathFor is the call page path the WeChat side pushes for a call.
func callPathFor(roomType, groupID, sn, caller string) string {
	return callPagePath + "?roomType=" + jsEncodeURIComponent(roomType) + "&groupId=" + jsEncodeURIComponent(groupID) +
		"&listenerId=" + jsEncodeURIComponent(sn) + "&callerName=" + jsEncodeURIComponent(caller)
}

// pollUntil calls cond every interval (at least 50 ms) until it holds, and
// fails the test after timeout.
func pollUntil(t *testing.T, timeout, interval time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	interval = max(interval, 50*time.Millisecond)
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// --- the tests ---

func TestJSEncodeURIComponent(t *testing.T) {
	// Outputs of encodeURIComponent in a JavaScript engine.
	for in, want := range map[string]string{
		`Tom & "Jerry" 100% 张三`: "Tom%20%26%20%22Jerry%22%20100%25%20%E5%BC%A0%E4%B8%89",
		"A-Z_a.z!~*'()09":       "A-Z_a.z!~*'()09",
		"a+b=c/d?e#f":           "a%2Bb%3Dc%2Fd%3Fe%23f",
		"😀\n":                   "%F0%9F%98%80%0A",
	} {
		if got := jsEncodeURIComponent(in); got != want {
			t.Errorf("jsEncodeURIComponent(%q) = %q, want %q", in, got, want)
		}
	}
}

// A call reaches the device: the host app launches exactly the pushed call
// page path, the call page is the resumed activity, and a tap on its answer
// button answers.
func TestFlowCallLaunchesPushedPathAndTapAnswers(t *testing.T) {
	r := newRig(t, 1)
	d := r.devs[0]
	const caller = `Tom & "Jerry" 100% 张三`

	from := d.log.sync(t)
	roomID, groupID := r.farm.call(t, d.sn, caller)
	want := callPathFor("video", groupID, d.sn, caller)

	push, _ := d.log.wait(t, from, 20*time.Second, "push_received for "+groupID, evFor("push_received", groupID))
	path, appType, appID := pushPath(t, push)
	if path != want {
		t.Errorf("pushed path\n got %q\nwant %q", path, want)
	}
	launch, next := d.log.wait(t, from, 20*time.Second, "launch_called for "+groupID, evFor("launch_called", groupID))
	if got := launch.str("path"); got != want {
		t.Errorf("launch_called path is not the pushed path byte for byte\n got %q\nwant %q", got, want)
	}
	if got, _ := launch.num("appType"); got != appType || appType != 0 {
		t.Errorf("launch_called appType %d, push appType %d, want 0 for a release caller", got, appType)
	}
	if got := launch.str("appid"); got != appID || !regexp.MustCompile(`^wx[0-9a-f]{16}$`).MatchString(got) {
		t.Errorf("launch_called appid %q, push appid %q", got, appID)
	}

	shown, _ := d.log.wait(t, next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", groupID))
	t.Logf("launch_called → callPageOnShow: %v (device clock)", shown.at.Sub(launch.at))
	if got := d.resumedActivity(t); got != appBrandUI {
		t.Fatalf("resumed activity %q, want %q", got, appBrandUI)
	}
	nodes := d.uiNodes(t)
	if _, ok := findNode(nodes, caller); !ok {
		t.Errorf("the call page does not show the caller's name %q decoded; texts: %q", caller, nodeTexts(nodes))
	}
	answer, ok := findNode(nodes, answerText)
	if !ok || !answer.Clickable || !answer.Enabled || answer.Package != wmpfPkg {
		t.Fatalf("no enabled, clickable %s button of %s in the UI tree: %+v", answerText, wmpfPkg, nodeTexts(nodes))
	}
	x, y := center(t, answer)

	tapFrom := d.log.sync(t)
	d.shell(t, fmt.Sprintf("input tap %d %d", x, y))
	ans, _ := d.log.wait(t, tapFrom, 15*time.Second, "hangOnVoip after the tap", voipEv("hangOnVoip", groupID))
	if data, _ := ans.ev["data"].(map[string]any); data["auto"] != false {
		t.Errorf("hangOnVoip data %v: want auto=false for an answer by tap", data)
	}
	t.Logf("tap at (%d,%d) → hangOnVoip %s", x, y, ans.msg)

	// The caller hangs up; the call ends on the device.
	d.log.wait(t, tapFrom, 15*time.Second, "joinedRoomByCaller", voipEv("joinedRoomByCaller", groupID))
	if room := r.farm.roomAction(t, roomID, "hangup"); room.State != "ended" {
		t.Errorf("room after hangup: %+v", room)
	}
	d.log.wait(t, tapFrom, 15*time.Second, "finishVoip", voipEv("finishVoip", groupID))
}

// WMPF killed by force-stop or by kill -9 comes back: the host app's
// lifecycle listener restarts it, activates it and registers again, and
// the next call launches.
func TestFlowWMPFRestartsAfterForceStopAndKill(t *testing.T) {
	r := newRig(t, 1)
	d := r.devs[0]
	for _, how := range []string{"force-stop", "kill-9"} {
		t.Run(how, func(t *testing.T) {
			pid0 := d.pidof(t, wmpfPkg)
			if pid0 == "" {
				t.Fatalf("%s is not running", wmpfPkg)
			}
			from := d.log.sync(t)
			start := time.Now()
			if how == "force-stop" {
				d.shell(t, "am force-stop "+wmpfPkg)
			} else {
				d.shell(t, "kill -9 "+pid0)
			}
			var pid1 string
			pollUntil(t, 10*time.Second, 50*time.Millisecond, "a new pid of "+wmpfPkg, func() bool {
				pid1 = d.pidof(t, wmpfPkg)
				return pid1 != "" && pid1 != pid0
			})
			took := time.Since(start)
			died, next := d.log.wait(t, from, 15*time.Second, "wmpf_died", isEv("wmpf_died"))
			restarted, next := d.log.wait(t, next, 15*time.Second, "wmpf_restarted after wmpf_died", isEv("wmpf_restarted"))
			activated, next := d.log.wait(t, next, 15*time.Second, "wmpf_activated after wmpf_restarted", isEv("wmpf_activated"))
			if ok, _ := activated.ev["ok"].(bool); !ok {
				t.Fatalf("wmpf_activated: %s", activated.msg)
			}
			registered, next := d.log.wait(t, next, 15*time.Second, "listener_registered after wmpf_activated", isEv("listener_registered"))
			back := registered.at.Sub(died.at)
			t.Logf("%s: pid %s → %s seen after %v; wmpf_died → wmpf_restarted %v, → listener_registered %v (device clock)",
				how, pid0, pid1, took.Round(time.Millisecond), restarted.at.Sub(died.at).Round(time.Millisecond), back.Round(time.Millisecond))
			if back > 10*time.Second {
				t.Errorf("WMPF took %v from wmpf_died to listener_registered, want at most 10 s", back)
			}

			roomID, groupID := r.farm.call(t, d.sn, "after "+how)
			launch, _ := d.log.wait(t, next, 20*time.Second, "launch_called of the next call", evFor("launch_called", groupID))
			if got, want := launch.str("path"), callPathFor("video", groupID, d.sn, "after "+how); got != want {
				t.Errorf("launch path\n got %q\nwant %q", got, want)
			}
			if room := r.farm.roomAction(t, roomID, "cancel"); room.State != "ended" {
				t.Errorf("room after cancel: %+v", room)
			}
		})
	}
}

// checkStaysDead checks, for window from start, that pidof finds no WMPF
// process and that the app never logs wmpf_restarted.
func checkStaysDead(t *testing.T, d *simDev, from int, start time.Time, window time.Duration) {
	t.Helper()
	polls := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < window {
		if pid := d.pidof(t, wmpfPkg); pid != "" {
			t.Fatalf("%s: %s runs again (pid %s) %v after force-stop: it should stay dead", d.serial, wmpfPkg, pid, time.Since(start))
		}
		polls++
		<-tick.C
	}
	d.log.sync(t)
	if l := d.log.find(from, isEv("wmpf_restarted")); len(l) > 0 {
		t.Errorf("%s: wmpf_restarted logged: %s", d.serial, l[0].msg)
	}
	if pid := d.pidof(t, hostPkg); pid == "" {
		t.Errorf("%s: the host app died too", d.serial)
	}
	t.Logf("%s: pidof %s empty in all %d polls over %v; no wmpf_restarted; wmpf_died lines: %d",
		d.serial, wmpfPkg, polls, window, len(d.log.find(from, isEv("wmpf_died"))))
}

// Without the lifecycle listener, a force-stopped WMPF stays dead.
func TestFlowNoLifecycleListenerWMPFStaysDead(t *testing.T) {
	r := newRig(t, 1, "--defect", "0:no-lifecycle-listener")
	d := r.devs[0]
	if d.pidof(t, wmpfPkg) == "" {
		t.Fatalf("%s is not running", wmpfPkg)
	}
	from := d.log.sync(t)
	start := time.Now()
	d.shell(t, "am force-stop "+wmpfPkg)
	// The restart time of the panel profile is about deathNotice + wmpfBoot
	// (well under 2 s at p99): 8 s is several times that.
	checkStaysDead(t, d, from, start, 8*time.Second)
}

// A push sent while WMPF is down is queued by WeChat and delivered once the
// host app has brought WMPF back.
func TestFlowPushWhileWMPFDownArrivesAfterRestart(t *testing.T) {
	r := newRig(t, 1, "-clock-offset", "0s")
	d := r.devs[0]
	from := d.log.sync(t)
	d.shell(t, "am force-stop "+wmpfPkg)
	roomID, groupID := r.farm.call(t, d.sn, "while down")
	queued := r.farm.push(t, roomID)
	t.Logf("push %s right after the call: status %s", queued.ID, queued.Status)

	_, next := d.log.wait(t, from, 15*time.Second, "wmpf_died", isEv("wmpf_died"))
	_, next = d.log.wait(t, next, 15*time.Second, "wmpf_restarted", isEv("wmpf_restarted"))
	activated, next := d.log.wait(t, next, 15*time.Second, "wmpf_activated", isEv("wmpf_activated"))
	if got := d.log.find(from, evFor("push_received", groupID)); len(got) > 0 && got[0].at.Before(activated.at) {
		t.Fatalf("push_received before WMPF was activated again: %s", got[0].msg)
	}
	recv, next := d.log.wait(t, next, 20*time.Second, "push_received for "+groupID+" after the restart", evFor("push_received", groupID))
	// The device clock has no offset (-clock-offset 0s): the WeChat side's
	// queue time and the device's log time are on one clock.
	if !queued.QueuedAt.Before(activated.at) {
		t.Errorf("the push was queued at %v, not before WMPF was activated again at %v: the call did not reach WMPF while it was down",
			queued.QueuedAt, activated.at)
	}
	if path, _, _ := pushPath(t, recv); path != callPathFor("video", groupID, d.sn, "while down") {
		t.Errorf("pushed path %q", path)
	}
	d.log.wait(t, next, 20*time.Second, "launch_called for "+groupID, evFor("launch_called", groupID))
	delivered := r.farm.push(t, roomID)
	t.Logf("queued %v, WMPF activated again %v later, delivered %v after queueing (status now %s)",
		queued.QueuedAt.Format("15:04:05.000"), activated.at.Sub(queued.QueuedAt).Round(time.Millisecond),
		delivered.DeliveredAt.Sub(queued.QueuedAt).Round(time.Millisecond), delivered.Status)
	if room := r.farm.roomAction(t, roomID, "cancel"); room.State != "ended" {
		t.Errorf("room after cancel: %+v", room)
	}
}

// --- the system's own lines: the witness of the host app's steps ---

const (
	wmpfMPProc = "com.tencent.wmpf:appbrand0"
	// The stages the simulator reports for the system's lines of the Mini
	// Program's start (simulator/wmpf).
	stageActivityStart = "activity_start"
	stageProcessStart  = "process_start"
	stageDisplayed     = "activity_displayed"
)

var (
	// Android 11's ActivityStarter, ProcessList and ActivityMetricsLogger
	// texts for AppBrandUI00.
	witnessStartRE = regexp.MustCompile(`^START u0 \{(?:.* )?cmp=` + regexp.QuoteMeta(appBrandUI) + `(?: .*)?\} from uid (\d+)$`)
	witnessProcRE  = regexp.MustCompile(`^Start proc (\d+):` + regexp.QuoteMeta(wmpfMPProc) + `/u0a(\d+) for pre-top-activity \{com\.tencent\.wmpf/com\.tencent\.mm\.plugin\.appbrand\.ui\.AppBrandUI00\}$`)
	witnessDispRE  = regexp.MustCompile(`^Displayed ` + regexp.QuoteMeta(appBrandUI) + `: \+(?:(\d+)s)?(\d+)ms$`)
)

// witness is the system's lines of the Mini Program's starts, as
// `adb logcat -d -v epoch,usec` shows them.
type witness struct {
	starts, procs, displayed []hookLine
}

func (d *simDev) witness(t *testing.T) witness {
	t.Helper()
	out, stderr, code := d.adbs(t, "logcat", "-d", "-v", "epoch,usec", "-s", "ActivityTaskManager", "ActivityManager")
	if code != 0 {
		t.Fatalf("adb logcat -d: exit %d: %s", code, stderr)
	}
	var w witness
	for _, line := range strings.Split(out, "\n") {
		m := logcatLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		usec, _ := strconv.ParseInt(m[2], 10, 64)
		pid, _ := strconv.Atoi(m[3])
		l := hookLine{at: time.Unix(sec, usec*1000), pid: pid, tag: m[6], msg: m[7]}
		switch {
		case l.tag == "ActivityTaskManager" && witnessStartRE.MatchString(l.msg):
			w.starts = append(w.starts, l)
		case l.tag == "ActivityManager" && witnessProcRE.MatchString(l.msg):
			w.procs = append(w.procs, l)
		case l.tag == "ActivityTaskManager" && witnessDispRE.MatchString(l.msg):
			w.displayed = append(w.displayed, l)
		}
	}
	return w
}

// displayedDelay is the +Ns NNNms of a Displayed line.
func displayedDelay(l hookLine) time.Duration {
	m := witnessDispRE.FindStringSubmatch(l.msg)
	s, _ := strconv.Atoi(m[1])
	ms, _ := strconv.Atoi(m[2])
	return time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond
}

type truthStamp struct {
	Stage   string    `json:"stage"`
	GroupID string    `json:"groupId"`
	At      time.Time `json:"at"`
}

// truth waits until the WeChat side holds the stages of groupID that the
// device reports (they arrive asynchronously) and returns every stamp of
// that call, by stage, in the order received.
func (f *simFarm) truth(t *testing.T, sn, groupID string, stages ...string) map[string][]time.Time {
	t.Helper()
	var got map[string][]time.Time
	pollUntil(t, 10*time.Second, 50*time.Millisecond, fmt.Sprintf("ground truth %v of %s", stages, groupID), func() bool {
		var res struct{ Truth []truthStamp }
		f.http(t, http.MethodGet, "/sim/truth", url.Values{"sn": {sn}}, &res)
		got = map[string][]time.Time{}
		for _, s := range res.Truth {
			if s.GroupID == groupID {
				got[s.Stage] = append(got[s.Stage], s.At)
			}
		}
		for _, st := range stages {
			if len(got[st]) == 0 {
				return false
			}
		}
		return true
	})
	return got
}

// near reports whether a and b are within tol of each other.
func near(a, b time.Time, tol time.Duration) bool {
	d := a.Sub(b)
	return d >= -tol && d <= tol
}

// The system logs START, Start proc (cold) and Displayed for the Mini
// Program's launch when each happens: the lines' logcat times (device
// clock) are the simulator's ground truth of those steps, converted, within
// 1 ms; they bracket the host app's own lines as the steps do; a second
// call to the running Mini Program logs START only.
func TestFlowWitnessLinesAtTheTrueTime(t *testing.T) {
	const offset = -2500 * time.Millisecond // device clock behind the host's
	r := newRig(t, 1, "-clock-offset", offset.String())
	d := r.devs[0]
	toHost := func(dev time.Time) time.Time { return dev.Add(-offset) }

	c := callAndLaunch(t, r, d, "Witness")
	shown, _ := d.log.wait(t, c.next, 30*time.Second, "callPageOnShow", voipEv("callPageOnShow", c.groupID))
	w := d.witness(t)
	if len(w.starts) != 1 || len(w.procs) != 1 || len(w.displayed) != 1 {
		t.Fatalf("first call (cold): %d START, %d Start proc, %d Displayed lines of AppBrandUI00, want one each:\n%+v", len(w.starts), len(w.procs), len(w.displayed), w)
	}
	start, proc, disp := w.starts[0], w.procs[0], w.displayed[0]
	tr := r.farm.truth(t, d.sn, c.groupID, "launch_called", "page_shown", stageActivityStart, stageProcessStart, stageDisplayed)
	for _, x := range []struct {
		line  hookLine
		stage string
	}{{start, stageActivityStart}, {proc, stageProcessStart}, {disp, stageDisplayed}, {c.launch, "launch_called"}, {shown, "page_shown"}} {
		if got := tr[x.stage]; len(got) != 1 || !near(toHost(x.line.at), got[0], time.Millisecond) {
			t.Errorf("%s: logcat %s (host %s), ground truth %v: want one stamp within 1 ms\n  %s",
				x.stage, x.line.at.Format("15:04:05.000000"), toHost(x.line.at).Format("15:04:05.000000"), got, x.line.msg)
		}
	}
	// Who started what.
	m := witnessProcRE.FindStringSubmatch(proc.msg)
	if pid := d.pidof(t, wmpfMPProc); pid != m[1] {
		t.Errorf("Start proc pid %s, pidof %s %q", m[1], wmpfMPProc, pid)
	}
	appID, _ := strconv.Atoi(m[2])
	if from := witnessStartRE.FindStringSubmatch(start.msg)[1]; from != strconv.Itoa(10000+appID) {
		t.Errorf("START from uid %s, want WMPF's uid %d (u0a%d): WMPF starts its Mini Program", from, 10000+appID, appID)
	}
	// Order and distances, on the device clock.
	if got := displayedDelay(disp); !near(start.at.Add(got), disp.at, 2*time.Millisecond) {
		t.Errorf("Displayed says +%v but comes %v after START", got, disp.at.Sub(start.at))
	}
	if g := start.at.Sub(c.launch.at); g < 0 || g > 100*time.Millisecond {
		t.Errorf("START %v after launch_called, want 0..100ms (one binder call)", g)
	}
	if !start.at.Before(proc.at) || !proc.at.Before(disp.at) {
		t.Errorf("order: START %s, Start proc %s, Displayed %s", start.at.Format("15:04:05.000000"), proc.at.Format("15:04:05.000000"), disp.at.Format("15:04:05.000000"))
	}
	if g := shown.at.Sub(disp.at); g < 0 || g > 100*time.Millisecond {
		t.Errorf("callPageOnShow %v after Displayed, want 0..100ms (the Invoke Channel)", g)
	}
	t.Logf("cold: launch_called → START %v → Start proc %v → Displayed %v (%s); → callPageOnShow %v",
		start.at.Sub(c.launch.at), proc.at.Sub(start.at), disp.at.Sub(start.at), strings.TrimPrefix(disp.msg, "Displayed "+appBrandUI+": "), shown.at.Sub(disp.at))
	t.Logf("%s\n%s\n%s", start.msg, proc.msg, disp.msg)

	// The caller cancels; the next call goes to the running AppBrandUI00
	// (onNewIntent): START again, no new process, no Displayed.
	if room := r.farm.roomAction(t, c.roomID, "cancel"); room.State != "ended" {
		t.Fatalf("room after cancel: %+v", room)
	}
	d.log.wait(t, c.next, 15*time.Second, "finishVoip", voipEv("finishVoip", c.groupID))
	c2 := callAndLaunch(t, r, d, "Witness again")
	d.log.wait(t, c2.next, 30*time.Second, "callPageOnShow of the second call", voipEv("callPageOnShow", c2.groupID))
	tr2 := r.farm.truth(t, d.sn, c2.groupID, stageActivityStart, "page_shown")
	w2 := d.witness(t)
	if len(w2.starts) != 2 || len(w2.procs) != 1 || len(w2.displayed) != 1 {
		t.Fatalf("after a second call: %d START, %d Start proc, %d Displayed, want 2, 1, 1:\n%+v", len(w2.starts), len(w2.procs), len(w2.displayed), w2)
	}
	if !near(toHost(w2.starts[1].at), tr2[stageActivityStart][0], time.Millisecond) {
		t.Errorf("second START at host %v, ground truth %v", toHost(w2.starts[1].at), tr2[stageActivityStart])
	}
	if len(tr2[stageProcessStart]) != 0 || len(tr2[stageDisplayed]) != 0 {
		t.Errorf("second call: ground truth of a process start or a Displayed: %v", tr2)
	}
	if g := w2.starts[1].at.Sub(c2.launch.at); g < 0 || g > 100*time.Millisecond {
		t.Errorf("second START %v after launch_called", g)
	}
	t.Logf("second call: %s", w2.starts[1].msg)
	r.farm.roomAction(t, c2.roomID, "cancel")
}
