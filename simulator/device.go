// Package simulator runs simulated Android devices that the real adb server
// accepts (adb connect), each with a simulated Android system, WMPF, the
// wmpf-voip call page and a reference host app, and the simulated WeChat
// side that calls them. Like net/http/httptest, a simulated device starts,
// exposes its address, and closes cleanly:
//
//	dev, err := simulator.NewDevice(ctx, simulator.DeviceConfig{Profile: p, WeChatURL: url})
//	defer dev.Close()
//	// adb connect dev.Serial()
package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/hostapp"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
	"github.com/wmpf-hil/wmpf-hil/simulator/wmpf"
)

// DeviceConfig configures one simulated device.
type DeviceConfig struct {
	// Addr to listen on for the adb server; default "127.0.0.1:0". Keep
	// clear of 5555-5585, which the adb server probes for emulators.
	Addr string
	// SN is the device serial number WMPF uses (and ro.serialno); default
	// derived from the port.
	SN      string
	Profile *profile.Profile
	Defects []string
	// ClockOffset and ClockDriftPPM skew the device clock from the host's.
	ClockOffset   time.Duration
	ClockDriftPPM float64
	// WeChatURL is the simulated WeChat side; empty: WMPF cannot activate.
	WeChatURL string
	// HostPackage is the host app's package; default com.example.voipdevice.
	HostPackage string
	// Auth is how the device treats the host's key: AuthNone (default),
	// AuthReject (stays unauthorized) or AuthAcceptAny.
	Auth adbd.AuthMode
	// NotRooted makes adbd run as the shell user, as on a user build.
	NotRooted bool
	// Seed makes timing draws repeatable; 0 derives one from the port.
	Seed int64
	// LoseAtPush makes the device go away when its host app logs the
	// LoseAtPush-th push it receives: a device lost in the middle of a
	// call, at a point that does not depend on timing. 0: never.
	LoseAtPush int
	// Loss is how it goes away: LossPowerOff (default; Close) or
	// LossFreeze (adbd hangs with its connections open).
	Loss Loss
	// Logf receives diagnostics.
	Logf func(format string, args ...any)
}

// Device is a running simulated device.
type Device struct {
	cfg     DeviceConfig
	addr    string
	truth   *wechat.DeviceClient
	sampler *profile.Sampler
	// ctx lives as long as the device; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	sys       *android.System
	adbd      *adbd.Server
	wmpf      *wmpf.Service
	app       *hostapp.App
	build     *hostBuild // the host-app build installed; nil: the reference build
	defects   profile.DefectSet
	boots     int
	rebooting bool
	up        chan struct{} // closed when the reboot in progress ends
	closed    bool

	closeOnce sync.Once
	wg        sync.WaitGroup // reboots and app restarts
	truthWG   sync.WaitGroup
	pushes    atomic.Int64
}

// NewDevice boots a device and starts listening. It returns once the adb
// server can connect and the host app has started.
func NewDevice(ctx context.Context, cfg DeviceConfig) (*Device, error) {
	if cfg.Profile == nil {
		return nil, errors.New("simulator: DeviceConfig.Profile is required")
	}
	if cfg.Loss != "" && !slices.Contains(Losses, cfg.Loss) {
		return nil, fmt.Errorf("simulator: DeviceConfig.Loss %q: allowed %s", cfg.Loss, LossNames())
	}
	defects, err := profile.ParseDefects(cfg.Defects)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if _, err := adbd.ParseAuthMode(cfg.Auth.String()); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen %s: %w", addr, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if cfg.SN == "" {
		cfg.SN = fmt.Sprintf("WHS%s%05d", shortModel(cfg.Profile.Device.Model), port)
	}
	if cfg.Seed == 0 {
		cfg.Seed = int64(port)*7919 + 1
	}
	if cfg.HostPackage == "" {
		cfg.HostPackage = hostapp.DefaultPackage
	}
	d := &Device{cfg: cfg, addr: ln.Addr().String(), defects: defects, sampler: profile.NewSampler(cfg.Seed)}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if cfg.WeChatURL != "" {
		d.truth = &wechat.DeviceClient{BaseURL: cfg.WeChatURL, SN: cfg.SN, ModelID: cfg.Profile.Device.ModelID}
	}
	fail := func(err error) (*Device, error) {
		ln.Close()
		d.cancel()
		if d.sys != nil {
			d.sys.Close()
		}
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if d.sys, err = d.bootSystem(nil, false, cfg.ClockOffset); err != nil {
		return fail(fmt.Errorf("boot: %w", err))
	}
	timing, _ := d.behaviour()
	if d.wmpf, err = d.installWMPF(d.sys, timing); err != nil {
		return fail(err)
	}
	if d.app, err = d.installHostApp(d.sys, nil); err != nil {
		return fail(err)
	}
	if d.adbd, err = adbd.Start(d.adbdConfig(ln)); err != nil {
		return fail(err)
	}
	if err := d.app.Boot(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("simulator: start host app: %w", err)
	}
	return d, nil
}

