// Package simcontainer runs the simulated farm — the simulated WeChat side
// and N simulated devices, `wmpf-sim farm` — in a Docker container with
// testcontainers-go, so that tests can inflict Docker-level faults on it:
// pause and unpause, stop and start, network disconnect and reconnect.
//
//	farm, err := simcontainer.Run(ctx, simcontainer.WithDevices(2))
//	defer farm.Terminate(ctx)
//	for _, d := range farm.Devices() {
//		adbClient.Connect(ctx, d.Serial) // 127.0.0.1:<published port>
//	}
//	c := caller.NewWithToken(farm.APIURL(), farm.Token())
//
// The image is built from this source tree, FROM scratch: Run builds a
// static ./cmd/wmpf-sim (CGO_ENABLED=0), copies fixtures/profiles next to it
// and builds the Dockerfile of this package with testcontainers'
// FromDockerfile, tagged DefaultImage. Nothing is pulled from a registry.
//
// The Ryuk reaper is an image from a registry too: Run sets
// TESTCONTAINERS_RYUK_DISABLED=true when the variable is unset. It must be
// set before testcontainers reads its configuration, which it does once per
// process; a test that uses testcontainers before Run sets it itself.
// Without the reaper, Terminate is what removes the container and its
// network: defer it. A process killed before its Terminate (SIGKILL, a
// second Ctrl-C) still leaves nothing behind: Run starts a watchdog, this
// same program run again (os.Executable, with an environment variable that
// this package's init acts on), which removes the container and network
// when its owner dies (watchdog.go). WithoutWatchdog turns it off; then the
// next Run on the host removes what an owner that is gone left.
//
// Inside the container the farm listens on all addresses: device i on
// FirstDevicePort+i, the WeChat side's API on APIPort. Docker publishes
// these on random ports of 127.0.0.1 on the host, which are what Devices and
// APIURL give. Docker picks new host ports each time the container starts
// and each time it is connected to its network again: Devices and APIURL
// give the new ones after Start and ConnectNetwork, and an adb server has to
// `adb connect` the new serials.
package simcontainer

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

const (
	// DefaultImage is the tag of the image Run builds. The image is kept
	// after Terminate, so that later builds reuse its layers; a build that
	// replaces it removes the image it replaced.
	DefaultImage = "wmpf-hil/wmpf-sim:dev"
	// FirstDevicePort is the in-container port of device 0; device i
	// listens on FirstDevicePort+i (outside 5555-5585, which the adb server
	// probes for emulators).
	FirstDevicePort = 7001
	// APIPort is the in-container port of the WeChat side's HTTP API.
	APIPort = 8080
	// MaxDevices bounds WithDevices: each device port is published on the
	// host on its own.
	MaxDevices = 100
	// DefaultStartupTimeout bounds the wait for the READY and API lines.
	DefaultStartupTimeout = 60 * time.Second

	ryukDisabled = "TESTCONTAINERS_RYUK_DISABLED"
	hostIP       = "127.0.0.1"
)

// Device is a simulated device of the farm.
type Device struct {
	// Serial is the adb serial from the host: "127.0.0.1:<published port>",
	// what `adb connect` takes.
	Serial string
	// SN is the device's serial number (ro.serialno) as WMPF knows it.
	SN string
	// Model is ro.product.model.
	Model string
	// ContainerPort is the port the device listens on inside the container.
	ContainerPort int
}

// Timings are how long the steps of Run and of the last start took.
type Timings struct {
	// Binary is the go build of wmpf-sim.
	Binary time.Duration
	// Image is the docker build of the image.
	Image time.Duration
	// Ready is from the container's start to the farm's READY and API
	// lines, for the last start (Run's or Start's).
	Ready time.Duration
}

// Farm is a running `wmpf-sim farm` container.
type Farm struct {
	ctr      *testcontainers.DockerContainer
	docker   *testcontainers.DockerClient
	net      *testcontainers.DockerNetwork
	ready    *readyWait
	watchdog *watchdog

	mu      sync.Mutex
	devices []Device
	apiURL  string
	token   string
	timings Timings
}

