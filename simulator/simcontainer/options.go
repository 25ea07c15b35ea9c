package simcontainer

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// Option configures the farm Run starts. It is a
// testcontainers.ContainerCustomizer, so options of this package and of
// testcontainers (testcontainers.WithLogger, testcontainers.WithEnv, …) can
// be given to Run together.
type Option func(*settings) error

// Customize implements testcontainers.ContainerCustomizer; the settings are
// read by Run itself.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// settings are the flags of `wmpf-sim farm` and how Run waits for it.
type settings struct {
	devices        int
	profiles       []string
	defects        []string
	clockOffset    string
	clockDrift     float64
	seed           int64
	farmArgs       []string
	startupTimeout time.Duration
	noWatchdog     bool
}

func defaultSettings() settings {
	return settings{devices: 1, startupTimeout: DefaultStartupTimeout}
}

// WithDevices sets the number of simulated devices (default 1). Device i
// listens on FirstDevicePort+i inside the container.
func WithDevices(n int) Option {
	return func(s *settings) error {
		if n < 1 || n > MaxDevices {
			return fmt.Errorf("WithDevices(%d): allowed 1..%d", n, MaxDevices)
		}
		s.devices = n
		return nil
	}
}

// WithProfile sets the device profile, or several given to the devices in
// turn (`wmpf-sim farm -profile a,b`): names of fixtures/profiles/*.yaml.
// The default is panel.
func WithProfile(names ...string) Option {
	return func(s *settings) error {
		if len(names) == 0 {
			return fmt.Errorf("WithProfile: no profile named")
		}
		for _, n := range names {
			if strings.TrimSpace(n) == "" || strings.Contains(n, ",") {
				return fmt.Errorf("WithProfile(%q): a profile name, without commas", n)
			}
		}
		s.profiles = append([]string(nil), names...)
		return nil
	}
}

// WithDefect switches defects on (`wmpf-sim farm -defect`): "NAME" for
// every device, "INDEX:NAME" for device INDEX (0-based). Repeatable; see
// `wmpf-sim defects` for the names.
func WithDefect(specs ...string) Option {
	return func(s *settings) error {
		s.defects = append(s.defects, specs...)
		return nil
	}
}

// WithClockOffset sets every device's clock offset from the host.
func WithClockOffset(d time.Duration) Option {
	return func(s *settings) error {
		s.clockOffset = d.String()
		return nil
	}
}

// WithClockSpread spreads the devices' clock offsets over -d..+d
// (`-clock-offset ±d`).
func WithClockSpread(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return fmt.Errorf("WithClockSpread(%s): want a positive spread", d)
		}
		s.clockOffset = "±" + d.String()
		return nil
	}
}

// WithClockDrift sets the devices' clock drift in ppm; devices alternate its
// sign.
func WithClockDrift(ppm float64) Option {
	return func(s *settings) error {
		s.clockDrift = ppm
		return nil
	}
}

// WithSeed sets the random seed of the devices' timing (0: derived from each
// device's port).
func WithSeed(seed int64) Option {
	return func(s *settings) error {
		s.seed = seed
		return nil
	}
}

// WithFarmArgs passes more flags to `wmpf-sim farm`, such as
// "-ring-timeout=5s", "-offline-grace=2s", "-auth=reject" or "-not-rooted".
// The flags that decide where the farm listens (-n, -port, -host, -api,
// -profiles) are Run's own and refused here.
func WithFarmArgs(args ...string) Option {
	return func(s *settings) error {
		for _, a := range args {
			name := strings.TrimLeft(a, "-")
			name, _, _ = strings.Cut(name, "=")
			switch name {
			case "n", "port", "host", "api", "profiles":
				return fmt.Errorf("WithFarmArgs(%q): -%s is set by simcontainer", a, name)
			}
		}
		s.farmArgs = append(s.farmArgs, args...)
		return nil
	}
}

// WithStartupTimeout bounds the wait for the READY and API lines after each
// start (default DefaultStartupTimeout).
func WithStartupTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("WithStartupTimeout(%s): want a positive duration", d)
		}
		s.startupTimeout = d
		return nil
	}
}

// WithoutWatchdog starts no watchdog process: a farm whose owner is killed
// before Terminate then stays until the next Run of this host removes it
// (or forever, if none comes). For tests of that path, and for programs
// that cannot run themselves again (see Run).
func WithoutWatchdog() Option {
	return func(s *settings) error {
		s.noWatchdog = true
		return nil
	}
}

// validate checks what can be checked before building anything: profile
// names against the module's fixtures/profiles, defect names and indexes.
func (s *settings) validate(root string) error {
	dir := filepath.Join(root, "fixtures", "profiles")
	for _, n := range s.profiles {
		if _, err := profile.Find(dir, strings.TrimSpace(n)); err != nil {
			return fmt.Errorf("WithProfile: %w", err)
		}
	}
	for _, d := range s.defects {
		name := d
		if idx, n, ok := strings.Cut(d, ":"); ok {
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 || i >= s.devices {
				return fmt.Errorf("WithDefect(%q): device index %q: allowed 0..%d", d, idx, s.devices-1)
			}
			name = n
		}
		if _, err := profile.ParseDefects([]string{name}); err != nil {
			return fmt.Errorf("WithDefect(%q): %w", d, err)
		}
	}
	return nil
}

// cmd is the container's command: `wmpf-sim farm` (the image's entrypoint
// is wmpf-sim) listening on all the container's addresses.
func (s *settings) cmd() []string {
	args := []string{
		"farm",
		"-host=0.0.0.0",
		"-port=" + strconv.Itoa(FirstDevicePort),
		"-api=0.0.0.0:" + strconv.Itoa(APIPort),
		"-n=" + strconv.Itoa(s.devices),
	}
	if len(s.profiles) > 0 {
		args = append(args, "-profile="+strings.Join(s.profiles, ","))
	}
	for _, d := range s.defects {
		args = append(args, "-defect="+d)
	}
	if s.clockOffset != "" {
		args = append(args, "-clock-offset="+s.clockOffset)
	}
	if s.clockDrift != 0 {
		args = append(args, "-clock-drift="+strconv.FormatFloat(s.clockDrift, 'g', -1, 64))
	}
	if s.seed != 0 {
		args = append(args, "-seed="+strconv.FormatInt(s.seed, 10))
	}
	return append(args, s.farmArgs...)
}
