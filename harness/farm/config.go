// Package farm reads devices.yaml — which adb servers, which devices, which
// WeChat side, which budgets, how to run — and brings the farm up: adb
// servers started or reached, devices connected and health-checked. A device
// that fails its check is taken out of the run with the reason, not left to
// fail every spec.
//
// The harness knows real devices, listed one by one under devices:. Other
// sources of devices — simulated ones, a simulated farm in a container — are
// providers (see Provider) that register themselves from outside the harness,
// where the commands and suites are built, as the Kubernetes e2e framework's
// cloud providers do. The harness never imports them.
package farm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/fixtures"
	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/latency"
	"github.com/wmpf-hil/wmpf-hil/internal/strictyaml"
)

// WeChatMode says where the WeChat side that places calls is.
type WeChatMode string

// WeChat modes the harness serves itself; providers add theirs (simulated,
// container).
const (
	// WeChatURL is a running simulated WeChat side (wmpf-sim farm), at url.
	WeChatURL WeChatMode = "url"
	// WeChatReal is WeChat's own server API for pushes; needs the device
	// maker's credentials.
	WeChatReal WeChatMode = "real"
)

// Matrix says which devices a spec runs on.
type Matrix string

// Matrices.
const (
	// MatrixDevice runs every spec on every healthy device it applies to.
	MatrixDevice Matrix = "device"
	// MatrixModel runs every spec once per model, spread over the model's
	// devices.
	MatrixModel Matrix = "model"
	// MatrixAny runs every spec once, on one device of the farm: a quick smoke.
	MatrixAny Matrix = "any"
)

// Matrices lists the allowed matrices.
var Matrices = []Matrix{MatrixDevice, MatrixModel, MatrixAny}

// Config is devices.yaml.
type Config struct {
	Version    int         `yaml:"version"`
	ADBServers []ADBServer `yaml:"adbServers"`
	WeChat     WeChat      `yaml:"wechat"`
	// Budgets is the budgets file, relative to devices.yaml; empty: the
	// built-in fixtures/budgets.yaml.
	Budgets string       `yaml:"budgets"`
	Devices []RealDevice `yaml:"devices"`
	Run     RunConfig    `yaml:"run"`

	// Path is where the file was read from ("built-in" for the embedded
	// default farm); Dir is the directory relative paths start from.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
	// Sections are the top-level sections that belong to providers,
	// undecoded: the provider that owns each reads it.
	Sections map[string]*yaml.Node `yaml:"-"`

	budgets   *latency.Budgets
	suppliers []configured
}

// ADBServer names one adb server.
type ADBServer struct {
	Name string `yaml:"name"`
	// Address is "start" (the run starts its own server on a free port of
	// 127.0.0.1, with its own HOME), "tcp:HOST:PORT" (a running server, maybe
	// on another host), or "env" (ADB_SERVER_SOCKET, default tcp:127.0.0.1:5037).
	Address string `yaml:"address"`
	// Shard assigns the server's devices to one shard of a sharded run
	// (1-based), for hosts that each own their USB devices; 0: the devices
	// are split over the shards like any others.
	Shard int `yaml:"shard"`
}

// WeChat says how calls reach the devices.
type WeChat struct {
	Mode WeChatMode `yaml:"mode"`
	URL  string     `yaml:"url"`
	// AppID and Secret of the vendor Mini Program; SecretEnv names an
	// environment variable holding the secret instead.
	AppID     string `yaml:"appid"`
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secretEnv"`
	// Token is an access token to use as is (mode url), e.g. the one
	// wmpf-sim farm prints.
	Token string `yaml:"token"`
	// Faults switches bugs of a simulated WeChat side on: the provider that
	// serves the mode checks them.
	Faults []string `yaml:"faults"`
}

// RealDevice is a device reached through an adb server.
type RealDevice struct {
	// Name is how reports call the device, stable from run to run
	// (default: its sn).
	Name string `yaml:"name"`
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
	// Push: how the harness's caller reaches the device.
	Push device.PushRoute `yaml:"push"`
	UI   UIConfig         `yaml:"ui"`
	// Install is the host app build under test, installed before the run.
	Install *Install `yaml:"install"`
}

