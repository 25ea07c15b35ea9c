package farm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/simcontainer"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/hostapp"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// Spec is the farm as the run hands it to every Ginkgo process.
type Spec struct {
	FarmFile   string            `json:"farmFile"`
	ADBServers map[string]string `json:"adbServers"`
	// Started are the addresses of the adb servers the run started: it
	// starts them again if they die.
	Started  []string      `json:"started,omitempty"`
	WeChat   WeChatSpec    `json:"wechat"`
	Devices  []device.Spec `json:"devices"`
	Excluded []Excluded    `json:"excluded,omitempty"`
	Budgets  string        `json:"budgets"`
	Run      RunConfig     `json:"run"`
}

// WeChatSpec says how to reach the WeChat side.
type WeChatSpec struct {
	Mode   string `json:"mode"`
	URL    string `json:"url"`
	AppID  string `json:"appid"`
	Secret string `json:"secret,omitempty"`
	Token  string `json:"token,omitempty"`
}

// Excluded is a device taken out of the run.
type Excluded struct {
	Device device.Spec `json:"device"`
	Reason string      `json:"reason"`
}

// Options tune Up.
type Options struct {
	Logf func(format string, args ...any)
	// ServerEvents hears of each adb server the run started that died
	// mid-run: once when it is found dead (before it is started again),
	// once when it is back with its devices reconnected, or has failed.
	ServerEvents func(ServerEvent)
}

// ServerEvent phases.
const (
	ServerExited    = "exited"
	ServerRestarted = "restarted"
	ServerFailed    = "failed"
)

// ServerEvent is an adb server of the run that died, and what followed.
type ServerEvent struct {
	Phase string
	Name  string
	Addr  string
	// Exit is how the process ended.
	Exit string
	// Took is from finding it dead to its devices reconnected.
	Took time.Duration
	// Reconnected lists the devices connected again; NotBack those that
	// did not come back as `device`, with why.
	Reconnected []string
	NotBack     map[string]string
	Err         error
}

// maxServerRestarts bounds how often one adb server is started again in a
// run: a server that keeps crashing is a fault to report, not to hide.
const maxServerRestarts = 5

// Farm is a farm brought up.
type Farm struct {
	Spec    Spec
	cfg     *Config
	opts    Options
	servers []*adb.LocalServer
	names   map[*adb.LocalServer]string
	sim     *simulator.Farm
	// box is the farm's container (wechat.mode container).
	box    *simcontainer.Farm
	timers []*time.Timer
	// connected are the serials the run `adb connect`ed.
	connected map[string]bool
	stop      chan struct{}
	watchers  sync.WaitGroup
}

