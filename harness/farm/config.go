// Package farm reads devices.yaml — which adb servers, which real and
// simulated devices, which WeChat side, which budgets — and brings the farm
// up: adb servers started or reached, simulated devices started, network
// devices connected, every device health-checked. A device that fails its
// check is taken out of the run with the reason, not left to fail every spec.
package farm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/simcontainer"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// Config is devices.yaml.
type Config struct {
	Version    int         `yaml:"version"`
	ADBServers []ADBServer `yaml:"adbServers"`
	WeChat     WeChat      `yaml:"wechat"`
	// Budgets is the budgets file, relative to devices.yaml.
	Budgets string `yaml:"budgets"`
	// Profiles is the directory of device profiles, relative to devices.yaml.
	Profiles  string     `yaml:"profiles"`
	Simulated []SimGroup `yaml:"simulated"`
	// Container runs the simulated farm — the WeChat side and its
	// devices — in a Docker container built FROM scratch from this source
	// tree (wechat.mode container), for Docker-level faults.
	Container *ContainerFarm `yaml:"container"`
	Devices   []RealDevice   `yaml:"devices"`
	Run       RunConfig      `yaml:"run"`

	// Path is where the file was read from; Dir its directory.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
}

// ADBServer names one adb server.
type ADBServer struct {
	Name string `yaml:"name"`
	// Address is "start" (the run starts its own server on a free port of
	// 127.0.0.1, with its own HOME), "tcp:HOST:PORT" (a running server, maybe
	// on another host), or "env" (ADB_SERVER_SOCKET, default tcp:127.0.0.1:5037).
	Address string `yaml:"address"`
}

// WeChat says how calls reach the devices.
type WeChat struct {
	// Mode: "simulated" (the run starts the simulated WeChat side), "url"
	// (a running simulated side, e.g. wmpf-sim farm), "real" (WeChat's own
	// server API for pushes; needs the device maker's credentials),
	// "container" (the run starts the simulated farm, WeChat side and
	// devices, in a Docker container; see Config.Container).
	Mode string `yaml:"mode"`
	URL  string `yaml:"url"`
	// AppID and Secret of the vendor Mini Program; SecretEnv names an
	// environment variable holding the secret instead.
	AppID     string `yaml:"appid"`
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secretEnv"`
	// Token is an access token to use as is (mode url), e.g. the one
	// wmpf-sim farm prints.
	Token string `yaml:"token"`
	// Faults switches bugs of the simulated WeChat side on (mode
	// simulated), to show that the bad-input specs catch them.
	Faults []string `yaml:"faults"`
}

// DeviceCount is how many devices the farm file lists: real, simulated
// and in the container.
func (c *Config) DeviceCount() int {
	n := len(c.Devices)
	for _, g := range c.Simulated {
		n += g.Count
	}
	if c.Container != nil {
		n += c.Container.Count
	}
	return n
}

// SimDevices are identical simulated devices: how many, their profile and
// defects, their clocks, and the adb server that reaches them.
type SimDevices struct {
	Count   int      `yaml:"count"`
	Profile string   `yaml:"profile"`
	Defects []string `yaml:"defects"`
	// ClockOffset: a duration ("3s", "-1500ms") for every device, or a
	// spread ("±4s") over the group.
	ClockOffset   string  `yaml:"clockOffset"`
	ClockDriftPPM float64 `yaml:"clockDriftPPM"`
	ADBServer     string  `yaml:"adbServer"`
}

// ContainerFarm is the simulated farm in a container.
type ContainerFarm struct {
	SimDevices `yaml:",inline"`
}

// SimGroup is a group of simulated devices in the run's own process.
type SimGroup struct {
	SimDevices `yaml:",inline"`
	// Port of the first device; 0 picks free ports.
	Port        int    `yaml:"port"`
	Auth        string `yaml:"auth"`
	HostPackage string `yaml:"hostPackage"`
	NotRooted   bool   `yaml:"notRooted"`
	// Lifetime makes the devices die (their adbd and system stop, as a
	// device that loses power) this long after the farm is up: for
	// exercising how a run copes with a device lost mid-run.
	Lifetime string `yaml:"lifetime"`
	// LoseAtPush makes each device of the group go away when it receives
	// its Nth push, in the middle of that call: a loss at a fixed point of
	// the run rather than at a time. Loss says how: power-off (default)
	// or freeze (adbd hangs, its connections stay open).
	LoseAtPush int    `yaml:"loseAtPush"`
	Loss       string `yaml:"loss"`
	// StageScale multiplies the timing of stages of a call on the group's
	// devices (launch: 1.3 makes the Mini Program start 30% slower): a
	// regression of a known size, to rehearse the release gate.
	StageScale map[string]float64 `yaml:"stageScale"`
}

