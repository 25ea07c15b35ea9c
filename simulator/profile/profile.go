package profile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Profile is one kind of device: what it says about itself and how long each
// step of a call takes on it.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// Inherits names a profile whose values fill the fields this one omits.
	Inherits string `yaml:"inherits,omitempty"`
	Device   Device `yaml:"device"`
	Timing   Timing `yaml:"timing"`
}

// Device is what the simulated device reports in getprop and its ADB banner.
type Device struct {
	Manufacturer string `yaml:"manufacturer"`
	Brand        string `yaml:"brand"`
	Model        string `yaml:"model"`
	Product      string `yaml:"product"`
	Name         string `yaml:"name"` // ro.product.device
	Release      string `yaml:"release"`
	SDK          int    `yaml:"sdk"`
	ModelID      string `yaml:"modelId"` // the WMPF device model id
}

// Timing holds the distribution of each simulated step.
type Timing struct {
	// PushDelivery: the WeChat backend sends the push → WMPF's listener is called.
	PushDelivery Dist `yaml:"pushDelivery"`
	// AppHandle: the host app's listener runs → it calls launchMiniProgram.
	AppHandle Dist `yaml:"appHandle"`
	// NotificationShow: the host app shows its own incoming-call screen.
	NotificationShow Dist `yaml:"notificationShow"`
	// AutoAccept: with the autoAccept hook, the delay of the simulated user tap.
	AutoAccept Dist `yaml:"autoAccept"`
	// MPColdStart: launchMiniProgram → call page shown, Mini Program process not running.
	MPColdStart Dist `yaml:"mpColdStart"`
	// MPWarmStart: the same with the Mini Program kept running in the background.
	MPWarmStart Dist `yaml:"mpWarmStart"`
	// PrefetchSaving: taken off a cold start when prefetchDeviceToken's credential is valid.
	PrefetchSaving Dist `yaml:"prefetchSaving"`
	// AutoAnswer: isClickedHangOnBtn=1 → answered after the page shows.
	AutoAnswer Dist `yaml:"autoAnswer"`
	// TapAnswer: a tap on the answer button → answered.
	TapAnswer Dist `yaml:"tapAnswer"`
	// JoinRoom: answered → joined the room.
	JoinRoom Dist `yaml:"joinRoom"`
	// WMPFBoot: the WMPF process starts → its service is ready.
	WMPFBoot Dist `yaml:"wmpfBoot"`
	// Activation: activateDevice round trip.
	Activation Dist `yaml:"activation"`
	// DeathNotice: the WMPF process dies → onWMPFFinish.
	DeathNotice Dist `yaml:"deathNotice"`
	// AppRestart: a crashed host app is started again by the system.
	AppRestart Dist `yaml:"appRestart"`
	// EndNavigate: the call ends → the end page or background.
	EndNavigate Dist `yaml:"endNavigate"`
	// IPC: one binder call or Invoke Channel hop.
	IPC Dist `yaml:"ipc"`
	// LateListenerDelay: with the late-listener defect, how late the listener is registered.
	LateListenerDelay Dist `yaml:"lateListenerDelay"`
	// SlowLaunchFactor: with the slow-launch defect, Mini Program starts take this many times longer.
	SlowLaunchFactor float64 `yaml:"slowLaunchFactor"`
	// Boot: a reboot → sys.boot_completed=1 (optional; DefaultBoot when unset).
	Boot Dist `yaml:"boot,omitempty"`
}

// DefaultBoot is the boot time of a profile that sets none: a few seconds,
// short for tests (real devices take 20-60 s).
var DefaultBoot = LogNormal(4*time.Second, 8*time.Second)

// Load reads a profile file. A profile that inherits is completed from the
// file of that name in the same directory.
func Load(path string) (*Profile, error) {
	return load(path, nil)
}

func load(path string, seen []string) (*Profile, error) {
	if len(seen) > 8 {
		return nil, fmt.Errorf("profile %s: inherits too deep: %s", path, strings.Join(seen, " → "))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	if p.Inherits != "" {
		if strings.ContainsAny(p.Inherits, `/\`) {
			return nil, fmt.Errorf("profile %s: inherits %q: give a profile name from the same directory", path, p.Inherits)
		}
		basePath := filepath.Join(filepath.Dir(path), p.Inherits+".yaml")
		base, err := load(basePath, append(seen, path))
		if err != nil {
			return nil, fmt.Errorf("profile %s: inherits %q: %w", path, p.Inherits, err)
		}
		fill(reflect.ValueOf(p).Elem(), reflect.ValueOf(base).Elem())
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes a profile; unknown fields are errors.
func Parse(data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &p, nil
}

// fill copies into dst's zero fields the values of src.
func fill(dst, src reflect.Value) {
	switch dst.Kind() {
	case reflect.Struct:
		if dst.Type() == reflect.TypeOf(Dist{}) {
			if dst.Interface().(Dist).IsZero() {
				dst.Set(src)
			}
			return
		}
		for i := range dst.NumField() {
			if dst.Type().Field(i).Name == "Inherits" || dst.Type().Field(i).Name == "Name" || dst.Type().Field(i).Name == "Description" {
				continue
			}
			fill(dst.Field(i), src.Field(i))
		}
	default:
		if dst.IsZero() {
			dst.Set(src)
		}
	}
}

// Validate reports every missing field, by its YAML name.
func (p *Profile) Validate() error {
	var missing []string
	if p.Name == "" {
		missing = append(missing, "name")
	}
	missing = append(missing, zeroFields("device", reflect.ValueOf(p.Device))...)
	missing = append(missing, zeroFields("timing", reflect.ValueOf(p.Timing))...)
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing %s (set them, or inherit from a profile that has them)", strings.Join(missing, ", "))
	}
	if p.Timing.SlowLaunchFactor < 1 {
		return fmt.Errorf("timing.slowLaunchFactor %g: allowed 1 or more", p.Timing.SlowLaunchFactor)
	}
	return nil
}

func zeroFields(prefix string, v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		name := tag[0]
		if slices.Contains(tag[1:], "omitempty") {
			continue // optional
		}
		fv := v.Field(i)
		if d, ok := fv.Interface().(Dist); ok {
			if d.IsZero() {
				out = append(out, prefix+"."+name)
			}
			continue
		}
		if fv.IsZero() {
			out = append(out, prefix+"."+name)
		}
	}
	return out
}

// ErrNotFound is returned by Find for an unknown profile name.
var ErrNotFound = errors.New("profile not found")

// Find loads the profile called name from dir (dir/name.yaml).
func Find(dir, name string) (*Profile, error) {
	path := filepath.Join(dir, name+".yaml")
	if _, err := os.Stat(path); err != nil {
		names, _ := List(dir)
		return nil, fmt.Errorf("profile %q: %w in %s; allowed: %s", name, ErrNotFound, dir, strings.Join(names, ", "))
	}
	return Load(path)
}

// List names the profiles in dir.
func List(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	sort.Strings(names)
	return names, nil
}
