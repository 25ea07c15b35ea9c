package farm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// Spec is the farm as the run hands it to every worker.
type Spec struct {
	FarmFile   string            `json:"farmFile"`
	ADBServers map[string]string `json:"adbServers"`
	// Started are the addresses of the adb servers the run started: it
	// starts them again if they die.
	Started  []string      `json:"started,omitempty"`
	WeChat   WeChatSpec    `json:"wechat"`
	Devices  []device.Spec `json:"devices"`
	Excluded []Excluded    `json:"excluded,omitempty"`
	// Budgets is the budgets file ("" for the built-in one).
	Budgets string    `json:"budgets,omitempty"`
	Run     RunConfig `json:"run"`
}

// WeChatSpec says how to reach the WeChat side.
type WeChatSpec struct {
	Mode   WeChatMode `json:"mode"`
	URL    string     `json:"url"`
	AppID  string     `json:"appid"`
	Secret string     `json:"secret,omitempty"`
	Token  string     `json:"token,omitempty"`
	// Started is true when the run started this WeChat side itself.
	Started bool `json:"started,omitempty"`
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
	// Only brings up just these devices (by name): a shard's. Nil: all.
	Only []string
	// InstallAPK, when set, is the build under test for every device,
	// whatever the farm file says.
	InstallAPK string
	// Prepare, when set, runs on each device after it answers and before
	// its health check (installing the build under test, say); an error
	// takes the device out of the run with the error as the reason.
	Prepare func(ctx context.Context, d *device.Spec) error
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
	Spec     Spec
	cfg      *Config
	opts     Options
	servers  []*adb.LocalServer
	names    map[*adb.LocalServer]string
	supplies []*Supply
	// connected are the serials the run `adb connect`ed.
	connected map[string]bool
	apks      apks
	stop      chan struct{}
	watchers  sync.WaitGroup
}