// RealDevice is a device reached through an adb server.
type RealDevice struct {
	// Serial as the adb server lists it: a USB serial, or HOST:PORT for a
	// network device.
	Serial string `yaml:"serial"`
	// Connect makes the run `adb connect` the serial (network devices).
	Connect     bool   `yaml:"connect"`
	ADBServer   string `yaml:"adbServer"`
	SN          string `yaml:"sn"`
	ModelID     string `yaml:"modelId"`
	Model       string `yaml:"model"`
	HostPackage string `yaml:"hostPackage"`
	// Push: how the harness's caller reaches the device: "inject" (the
	// debug host app's broadcast hook), "wechat" (callWMPF on the simulated
	// WeChat side), "pushapi" (the push server API, real or simulated).
	Push string   `yaml:"push"`
	UI   UIConfig `yaml:"ui"`
}

// UIConfig tells the harness how to find things on screen.
type UIConfig struct {
	// Answer selects the call page's answer button ("text=接听").
	Answer string `yaml:"answer"`
	// HangUp selects the call page's hang-up button ("text=挂断").
	HangUp string `yaml:"hangUp"`
	// Accept selects the host app's own notification accept button.
	Accept string `yaml:"accept"`
}

// RunConfig tunes the suites.
type RunConfig struct {
	// LatencyCalls is how many measured calls each device makes in the
	// latency suite (default 6).
	LatencyCalls int `yaml:"latencyCalls"`
	// HealthTimeout bounds each device's health check (default 20s).
	HealthTimeout string `yaml:"healthTimeout"`
	// CommandTimeout bounds each shell command on a device; a command that
	// does not finish in it makes the harness probe the device, and one
	// that does not answer is lost (default 30s).
	CommandTimeout string `yaml:"commandTimeout"`
}

