package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/internal/strictyaml"
	"github.com/wmpf-hil/wmpf-hil/simulator/hostapp"
	"github.com/wmpf-hil/wmpf-hil/simulator/simcontainer"
)

// Container is the provider of a simulated farm — WeChat side and devices —
// in a Docker container built FROM scratch (section container:,
// wechat.mode container), for Docker-level faults.
type Container struct{}

// Name implements farm.Provider.
func (Container) Name() string { return "container" }

// Sections implements farm.Provider.
func (Container) Sections() []string { return []string{sectionContainer} }

// WeChatModes implements farm.Provider.
func (Container) WeChatModes() []farm.WeChatMode { return []farm.WeChatMode{WeChatContainer} }

// Configure implements farm.Provider.
func (Container) Configure(c *farm.Config, sections map[string]*yaml.Node) (farm.Supplier, error) {
	n := sections[sectionContainer]
	mode := c.WeChat.Mode
	var errs strictyaml.Errors
	switch {
	case n == nil && mode == WeChatContainer:
		return nil, strictyaml.Errors{"container: required with wechat.mode container (e.g. {count: 2, profile: panel})"}
	case n != nil && mode != WeChatContainer:
		return nil, strictyaml.Errors{fmt.Sprintf("container: needs wechat.mode container (the WeChat side runs in the container with its devices), not %q", mode)}
	}
	var k ContainerFarm
	if err := strictyaml.Decode(n, sectionContainer, &k); err != nil {
		return nil, err
	}
	if c.Sections[sectionSimulated] != nil {
		errs = append(errs, "simulated: not with wechat.mode container; put the devices in container.count")
	}
	var dir string
	if pn := c.Sections[sectionProfiles]; pn != nil {
		_ = strictyaml.Decode(pn, sectionProfiles, &dir)
	}
	lib, names, err := library(c, map[string]any{sectionProfiles: dir})
	if err != nil {
		return nil, strictyaml.Errors{err.Error()}
	}
	checkDevices(&errs, sectionContainer, k.SimDevices, simcontainer.MaxDevices, names, c)
	if len(c.WeChat.Faults) > 0 {
		errs = append(errs, "wechat.faults: not with wechat.mode container (the container's WeChat side has none)")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s := &boxSupplier{cfg: c, farm: k}
	if p, err := lib.Find(k.Profile); err == nil {
		s.modelID, s.model = p.Device.ModelID, p.Device.Model
	}
	nm := namer{}
	for range k.Count {
		s.planned = append(s.planned, farm.Planned{Name: nm.next(k.SimDevices), Model: s.model, Field: sectionContainer, ADBServer: k.ADBServer})
	}
	return s, nil
}

type boxSupplier struct {
	cfg            *farm.Config
	farm           ContainerFarm
	planned        []farm.Planned
	modelID, model string
}

func (s *boxSupplier) Planned() []farm.Planned { return s.planned }

// Up starts the container with every planned device: a container's farm is
// one unit, so a shard that owns only some of its devices still runs it
// whole and hands on only its own.
func (s *boxSupplier) Up(ctx context.Context, env farm.UpEnv, only []string) (*farm.Supply, error) {
	k := s.farm
	opts := []testcontainers.ContainerCustomizer{simcontainer.WithDevices(k.Count), simcontainer.WithProfile(k.Profile),
		simcontainer.WithClockDrift(k.ClockDriftPPM)}
	if len(k.Defects) > 0 {
		opts = append(opts, simcontainer.WithDefect(k.Defects...))
	}
	offsets, _ := ParseOffset(k.ClockOffset, k.Count)
	if rest := strings.TrimPrefix(strings.TrimPrefix(k.ClockOffset, "±"), "+-"); rest != k.ClockOffset {
		d, _ := time.ParseDuration(rest)
		opts = append(opts, simcontainer.WithClockSpread(d))
	} else if k.ClockOffset != "" {
		opts = append(opts, simcontainer.WithClockOffset(offsets[0]))
	}
	start := time.Now()
	box, err := simcontainer.Run(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	t := box.Timings()
	env.Logf("simulated farm in container %s: %d devices, WeChat side on %s (go build %v, image %v, ready %v; %v in all)",
		box.Container().GetContainerID()[:12], k.Count, box.APIURL(), t.Binary.Round(time.Millisecond), t.Image.Round(time.Millisecond),
		t.Ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	sup := &farm.Supply{
		WeChat: &farm.WeChatSpec{URL: box.APIURL(), Token: box.Token()},
		Close:  func(ctx context.Context) error { return box.Terminate(ctx) },
	}
	for i, d := range box.Devices() {
		if i >= len(s.planned) {
			break
		}
		name := s.planned[i].Name
		if only != nil && !want[name] {
			continue
		}
		drift := k.ClockDriftPPM
		if i%2 == 1 {
			drift = -drift
		}
		sup.Devices = append(sup.Devices, device.Spec{Name: name, Server: env.ADBServer(k.ADBServer), Serial: d.Serial, Connect: true,
			SN: d.SN, ModelID: s.modelID, Model: d.Model, HostPackage: hostapp.DefaultPackage, Push: device.PushWeChat, Simulated: true,
			Profile: k.Profile, Container: box.Container().GetContainerID(), Defects: k.Defects, ClockOffset: offsets[i], ClockDriftPPM: drift,
			Answer: device.DefaultAnswer, HangUp: device.DefaultHangUp, Accept: device.DefaultAccept})
		env.Logf("container device %s on %s sn=%s model=%s defects=%v", name, d.Serial, d.SN, d.Model, k.Defects)
	}
	return sup, nil
}
