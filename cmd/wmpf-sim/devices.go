package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/cli"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/provider"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// deviceFlags are the flags devices and farm share.
type deviceFlags struct {
	n          int
	port       int
	host       string
	profiles   string
	profileDir string
	defects    multiFlag
	offset     string
	drift      float64
	auth       string
	notRooted  bool
	seed       int64
	wechatURL  string
}

func (f *deviceFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.n, "n", 1, "number of devices")
	fs.IntVar(&f.port, "port", 16000, "first device port (devices use PORT, PORT+1, …; 5555-5585 are refused)")
	fs.StringVar(&f.host, "host", "127.0.0.1", "address to listen on (0.0.0.0 inside a container)")
	fs.StringVar(&f.profiles, "profile", "panel", "device profile, or a comma list given to the devices in turn")
	fs.StringVar(&f.profileDir, "profiles", os.Getenv("WMPF_HIL_PROFILES"), "directory of device profiles (default: $WMPF_HIL_PROFILES, else the built-in profiles)")
	fs.Var(&f.defects, "defect", "switch a defect on: NAME for every device, or INDEX:NAME for device INDEX (0-based); repeatable")
	fs.StringVar(&f.offset, "clock-offset", "0s", "device clock offset from the host: a duration, or SPREAD like ±5s to spread devices over -5s..+5s")
	fs.Float64Var(&f.drift, "clock-drift", 0, "device clock drift in ppm (devices alternate its sign)")
	fs.StringVar(&f.auth, "auth", "none", "adb authentication: none, reject (stays unauthorized), accept")
	fs.BoolVar(&f.notRooted, "not-rooted", false, "adbd runs as the shell user (user build)")
	fs.Int64Var(&f.seed, "seed", 0, "random seed for timing (0: derived from the port)")
}

// library is the profiles directory named, or the built-in profiles.
func library(dir string) profile.Library {
	if dir == "" {
		return profile.Builtin()
	}
	return profile.Dir(dir)
}