// Up brings the farm up and health-checks every device.
func Up(ctx context.Context, cfg *Config, opts Options) (f *Farm, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	f = &Farm{cfg: cfg, opts: opts, names: map[*adb.LocalServer]string{}, stop: make(chan struct{}),
		Spec: Spec{FarmFile: cfg.Path, ADBServers: map[string]string{}, Budgets: cfg.Resolve(cfg.Budgets), Run: cfg.Run}}
	defer func() {
		if err != nil {
			f.Down()
		}
	}()
	if f.Spec.Run.LatencyCalls == 0 {
		f.Spec.Run.LatencyCalls = 6
	}
	healthTimeout := 20 * time.Second
	if cfg.Run.HealthTimeout != "" {
		healthTimeout, _ = parseDuration(cfg.Run.HealthTimeout)
	}

	// adb servers
	for _, s := range cfg.ADBServers {
		switch s.Address {
		case "start":
			ls, err := adb.StartServer(ctx, adb.ServerOptions{})
			if err != nil {
				return f, fmt.Errorf("adbServers %s: %w", s.Name, err)
			}
			f.servers = append(f.servers, ls)
			f.names[ls] = s.Name
			f.Spec.Started = append(f.Spec.Started, ls.Addr())
			f.Spec.ADBServers[s.Name] = ls.Addr()
			logf("adb server %s started on %s (pid %d)", s.Name, ls.Addr(), ls.Pid())
		case "env":
			addr, err := adb.ServerAddrFromEnv()
			if err != nil {
				return f, fmt.Errorf("adbServers %s: %w", s.Name, err)
			}
			f.Spec.ADBServers[s.Name] = addr
		default:
			addr, _ := adb.ParseServerSocket(s.Address)
			f.Spec.ADBServers[s.Name] = addr
		}
		if _, err := adb.NewClient(f.Spec.ADBServers[s.Name]).Version(ctx); err != nil {
			return f, fmt.Errorf("adbServers %s (%s): %w", s.Name, f.Spec.ADBServers[s.Name], err)
		}
	}
	serverOf := func(name string) string {
		if name == "" {
			return f.Spec.ADBServers[cfg.ADBServers[0].Name]
		}
		return f.Spec.ADBServers[name]
	}

	// WeChat side and simulated devices
	w := cfg.WeChat
	f.Spec.WeChat = WeChatSpec{Mode: w.Mode, URL: w.URL, AppID: w.AppID, Secret: w.Secret, Token: w.Token}
	if w.SecretEnv != "" {
		f.Spec.WeChat.Secret = os.Getenv(w.SecretEnv)
		if f.Spec.WeChat.Secret == "" {
			return f, fmt.Errorf("wechat.secretEnv %s: the variable is empty", w.SecretEnv)
		}
	}
	var simCfgs []simulator.DeviceConfig
	var simGroup []int
	for gi, g := range cfg.Simulated {
		p, err := profile.Find(cfg.Resolve(cfg.Profiles), g.Profile)
		if err != nil {
			return f, fmt.Errorf("simulated[%d]: %w", gi, err)
		}
		if len(g.StageScale) > 0 {
			if p, err = p.ScaleStages(g.StageScale); err != nil {
				return f, fmt.Errorf("simulated[%d]: %w", gi, err)
			}
			logf("simulated[%d]: stage timings scaled %v", gi, g.StageScale)
		}
		offsets, _ := ParseOffset(g.ClockOffset, g.Count)
		for i := range g.Count {
			addr := "127.0.0.1:0"
			if g.Port != 0 {
				addr = simulator.PortAddr(g.Port + i)
			}
			drift := g.ClockDriftPPM
			if i%2 == 1 {
				drift = -drift
			}
			simCfgs = append(simCfgs, simulator.DeviceConfig{Addr: addr, Profile: p, Defects: g.Defects,
				ClockOffset: offsets[i], ClockDriftPPM: drift, Auth: g.Auth, HostPackage: g.HostPackage, NotRooted: g.NotRooted,
				WeChatURL: w.URL, LoseAtPush: g.LoseAtPush, Loss: g.Loss})
			simGroup = append(simGroup, gi)
		}
	}
	if w.Mode == "simulated" || len(simCfgs) > 0 {
		fc := simulator.FarmConfig{Devices: simCfgs, NoWeChat: w.Mode != "simulated"}
		fc.WeChat.Faults = w.Faults
		if w.AppID != "" {
			fc.WeChat.AppID = w.AppID
		}
		if f.Spec.WeChat.Secret != "" {
			fc.WeChat.AppSecret = f.Spec.WeChat.Secret
		}
		sim, err := simulator.NewFarm(ctx, fc)
		if err != nil {
			return f, err
		}
		f.sim = sim
		if sim.WeChat != nil {
			f.Spec.WeChat.URL = sim.WeChat.URL()
			f.Spec.WeChat.AppID = sim.WeChat.AppID()
			f.Spec.WeChat.Secret = sim.WeChat.AppSecret()
			f.Spec.WeChat.Token = sim.WeChat.AccessToken()
			logf("simulated WeChat side on %s", sim.WeChat.URL())
		}
	}
	var all []device.Spec
	connect := map[string]bool{}
	if k := cfg.Container; k != nil {
		specs, err := f.startContainer(ctx, cfg, serverOf(k.ADBServer), logf)
		if err != nil {
			return f, err
		}
		for _, d := range specs {
			all = append(all, d)
			connect[d.Serial] = true
		}
	}
	if f.Spec.WeChat.AppID == "" {
		f.Spec.WeChat.AppID = wechat.DefaultAppID
	}

	if f.sim != nil {
		for i, d := range f.sim.Devices {
			g := cfg.Simulated[simGroup[i]]
			all = append(all, device.Spec{Name: d.Serial(), Server: serverOf(g.ADBServer), Serial: d.Serial(), SN: d.SN(),
				ModelID: d.ModelID(), Model: d.Model(), HostPackage: d.HostPackage(), Push: "wechat", Simulated: true,
				Profile: d.Profile().Name, Defects: d.Defects(), ClockOffset: simCfgs[i].ClockOffset, ClockDriftPPM: simCfgs[i].ClockDriftPPM,
				Answer: device.DefaultAnswer, HangUp: device.DefaultHangUp, Accept: device.DefaultAccept})
			connect[d.Serial()] = true
			logf("simulated device %s sn=%s model=%s defects=%v", d.Serial(), d.SN(), d.Model(), d.Defects())
		}
	}
	for _, d := range cfg.Devices {
		model := d.Model
		all = append(all, device.Spec{Name: d.Serial, Server: serverOf(d.ADBServer), Serial: d.Serial, SN: d.SN, ModelID: d.ModelID,
			Model: model, HostPackage: d.HostPackage, Push: d.Push, Answer: d.UI.Answer, HangUp: d.UI.HangUp, Accept: d.UI.Accept})
		if d.Connect {
			connect[d.Serial] = true
		}
	}

	if cfg.Run.CommandTimeout != "" {
		d, _ := parseDuration(cfg.Run.CommandTimeout)
		for i := range all {
			all[i].CommandTimeout = d
		}
	}

	// connect and check, all devices at once
	type result struct {
		spec   device.Spec
		reason string
	}
	results := make([]result, len(all))
	var wg sync.WaitGroup
	for i, d := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, healthTimeout)
			defer cancel()
			spec, reason := check(hctx, d, connect[d.Serial])
			results[i] = result{spec, reason}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return f, err
	}
	for _, r := range results {
		if r.reason != "" {
			f.Spec.Excluded = append(f.Spec.Excluded, Excluded{Device: r.spec, Reason: r.reason})
			logf("device %s taken out of the run: %s", r.spec.Name, r.reason)
			continue
		}
		f.Spec.Devices = append(f.Spec.Devices, r.spec)
	}
	sort.SliceStable(f.Spec.Devices, func(i, j int) bool { return f.Spec.Devices[i].Name < f.Spec.Devices[j].Name })
	if f.sim != nil {
		for i, d := range f.sim.Devices {
			g := cfg.Simulated[simGroup[i]]
			if g.Lifetime == "" {
				continue
			}
			life, _ := parseDuration(g.Lifetime)
			d := d
			f.timers = append(f.timers, time.AfterFunc(life, func() {
				logf("simulated device %s dies (lifetime %v)", d.Serial(), life)
				d.Close()
			}))
		}
	}
	if len(f.Spec.Devices) == 0 {
		return f, errors.New("no device passed its health check")
	}
	f.connected = connect
	for _, ls := range f.servers {
		f.watchers.Add(1)
		go f.watch(ls, logf)
	}
	return f, nil
}

