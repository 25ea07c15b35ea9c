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
	// Auth is how the device treats the host's key: "none" (default),
	// "reject" (stays unauthorized) or "accept".
	Auth string
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
	sys     *android.System
	adbd    *adbd.Server
	wmpf    *wmpf.Service
	app     *hostapp.App
	defects profile.DefectSet
	truth   *wechat.DeviceClient

	closeOnce sync.Once
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
	auth, err := adbd.ParseAuthMode(cfg.Auth)
	if err != nil {
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
	pd := cfg.Profile.Device
	sys, err := android.New(android.Config{
		Props: map[string]string{
			"ro.product.manufacturer":  pd.Manufacturer,
			"ro.product.brand":         pd.Brand,
			"ro.product.model":         pd.Model,
			"ro.product.name":          pd.Product,
			"ro.product.device":        pd.Name,
			"ro.build.version.release": pd.Release,
			"ro.build.version.sdk":     strconv.Itoa(pd.SDK),
			"ro.serialno":              cfg.SN,
			"persist.wmpf.model_id":    pd.ModelID,
		},
		Clock:  android.ClockConfig{Offset: cfg.ClockOffset, DriftPPM: cfg.ClockDriftPPM},
		Rooted: !cfg.NotRooted,
		Seed:   cfg.Seed,
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("simulator: boot: %w", err)
	}
	d := &Device{cfg: cfg, sys: sys, defects: defects}
	sampler := profile.NewSampler(cfg.Seed)
	if cfg.WeChatURL != "" {
		d.truth = &wechat.DeviceClient{BaseURL: cfg.WeChatURL, SN: cfg.SN, ModelID: pd.ModelID}
	}
	d.wmpf, err = wmpf.Install(wmpf.Config{System: sys, Timing: cfg.Profile.Timing, Defects: defects, Sampler: sampler,
		Backend: cfg.WeChatURL, SN: cfg.SN, ModelID: pd.ModelID})
	if err != nil {
		sys.Close()
		ln.Close()
		return nil, fmt.Errorf("simulator: %w", err)
	}
	d.app, err = hostapp.Install(hostapp.Config{Package: cfg.HostPackage, System: sys, WMPF: d.wmpf, Timing: cfg.Profile.Timing,
		Defects: defects, Sampler: sampler, Truth: d.reportTruth})
	if err != nil {
		sys.Close()
		ln.Close()
		return nil, fmt.Errorf("simulator: %w", err)
	}
	d.adbd, err = adbd.Start(adbd.Config{
		Listener:   ln,
		Banner:     adbd.Banner{Product: pd.Product, Model: pd.Model, Device: pd.Name},
		Auth:       auth,
		Shell:      sys,
		FS:         sys,
		Debuggable: !cfg.NotRooted,
		Root:       !cfg.NotRooted,
		Logf:       cfg.Logf,
	})
	if err != nil {
		sys.Close()
		ln.Close()
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if err := d.app.Boot(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("simulator: start host app: %w", err)
	}
	return d, nil
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
func (d *Device) Serial() string { return d.adbd.Addr() }

// Addr is the same as Serial.
func (d *Device) Addr() string { return d.adbd.Addr() }

// SN is the device's serial number as WMPF knows it.
func (d *Device) SN() string { return d.cfg.SN }

// ModelID is the WMPF device model id.
func (d *Device) ModelID() string { return d.cfg.Profile.Device.ModelID }

// Model is ro.product.model.
func (d *Device) Model() string { return d.cfg.Profile.Device.Model }

// HostPackage is the host app's package.
func (d *Device) HostPackage() string { return d.app.Package() }

// Profile is the device's profile.
func (d *Device) Profile() *profile.Profile { return d.cfg.Profile }

// Defects lists the defects switched on.
func (d *Device) Defects() []string { return d.defects.List() }

// System is the simulated Android system (for tests of the simulator).
func (d *Device) System() *android.System { return d.sys }

// Freeze makes the device stop answering on its ADB connections, which stay
// open, as a hung device does; Thaw resumes.
func (d *Device) Freeze() { d.adbd.Freeze() }

// Thaw undoes Freeze.
func (d *Device) Thaw() { d.adbd.Thaw() }

// DropConnections cuts the device's ADB connections, as a network drop does;
// it keeps listening.
func (d *Device) DropConnections() { d.adbd.DropConnections() }

// Close shuts the device down: its ADB listener and connections first, so
// the adb server sees it go at once, then the system.
func (d *Device) Close() error {
	var err error
	d.closeOnce.Do(func() {
		err = d.adbd.Close()
		d.sys.Close()
		d.truthWG.Wait()
	})
	return err
}
