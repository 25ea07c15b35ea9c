package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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
	// HookLag: with the lagging-hooks defect, how long after each step the
	// host app writes its contract line. Optional (DefaultHookLag).
	HookLag Dist `yaml:"hookLag,omitempty"`
	// DoubleLaunchGap: with the double-launch defect, the time between the
	// two launchMiniProgram calls for one push. Optional
	// (DefaultDoubleLaunchGap).
	DoubleLaunchGap Dist `yaml:"doubleLaunchGap,omitempty"`
	// Boot: a reboot → sys.boot_completed=1 (optional; DefaultBoot when unset).
	Boot Dist `yaml:"boot,omitempty"`
}

// Defaults of the optional timing fields, and the ranges allowed for them.
var (
	DefaultHookLag         = Const(300 * time.Millisecond)
	DefaultDoubleLaunchGap = Uniform(50*time.Millisecond, 200*time.Millisecond)
)

const (
	maxHookLag         = 10 * time.Second
	maxDoubleLaunchGap = 5 * time.Second
)

// optionalTiming names the timing fields a profile may leave out.
var optionalTiming = map[string]bool{"hookLag": true, "doubleLaunchGap": true}

// WithDefaults returns t with its unset optional fields given their
// defaults.
func (t Timing) WithDefaults() Timing {
	if t.HookLag.IsZero() {
		t.HookLag = DefaultHookLag
	}
	if t.DoubleLaunchGap.IsZero() {
		t.DoubleLaunchGap = DefaultDoubleLaunchGap
	}
	return t
}

// DefaultBoot is the boot time of a profile that sets none: a few seconds,
// short for tests (real devices take 20-60 s).
var DefaultBoot = LogNormal(4*time.Second, 8*time.Second)

// Load reads a profile file. A profile that inherits is completed from the
// file of that name in the same directory.
func Load(path string) (*Profile, error) {
	return Dir(filepath.Dir(path)).load(strings.TrimSuffix(filepath.Base(path), ".yaml"), nil)
}

func (l Library) load(name string, seen []string) (*Profile, error) {
	where := l.Where + "/" + name + ".yaml"
	if len(seen) > 8 {
		return nil, fmt.Errorf("profile %s: inherits too deep: %s", where, strings.Join(seen, " → "))
	}
	data, err := fs.ReadFile(l.FS, name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", where, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", where, err)
	}
	if p.Inherits != "" {
		if strings.ContainsAny(p.Inherits, `/\`) {
			return nil, fmt.Errorf("profile %s: inherits %q: give a profile name from the same directory", where, p.Inherits)
		}
		base, err := l.load(p.Inherits, append(seen, where))
		if err != nil {
			return nil, fmt.Errorf("profile %s: inherits %q: %w", where, p.Inherits, err)
		}
		fill(reflect.ValueOf(p).Elem(), reflect.ValueOf(base).Elem())
	}
	p.Timing = p.Timing.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", where, err)
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
		top := dst.Type() == reflect.TypeOf(Profile{})
		for i := range dst.NumField() {
			// A profile's own name, description and parent are never
			// inherited (device.name is).
			if n := dst.Type().Field(i).Name; top && (n == "Inherits" || n == "Name" || n == "Description") {
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

// Validate reports every missing field, by its YAML name, and values out of
// their range. The optional timing fields may be unset (see WithDefaults).
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
	if d := p.Timing.HookLag; !d.IsZero() {
		if lo, hi := d.Range(); lo <= 0 || hi > maxHookLag {
			return fmt.Errorf("timing.hookLag %s: allowed a lag of more than 0 and at most %v (its draws here span %v to %v)", d, maxHookLag, lo, hi)
		}
	}
	if d := p.Timing.DoubleLaunchGap; !d.IsZero() {
		if _, hi := d.Range(); hi > maxDoubleLaunchGap {
			return fmt.Errorf("timing.doubleLaunchGap %s: allowed at most %v (its draws here reach %v)", d, maxDoubleLaunchGap, hi)
		}
	}
	return nil
}

func zeroFields(prefix string, v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		name := tag[0]
		if slices.Contains(tag[1:], "omitempty") || (prefix == "timing" && optionalTiming[name]) {
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
func Find(dir, name string) (*Profile, error) { return Dir(dir).Find(name) }

// List returns the profile names in dir, sorted.
func List(dir string) ([]string, error) { return Dir(dir).List() }