// Run builds the image and starts a farm container, and returns once every
// device has printed its READY line and the WeChat side its API line (each
// start is bounded by WithStartupTimeout). opts are this package's options
// and any testcontainers.ContainerCustomizer. The farm gets a bridge network
// of its own, which DisconnectNetwork and ConnectNetwork act on.
func Run(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (farm *Farm, err error) {
	if _, ok := os.LookupEnv(ryukDisabled); !ok {
		if err := os.Setenv(ryukDisabled, "true"); err != nil {
			return nil, fmt.Errorf("simcontainer: %w", err)
		}
	}
	s := defaultSettings()
	for _, o := range opts {
		if so, ok := o.(Option); ok {
			if err := so(&s); err != nil {
				return nil, fmt.Errorf("simcontainer: %w", err)
			}
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}
	if err := s.validate(root); err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}

	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("simcontainer: Docker is needed to run the farm in a container: %w", err)
	}
	// A farm whose process was killed left its container behind.
	if _, err := reap(ctx, docker); err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}
	f := &Farm{docker: docker}
	defer func() {
		if err != nil {
			if terr := f.Terminate(context.WithoutCancel(ctx)); terr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", terr))
			}
		}
	}()

	start := time.Now()
	dir, err := buildContext(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}
	defer os.RemoveAll(dir)
	f.timings.Binary = time.Since(start)
	oldImage := f.imageID(ctx)

	if !s.noWatchdog {
		if f.watchdog, err = startWatchdog(); err != nil {
			return nil, fmt.Errorf("simcontainer: %w", err)
		}
	}
	f.net, err = tcnetwork.New(ctx, tcnetwork.WithLabels(ownerLabel()))
	if err != nil {
		return nil, fmt.Errorf("simcontainer: create the farm's network: %w", err)
	}
	if err := f.watch("network", f.net.ID); err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}

	f.ready = &readyWait{docker: docker, devices: s.devices, timeout: s.startupTimeout}
	req, err := f.request(s, dir)
	if err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}
	for _, o := range opts {
		if _, ok := o.(Option); ok {
			continue
		}
		if err := o.Customize(&req); err != nil {
			return nil, fmt.Errorf("simcontainer: customize: %w", err)
		}
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		f.ctr, _ = ctr.(*testcontainers.DockerContainer)
	}
	if err != nil {
		return nil, fmt.Errorf("simcontainer: start the farm: %w", err)
	}
	if f.ctr == nil {
		return nil, fmt.Errorf("simcontainer: start the farm: not a Docker container (%T)", ctr)
	}
	if err := f.refresh(ctx); err != nil {
		return nil, fmt.Errorf("simcontainer: %w", err)
	}
	if oldImage != "" && oldImage != f.imageID(ctx) {
		// The build replaced the tagged image; an older image still used
		// by another container stays (the removal fails and is ignored).
		_, _ = docker.ImageRemove(ctx, oldImage, client.ImageRemoveOptions{PruneChildren: true})
	}
	return f, nil
}

// request is the container request: the image built from dir, the farm's
// command, its ports published on 127.0.0.1, its network, the wait for its
// READY and API lines, and hooks that time the build.
func (f *Farm) request(s settings, dir string) (testcontainers.GenericContainerRequest, error) {
	repo, tag, _ := strings.Cut(DefaultImage, ":")
	ports := []int{APIPort}
	for i := range s.devices {
		ports = append(ports, FirstDevicePort+i)
	}
	exposed := make([]string, len(ports))
	bindings := network.PortMap{}
	for i, p := range ports {
		exposed[i] = strconv.Itoa(p) + "/tcp"
		key, ok := network.PortFrom(uint16(p), network.TCP)
		if !ok {
			return testcontainers.GenericContainerRequest{}, fmt.Errorf("port %d", p)
		}
		// HostPort "" is a port Docker picks.
		bindings[key] = []network.PortBinding{{HostIP: netip.MustParseAddr(hostIP)}}
	}
	var buildStart time.Time
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			FromDockerfile: testcontainers.FromDockerfile{
				Context:    dir,
				Dockerfile: "Dockerfile",
				Repo:       repo,
				Tag:        tag,
				KeepImage:  true,
			},
			Cmd:          s.cmd(),
			Labels:       ownerLabel(),
			ExposedPorts: exposed,
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = bindings
			},
			WaitingFor: f.ready,
			LifecycleHooks: []testcontainers.ContainerLifecycleHooks{{
				PreBuilds: []testcontainers.ContainerRequestHook{func(context.Context, testcontainers.ContainerRequest) error {
					buildStart = time.Now()
					return nil
				}},
				PostBuilds: []testcontainers.ContainerRequestHook{func(context.Context, testcontainers.ContainerRequest) error {
					f.mu.Lock()
					f.timings.Image = time.Since(buildStart)
					f.mu.Unlock()
					return nil
				}},
				// The watchdog learns of the container as soon as it exists.
				PostCreates: []testcontainers.ContainerHook{func(_ context.Context, c testcontainers.Container) error {
					return f.watch("container", c.GetContainerID())
				}},
				PreStarts: []testcontainers.ContainerHook{f.ready.starting},
			}},
		},
		Started: true,
	}
	if err := tcnetwork.WithNetwork(nil, f.net).Customize(&req); err != nil {
		return testcontainers.GenericContainerRequest{}, fmt.Errorf("network: %w", err)
	}
	return req, nil
}

