package device

import (
	"strings"
	"time"
)

// PushRoute is how the harness's caller reaches a device with a call's push.
type PushRoute string

// Push routes.
const (
	// PushInject: the debug host app's injection broadcast (real devices
	// offline).
	PushInject PushRoute = "inject"
	// PushWeChat: callWMPF on a simulated WeChat side, which pushes to the
	// device's WMPF.
	PushWeChat PushRoute = "wechat"
	// PushAPI: WeChat's push server API (pushappmsg), real or simulated.
	PushAPI PushRoute = "pushapi"
)

// PushRoutes lists the push routes.
var PushRoutes = []PushRoute{PushInject, PushWeChat, PushAPI}

// Valid reports whether r is a known route.
func (r PushRoute) Valid() bool {
	for _, x := range PushRoutes {
		if r == x {
			return true
		}
	}
	return false
}

// PushRouteNames lists the routes for messages.
func PushRouteNames() string {
	var s []string
	for _, r := range PushRoutes {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// Spec describes a device of the farm, as the run hands it to the suites.
type Spec struct {
	// Name is how reports call the device: stable from run to run, never
	// an address (a real device's name or sn; a simulated one's
	// <profile>-<i>).
	Name string `json:"name"`
	// Server is the adb server address, Serial the device's serial there.
	Server string `json:"server"`
	Serial string `json:"serial"`
	// Connect: the run `adb connect`s the serial (network devices).
	Connect     bool   `json:"connect,omitempty"`
	SN          string `json:"sn"`
	ModelID     string `json:"modelId"`
	Model       string `json:"model"`
	HostPackage string `json:"hostPackage"`
	// HostVersionName and HostVersionCode are the host app's version, as
	// dumpsys package says at the health check ("" and 0 when unknown).
	HostVersionName string `json:"hostVersionName,omitempty"`
	HostVersionCode int64  `json:"hostVersionCode,omitempty"`
	// AndroidVersion is ro.build.version.release, read at the health check.
	AndroidVersion string    `json:"androidVersion,omitempty"`
	Push           PushRoute `json:"push"`
	Simulated      bool      `json:"simulated"`
	Profile        string    `json:"profile,omitempty"`
	// Container is the Docker container the simulated device runs in.
	Container string `json:"container,omitempty"`
	// CommandTimeout bounds each shell command (0: DefaultCommandTimeout).
	CommandTimeout time.Duration `json:"commandTimeout,omitempty"`
	// Defects switched on (simulated devices).
	Defects []string `json:"defects,omitempty"`
	// ClockOffset and ClockDriftPPM as configured (simulated devices).
	ClockOffset   time.Duration `json:"clockOffset,omitempty"`
	ClockDriftPPM float64       `json:"clockDriftPPM,omitempty"`
	// UI selectors.
	Answer string `json:"answer"`
	HangUp string `json:"hangUp"`
	Accept string `json:"accept"`
	// Install is the build under test to install before the run (an APK
	// path on the host), and Installed what was installed.
	Install   *InstallSpec `json:"install,omitempty"`
	Installed *Installed   `json:"installed,omitempty"`
	// Provider names the provider that supplied the device ("" for a
	// device listed under devices:).
	Provider string `json:"provider,omitempty"`
	// Shard is the shard an adb server assigns the device to (0: any).
	Shard int `json:"shard,omitempty"`
}

// InstallSpec is an APK to install on the device before the run.
type InstallSpec struct {
	APK     string `json:"apk"`
	Package string `json:"package,omitempty"`
}

// Installed is the build found on the device after installing it.
type Installed struct {
	APK         string `json:"apk"`
	Package     string `json:"package"`
	VersionName string `json:"versionName"`
	VersionCode int64  `json:"versionCode"`
	SHA256      string `json:"sha256"`
	// Build names a simulated build (from the APK's assets), if any.
	Build string `json:"build,omitempty"`
}

// Defaults of the UI selectors (the simulated plugin page and host app).
const (
	DefaultAnswer = "text=接听"
	DefaultHangUp = "text=挂断"
	DefaultAccept = "text=接听"
)
