package profile

import (
	"fmt"
	"sort"
	"strings"
)

// Defect is a bug a device maker could ship, switchable on a simulated device.
type Defect string

// The defects a simulated device can have.
const (
	// LateListener: the host app registers its push listener late; pushes that
	// arrive before are lost.
	LateListener Defect = "late-listener"
	// NoLifecycleListener: the host app does not watch WMPF; when WMPF dies it
	// stays dead.
	NoLifecycleListener Defect = "no-lifecycle-listener"
	// DropHangOnFlag: the host app does not add isClickedHangOnBtn=1 after the
	// user accepted in its own notification.
	DropHangOnFlag Defect = "drop-hangon-flag"
	// DoubleEncodeCaller: the host app rebuilds the path and encodes the query
	// values again (callerName %E5 becomes %25E5).
	DoubleEncodeCaller Defect = "double-encode-caller"
	// RawCaller: the host app rebuilds the path with callerName decoded and not
	// encoded again.
	RawCaller Defect = "raw-caller"
	// WrongAppType: the host app maps the push's appType 1 and 2 the wrong way
	// round.
	WrongAppType Defect = "wrong-apptype"
	// StuckOnCallPage: when the call ends, the device stays on the call page.
	StuckOnCallPage Defect = "stuck-on-call-page"
	// SlowLaunch: the Mini Program starts slowly (timing.slowLaunchFactor).
	SlowLaunch Defect = "slow-launch"
	// CrashOnPush: the host app crashes when a push arrives.
	CrashOnPush Defect = "crash-on-push"
	// NoBootStart: the host app does not start at boot (no BOOT_COMPLETED
	// receiver): after a reboot no push reaches it until someone opens it.
	NoBootStart Defect = "no-boot-start"
	// DropFirstPush: the host app loses the first push that reaches it (a
	// start-up race in its listener); later pushes are handled. A spec that
	// meets it fails once and passes when run again: a flaky device.
	DropFirstPush Defect = "drop-first-push"
	// DoubleLaunch: the host app calls launchMiniProgram twice for one push,
	// with the same parameters, timing.doubleLaunchGap apart.
	DoubleLaunch Defect = "double-launch"
	// LaggingHooks: the host app writes each contract log line
	// timing.hookLag after the step it reports.
	LaggingHooks Defect = "lagging-hooks"
	// NoTokenRefresh: the host app gets a push token when it starts (and
	// when it sets WMPF up again after WMPF died) but never refreshes it
	// before it expires.
	NoTokenRefresh Defect = "no-token-refresh"
)

// Defects lists every defect with what it breaks.
var Defects = map[Defect]string{
	LateListener:        "the host app registers its push listener late; pushes before that are lost",
	NoLifecycleListener: "the host app does not watch WMPF; a killed WMPF stays dead",
	DropHangOnFlag:      "answered from the app's notification, the launch path lacks isClickedHangOnBtn=1",
	DoubleEncodeCaller:  "the launch path's query values are percent-encoded twice",
	RawCaller:           "the launch path's callerName is not percent-encoded",
	WrongAppType:        "appType 1 (development) and 2 (trial) are swapped at launch",
	StuckOnCallPage:     "the device stays on the call page after the call ends",
	SlowLaunch:          "the Mini Program takes timing.slowLaunchFactor times longer to start",
	CrashOnPush:         "the host app crashes when a push arrives",
	NoBootStart:         "the host app does not start at boot: after a reboot it takes no call until it is opened",
	DropFirstPush:       "the host app loses the first push that reaches it; later ones are handled (a flaky device)",
	DoubleLaunch:        "the host app calls launchMiniProgram twice for one push (timing.doubleLaunchGap apart)",
	LaggingHooks:        "the host app writes its contract log lines timing.hookLag after each step",
	NoTokenRefresh:      "the host app never refreshes its push token; calls fail once it expires",
}

// DefectNames lists the defect names, sorted.
func DefectNames() []string {
	out := make([]string, 0, len(Defects))
	for d := range Defects {
		out = append(out, string(d))
	}
	sort.Strings(out)
	return out
}

// DefectSet is a set of defects.
type DefectSet map[Defect]bool

// Has reports whether d is switched on.
func (s DefectSet) Has(d Defect) bool { return s[d] }

// List returns the defects switched on, sorted.
func (s DefectSet) List() []string {
	var out []string
	for d, on := range s {
		if on {
			out = append(out, string(d))
		}
	}
	sort.Strings(out)
	return out
}

// ParseDefects parses defect names; an unknown name is an error listing the
// allowed ones. Empty names are errors too.
func ParseDefects(names []string) (DefectSet, error) {
	s := DefectSet{}
	for _, n := range names {
		d := Defect(strings.TrimSpace(n))
		if _, ok := Defects[d]; !ok {
			return nil, fmt.Errorf("defect %q: allowed values are %s", n, strings.Join(DefectNames(), ", "))
		}
		s[d] = true
	}
	if s[DoubleEncodeCaller] && s[RawCaller] {
		return nil, fmt.Errorf("defects %s and %s exclude each other: choose one", DoubleEncodeCaller, RawCaller)
	}
	return s, nil
}