// imageID is the id of the image tagged DefaultImage, or "".
func (f *Farm) imageID(ctx context.Context) string {
	res, err := f.docker.ImageInspect(ctx, DefaultImage)
	if err != nil {
		return ""
	}
	return res.ID
}

// refresh takes the devices and the API from the last READY and API lines
// and the container's published ports.
func (f *Farm) refresh(ctx context.Context) error {
	lines, readyIn := f.ready.result()
	info, err := f.ctr.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspect the farm's container: %w", err)
	}
	if info.NetworkSettings == nil {
		return errors.New("the farm's container has no network settings")
	}
	published := info.NetworkSettings.Ports
	hostAddr := func(port int) (string, error) {
		key, ok := network.PortFrom(uint16(port), network.TCP)
		if !ok {
			return "", fmt.Errorf("port %d", port)
		}
		for _, b := range published[key] {
			if b.HostPort != "" && b.HostPort != "0" {
				return hostIP + ":" + b.HostPort, nil
			}
		}
		return "", fmt.Errorf("container port %d/tcp is not published on the host", port)
	}
	devices := make([]Device, 0, len(lines.devices))
	for _, r := range lines.devices {
		addr, err := hostAddr(r.port)
		if err != nil {
			return fmt.Errorf("device %s (%s): %w", r.sn, r.serial, err)
		}
		devices = append(devices, Device{Serial: addr, SN: r.sn, Model: r.model, ContainerPort: r.port})
	}
	api, err := hostAddr(APIPort)
	if err != nil {
		return fmt.Errorf("WeChat side (%s): %w", lines.apiURL, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices = devices
	f.apiURL = "http://" + api
	f.token = lines.token
	f.timings.Ready = readyIn
	return nil
}

// Devices are the farm's devices, in order, as the host reaches them now.
func (f *Farm) Devices() []Device {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Device(nil), f.devices...)
}

// APIURL is the base URL of the simulated WeChat side from the host:
// "http://127.0.0.1:<published port>".
func (f *Farm) APIURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiURL
}

// Token is the WeChat side's access token as the farm printed it (for
// caller.NewWithToken). A farm started again has a new one.
func (f *Farm) Token() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token
}

// Timings are the durations of Run's steps and of the last start.
func (f *Farm) Timings() Timings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timings
}

// Container is the testcontainers container, for what Farm does not wrap.
func (f *Farm) Container() *testcontainers.DockerContainer { return f.ctr }

// Network is the name of the farm's own Docker network.
func (f *Farm) Network() string {
	if f.net == nil {
		return ""
	}
	return f.net.Name
}

// ErrTerminated is the error of a Farm's methods after Terminate.
var ErrTerminated = errors.New("simcontainer: the farm was terminated")

// live is the container, or ErrTerminated.
func (f *Farm) live() (*testcontainers.DockerContainer, error) {
	if f.ctr == nil || f.docker == nil {
		return nil, ErrTerminated
	}
	return f.ctr, nil
}

// Pause freezes every process of the container (docker pause): the devices
// keep their connections open but answer nothing, as a hung device does.
func (f *Farm) Pause(ctx context.Context) error {
	ctr, err := f.live()
	if err != nil {
		return err
	}
	if _, err := f.docker.ContainerPause(ctx, ctr.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("simcontainer: pause the farm: %w", err)
	}
	return nil
}

// Unpause lets a paused container run again.
func (f *Farm) Unpause(ctx context.Context) error {
	ctr, err := f.live()
	if err != nil {
		return err
	}
	if _, err := f.docker.ContainerUnpause(ctx, ctr.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("simcontainer: unpause the farm: %w", err)
	}
	return nil
}

