package device

import (
	"regexp"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/logcat"
)

// WitnessKind names a line the Android system logs about an app's
// activities and processes: an account of what happened that does not come
// from the app, against which the app's own hook lines can be checked.
type WitnessKind string

// Witness kinds.
const (
	// WitnessStart: ActivityTaskManager "START u0 {… cmp=PKG/CLS …} from uid N",
	// logged when an activity start is requested.
	WitnessStart WitnessKind = "start"
	// WitnessDisplayed: ActivityTaskManager "Displayed PKG/CLS: +1s234ms",
	// logged when the activity's first frame is drawn.
	WitnessDisplayed WitnessKind = "displayed"
	// WitnessProcStart: ActivityManager "Start proc PID:NAME/UID for …",
	// logged when a process starts.
	WitnessProcStart WitnessKind = "proc-start"
)

// Witness is one such line.
type Witness struct {
	Kind WitnessKind
	// Time is the line's device time stamp; Received when the harness read it.
	Time     time.Time
	Received time.Time
	// Component is PKG/CLS (start, displayed) or the process name (proc-start).
	Component string
	Msg       string
}

var (
	startCmpRE  = regexp.MustCompile(`\bcmp=([A-Za-z0-9_.]+/[A-Za-z0-9_.$]+)`)
	displayedRE = regexp.MustCompile(`^Displayed ([A-Za-z0-9_.]+/[A-Za-z0-9_.$]+): `)
	procStartRE = regexp.MustCompile(`^Start proc \d+:([^/ ]+)/`)
)

// parseWitness recognises a witness line.
func parseWitness(e logcat.Entry) (Witness, bool) {
	w := Witness{Time: e.Time, Msg: e.Msg}
	switch {
	case (e.Tag == "ActivityTaskManager" || e.Tag == "ActivityManager") && strings.HasPrefix(e.Msg, "START u"):
		m := startCmpRE.FindStringSubmatch(e.Msg)
		if m == nil {
			return w, false
		}
		w.Kind, w.Component = WitnessStart, m[1]
	case (e.Tag == "ActivityTaskManager" || e.Tag == "ActivityManager") && strings.HasPrefix(e.Msg, "Displayed "):
		m := displayedRE.FindStringSubmatch(e.Msg)
		if m == nil {
			return w, false
		}
		w.Kind, w.Component = WitnessDisplayed, m[1]
	case e.Tag == "ActivityManager" && strings.HasPrefix(e.Msg, "Start proc "):
		m := procStartRE.FindStringSubmatch(e.Msg)
		if m == nil {
			return w, false
		}
		w.Kind, w.Component = WitnessProcStart, m[1]
	default:
		return w, false
	}
	return w, true
}

// Witnesses returns the witness lines stamped at or after since (device
// time), of kind (all kinds when empty) and whose component starts with
// prefix.
func (l *EventLog) Witnesses(since time.Time, kind WitnessKind, prefix string) []Witness {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Witness
	for _, w := range l.witnesses {
		if w.Time.Before(since) || (kind != "" && w.Kind != kind) || !strings.HasPrefix(w.Component, prefix) {
			continue
		}
		out = append(out, w)
	}
	return out
}