// startContainer runs the simulated farm in its container and returns its
// devices, reached through server.
func (f *Farm) startContainer(ctx context.Context, cfg *Config, server string, logf func(string, ...any)) ([]device.Spec, error) {
	k := cfg.Container
	p, err := profile.Find(cfg.Resolve(cfg.Profiles), k.Profile)
	if err != nil {
		return nil, fmt.Errorf("container.profile: %w", err)
	}
	opts := []testcontainers.ContainerCustomizer{simcontainer.WithDevices(k.Count), simcontainer.WithProfile(k.Profile),
		simcontainer.WithClockDrift(k.ClockDriftPPM)}
	if len(k.Defects) > 0 {
		opts = append(opts, simcontainer.WithDefect(k.Defects...))
	}
	offsets, _ := ParseOffset(k.ClockOffset, k.Count)
	if s := strings.TrimPrefix(strings.TrimPrefix(k.ClockOffset, "±"), "+-"); s != k.ClockOffset {
		d, _ := parseDuration(s)
		opts = append(opts, simcontainer.WithClockSpread(d))
	} else if k.ClockOffset != "" {
		opts = append(opts, simcontainer.WithClockOffset(offsets[0]))
	}
	start := time.Now()
	box, err := simcontainer.Run(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	f.box = box
	t := box.Timings()
	logf("simulated farm in container %s: %d devices, WeChat side on %s (go build %v, image %v, ready %v; %v in all)",
		box.Container().GetContainerID()[:12], k.Count, box.APIURL(), t.Binary.Round(time.Millisecond), t.Image.Round(time.Millisecond),
		t.Ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	f.Spec.WeChat.URL, f.Spec.WeChat.Token = box.APIURL(), box.Token()
	var specs []device.Spec
	for i, d := range box.Devices() {
		drift := k.ClockDriftPPM
		if i%2 == 1 {
			drift = -drift
		}
		specs = append(specs, device.Spec{Name: d.Serial, Server: server, Serial: d.Serial, SN: d.SN, ModelID: p.Device.ModelID,
			Model: d.Model, HostPackage: hostapp.DefaultPackage, Push: "wechat", Simulated: true, Profile: k.Profile, Container: box.Container().GetContainerID(),
			Defects: k.Defects, ClockOffset: offsets[i], ClockDriftPPM: drift,
			Answer: device.DefaultAnswer, HangUp: device.DefaultHangUp, Accept: device.DefaultAccept})
		logf("container device %s sn=%s model=%s defects=%v", d.Serial, d.SN, d.Model, k.Defects)
	}
	return specs, nil
}

// watch starts an adb server of the run again when it dies mid-run, and
// connects its network devices again, so that one crash of the server
// costs the specs that were running, not the rest of the run.
func (f *Farm) watch(ls *adb.LocalServer, logf func(string, ...any)) {
	defer f.watchers.Done()
	name := f.names[ls]
	tell := func(e ServerEvent) {
		if f.opts.ServerEvents != nil {
			f.opts.ServerEvents(e)
		}
	}
	for n := 0; ; n++ {
		select {
		case <-f.stop:
			return
		case <-ls.Exited():
		}
		select {
		case <-f.stop:
			return
		default:
		}
		found := time.Now()
		ev := ServerEvent{Name: name, Addr: ls.Addr(), Exit: ls.ExitStatus()}
		logf("adb server %s (%s) died mid-run: %s", name, ls.Addr(), ev.Exit)
		tell(withPhase(ev, ServerExited))
		if n >= maxServerRestarts {
			ev.Err = fmt.Errorf("adb server %s died %d times in this run; not starting it again", name, n+1)
			logf("%v", ev.Err)
			tell(withPhase(ev, ServerFailed))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		go func() {
			select {
			case <-f.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := ls.Restart(ctx)
		if err == nil {
			ev.Reconnected, ev.NotBack = f.reconnect(ctx, ls.Addr())
		}
		cancel()
		ev.Took = time.Since(found)
		if err != nil {
			ev.Err = err
			logf("adb server %s could not be started again: %v", name, err)
			tell(withPhase(ev, ServerFailed))
			return
		}
		logf("adb server %s started again on %s (pid %d) in %v; %d devices reconnected, %d not back",
			name, ls.Addr(), ls.Pid(), ev.Took.Round(time.Millisecond), len(ev.Reconnected), len(ev.NotBack))
		tell(withPhase(ev, ServerRestarted))
	}
}

func withPhase(e ServerEvent, phase string) ServerEvent {
	e.Phase = phase
	return e
}

// reconnect connects again the run's devices on the server at addr and
// waits for each to be a `device`.
func (f *Farm) reconnect(ctx context.Context, addr string) (back []string, notBack map[string]string) {
	c := adb.NewClient(addr)
	var mu sync.Mutex
	var wg sync.WaitGroup
	notBack = map[string]string{}
	for _, d := range f.Spec.Devices {
		if d.Server != addr {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if f.connected[d.Serial] {
				err = c.Connect(ctx, d.Serial)
			}
			if err == nil {
				wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				_, err = c.WaitForState(wctx, d.Serial, adb.StateDevice)
				cancel()
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				notBack[d.Name] = err.Error()
				return
			}
			back = append(back, d.Name)
		}()
	}
	wg.Wait()
	sort.Strings(back)
	return back, notBack
}

// check connects a device if asked and runs its health check. It returns
// the reason to exclude it, or "".
func check(ctx context.Context, d device.Spec, connect bool) (device.Spec, string) {
	c := adb.NewClient(d.Server)
	if connect {
		if err := c.Connect(ctx, d.Serial); err != nil {
			return d, "adb connect failed: " + err.Error()
		}
	}
	st, err := c.WaitForState(ctx, d.Serial, adb.StateDevice, adb.StateUnauthorized)
	switch {
	case st == adb.StateUnauthorized:
		return d, "unauthorized: accept this host's adb key on the device"
	case err != nil:
		return d, fmt.Sprintf("not ready (state %s): %v", st, err)
	}
	if d.Model == "" {
		if out, err := c.Device(d.Serial).Run(ctx, "getprop ro.product.model"); err == nil {
			d.Model = trimLine(out)
		}
	}
	return d, Health(ctx, d)
}

// Health checks that a device can take calls (device.Session.Readiness),
// waiting for a device still starting until ctx ends. It returns "" when
// healthy, else the reason.
func Health(ctx context.Context, d device.Spec) string {
	s, err := device.Open(ctx, d)
	if err != nil {
		return "cannot open a session: " + err.Error()
	}
	defer s.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(20 * time.Second)
	}
	return s.WaitReady(ctx, time.Until(deadline))
}

func trimLine(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// Simulator returns the in-process simulated farm, if any.
func (f *Farm) Simulator() *simulator.Farm { return f.sim }

// Down disconnects simulated devices, stops them and the adb servers the
// run started.
func (f *Farm) Down() error {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.watchers.Wait()
	for _, t := range f.timers {
		t.Stop()
	}
	var errs []error
	if f.sim != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for _, d := range f.Spec.Devices {
			if d.Simulated {
				_ = adb.NewClient(d.Server).Disconnect(ctx, d.Serial)
			}
		}
		cancel()
		errs = append(errs, f.sim.Close())
	}
	if f.box != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, d := range f.Spec.Devices {
			if d.Simulated {
				_ = adb.NewClient(d.Server).Disconnect(ctx, d.Serial)
			}
		}
		errs = append(errs, f.box.Terminate(ctx))
		cancel()
	}
	for _, s := range f.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
