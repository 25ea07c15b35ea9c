package farm

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
)

// A Provider supplies devices that devices.yaml does not list one by one —
// simulated devices, a simulated farm in a container — and maybe the
// WeChat side they talk to. A provider owns top-level sections of the farm
// file and WeChat modes; it registers itself with Register from outside the
// harness (the simulator registers its providers where the commands and the
// suites are built), so the harness never depends on it.
type Provider interface {
	// Name names the provider in messages ("simulated").
	Name() string
	// Sections are the top-level devices.yaml keys it owns.
	Sections() []string
	// WeChatModes are the wechat.mode values whose WeChat side it starts.
	WeChatModes() []WeChatMode
	// Configure reads and checks the provider's part of a farm file: its
	// sections present in the file (maybe none, when only the file's
	// wechat.mode is the provider's). It returns nil when the file asks
	// nothing of it. Errors name the file's fields (strictyaml.Errors for
	// several).
	Configure(c *Config, sections map[string]*yaml.Node) (Supplier, error)
}

// A Supplier is a provider's part of one farm file.
type Supplier interface {
	// Planned lists the devices it will bring up, with their stable names,
	// before anything starts.
	Planned() []Planned
	// Up starts the WeChat side (when it serves the file's mode) and the
	// named devices (every planned device when only is nil). The supply
	// lives until its Close, not as long as ctx.
	Up(ctx context.Context, env UpEnv, only []string) (*Supply, error)
}

// Planned is a device a supplier will bring up.
type Planned struct {
	Name  string
	Model string
	// Field names the farm file's entry that plans it, for messages
	// ("simulated[1]").
	Field string
	// ADBServer is the name of the adb server it is reached through ("":
	// the first).
	ADBServer string
}

// UpEnv is what a supplier needs from the run to bring devices up.
type UpEnv struct {
	// ADBServer returns the address of a named adb server ("": the first).
	ADBServer func(name string) string
	// WeChatURL is the WeChat side the devices use when the supplier does
	// not start one (wechat.mode url).
	WeChatURL string
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// Supply is what a supplier brought up.
type Supply struct {
	// Devices, each with its stable name; Connect set for those the run
	// must `adb connect`.
	Devices []device.Spec
	// WeChat is the WeChat side it started, if it started one.
	WeChat *WeChatSpec
	// Close stops everything it started.
	Close func(ctx context.Context) error
	// Restart starts the WeChat side it started again after it failed
	// (nil: it cannot).
	Restart func(ctx context.Context) error
}

type configured struct {
	provider Provider
	supplier Supplier
}

var (
	providersMu sync.Mutex
	providers   []Provider
)

// Register adds a provider. It panics when a section or mode is already
// owned: two providers cannot read the same part of a file.
func Register(p Provider) {
	providersMu.Lock()
	defer providersMu.Unlock()
	for _, q := range providers {
		if q.Name() == p.Name() {
			return // registered twice from two places: the same provider
		}
		for _, s := range p.Sections() {
			for _, t := range q.Sections() {
				if s == t {
					panic(fmt.Sprintf("farm: providers %s and %s both own section %s", q.Name(), p.Name(), s))
				}
			}
		}
		for _, m := range p.WeChatModes() {
			for _, n := range q.WeChatModes() {
				if m == n {
					panic(fmt.Sprintf("farm: providers %s and %s both serve wechat.mode %s", q.Name(), p.Name(), m))
				}
			}
		}
	}
	providers = append(providers, p)
}

func registered() []Provider {
	providersMu.Lock()
	defer providersMu.Unlock()
	return append([]Provider(nil), providers...)
}

func providerNames() []string {
	var out []string
	for _, p := range registered() {
		out = append(out, p.Name())
	}
	if len(out) == 0 {
		out = []string{"none registered"}
	}
	return out
}

func sectionOwners() map[string]Provider {
	out := map[string]Provider{}
	for _, p := range registered() {
		for _, s := range p.Sections() {
			out[s] = p
		}
	}
	return out
}

func sectionNames() []string {
	var out []string
	for s := range sectionOwners() {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func modeOwners() map[WeChatMode]Provider {
	out := map[WeChatMode]Provider{}
	for _, p := range registered() {
		for _, m := range p.WeChatModes() {
			out[m] = p
		}
	}
	return out
}

// WeChatModes lists every wechat.mode a farm file may use: the harness's
// own and the registered providers'.
func WeChatModes() []WeChatMode {
	out := []WeChatMode{}
	for _, p := range registered() {
		out = append(out, p.WeChatModes()...)
	}
	return append(out, WeChatURL, WeChatReal)
}

// Planned lists every device of the farm file, in a stable order: the real
// devices as listed, then each provider's.
func (c *Config) Planned() []Planned {
	var out []Planned
	for i, d := range c.Devices {
		out = append(out, Planned{Name: d.DeviceName(), Model: d.Model, Field: fmt.Sprintf("devices[%d]", i), ADBServer: d.ADBServer})
	}
	for _, s := range c.suppliers {
		out = append(out, s.supplier.Planned()...)
	}
	return out
}

// DeviceCount is how many devices the farm file lists.
func (c *Config) DeviceCount() int { return len(c.Planned()) }