// bootSystem boots the simulated Android system: the first boot, or a
// reboot that keeps what restore holds. Each boot draws other pids.
func (d *Device) bootSystem(restore *android.Persistent, booting bool, clockOffset time.Duration) (*android.System, error) {
	pd := d.cfg.Profile.Device
	return android.New(android.Config{
		Props: map[string]string{
			"ro.product.manufacturer":  pd.Manufacturer,
			"ro.product.brand":         pd.Brand,
			"ro.product.model":         pd.Model,
			"ro.product.name":          pd.Product,
			"ro.product.device":        pd.Name,
			"ro.build.version.release": pd.Release,
			"ro.build.version.sdk":     strconv.Itoa(pd.SDK),
			"ro.serialno":              d.cfg.SN,
			"persist.wmpf.model_id":    pd.ModelID,
		},
		Clock:      android.ClockConfig{Offset: clockOffset, DriftPPM: d.cfg.ClockDriftPPM},
		Rooted:     !d.cfg.NotRooted,
		Seed:       d.cfg.Seed + int64(d.boots)*104729,
		InstallAPK: d.installAPK,
		Restore:    restore,
		Booting:    booting,
		Power:      d.power,
	})
}

// behaviour is the timing and the defects of the host-app build installed.
func (d *Device) behaviour() (profile.Timing, profile.DefectSet) {
	d.mu.Lock()
	b, defects := d.build, d.defects
	d.mu.Unlock()
	base := d.cfg.Profile.Timing
	if b == nil || b.spec == nil {
		return base, defects
	}
	t, err := b.spec.ApplyTiming(base)
	if err != nil { // checked when it was installed
		return base, defects
	}
	return t, defects
}

func (d *Device) installWMPF(sys *android.System, timing profile.Timing) (*wmpf.Service, error) {
	d.mu.Lock()
	defects := d.defects
	d.mu.Unlock()
	pd := d.cfg.Profile.Device
	return wmpf.Install(wmpf.Config{System: sys, Timing: timing, Defects: defects, Sampler: d.sampler,
		Backend: d.cfg.WeChatURL, SN: d.cfg.SN, ModelID: pd.ModelID})
}

// installHostApp installs the host app of the build installed (its APK,
// behaviour), with the settings it had saved.
func (d *Device) installHostApp(sys *android.System, settings *hostapp.Settings) (*hostapp.App, error) {
	timing, defects := d.behaviour()
	d.mu.Lock()
	var apk *android.APK
	if d.build != nil {
		apk = d.build.apk
	}
	wm := d.wmpf
	d.mu.Unlock()
	return hostapp.Install(hostapp.Config{Package: d.cfg.HostPackage, System: sys, WMPF: wm, Timing: timing,
		Defects: defects, Sampler: d.sampler, Truth: d.reportTruth, APK: apk, Settings: settings})
}

// adbdConfig is the ADB daemon of the device, listening on ln.
func (d *Device) adbdConfig(ln net.Listener) adbd.Config {
	pd := d.cfg.Profile.Device
	auth := d.cfg.Auth
	return adbd.Config{
		Listener:   ln,
		Banner:     adbd.Banner{Product: pd.Product, Model: pd.Model, Device: pd.Name},
		Auth:       auth,
		Shell:      currentSystem{d},
		FS:         currentSystem{d},
		Debuggable: !d.cfg.NotRooted,
		Root:       !d.cfg.NotRooted,
		Reboot:     d.RebootHook,
		Logf:       d.cfg.Logf,
	}
}

