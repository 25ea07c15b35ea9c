package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/internal/strictyaml"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// Simulated is the provider of simulated devices in the run's own process
// (section simulated:, with profiles: naming a profiles directory) and of
// the simulated WeChat side (wechat.mode simulated).
type Simulated struct{}

// Name implements farm.Provider.
func (Simulated) Name() string { return "simulated" }

// Sections implements farm.Provider.
func (Simulated) Sections() []string { return []string{sectionSimulated, sectionProfiles} }

// WeChatModes implements farm.Provider.
func (Simulated) WeChatModes() []farm.WeChatMode { return []farm.WeChatMode{WeChatSimulated} }

// Configure implements farm.Provider.
func (Simulated) Configure(c *farm.Config, sections map[string]*yaml.Node) (farm.Supplier, error) {
	var errs strictyaml.Errors
	var groups []SimGroup
	if n := sections[sectionSimulated]; n != nil {
		if err := strictyaml.Decode(n, sectionSimulated, &groups); err != nil {
			return nil, err
		}
	}
	var dir string
	if n := sections[sectionProfiles]; n != nil {
		if err := strictyaml.Decode(n, sectionProfiles, &dir); err != nil {
			return nil, err
		}
	}
	mode := c.WeChat.Mode
	if len(groups) == 0 && mode != WeChatSimulated {
		return nil, nil // nothing for this provider (profiles: may serve the container)
	}
	lib, names, err := library(c, map[string]any{sectionProfiles: dir})
	if err != nil {
		return nil, strictyaml.Errors{err.Error()}
	}
	if len(groups) > 0 && mode == farm.WeChatReal {
		errs = append(errs, "simulated: simulated devices need wechat.mode simulated or url (WeChat's own servers cannot reach them)")
	}
	if mode == WeChatSimulated {
		checkFaults(&errs, c.WeChat.Faults)
	}
	s := &simSupplier{cfg: c, lib: lib, groups: groups}
	nm := namer{}
	for gi, g := range groups {
		f := fmt.Sprintf("%s[%d]", sectionSimulated, gi)
		checkDevices(&errs, f, g.SimDevices, maxGroup, names, c)
		checkGroup(&errs, f, g)
		model := ""
		if p, err := lib.Find(g.Profile); err == nil {
			model = p.Device.Model
		}
		for range max(g.Count, 0) {
			s.planned = append(s.planned, farm.Planned{Name: nm.next(g.SimDevices), Model: model, Field: f, ADBServer: g.ADBServer})
			s.group = append(s.group, gi)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

type simSupplier struct {
	// sim is the farm the last Up started (for tests of this package).
	sim     *simulator.Farm
	cfg     *farm.Config
	lib     profile.Library
	groups  []SimGroup
	planned []farm.Planned
	group   []int // group index of each planned device
}

func (s *simSupplier) Planned() []farm.Planned { return s.planned }

func (s *simSupplier) Up(ctx context.Context, env farm.UpEnv, only []string) (*farm.Supply, error) {
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	w := s.cfg.WeChat
	startWeChat := w.Mode == WeChatSimulated
	var cfgs []simulator.DeviceConfig
	var names []string
	var groups []int
	// Offsets and drift alternate within a group as before, by each
	// device's index in its group, whichever devices a shard brings up.
	idx := map[int]int{}
	for i, p := range s.planned {
		gi := s.group[i]
		k := idx[gi]
		idx[gi]++
		if only != nil && !want[p.Name] {
			continue
		}
		g := s.groups[gi]
		prof, err := s.lib.Find(g.Profile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Field, err)
		}
		if len(g.StageScale) > 0 {
			if prof, err = prof.ScaleStages(g.StageScale); err != nil {
				return nil, fmt.Errorf("%s.stageScale: %w", p.Field, err)
			}
		}
		offsets, _ := ParseOffset(g.ClockOffset, g.Count)
		addr := "127.0.0.1:0"
		if g.Port != 0 {
			addr = simulator.PortAddr(g.Port + k)
		}
		drift := g.ClockDriftPPM
		if k%2 == 1 {
			drift = -drift
		}
		url := ""
		if !startWeChat {
			url = env.WeChatURL
		}
		cfgs = append(cfgs, simulator.DeviceConfig{Addr: addr, SN: SNOf(p.Name), Profile: prof, Defects: g.Defects,
			ClockOffset: offsets[k], ClockDriftPPM: drift, Auth: g.Auth, HostPackage: g.HostPackage, NotRooted: g.NotRooted,
			WeChatURL: url, LoseAtPush: g.LoseAtPush, Loss: g.Loss})
		names = append(names, p.Name)
		groups = append(groups, gi)
	}
	fc := simulator.FarmConfig{Devices: cfgs, NoWeChat: !startWeChat}
	if startWeChat {
		fc.WeChat.Faults = w.Faults
		if w.AppID != "" {
			fc.WeChat.AppID = w.AppID
		}
		if w.Secret != "" {
			fc.WeChat.AppSecret = w.Secret
		}
	}
	sim, err := simulator.NewFarm(ctx, fc)
	if err != nil {
		return nil, err
	}
	s.sim = sim
	sup := &farm.Supply{}
	if sim.WeChat != nil {
		sup.WeChat = &farm.WeChatSpec{URL: sim.WeChat.URL(), AppID: sim.WeChat.AppID(), Secret: sim.WeChat.AppSecret(), Token: sim.WeChat.AccessToken()}
		env.Logf("simulated WeChat side on %s", sim.WeChat.URL())
	}
	var timers []*time.Timer
	for i, d := range sim.Devices {
		g := s.groups[groups[i]]
		sup.Devices = append(sup.Devices, device.Spec{Name: names[i], Server: env.ADBServer(g.ADBServer), Serial: d.Serial(), Connect: true,
			SN: d.SN(), ModelID: d.ModelID(), Model: d.Model(), HostPackage: d.HostPackage(), Push: device.PushWeChat, Simulated: true,
			Profile: d.Profile().Name, Defects: d.Defects(), ClockOffset: cfgs[i].ClockOffset, ClockDriftPPM: cfgs[i].ClockDriftPPM,
			Answer: device.DefaultAnswer, HangUp: device.DefaultHangUp, Accept: device.DefaultAccept})
		if g.Install != nil {
			sup.Devices[len(sup.Devices)-1].Install = &device.InstallSpec{APK: s.cfg.Resolve(g.Install.APK), Package: g.Install.Package}
		}
		env.Logf("simulated device %s on %s sn=%s model=%s defects=%v", names[i], d.Serial(), d.SN(), d.Model(), d.Defects())
		if g.Lifetime != "" {
			life, _ := time.ParseDuration(g.Lifetime)
			name := names[i]
			timers = append(timers, time.AfterFunc(life, func() {
				env.Logf("simulated device %s dies (lifetime %v)", name, life)
				_ = d.Close()
			}))
		}
	}
	var once sync.Once
	sup.Close = func(context.Context) error {
		var err error
		once.Do(func() {
			for _, t := range timers {
				t.Stop()
			}
			err = sim.Close()
		})
		return err
	}
	return sup, nil
}
