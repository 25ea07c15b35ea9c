package device

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/logcat"
)

// EventLog holds what a device's logcat stream delivered: every line (a
// bounded ring, for evidence) and every contract event (all of them).
type EventLog struct {
	mu      sync.Mutex
	events  []contract.Event
	lines   []Line
	maxLine int
	wake    chan struct{}
	closed  error
	parser  *contract.Parser
	bad     []string
	// witnesses are the system's own lines about activities and
	// processes (witness.go), bounded like lines.
	witnesses []Witness
}

// Line is one logcat line as received.
type Line struct {
	Text     string
	Received time.Time
	Entry    logcat.Entry
	Parsed   bool
}

// NewEventLog keeps the last maxLines lines.
func NewEventLog(maxLines int) *EventLog {
	if maxLines <= 0 {
		maxLines = 20000
	}
	return &EventLog{maxLine: maxLines, wake: make(chan struct{}), parser: contract.NewParser()}
}

// Add ingests one logcat line.
func (l *EventLog) Add(text string, received time.Time) {
	ln := Line{Text: text, Received: received}
	e, err := logcat.ParseLine(text, nil, 0)
	if err == nil {
		ln.Entry, ln.Parsed = e, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, ln)
	if len(l.lines) > l.maxLine {
		l.lines = append(l.lines[:0:0], l.lines[len(l.lines)-l.maxLine*3/4:]...)
	}
	if ln.Parsed {
		if w, ok := parseWitness(e); ok {
			w.Received = received
			l.witnesses = append(l.witnesses, w)
			if len(l.witnesses) > l.maxLine {
				l.witnesses = append(l.witnesses[:0:0], l.witnesses[len(l.witnesses)-l.maxLine*3/4:]...)
			}
		}
	}
	if !ln.Parsed || e.Tag != contract.Tag {
		return
	}
	ev, ok, perr := l.parser.Feed(e.Pid, e.Time, e.Msg)
	if perr != nil {
		l.bad = append(l.bad, perr.Error())
		return
	}
	if !ok {
		return
	}
	ev.Received = received
	l.events = append(l.events, ev)
	close(l.wake)
	l.wake = make(chan struct{})
}

// Close ends the log: waiters get err.
func (l *EventLog) Close(err error) {
	if err == nil {
		err = errors.New("event log closed")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed == nil {
		l.closed = err
		close(l.wake)
		l.wake = make(chan struct{})
	}
}

// Err is why the log ended, nil while it runs.
func (l *EventLog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Mark is a position in the event list: events after it are "since".
func (l *EventLog) Mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// Since returns the events after mark.
func (l *EventLog) Since(mark int) []contract.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if mark > len(l.events) {
		return nil
	}
	return append([]contract.Event(nil), l.events[mark:]...)
}

// Malformed returns contract lines that could not be parsed.
func (l *EventLog) Malformed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bad...)
}

// ErrEventTimeout is returned by Await when the context ends first.
var ErrEventTimeout = errors.New("event did not come")

// Await waits for the first event after mark that pred accepts. It returns
// the event and its index (use index+1 as a later mark).
func (l *EventLog) Await(ctx context.Context, mark int, what string, pred func(contract.Event) bool) (contract.Event, int, error) {
	for {
		l.mu.Lock()
		for i := mark; i < len(l.events); i++ {
			if pred(l.events[i]) {
				ev := l.events[i]
				l.mu.Unlock()
				return ev, i, nil
			}
		}
		mark = max(mark, len(l.events))
		wake, closed := l.wake, l.closed
		l.mu.Unlock()
		if closed != nil {
			return contract.Event{}, -1, fmt.Errorf("waiting for %s: %w", what, closed)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return contract.Event{}, -1, fmt.Errorf("waiting for %s: %w (%v)", what, ErrEventTimeout, context.Cause(ctx))
		}
	}
}

// Named accepts events of one name, optionally with fields equal to the
// given strings ("eventName", "hangOnVoip").
func Named(name string, kv ...string) func(contract.Event) bool {
	return func(e contract.Event) bool {
		if e.Name != name {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if e.Str(kv[i]) != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// Lines returns the last n raw lines (all when n <= 0).
func (l *EventLog) Lines(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := 0
	if n > 0 && len(l.lines) > n {
		start = len(l.lines) - n
	}
	out := make([]string, 0, len(l.lines)-start)
	for _, ln := range l.lines[start:] {
		out = append(out, ln.Text)
	}
	return out
}

// LinesSince returns the raw lines received at or after t.
func (l *EventLog) LinesSince(t time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range l.lines {
		if !ln.Received.Before(t) {
			out = append(out, ln.Text)
		}
	}
	return out
}

// Describe renders events for failure messages, one a line.
func Describe(evs []contract.Event) string {
	if len(evs) == 0 {
		return "  (no contract events)"
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s\n", e.Time.Format("15:04:05.000000"), clip(e.Raw, 400))
	}
	return strings.TrimRight(b.String(), "\n")
}