// Stop stops the container (docker stop): wmpf-sim gets SIGTERM and closes
// its devices and the WeChat side, and is killed if it has not exited after
// timeout, rounded up to whole seconds (zero or less: Docker's default).
// Devices and APIURL keep the addresses of the run that stopped until
// Start.
func (f *Farm) Stop(ctx context.Context, timeout time.Duration) error {
	ctr, err := f.live()
	if err != nil {
		return err
	}
	var grace *time.Duration
	if timeout > 0 {
		whole := (timeout + time.Second - 1).Truncate(time.Second)
		grace = &whole
	}
	if err := ctr.Stop(ctx, grace); err != nil {
		return fmt.Errorf("simcontainer: stop the farm: %w", err)
	}
	return nil
}

// Start starts a stopped container again and waits for the new run's READY
// and API lines. The devices keep their sn; Docker publishes their ports
// and the API's on host ports it picks again (they usually differ), and the
// token is new.
func (f *Farm) Start(ctx context.Context) error {
	ctr, err := f.live()
	if err != nil {
		return err
	}
	if err := ctr.Start(ctx); err != nil {
		return fmt.Errorf("simcontainer: start the farm again: %w", err)
	}
	if err := f.refresh(ctx); err != nil {
		return fmt.Errorf("simcontainer: %w", err)
	}
	return nil
}

// DisconnectNetwork takes the container off its network (docker network
// disconnect). Docker stops publishing its ports: new connections to the
// devices and the API are refused, and with Docker's userland proxy (the
// default) open ones, such as the adb server's, are closed, so the adb
// server sees the devices offline at once. Inside the container the devices
// still reach the WeChat side.
func (f *Farm) DisconnectNetwork(ctx context.Context) error {
	ctr, err := f.live()
	if err != nil {
		return err
	}
	_, err = f.docker.NetworkDisconnect(ctx, f.net.ID, client.NetworkDisconnectOptions{Container: ctr.GetContainerID()})
	if err != nil {
		return fmt.Errorf("simcontainer: disconnect the farm from network %s: %w", f.net.Name, err)
	}
	return nil
}

// ConnectNetwork puts the container back on its network. Docker publishes
// its ports again, on host ports it picks again (they usually differ):
// Devices and APIURL give them.
func (f *Farm) ConnectNetwork(ctx context.Context) error {
	ctr, err := f.live()
	if err != nil {
		return err
	}
	_, err = f.docker.NetworkConnect(ctx, f.net.ID, client.NetworkConnectOptions{Container: ctr.GetContainerID()})
	if err != nil {
		return fmt.Errorf("simcontainer: connect the farm to network %s: %w", f.net.Name, err)
	}
	if err := f.refresh(ctx); err != nil {
		return fmt.Errorf("simcontainer: %w", err)
	}
	return nil
}

// Terminate stops and removes the container (unpausing it first if it is
// paused) and removes its network. The image stays for the next Run. It is
// safe to call more than once.
func (f *Farm) Terminate(ctx context.Context) error {
	if f == nil {
		return nil
	}
	var errs []error
	if f.ctr != nil {
		if st, err := f.ctr.State(ctx); err == nil && st.Paused {
			errs = append(errs, f.Unpause(ctx))
		}
		if err := f.ctr.Terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("simcontainer: remove the farm's container: %w", err))
		}
		f.ctr = nil
	}
	if f.net != nil {
		if err := f.net.Remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("simcontainer: remove the farm's network: %w", err))
		}
		f.net = nil
	}
	if f.docker != nil {
		errs = append(errs, f.docker.Close())
		f.docker = nil
	}
	if f.watchdog != nil {
		// Whatever this could not remove, the watchdog tries again.
		f.watchdog.stop(errors.Join(errs...) == nil)
		f.watchdog = nil
	}
	return errors.Join(errs...)
}

// watch tells the farm's watchdog (if it has one) of something to remove
// should this process die before Terminate.
func (f *Farm) watch(kind, id string) error {
	if f.watchdog == nil {
		return nil
	}
	return f.watchdog.watch(kind, id)
}

// WatchdogPid is the pid of the farm's watchdog process, 0 when it has
// none (WithoutWatchdog, or after Terminate).
func (f *Farm) WatchdogPid() int {
	if f.watchdog == nil {
		return 0
	}
	return f.watchdog.pid()
}