// Up brings the farm up and health-checks every device.
func Up(ctx context.Context, cfg *Config, opts Options) (f *Farm, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	f = &Farm{cfg: cfg, opts: opts, names: map[*adb.LocalServer]string{}, stop: make(chan struct{}), connected: map[string]bool{},
		Spec: Spec{FarmFile: cfg.Path, ADBServers: map[string]string{}, Budgets: cfg.Resolve(cfg.Budgets), Run: cfg.Run}}
	defer func() {
		if err != nil {
			_ = f.Down()
		}
	}()
	if f.Spec.Run.LatencyCalls == 0 {
		f.Spec.Run.LatencyCalls = DefaultLatencyCalls
	}
	if f.Spec.Run.Matrix == "" {
		f.Spec.Run.Matrix = MatrixDevice
	}
	if f.Spec.Run.QuarantineAfter == 0 {
		f.Spec.Run.QuarantineAfter = DefaultQuarantineAfter
	}
	healthTimeout := DefaultHealthTimeout
	if cfg.Run.HealthTimeout != "" {
		healthTimeout, _ = ParseDuration(cfg.Run.HealthTimeout)
	}
	var only map[string]bool
	if opts.Only != nil {
		only = map[string]bool{}
		for _, n := range opts.Only {
			only[n] = true
		}
	}
	wanted := func(name string) bool { return only == nil || only[name] }

	// adb servers
	start := time.Now()
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
			logf("adb server %s started on %s (pid %d) in %v", s.Name, ls.Addr(), ls.Pid(), time.Since(start).Round(time.Millisecond))
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
	shardOf := map[string]int{}
	for _, s := range cfg.ADBServers {
		shardOf[s.Name] = s.Shard
	}
	if len(cfg.ADBServers) > 0 {
		shardOf[""] = cfg.ADBServers[0].Shard
	}

	// The WeChat side: the file's, or the one a provider starts.
	w := cfg.WeChat
	f.Spec.WeChat = WeChatSpec{Mode: w.Mode, URL: w.URL, AppID: w.AppID, Secret: w.Secret, Token: w.Token}
	if w.SecretEnv != "" {
		f.Spec.WeChat.Secret = os.Getenv(w.SecretEnv)
		if f.Spec.WeChat.Secret == "" {
			return f, fmt.Errorf("wechat.secretEnv %s: the variable is empty", w.SecretEnv)
		}
	}
	sups := append([]configured(nil), cfg.suppliers...)
	// The supplier that starts the WeChat side goes first, so that the
	// others' devices can use it.
	sort.SliceStable(sups, func(i, j int) bool { return serves(sups[i], w.Mode) && !serves(sups[j], w.Mode) })
	var all []device.Spec
	for _, s := range sups {
		var names []string
		for _, p := range s.supplier.Planned() {
			if wanted(p.Name) {
				names = append(names, p.Name)
			}
		}
		if len(names) == 0 && !serves(s, w.Mode) {
			continue
		}
		t0 := time.Now()
		sup, err := s.supplier.Up(ctx, UpEnv{ADBServer: serverOf, WeChatURL: f.Spec.WeChat.URL, Logf: logf}, nonNil(names))
		if err != nil {
			return f, fmt.Errorf("%s: %w", s.provider.Name(), err)
		}
		f.supplies = append(f.supplies, sup)
		if sup.WeChat != nil {
			ws := *sup.WeChat
			ws.Mode, ws.Started = w.Mode, true
			f.Spec.WeChat = ws
		}
		for _, d := range sup.Devices {
			d.Provider = s.provider.Name()
			all = append(all, d)
		}
		logf("%s: %d devices up in %v", s.provider.Name(), len(sup.Devices), time.Since(t0).Round(time.Millisecond))
	}
	if f.Spec.WeChat.AppID == "" {
		f.Spec.WeChat.AppID = protocol.ExampleAppID
	}
	for _, d := range cfg.Devices {
		if !wanted(d.DeviceName()) {
			continue
		}
		spec := device.Spec{Name: d.DeviceName(), Server: serverOf(d.ADBServer), Serial: d.Serial, Connect: d.Connect, SN: d.SN,
			ModelID: d.ModelID, Model: d.Model, HostPackage: d.HostPackage, Push: d.Push, Answer: d.UI.Answer, HangUp: d.UI.HangUp,
			Accept: d.UI.Accept, Shard: shardOf[d.ADBServer]}
		if d.Install != nil {
			spec.Install = &device.InstallSpec{APK: cfg.Resolve(d.Install.APK), Package: d.Install.Package}
		}
		all = append(all, spec)
	}
	if cfg.Run.CommandTimeout != "" {
		d, _ := ParseDuration(cfg.Run.CommandTimeout)
		for i := range all {
			all[i].CommandTimeout = d
		}
	}
	if opts.InstallAPK != "" {
		for i := range all {
			pkg := ""
			if all[i].Install != nil {
				pkg = all[i].Install.Package
			}
			all[i].Install = &device.InstallSpec{APK: opts.InstallAPK, Package: pkg}
		}
	}

	// Connect, prepare and check, all devices at once.
	t0 := time.Now()
	type result struct {
		spec   device.Spec
		reason string
	}
	results := make([]result, len(all))
	var wg sync.WaitGroup
	for i, d := range all {
		if d.Connect {
			f.connected[d.Serial] = true
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, healthTimeout)
			defer cancel()
			spec, reason := f.check(hctx, d, opts.Prepare)
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
	logf("health check: %d healthy, %d taken out, in %v", len(f.Spec.Devices), len(f.Spec.Excluded), time.Since(t0).Round(time.Millisecond))
	if len(f.Spec.Devices) == 0 {
		return f, errors.New("no device passed its health check")
	}
	for _, ls := range f.servers {
		f.watchers.Add(1)
		go f.watch(ls, logf)
	}
	return f, nil
}

func serves(c configured, m WeChatMode) bool {
	for _, x := range c.provider.WeChatModes() {
		if x == m {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RestartWeChat starts again the WeChat side the run started, when its
// provider can.
func (f *Farm) RestartWeChat(ctx context.Context) error {
	for _, s := range f.supplies {
		if s.WeChat != nil && s.Restart != nil {
			return s.Restart(ctx)
		}
	}
	return errors.New("the run did not start this WeChat side, or cannot start it again")
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

// Down disconnects the devices the run connected, stops what the providers
// started and the adb servers the run started.
func (f *Farm) Down() error {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.watchers.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range append(append([]device.Spec(nil), f.Spec.Devices...), excludedSpecs(f.Spec.Excluded)...) {
		if f.connected[d.Serial] {
			_ = adb.NewClient(d.Server).Disconnect(ctx, d.Serial)
		}
	}
	var errs []error
	for _, s := range f.supplies {
		if s.Close != nil {
			errs = append(errs, s.Close(ctx))
		}
	}
	for _, s := range f.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

func excludedSpecs(ex []Excluded) []device.Spec {
	var out []device.Spec
	for _, x := range ex {
		out = append(out, x.Device)
	}
	return out
}

// Servers are the adb servers the run started.
func (f *Farm) Servers() []*adb.LocalServer { return append([]*adb.LocalServer(nil), f.servers...) }
