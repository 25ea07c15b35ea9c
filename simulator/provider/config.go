// Package provider supplies simulated devices to the harness's farm: the
// simulated: section of devices.yaml (devices and a WeChat side in the
// run's own process, wechat.mode simulated) and the container: section (the
// simulated farm in a Docker container, wechat.mode container). The
// commands and the suites call Register; the harness never imports this
// package.
package provider

import (
	"fmt"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/internal/strictyaml"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// Register makes the simulated and container providers known to the farm.
// Calling it more than once is harmless.
func Register() {
	farm.Register(Simulated{})
	farm.Register(Container{})
}

// WeChat modes the providers serve.
const (
	// WeChatSimulated: the run starts the simulated WeChat side in its own
	// process, with the simulated devices.
	WeChatSimulated farm.WeChatMode = "simulated"
	// WeChatContainer: the run starts the simulated farm, WeChat side and
	// devices, in a Docker container.
	WeChatContainer farm.WeChatMode = "container"
)

// SimDevices are identical simulated devices: how many, their profile and
// defects, their clocks, and the adb server that reaches them.
type SimDevices struct {
	Count int `yaml:"count"`
	// Name prefixes the devices' names (default: the profile's name):
	// NAME-1, NAME-2, … counted over every group with the same prefix.
	Name    string   `yaml:"name"`
	Profile string   `yaml:"profile"`
	Defects []string `yaml:"defects"`
	// ClockOffset: a duration ("3s", "-1500ms") for every device, or a
	// spread ("±4s") over the group.
	ClockOffset   string  `yaml:"clockOffset"`
	ClockDriftPPM float64 `yaml:"clockDriftPPM"`
	ADBServer     string  `yaml:"adbServer"`
}

// SimGroup is a group of simulated devices in the run's own process.
type SimGroup struct {
	SimDevices `yaml:",inline"`
	// Port of the first device; 0 picks free ports.
	Port        int           `yaml:"port"`
	Auth        adbd.AuthMode `yaml:"auth"`
	HostPackage string        `yaml:"hostPackage"`
	NotRooted   bool          `yaml:"notRooted"`
	// Lifetime makes the devices die (their adbd and system stop, as a
	// device that loses power) this long after the farm is up.
	Lifetime string `yaml:"lifetime"`
	// LoseAtPush makes each device of the group go away when it receives
	// its Nth push, in the middle of that call. Loss says how.
	LoseAtPush int            `yaml:"loseAtPush"`
	Loss       simulator.Loss `yaml:"loss"`
	// Install is a build of the host app to install on the group's
	// devices before the run (wmpf-sim apk makes simulated builds).
	Install *farm.Install `yaml:"install"`
	// StageScale multiplies the timing of stages of a call on the group's
	// devices (launch: 1.3 makes the Mini Program start 30% slower): a
	// regression of a known size, to rehearse the release gate.
	StageScale map[string]float64 `yaml:"stageScale"`
}

// ContainerFarm is the simulated farm in a container.
type ContainerFarm struct {
	SimDevices `yaml:",inline"`
}

// sections of devices.yaml the providers own.
const (
	sectionSimulated = "simulated"
	sectionProfiles  = "profiles"
	sectionContainer = "container"
)

// maxGroup bounds one simulated group.
const maxGroup = farm.MaxDevices

// library returns the profiles the file names, or the built-in ones.
func library(c *farm.Config, sections map[string]any) (profile.Library, []string, error) {
	lib := profile.Builtin()
	if dir, _ := sections[sectionProfiles].(string); dir != "" {
		lib = profile.Dir(c.Resolve(dir))
	}
	names, err := lib.List()
	if err != nil {
		return lib, nil, fmt.Errorf("profiles %q: %v", lib.Where, err)
	}
	for _, n := range names {
		if _, err := lib.Find(n); err != nil {
			return lib, nil, fmt.Errorf("profiles: %v", err)
		}
	}
	return lib, names, nil
}

// checkDevices checks the fields every simulated group has.
func checkDevices(errs *strictyaml.Errors, f string, g SimDevices, maxCount int, profiles []string, c *farm.Config) {
	add := func(format string, args ...any) { *errs = append(*errs, fmt.Sprintf(format, args...)) }
	if g.Count < 1 || g.Count > maxCount {
		add("%s.count %d: allowed 1..%d", f, g.Count, maxCount)
	}
	if !contains(profiles, g.Profile) {
		add("%s.profile %q: allowed %s", f, g.Profile, strings.Join(profiles, ", "))
	}
	if _, err := profile.ParseDefects(g.Defects); err != nil {
		add("%s.defects: %v", f, err)
	}
	if _, err := ParseOffset(g.ClockOffset, max(g.Count, 1)); err != nil {
		add("%s.clockOffset: %v", f, err)
	}
	if g.ClockDriftPPM < -1000 || g.ClockDriftPPM > 1000 {
		add("%s.clockDriftPPM %g: allowed -1000..1000", f, g.ClockDriftPPM)
	}
	if g.ADBServer != "" {
		var names []string
		found := false
		for _, s := range c.ADBServers {
			names = append(names, s.Name)
			found = found || s.Name == g.ADBServer
		}
		if !found {
			add("%s.adbServer %q: allowed %s", f, g.ADBServer, strings.Join(names, ", "))
		}
	}
	if g.Name != "" && (strings.ContainsAny(g.Name, " /\\:") || len(g.Name) > 40) {
		add("%s.name %q: want a short prefix of letters, digits, '.', '_' or '-'", f, g.Name)
	}
}

func checkGroup(errs *strictyaml.Errors, f string, g SimGroup) {
	add := func(format string, args ...any) { *errs = append(*errs, fmt.Sprintf(format, args...)) }
	if g.Port != 0 {
		if g.Port < 1024 || g.Port+g.Count-1 > 65535 {
			add("%s.port %d: allowed 1024..%d for %d devices, or 0 for free ports", f, g.Port, 65536-g.Count, g.Count)
		} else if g.Port <= 5585 && g.Port+g.Count-1 >= 5555 {
			add("%s.port %d: devices would use ports in 5555-5585, which the adb server probes for emulators", f, g.Port)
		}
	}
	if g.Lifetime != "" {
		if d, err := time.ParseDuration(g.Lifetime); err != nil || d <= 0 {
			add("%s.lifetime %q: want a positive duration like 20s", f, g.Lifetime)
		}
	}
	if g.LoseAtPush < 0 {
		add("%s.loseAtPush %d: want a push count of 1 or more, or 0 (never)", f, g.LoseAtPush)
	}
	if g.Loss != "" && !containsLoss(g.Loss) {
		add("%s.loss %q: allowed %s", f, g.Loss, simulator.LossNames())
	}
	if err := profile.CheckStageScale(g.StageScale); err != nil {
		add("%s.stageScale: %v", f, err)
	}
	if g.Install != nil {
		if g.Install.APK == "" {
			add("%s.install.apk: required (the APK of the build under test)", f)
		}
	}
	if g.HostPackage != "" && !strings.Contains(g.HostPackage, ".") {
		add("%s.hostPackage %q: want an Android package name like com.example.voipdevice", f, g.HostPackage)
	}
}

// checkFaults checks wechat.faults for a WeChat side the run starts.
func checkFaults(errs *strictyaml.Errors, faults []string) {
	if _, err := wechat.ParseFaults(faults); err != nil {
		*errs = append(*errs, fmt.Sprintf("wechat.faults: %v", err))
	}
}

func containsLoss(l simulator.Loss) bool {
	for _, x := range simulator.Losses {
		if x == l {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// namer gives simulated devices stable names, PREFIX-1, PREFIX-2, …, counted
// over every group of a file with the same prefix, and SNs made from them
// (no port in either).
type namer map[string]int

func (n namer) next(g SimDevices) string {
	prefix := g.Name
	if prefix == "" {
		prefix = g.Profile
	}
	n[prefix]++
	return fmt.Sprintf("%s-%d", prefix, n[prefix])
}

// SNOf is the sn of the simulated device called name.
func SNOf(name string) string { return "SIM-" + strings.ToUpper(name) }