// Allowed values.
var (
	wechatModes = []string{"simulated", "url", "real", "container"}
	pushModes   = []string{"inject", "wechat", "pushapi"}
	authModes   = []string{"none", "reject", "accept"}
	packageRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$`)
	selectorRE  = regexp.MustCompile(`^(text|desc|id)=.+$`)
)

// DefaultFile is the farm file used when none is named.
const DefaultFile = "devices.yaml"

// FileFromEnv returns the farm file: the flag value if set, else
// WMPF_HIL_DEVICES, else DefaultFile.
func FileFromEnv(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv("WMPF_HIL_DEVICES"); v != "" {
		return v
	}
	return DefaultFile
}

// Load reads and checks a farm file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("farm: %w", err)
	}
	c, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse decodes and checks a farm file whose relative paths are relative to dir.
func Parse(data []byte, dir string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s", strings.Replace(err.Error(), "yaml: unmarshal errors:\n  ", "", 1))
	}
	c.Dir = dir
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

type errList []string

func (e *errList) add(format string, args ...any) { *e = append(*e, fmt.Sprintf(format, args...)) }

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// Resolve makes a path from the file relative to the file's directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

func (c *Config) validate() error {
	var errs errList
	if c.Version != 1 {
		errs.add("version %d: allowed 1", c.Version)
	}
	servers := map[string]bool{}
	for i, s := range c.ADBServers {
		f := fmt.Sprintf("adbServers[%d]", i)
		if s.Name == "" {
			errs.add("%s.name: required", f)
		} else if servers[s.Name] {
			errs.add("%s.name %q: used twice", f, s.Name)
		}
		servers[s.Name] = true
		switch {
		case s.Address == "start", s.Address == "env":
		case strings.HasPrefix(s.Address, "tcp:"):
			if _, err := adb.ParseServerSocket(s.Address); err != nil {
				errs.add("%s.address %q: %v", f, s.Address, strings.TrimPrefix(err.Error(), "ADB_SERVER_SOCKET "))
			}
		default:
			errs.add("%s.address %q: allowed start, env, tcp:HOST:PORT", f, s.Address)
		}
	}
	if len(c.ADBServers) == 0 {
		errs.add("adbServers: at least one server is required (e.g. {name: local, address: start})")
	}
	serverNames := make([]string, 0, len(servers))
	for _, s := range c.ADBServers {
		serverNames = append(serverNames, s.Name)
	}
	checkServer := func(field, name string) {
		if name == "" && len(c.ADBServers) == 1 {
			return
		}
		if !servers[name] {
			errs.add("%s %q: allowed %s", field, name, strings.Join(serverNames, ", "))
		}
	}
	w := c.WeChat
	if !oneOf(w.Mode, wechatModes) {
		errs.add("wechat.mode %q: allowed %s", w.Mode, strings.Join(wechatModes, ", "))
	}
	if (w.Mode == "url" || w.Mode == "real") && !strings.HasPrefix(w.URL, "http://") && !strings.HasPrefix(w.URL, "https://") {
		errs.add("wechat.url %q: mode %s needs an http:// or https:// URL", w.URL, w.Mode)
	}
	if w.Mode == "container" && w.URL != "" {
		errs.add("wechat.url %q: mode container runs the WeChat side in the farm's container; remove url", w.URL)
	}
	if w.Mode == "container" && c.Container == nil {
		errs.add("container: required with wechat.mode container (e.g. {count: 2, profile: panel})")
	}
	if w.Mode != "container" && c.Container != nil {
		errs.add("container: needs wechat.mode container (the WeChat side runs in the container with its devices), not %q", w.Mode)
	}
	if w.Mode == "container" && len(c.Simulated) > 0 {
		errs.add("simulated: not with wechat.mode container; put the devices in container.count")
	}
	if w.Mode == "simulated" && w.URL != "" {
		errs.add("wechat.url %q: mode simulated starts its own WeChat side; remove url or use mode url", w.URL)
	}
	if w.AppID != "" && !regexp.MustCompile(`^wx[0-9a-f]{16}$`).MatchString(w.AppID) {
		errs.add("wechat.appid %q: want wx followed by 16 lowercase hex digits", w.AppID)
	}
	if _, err := wechat.ParseFaults(w.Faults); err != nil {
		errs.add("wechat.faults: %v", err)
	} else if len(w.Faults) > 0 && w.Mode != "simulated" {
		errs.add("wechat.faults: only the simulated WeChat side (mode simulated) has faults")
	}
	if w.Secret != "" && w.SecretEnv != "" {
		errs.add("wechat: give secret or secretEnv, not both")
	}
	if w.Mode == "real" && w.Token == "" && (w.AppID == "" || (w.Secret == "" && w.SecretEnv == "")) {
		errs.add("wechat: mode real needs appid and secret (or secretEnv), or token")
	}
	if c.Budgets == "" {
		errs.add("budgets: required (e.g. fixtures/budgets.yaml)")
	} else if _, err := os.Stat(c.Resolve(c.Budgets)); err != nil {
		errs.add("budgets %q: %v", c.Budgets, err)
	}
	var profileNames []string
	if len(c.Simulated) > 0 || c.Container != nil {
		if c.Profiles == "" {
			errs.add("profiles: required with simulated devices (e.g. fixtures/profiles)")
		} else if names, err := profile.List(c.Resolve(c.Profiles)); err != nil || len(names) == 0 {
			errs.add("profiles %q: no profiles there", c.Profiles)
		} else {
			profileNames = names
		}
	}
	checkDevices := func(f string, g SimDevices, maxCount int) {
		if g.Count < 1 || g.Count > maxCount {
			errs.add("%s.count %d: allowed 1..%d", f, g.Count, maxCount)
		}
		if profileNames != nil && !oneOf(g.Profile, profileNames) {
			errs.add("%s.profile %q: allowed %s", f, g.Profile, strings.Join(profileNames, ", "))
		}
		if _, err := profile.ParseDefects(g.Defects); err != nil {
			errs.add("%s.defects: %v", f, err)
		}
		if _, err := ParseOffset(g.ClockOffset, max(g.Count, 1)); err != nil {
			errs.add("%s.clockOffset: %v", f, err)
		}
		if g.ClockDriftPPM < -1000 || g.ClockDriftPPM > 1000 {
			errs.add("%s.clockDriftPPM %g: allowed -1000..1000", f, g.ClockDriftPPM)
		}
		checkServer(f+".adbServer", g.ADBServer)
	}
	for i, g := range c.Simulated {
		f := fmt.Sprintf("simulated[%d]", i)
		checkDevices(f, g.SimDevices, 256)
		if g.Port != 0 {
			if g.Port < 1024 || g.Port+g.Count-1 > 65535 {
				errs.add("%s.port %d: allowed 1024..%d for %d devices, or 0 for free ports", f, g.Port, 65536-g.Count, g.Count)
			} else if g.Port <= 5585 && g.Port+g.Count-1 >= 5555 {
				errs.add("%s.port %d: devices would use ports in 5555-5585, which the adb server probes for emulators", f, g.Port)
			}
		}
		if g.Lifetime != "" {
			if d, err := parseDuration(g.Lifetime); err != nil || d <= 0 {
				errs.add("%s.lifetime %q: want a positive duration like 20s", f, g.Lifetime)
			}
		}
		if g.LoseAtPush < 0 {
			errs.add("%s.loseAtPush %d: want a push count of 1 or more, or 0 (never)", f, g.LoseAtPush)
		}
		if err := profile.CheckStageScale(g.StageScale); err != nil {
			errs.add("%s.stageScale: %v", f, err)
		}
		if g.Loss != "" && !oneOf(g.Loss, simulator.Losses) {
			errs.add("%s.loss %q: allowed %s", f, g.Loss, strings.Join(simulator.Losses, ", "))
		}
		if g.Auth != "" && !oneOf(g.Auth, authModes) {
			errs.add("%s.auth %q: allowed %s", f, g.Auth, strings.Join(authModes, ", "))
		}
		if g.HostPackage != "" && !packageRE.MatchString(g.HostPackage) {
			errs.add("%s.hostPackage %q: want an Android package name like com.example.voipdevice", f, g.HostPackage)
		}
	}
	if c.Container != nil {
		checkDevices("container", c.Container.SimDevices, simcontainer.MaxDevices)
	}
	if w.Mode != "simulated" && len(c.Simulated) > 0 && w.Mode == "real" {
		errs.add("simulated: simulated devices need wechat.mode simulated or url (the real WeChat cannot reach them)")
	}
	serials := map[string]bool{}
	for i, d := range c.Devices {
		f := fmt.Sprintf("devices[%d]", i)
		if d.Serial == "" {
			errs.add("%s.serial: required", f)
		} else if serials[d.Serial] {
			errs.add("%s.serial %q: listed twice", f, d.Serial)
		}
		serials[d.Serial] = true
		if d.Connect && !strings.Contains(d.Serial, ":") {
			errs.add("%s.connect: serial %q is not HOST:PORT; only network devices can be connected", f, d.Serial)
		}
		checkServer(f+".adbServer", d.ADBServer)
		if d.SN == "" {
			errs.add("%s.sn: required (the device serial number WMPF uses)", f)
		}
		if d.ModelID == "" {
			errs.add("%s.modelId: required (the WMPF device model id)", f)
		}
		if !packageRE.MatchString(d.HostPackage) {
			errs.add("%s.hostPackage %q: want an Android package name like com.vendor.voip", f, d.HostPackage)
		}
		if !oneOf(d.Push, pushModes) {
			errs.add("%s.push %q: allowed %s", f, d.Push, strings.Join(pushModes, ", "))
		}
		if d.Push == "wechat" && w.Mode == "real" {
			errs.add("%s.push wechat: callWMPF is only served by the simulated WeChat side; use inject or pushapi with wechat.mode real", f)
		}
		for name, sel := range map[string]string{"answer": d.UI.Answer, "hangUp": d.UI.HangUp, "accept": d.UI.Accept} {
			if sel != "" && !selectorRE.MatchString(sel) {
				errs.add("%s.ui.%s %q: want text=…, desc=… or id=…", f, name, sel)
			}
		}
	}
	if c.DeviceCount() == 0 && len(c.Simulated) == 0 {
		errs.add("no devices: list simulated groups, devices, or a container farm")
	}
	if c.Run.LatencyCalls < 0 || c.Run.LatencyCalls > 1000 {
		errs.add("run.latencyCalls %d: allowed 1..1000 (0 for the default, 6)", c.Run.LatencyCalls)
	}
	if c.Run.HealthTimeout != "" {
		if _, err := parseDuration(c.Run.HealthTimeout); err != nil {
			errs.add("run.healthTimeout: %v", err)
		}
	}
	if c.Run.CommandTimeout != "" {
		if d, err := parseDuration(c.Run.CommandTimeout); err != nil || d < time.Second || d > 10*time.Minute {
			errs.add("run.commandTimeout %q: allowed 1s..10m", c.Run.CommandTimeout)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n  "))
	}
	return nil
}