// configs turns the flags into one DeviceConfig per device.
func (f *deviceFlags) configs() ([]simulator.DeviceConfig, error) {
	if f.n < 1 || f.n > 1000 {
		return nil, cli.UsageError{Msg: fmt.Sprintf("-n %d: allowed 1..1000", f.n)}
	}
	for i := range f.n {
		if err := simulator.CheckPort(f.port + i); err != nil {
			return nil, cli.UsageError{Msg: fmt.Sprintf("-port %d with -n %d: device %d: %v", f.port, f.n, i, err)}
		}
	}
	var profiles []*profile.Profile
	for _, name := range strings.Split(f.profiles, ",") {
		p, err := library(f.profileDir).Find(strings.TrimSpace(name))
		if err != nil {
			return nil, cli.UsageError{Msg: fmt.Sprintf("-profile: %v", err)}
		}
		profiles = append(profiles, p)
	}
	perDevice := make([][]string, f.n)
	for _, d := range f.defects {
		idx, name, ok := strings.Cut(d, ":")
		if !ok {
			for i := range perDevice {
				perDevice[i] = append(perDevice[i], d)
			}
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= f.n {
			return nil, cli.UsageError{Msg: fmt.Sprintf("-defect %q: device index %q: allowed 0..%d", d, idx, f.n-1)}
		}
		perDevice[i] = append(perDevice[i], name)
	}
	auth, err := adbd.ParseAuthMode(f.auth)
	if err != nil {
		return nil, cli.UsageError{Msg: "-auth: " + err.Error()}
	}
	offsets, err := provider.ParseOffset(f.offset, f.n)
	if err != nil {
		return nil, cli.UsageError{Msg: fmt.Sprintf("-clock-offset: %v", err)}
	}
	var out []simulator.DeviceConfig
	for i := range f.n {
		defects := perDevice[i]
		if _, err := profile.ParseDefects(defects); err != nil {
			return nil, cli.UsageError{Msg: fmt.Sprintf("-defect: device %d: %v", i, err)}
		}
		drift := f.drift
		if i%2 == 1 {
			drift = -drift
		}
		seed := f.seed
		if seed != 0 {
			seed += int64(i)
		}
		out = append(out, simulator.DeviceConfig{
			Addr:          fmt.Sprintf("%s:%d", f.host, f.port+i),
			Profile:       profiles[i%len(profiles)],
			Defects:       defects,
			ClockOffset:   offsets[i],
			ClockDriftPPM: drift,
			Auth:          auth,
			NotRooted:     f.notRooted,
			Seed:          seed,
			WeChatURL:     f.wechatURL,
		})
	}
	return out, nil
}

func runDevices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("devices", stderr)
	var f deviceFlags
	f.register(fs)
	fs.StringVar(&f.wechatURL, "wechat", "", "URL of a simulated WeChat side for WMPF (empty: devices cannot activate)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfgs, err := f.configs()
	if err != nil {
		return err
	}
	farm, err := simulator.NewFarm(ctx, simulator.FarmConfig{NoWeChat: true, Devices: cfgs})
	if err != nil {
		return err
	}
	defer farm.Close()
	printReady(stdout, stderr, farm)
	<-ctx.Done()
	fmt.Fprintln(stderr, "wmpf-sim: stopping")
	return nil
}

func runFarm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("farm", stderr)
	var f deviceFlags
	f.register(fs)
	apiAddr := fs.String("api", "127.0.0.1:0", "address of the WeChat side's HTTP API")
	appID := fs.String("appid", wechat.DefaultAppID, "the vendor Mini Program's appid")
	secret := fs.String("secret", wechat.DefaultAppSecret, "its app secret (for /cgi-bin/token)")
	ring := fs.Duration("ring-timeout", wechat.DefaultRingTimeout, "an unanswered call times out after this")
	grace := fs.Duration("offline-grace", wechat.DefaultOfflineGrace, "pushes to a device disconnected less than this are queued")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfgs, err := f.configs()
	if err != nil {
		return err
	}
	farm, err := simulator.NewFarm(ctx, simulator.FarmConfig{
		WeChat:     wechat.Config{AppID: *appID, AppSecret: *secret, RingTimeout: *ring, OfflineGrace: *grace},
		WeChatAddr: *apiAddr,
		Devices:    cfgs,
	})
	if err != nil {
		return err
	}
	defer farm.Close()
	// READY means callable: each device is printed once the WeChat side
	// has it activated, connected and holding a push token.
	if err := awaitCallable(ctx, stderr, farm, 60*time.Second); err != nil {
		return err
	}
	printReady(stdout, stderr, farm)
	fmt.Fprintf(stdout, "API url=%s token=%s\n", farm.WeChat.URL(), farm.WeChat.AccessToken())
	<-ctx.Done()
	fmt.Fprintln(stderr, "wmpf-sim: stopping")
	return nil
}

// awaitCallable waits until the WeChat side can call every device.
func awaitCallable(ctx context.Context, stderr io.Writer, farm *simulator.Farm, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, d := range farm.Devices {
		for {
			ok, why := farm.WeChat.Callable(d.SN())
			if ok {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("device %s (sn %s) is not callable %v after starting: %s", d.Serial(), d.SN(), within, why)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

func printReady(stdout, stderr io.Writer, farm *simulator.Farm) {
	for _, d := range farm.Devices {
		fmt.Fprintf(stdout, "READY serial=%s sn=%s model=%s\n", d.Serial(), d.SN(), d.Model())
		extra := []string{"modelId=" + d.ModelID(), "host=" + d.HostPackage(), "profile=" + d.Profile().Name}
		if len(d.Defects()) > 0 {
			extra = append(extra, "defects="+strings.Join(d.Defects(), ","))
		}
		fmt.Fprintf(stderr, "  %s %s\n", d.Serial(), strings.Join(extra, " "))
	}
}

func runProfiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("profiles", stderr)
	dir := fs.String("profiles", os.Getenv("WMPF_HIL_PROFILES"), "directory of device profiles (default: $WMPF_HIL_PROFILES, else the built-in profiles)")
	if err := parse(fs, args); err != nil {
		return err
	}
	lib := library(*dir)
	names, err := lib.List()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "profiles in %s:\n", lib.Where)
	for _, n := range names {
		p, err := lib.Find(n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-10s model=%s modelId=%s  %s\n", n, p.Device.Model, p.Device.ModelID, p.Description)
	}
	return nil
}

func runDefects(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parse(newFlags("defects", stderr), args); err != nil {
		return err
	}
	for _, n := range profile.DefectNames() {
		fmt.Fprintf(stdout, "%-22s %s\n", n, profile.Defects[profile.Defect(n)])
	}
	return nil
}
