package simcontainer_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/logcat"
	"github.com/wmpf-hil/wmpf-hil/simulator/simcontainer"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

const (
	stepTimeout  = 20 * time.Second
	pauseTimeout = 3 * time.Second
	callerName   = "Container Caller & Co"
)

// TestFarmInContainer runs `wmpf-sim farm` with two devices in a container,
// drives it through a test-owned adb server and the WeChat side's API, and
// inflicts Docker-level faults on it: pause, network disconnect, stop.
func TestFarmInContainer(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	srv := simtest.ADBServer(t)
	ac := srv.Client()

	farm, err := simcontainer.Run(ctx, simcontainer.WithDevices(2), testcontainers.WithLogger(tclog.TestLogger(t)))
	if farm != nil {
		t.Cleanup(func() {
			cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer ccancel()
			if err := farm.Terminate(cctx); err != nil {
				t.Errorf("terminate: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("the farm container did not start (Docker is required; it is not optional for this test): %v", err)
	}
	tm := farm.Timings()
	t.Logf("timing: go build %v, image build %v, container start to READY %v", tm.Binary.Round(time.Millisecond), tm.Image.Round(time.Millisecond), tm.Ready.Round(time.Millisecond))

	devices := farm.Devices()
	if len(devices) != 2 {
		t.Fatalf("Devices() = %+v, want 2 devices", devices)
	}
	if !strings.HasPrefix(farm.APIURL(), "http://127.0.0.1:") || farm.Token() == "" {
		t.Fatalf("APIURL() = %q, Token() = %q: want http://127.0.0.1:PORT and a token", farm.APIURL(), farm.Token())
	}

	// 1. Both devices connect to the test's adb server, reach `device` and
	// report the sn the farm printed.
	for _, d := range devices {
		connect(ctx, t, ac, d)
	}
	dev := ac.Device(devices[0].Serial)
	sn := devices[0].SN

	// 2. A call through the container's WeChat API launches the Mini
	// Program on the device: the contract's launch_called line, with the
	// exact call page path, is in its logcat.
	hook, err := dev.StreamShell(ctx, "logcat -v epoch,usec -s "+contract.Tag)
	if err != nil {
		t.Fatalf("logcat stream: %v", err)
	}
	events := newEventReader(hook)
	if _, err := events.wait(ctx, stepTimeout, func(e contract.Event) bool { return e.Name == contract.EvPushToken }); err != nil {
		t.Fatalf("device %s never got a push token: %v", sn, err)
	}
	c := caller.NewWithToken(farm.APIURL(), farm.Token())
	st, err := c.Device(ctx, sn)
	if err != nil {
		t.Fatalf("WeChat side: device %s: %v", sn, err)
	}
	res, err := c.CallWMPF(ctx, caller.CallRequest{RoomType: "video", SN: sn, ModelID: st.ModelID, PushToken: st.PushToken, NickName: callerName})
	if err != nil {
		t.Fatalf("callWMPF: %v", err)
	}
	wantPath := protocol.CallPath("video", res.GroupID, sn, callerName, "")
	isLaunch := func(e contract.Event) bool { return e.Name == contract.EvLaunchCalled && e.Str("path") == wantPath }
	if _, err := events.wait(ctx, stepTimeout, isLaunch); err != nil {
		t.Fatalf("no launch_called with path %s on the stream: %v", wantPath, err)
	}
	hook.Close()
	dump, err := dev.Run(ctx, "logcat -d -v epoch,usec -s "+contract.Tag)
	if err != nil {
		t.Fatalf("logcat -d: %v", err)
	}
	launch, ok := findEvent(dump, isLaunch)
	if !ok {
		t.Fatalf("logcat -d has no launch_called with path %s:\n%s", wantPath, dump)
	}
	if launch.Str("appid") != wechat.DefaultAppID {
		t.Errorf("launch_called appid = %q, want %q", launch.Str("appid"), wechat.DefaultAppID)
	}
	if at, ok := launch.Int("appType"); !ok || at != 0 {
		t.Errorf("launch_called appType = %v, want 0 (release)", launch.Fields["appType"])
	}
	t.Logf("call %s: %s", res.RoomID, launch.Raw)

	// 3. Paused, the device answers nothing: a command with a 3 s deadline
	// fails at its deadline. Unpaused, the same command succeeds.
	pauseStart := time.Now()
	if err := farm.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	pauseCall := time.Since(pauseStart)
	pctx, pcancel := context.WithTimeout(ctx, pauseTimeout)
	shellStart := time.Now()
	out, pausedErr := dev.Shell(pctx, "echo alive")
	shellTook := time.Since(shellStart)
	pcancel()
	if pausedErr == nil {
		t.Errorf("shell on the paused device succeeded: %q", out.Stdout)
	} else if !errors.Is(pausedErr, context.DeadlineExceeded) {
		t.Errorf("shell on the paused device: %v, want the context's deadline", pausedErr)
	}
	if shellTook > pauseTimeout+time.Second {
		t.Errorf("shell on the paused device returned after %v, its deadline was %v", shellTook, pauseTimeout)
	}
	unpauseStart := time.Now()
	if err := farm.Unpause(ctx); err != nil {
		t.Fatal(err)
	}
	unpauseCall := time.Since(unpauseStart)
	rctx, rcancel := context.WithTimeout(ctx, pauseTimeout)
	got, err := dev.Run(rctx, "echo alive")
	rcancel()
	if err != nil || strings.TrimSpace(got) != "alive" {
		t.Fatalf("shell after unpause: %q, %v", got, err)
	}
	t.Logf("timing: pause %v; shell on the paused device failed after %v (%v); unpause %v; pause to working again %v",
		pauseCall.Round(time.Millisecond), shellTook.Round(time.Millisecond), pausedErr, unpauseCall.Round(time.Millisecond),
		time.Since(pauseStart).Round(time.Millisecond))

	// 4. Off its network the devices cannot be reached: a command with a
	// 3 s deadline fails by then. Back on it, they are published on new
	// host ports and connect again.
	old := farm.Devices()
	netStart := time.Now()
	if err := farm.DisconnectNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range old {
		nctx, ncancel := context.WithTimeout(ctx, pauseTimeout)
		start := time.Now()
		_, err := ac.Device(d.Serial).Shell(nctx, "echo alive")
		took := time.Since(start)
		ncancel()
		if err == nil {
			t.Fatalf("shell on %s succeeded with the farm off its network", d.Serial)
		}
		if took > pauseTimeout+time.Second {
			t.Errorf("shell on %s off the network returned after %v, its deadline was %v", d.Serial, took, pauseTimeout)
		}
		t.Logf("off the network, %s: shell failed after %v: %v", d.Serial, took.Round(time.Millisecond), err)
	}
	offFor := time.Since(netStart)
	if err := farm.ConnectNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	for i, d := range farm.Devices() {
		if d.Serial != old[i].Serial {
			if err := ac.Disconnect(ctx, old[i].Serial); err != nil {
				t.Logf("adb disconnect %s: %v", old[i].Serial, err)
			}
		}
		connect(ctx, t, ac, d)
	}
	t.Logf("timing: network disconnect, checks %v, reconnected and both devices back %v",
		offFor.Round(time.Millisecond), time.Since(netStart).Round(time.Millisecond))

	// 5. Stopping the container ends a device's streaming logcat with an
	// error, not a hang.
	d0 := farm.Devices()[0]
	dev = ac.Device(d0.Serial)
	stream, err := dev.StreamShell(ctx, "logcat -v epoch,usec")
	if err != nil {
		t.Fatalf("logcat stream: %v", err)
	}
	defer stream.Close()
	select {
	case <-stream.Lines():
	case <-time.After(stepTimeout):
		t.Fatalf("logcat stream on %s printed nothing", d0.Serial)
	}
	stopStart := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- farm.Stop(ctx, 5*time.Second) }()
	select {
	case <-stream.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("logcat stream still open %v after the container was told to stop", time.Since(stopStart))
	}
	streamEnded := time.Since(stopStart)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	stopTook := time.Since(stopStart)
	if err := stream.Err(); !errors.Is(err, adb.ErrStreamLost) {
		t.Errorf("logcat stream ended with %v, want %v", err, adb.ErrStreamLost)
	}
	t.Logf("timing: stop: logcat stream ended after %v (%v), container stopped after %v",
		streamEnded.Round(time.Millisecond), stream.Err(), stopTook.Round(time.Millisecond))

	// 6. Started again, the devices come back with the same sn.
	if err := farm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: start again to READY %v", farm.Timings().Ready.Round(time.Millisecond))
	if _, err := caller.NewWithToken(farm.APIURL(), farm.Token()).Devices(ctx); err != nil {
		t.Errorf("WeChat side after the restart, %s: %v", farm.APIURL(), err)
	}
	again := farm.Devices()
	for i, d := range again {
		if d.SN != devices[i].SN {
			t.Errorf("device %d after restart: sn %s, want %s", i, d.SN, devices[i].SN)
		}
	}
	connect(ctx, t, ac, again[0])
}

// connect connects the adb server to d, waits for `device` and checks the
// device's ro.serialno and ro.product.model against what the farm printed.
func connect(ctx context.Context, t *testing.T, ac *adb.Client, d simcontainer.Device) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	start := time.Now()
	if err := ac.Connect(cctx, d.Serial); err != nil {
		t.Fatalf("adb connect %s: %v", d.Serial, err)
	}
	if _, err := ac.WaitForState(cctx, d.Serial, adb.StateDevice); err != nil {
		t.Fatalf("device %s: %v", d.Serial, err)
	}
	dev := ac.Device(d.Serial)
	sn, err := dev.Run(cctx, "getprop ro.serialno")
	if err != nil {
		t.Fatalf("%s: getprop ro.serialno: %v", d.Serial, err)
	}
	if got := strings.TrimSpace(sn); got != d.SN {
		t.Errorf("%s: ro.serialno = %q, the farm printed sn=%s", d.Serial, got, d.SN)
	}
	model, err := dev.Run(cctx, "getprop ro.product.model")
	if err != nil {
		t.Fatalf("%s: getprop ro.product.model: %v", d.Serial, err)
	}
	if got := strings.TrimSpace(model); got != d.Model {
		t.Errorf("%s: ro.product.model = %q, the farm printed model=%s", d.Serial, got, d.Model)
	}
	t.Logf("%s: sn %s, model %s, device after %v", d.Serial, d.SN, d.Model, time.Since(start).Round(time.Millisecond))
}

// eventReader turns a logcat stream into contract events.
type eventReader struct {
	s *adb.Stream
	p *contract.Parser
}

func newEventReader(s *adb.Stream) *eventReader {
	return &eventReader{s: s, p: contract.NewParser()}
}

// wait reads events until one satisfies match, the stream ends, or timeout.
func (r *eventReader) wait(ctx context.Context, timeout time.Duration, match func(contract.Event) bool) (contract.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		select {
		case line, ok := <-r.s.Lines():
			if !ok {
				return contract.Event{}, fmt.Errorf("the stream ended: %v", r.s.Err())
			}
			if ev, ok := r.feed(line.Text); ok && match(ev) {
				return ev, nil
			}
		case <-ctx.Done():
			return contract.Event{}, context.Cause(ctx)
		}
	}
}

func (r *eventReader) feed(text string) (contract.Event, bool) {
	e, err := logcat.ParseLine(text, nil, 0)
	if err != nil || e.Tag != contract.Tag {
		return contract.Event{}, false
	}
	ev, ok, err := r.p.Feed(e.Pid, e.Time, e.Msg)
	return ev, ok && err == nil
}

// findEvent finds the first contract event of a logcat dump that
// satisfies match.
func findEvent(dump string, match func(contract.Event) bool) (contract.Event, bool) {
	r := &eventReader{p: contract.NewParser()}
	for _, line := range strings.Split(dump, "\n") {
		if ev, ok := r.feed(line); ok && match(ev) {
			return ev, true
		}
	}
	return contract.Event{}, false
}

// orphanEnv makes the test binary a farm owner that is then killed.
const orphanEnv = "SIMCONTAINER_TEST_ORPHAN"

// TestOrphanedFarmIsRemovedByTheNextRun: a process that started a farm is
// killed before Terminate (no reaper runs here); the next Run removes the
// container it left.
func TestOrphanedFarmIsRemovedByTheNextRun(t *testing.T) {
	if os.Getenv(orphanEnv) != "" {
		// The owner: start a farm, say which container, wait to be killed.
		ctx := context.Background()
		// No watchdog: it would remove the container before the next Run
		// could (watchdog_test.go tests it).
		farm, err := simcontainer.Run(ctx, simcontainer.WithoutWatchdog())
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("CONTAINER", farm.Container().GetContainerID())
		select {}
	}
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	owner := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOrphanedFarmIsRemovedByTheNextRun$")
	owner.Env = append(os.Environ(), orphanEnv+"=1")
	stdout, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "CONTAINER "); ok {
			id = rest
			break
		}
		if strings.HasPrefix(sc.Text(), "ERROR") {
			t.Fatalf("the owner could not start its farm: %s", sc.Text())
		}
	}
	if id == "" {
		owner.Process.Kill()
		t.Fatalf("the owner printed no container")
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = owner.Wait()

	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	if _, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err != nil {
		t.Fatalf("the orphan's container %.12s is not there to be removed: %v", id, err)
	}
	farm, err := simcontainer.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Terminate(context.Background())
	if _, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("the orphan's container %.12s is still there after the next Run", id)
	}
}