func shortModel(m string) string {
	out := make([]byte, 0, 4)
	for i := 0; i < len(m) && len(out) < 4; i++ {
		c := m[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}

// currentSystem is the device's Android system as adbd sees it: the one
// running now, which a reboot replaces.
type currentSystem struct{ d *Device }

func (c currentSystem) RunShell(ctx context.Context, req adbd.ShellRequest) int {
	return c.d.System().RunShell(ctx, req)
}

func (c currentSystem) Stat(p string, root bool) (adbd.FileInfo, error) {
	return c.d.System().Stat(p, root)
}

func (c currentSystem) ReadDir(p string, root bool) ([]adbd.FileInfo, error) {
	return c.d.System().ReadDir(p, root)
}

func (c currentSystem) Open(p string, root bool) (io.ReadCloser, error) {
	return c.d.System().Open(p, root)
}

func (c currentSystem) Create(p string, mode fs.FileMode, root bool) (adbd.FileWriter, error) {
	return c.d.System().Create(p, mode, root)
}

func (d *Device) reportTruth(stage, groupID string, at time.Time) {
	if stage == wmpf.StagePushReceived && d.cfg.LoseAtPush > 0 && d.pushes.Add(1) == int64(d.cfg.LoseAtPush) {
		if d.cfg.Logf != nil {
			d.cfg.Logf("device %s: %s at push %d", d.cfg.SN, d.loss(), d.cfg.LoseAtPush)
		}
		if d.loss() == LossFreeze {
			d.Freeze()
		} else {
			go d.Close()
		}
		return
	}
	if d.truth == nil {
		return
	}
	d.truthWG.Add(1)
	go func() {
		defer d.truthWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.truth.ReportTruth(ctx, stage, "", groupID, at)
	}()
}

// Loss is how a simulated device goes away (DeviceConfig.Loss).
type Loss string

// Ways a device can go away.
const (
	// LossPowerOff: the device closes every connection and stops
	// answering, as one that loses power.
	LossPowerOff Loss = "power-off"
	// LossFreeze: adbd hangs with its connections open, as a device whose
	// system froze; only a liveness probe tells it from a slow app.
	LossFreeze Loss = "freeze"
)

// Losses lists the allowed DeviceConfig.Loss values.
var Losses = []Loss{LossPowerOff, LossFreeze}

// LossNames lists the losses for messages.
func LossNames() string {
	var s []string
	for _, l := range Losses {
		s = append(s, string(l))
	}
	return strings.Join(s, ", ")
}

func (d *Device) loss() Loss {
	if d.cfg.Loss == "" {
		return LossPowerOff
	}
	return d.cfg.Loss
}

// Serial is the device's adb serial: the address it listens on.
func (d *Device) Serial() string { return d.addr }

// Addr is the same as Serial.
func (d *Device) Addr() string { return d.addr }

// SN is the device's serial number as WMPF knows it.
func (d *Device) SN() string { return d.cfg.SN }

// ModelID is the WMPF device model id.
func (d *Device) ModelID() string { return d.cfg.Profile.Device.ModelID }

// Model is ro.product.model.
func (d *Device) Model() string { return d.cfg.Profile.Device.Model }

// HostPackage is the host app's package.
func (d *Device) HostPackage() string { return d.cfg.HostPackage }

// HostVersion is the versionName of the host-app build installed.
func (d *Device) HostVersion() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.app.Version()
}

// Profile is the device's profile.
func (d *Device) Profile() *profile.Profile { return d.cfg.Profile }

// Defects lists the defects switched on: those of the host-app build
// installed (DeviceConfig.Defects for the reference build).
func (d *Device) Defects() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.defects.List()
}

// System is the simulated Android system of the current boot (for tests
// of the simulator).
func (d *Device) System() *android.System {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sys
}

func (d *Device) server() *adbd.Server {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.adbd
}

// Freeze makes the device stop answering on its ADB connections, which stay
// open, as a hung device does; Thaw resumes.
func (d *Device) Freeze() { d.server().Freeze() }

// Thaw undoes Freeze.
func (d *Device) Thaw() { d.server().Thaw() }

// DropConnections cuts the device's ADB connections, as a network drop does;
// it keeps listening.
func (d *Device) DropConnections() { d.server().DropConnections() }

// Close shuts the device down: its ADB listener and connections first, so
// the adb server sees it go at once, then the system. A reboot in progress
// stops.
func (d *Device) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		srv, sys := d.adbd, d.sys
		d.mu.Unlock()
		err = srv.Close()
		d.cancel()
		d.wg.Wait()
		// A reboot may have brought up another system meanwhile.
		d.mu.Lock()
		srv2, sys2 := d.adbd, d.sys
		d.mu.Unlock()
		if srv2 != srv {
			_ = srv2.Close()
		}
		sys.Close()
		sys2.Close()
		d.truthWG.Wait()
	})
	return err
}