// Install is an APK to install on a device before the run.
type Install struct {
	// APK is the file, relative to devices.yaml.
	APK string `yaml:"apk"`
	// Package the APK must install (its manifest's package).
	Package string `yaml:"package"`
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

// RunConfig tunes the run.
type RunConfig struct {
	// Matrix: device (default), model or any.
	Matrix Matrix `yaml:"matrix"`
	// LatencyCalls is how many measured calls each device makes in the
	// latency suite (default 6).
	LatencyCalls int `yaml:"latencyCalls"`
	// HealthTimeout bounds each device's health check (default 20s).
	HealthTimeout string `yaml:"healthTimeout"`
	// CommandTimeout bounds each shell command on a device; a command that
	// does not finish in it makes the harness probe the device, and one
	// that does not answer is lost (default 30s).
	CommandTimeout string `yaml:"commandTimeout"`
	// QuarantineAfter is how many infrastructure failures in a row (a
	// device busy, not answering, or that cannot be reset) take a device
	// out of the rest of the run (default 2).
	QuarantineAfter int `yaml:"quarantineAfter"`
	// Retries of cells.
	Retries Retries `yaml:"retries"`
}

// Retries says which cells run again.
type Retries struct {
	// Infrastructure re-runs a cell whose device was lost or quarantined on
	// another healthy device of the same model, up to this many times.
	Infrastructure int `yaml:"infrastructure"`
}

// Limits of a farm file.
const (
	MaxDevices      = 1000
	maxLatencyCalls = 1000
)

// Defaults.
const (
	DefaultLatencyCalls    = 6
	DefaultHealthTimeout   = 20 * time.Second
	DefaultQuarantineAfter = 2
)

var (
	packageRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$`)
	selectorRE = regexp.MustCompile(`^(text|desc|id)=.+$`)
	appIDRE    = regexp.MustCompile(`^wx[0-9a-f]{16}$`)
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// DefaultFile is the farm file used when none is named.
const DefaultFile = "devices.yaml"

// BuiltinPath is Config.Path of the built-in default farm.
const BuiltinPath = "built-in default farm"

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

// Load reads and checks a farm file. When path is DefaultFile and there is
// no such file, it is the built-in default farm (four simulated devices).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) && path == DefaultFile {
			return Builtin()
		}
		return nil, fmt.Errorf("farm file: %w", err)
	}
	abs, _ := filepath.Abs(path)
	c, err := Parse(data, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = abs
	return c, nil
}

// Builtin is the built-in default farm (fixtures/farms/default.yaml).
func Builtin() (*Config, error) {
	data, err := fixtures.Read(fixtures.DefaultFarmFile)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, ".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BuiltinPath, err)
	}
	c.Path = BuiltinPath
	return c, nil
}

// Parse decodes and checks a farm file whose relative paths are relative to
// dir. Every problem is reported, each naming its field.
func Parse(data []byte, dir string) (*Config, error) {
	root, err := strictyaml.Document(data)
	if err != nil {
		return nil, err
	}
	c := &Config{Dir: dir, Sections: map[string]*yaml.Node{}}
	// Split the core's fields from the providers' sections.
	core := &yaml.Node{Kind: yaml.MappingNode, Line: root.Line, Column: root.Column}
	owned := sectionOwners()
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, ok := owned[k.Value]; ok {
			if _, dup := c.Sections[k.Value]; dup {
				return nil, fmt.Errorf("%s (line %d): given twice", k.Value, k.Line)
			}
			c.Sections[k.Value] = v
			continue
		}
		core.Content = append(core.Content, k, v)
	}
	var errs strictyaml.Errors
	if err := strictyaml.Decode(core, "", c); err != nil {
		if se, ok := err.(strictyaml.Errors); ok {
			errs = append(errs, withSections(se, owned)...)
		} else {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == 0 {
		errs = append(errs, c.validate()...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// withSections adds the providers' sections to "Known fields" lists, so
// that a misspelt section name finds its nearest neighbour among them too.
func withSections(errs strictyaml.Errors, owned map[string]Provider) strictyaml.Errors {
	var names []string
	for k := range owned {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, e := range errs {
		if strings.Contains(e, "): unknown field") && !strings.Contains(e, ".") {
			key, _, _ := strings.Cut(e, " ")
			if near := strictyaml.Nearest(key, names); near != "" && !strings.Contains(e, "did you mean") {
				e = strings.Replace(e, "unknown field", "unknown field; did you mean "+near+"?", 1)
			}
			errs[i] = e + ", " + strings.Join(names, ", ") + " (providers: " + strings.Join(providerNames(), ", ") + ")"
		}
	}
	return errs
}

// Resolve makes a path from the file relative to the file's directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// LoadedBudgets are the budgets the file names (or the built-in ones),
// loaded and checked with the file.
func (c *Config) LoadedBudgets() *latency.Budgets { return c.budgets }

// BudgetsSource names where the budgets came from, for reports.
func (c *Config) BudgetsSource() string {
	if c.Budgets == "" {
		return "built-in " + fixtures.BudgetsFile
	}
	return c.Resolve(c.Budgets)
}

func (c *Config) validate() strictyaml.Errors {
	var errs strictyaml.Errors
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.Version != 1 {
		add("version %d: allowed 1", c.Version)
	}
	servers := map[string]bool{}
	var serverNames []string
	for i, s := range c.ADBServers {
		f := fmt.Sprintf("adbServers[%d]", i)
		switch {
		case s.Name == "":
			add("%s.name: required", f)
		case servers[s.Name]:
			add("%s.name %q: used twice", f, s.Name)
		}
		servers[s.Name] = true
		serverNames = append(serverNames, s.Name)
		switch {
		case s.Address == "start", s.Address == "env":
		case strings.HasPrefix(s.Address, "tcp:"):
			if _, err := adb.ParseServerSocket(s.Address); err != nil {
				add("%s.address %q: %v", f, s.Address, strings.TrimPrefix(err.Error(), "ADB_SERVER_SOCKET "))
			}
		default:
			add("%s.address %q: allowed start, env, tcp:HOST:PORT", f, s.Address)
		}
		if s.Shard < 0 || s.Shard > maxShards {
			add("%s.shard %d: allowed 1..%d, or 0 (split like any other devices)", f, s.Shard, maxShards)
		}
	}
	if len(c.ADBServers) == 0 {
		add("adbServers: at least one server is required (e.g. [{name: local, address: start}])")
	}
	checkServer := func(field, name string) {
		if name == "" && len(c.ADBServers) >= 1 {
			return
		}
		if !servers[name] {
			add("%s %q: allowed %s", field, name, strings.Join(serverNames, ", "))
		}
	}

	// The WeChat side: the core's modes, or a provider's.
	w := c.WeChat
	modes := WeChatModes()
	var modeNames []string
	for _, m := range modes {
		modeNames = append(modeNames, string(m))
	}
	_, providerMode := modeOwners()[w.Mode]
	switch {
	case w.Mode == "":
		add("wechat.mode: required; allowed %s", strings.Join(modeNames, ", "))
	case w.Mode == WeChatURL || w.Mode == WeChatReal:
		if !strings.HasPrefix(w.URL, "http://") && !strings.HasPrefix(w.URL, "https://") {
			add("wechat.url %q: mode %s needs an http:// or https:// URL", w.URL, w.Mode)
		}
		if len(w.Faults) > 0 {
			add("wechat.faults: only a simulated WeChat side the run starts has faults (mode %s reaches a running one)", w.Mode)
		}
	case providerMode:
		if w.URL != "" {
			add("wechat.url %q: mode %s starts its own WeChat side; remove url, or use mode url", w.URL, w.Mode)
		}
	default:
		add("wechat.mode %q: allowed %s", w.Mode, strings.Join(modeNames, ", "))
	}
	if w.AppID != "" && !appIDRE.MatchString(w.AppID) {
		add("wechat.appid %q: want wx followed by 16 lowercase hex digits", w.AppID)
	}
	if w.Secret != "" && w.SecretEnv != "" {
		add("wechat: give secret or secretEnv, not both")
	}
	if w.Mode == WeChatReal && w.Token == "" && (w.AppID == "" || (w.Secret == "" && w.SecretEnv == "")) {
		add("wechat: mode real needs appid and secret (or secretEnv), or token")
	}

	// Budgets, loaded now so that a bad file stops the run before it starts.
	if c.Budgets == "" {
		data, err := fixtures.Read(fixtures.BudgetsFile)
		if err == nil {
			c.budgets, err = latency.ParseBudgets(data)
		}
		if err != nil {
			add("built-in budgets: %v", err)
		}
	} else {
		b, err := latency.LoadBudgets(c.Resolve(c.Budgets))
		if err != nil {
			add("budgets %q: %v", c.Budgets, strings.TrimPrefix(err.Error(), "budgets: "))
		}
		c.budgets = b
	}

	// Real devices.
	names := map[string]string{}
	claim := func(field, name string) {
		if prev, dup := names[name]; dup {
			add("%s: device name %q is also %s; names must be unique", field, name, prev)
		}
		names[name] = field
	}
	serials := map[string]bool{}
	for i, d := range c.Devices {
		f := fmt.Sprintf("devices[%d]", i)
		if d.Serial == "" {
			add("%s.serial: required", f)
		} else if serials[d.Serial] {
			add("%s.serial %q: listed twice", f, d.Serial)
		}
		serials[d.Serial] = true
		if d.Connect && !strings.Contains(d.Serial, ":") {
			add("%s.connect: serial %q is not HOST:PORT; only network devices can be connected", f, d.Serial)
		}
		checkServer(f+".adbServer", d.ADBServer)
		if d.SN == "" {
			add("%s.sn: required (the device serial number WMPF uses)", f)
		}
		if d.ModelID == "" {
			add("%s.modelId: required (the WMPF device model id)", f)
		}
		name := c.Devices[i].DeviceName()
		if d.Name != "" && !nameRE.MatchString(d.Name) {
			add("%s.name %q: want 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", f, d.Name)
		} else if name != "" {
			claim(f+".name", name)
		}
		if !packageRE.MatchString(d.HostPackage) {
			add("%s.hostPackage %q: want an Android package name like com.vendor.voip", f, d.HostPackage)
		}
		if !d.Push.Valid() {
			add("%s.push %q: allowed %s", f, d.Push, device.PushRouteNames())
		}
		if d.Push == device.PushWeChat && w.Mode == WeChatReal {
			add("%s.push wechat: callWMPF is only served by a simulated WeChat side; use inject or pushapi with wechat.mode real", f)
		}
		for _, sel := range []struct{ name, v string }{{"answer", d.UI.Answer}, {"hangUp", d.UI.HangUp}, {"accept", d.UI.Accept}} {
			if sel.v != "" && !selectorRE.MatchString(sel.v) {
				add("%s.ui.%s %q: want text=…, desc=… or id=…", f, sel.name, sel.v)
			}
		}
		if d.Install != nil {
			errs = append(errs, checkInstall(c, f+".install", d.Install)...)
		}
	}

	// Providers' sections and modes.
	for _, p := range registered() {
		sections := map[string]*yaml.Node{}
		for _, s := range p.Sections() {
			if n := c.Sections[s]; n != nil {
				sections[s] = n
			}
		}
		servesMode := false
		for _, m := range p.WeChatModes() {
			servesMode = servesMode || m == w.Mode
		}
		if len(sections) == 0 && !servesMode {
			continue
		}
		sup, err := p.Configure(c, sections)
		if err != nil {
			if se, ok := err.(strictyaml.Errors); ok {
				errs = append(errs, se...)
			} else {
				errs = append(errs, err.Error())
			}
			continue
		}
		if sup == nil {
			continue
		}
		for _, pd := range sup.Planned() {
			if !nameRE.MatchString(pd.Name) {
				add("%s: device name %q: want 1 to 63 letters, digits, '.', '_' or '-'", pd.Field, pd.Name)
				continue
			}
			claim(pd.Field, pd.Name)
			checkServer(pd.Field+".adbServer", pd.ADBServer)
		}
		c.suppliers = append(c.suppliers, configured{provider: p, supplier: sup})
	}
	if len(errs) > 0 {
		return errs
	}
	n := len(c.Planned())
	switch {
	case n == 0:
		add("no devices: list devices:, or simulated devices (sections: %s)", strings.Join(sectionNames(), ", "))
	case n > MaxDevices:
		add("the farm has %d devices; allowed at most %d in one run (split it into shards: wmpf-hil run -shard I/N)", n, MaxDevices)
	}
	if w.Mode != WeChatURL && w.Mode != WeChatReal && !c.servesMode(w.Mode) {
		add("wechat.mode %s: no section of this file starts that WeChat side", w.Mode)
	}

	r := c.Run
	if r.Matrix != "" && !r.Matrix.Valid() {
		add("run.matrix %q: allowed %s", r.Matrix, matrixNames())
	}
	if r.LatencyCalls < 0 || r.LatencyCalls > maxLatencyCalls {
		add("run.latencyCalls %d: allowed 1..%d (0 for the default, %d)", r.LatencyCalls, maxLatencyCalls, DefaultLatencyCalls)
	}
	if r.HealthTimeout != "" {
		if d, err := ParseDuration(r.HealthTimeout); err != nil || d < time.Second || d > 10*time.Minute {
			add("run.healthTimeout %q: allowed 1s..10m", r.HealthTimeout)
		}
	}
	if r.CommandTimeout != "" {
		if d, err := ParseDuration(r.CommandTimeout); err != nil || d < time.Second || d > 10*time.Minute {
			add("run.commandTimeout %q: allowed 1s..10m", r.CommandTimeout)
		}
	}
	if r.QuarantineAfter < 0 || r.QuarantineAfter > 100 {
		add("run.quarantineAfter %d: allowed 1..100 (0 for the default, %d)", r.QuarantineAfter, DefaultQuarantineAfter)
	}
	if r.Retries.Infrastructure < 0 || r.Retries.Infrastructure > 10 {
		add("run.retries.infrastructure %d: allowed 0..10", r.Retries.Infrastructure)
	}
	return errs
}

func checkInstall(c *Config, f string, in *Install) strictyaml.Errors {
	var errs strictyaml.Errors
	if in.APK == "" {
		errs = append(errs, f+".apk: required (the APK of the host app build under test)")
	} else if st, err := os.Stat(c.Resolve(in.APK)); err != nil {
		errs = append(errs, fmt.Sprintf("%s.apk %q: %v", f, in.APK, err))
	} else if st.IsDir() {
		errs = append(errs, fmt.Sprintf("%s.apk %q: a directory; want an .apk file", f, in.APK))
	}
	if in.Package != "" && !packageRE.MatchString(in.Package) {
		errs = append(errs, fmt.Sprintf("%s.package %q: want an Android package name like com.vendor.voip", f, in.Package))
	}
	return errs
}

// DeviceName is the device's stable name: name, else sn.
func (d RealDevice) DeviceName() string {
	if d.Name != "" {
		return d.Name
	}
	return d.SN
}

// Valid reports whether m is a known matrix.
func (m Matrix) Valid() bool {
	for _, x := range Matrices {
		if m == x {
			return true
		}
	}
	return false
}

func matrixNames() string {
	var s []string
	for _, m := range Matrices {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

// MatrixOrDefault is the file's matrix, device when unset.
func (c *Config) MatrixOrDefault() Matrix {
	if c.Run.Matrix == "" {
		return MatrixDevice
	}
	return c.Run.Matrix
}

// servesMode reports whether a configured provider starts the WeChat side
// of mode m.
func (c *Config) servesMode(m WeChatMode) bool {
	for _, s := range c.suppliers {
		for _, pm := range s.provider.WeChatModes() {
			if pm == m {
				return true
			}
		}
	}
	return false
}

// ParseDuration parses a Go duration ("20s", "1500ms").
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration like 20s or 1500ms", s)
	}
	return d, nil
}
