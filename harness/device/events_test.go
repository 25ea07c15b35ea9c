package device

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// epochLine renders a log entry in the harness's logcat format
// (-v epoch,usec: seconds right-aligned in 19 columns).
func epochLine(at time.Time, pid, tid int, prio byte, tag, msg string) string {
	return fmt.Sprintf("%19d.%06d %5d %5d %c %-8s: %s", at.Unix(), at.Nanosecond()/1000, pid, tid, prio, tag, msg)
}

func TestEventLogAdd(t *testing.T) {
	pushed := contract.Format(1, contract.EvPushReceived, map[string]any{"via": "inject", "msg": "{}"})
	big := contract.Format(2, contract.EvLaunchCalled, map[string]any{"path": strings.Repeat("p", contract.MaxLine)})
	if len(pushed) != 1 || len(big) < 2 {
		t.Fatalf("contract.Format gave %d and %d pieces", len(pushed), len(big))
	}
	cases := []struct {
		name       string
		line       string
		wantParsed bool
		wantEvent  string // "" none
		wantBad    bool
	}{
		{"divider", "--------- beginning of main", false, "", false},
		{"not logcat", "garbage", false, "", false},
		{"other tag", epochLine(t0, 100, 101, 'I', "ActivityTaskManager", "Displayed com.x/.A: +12ms"), true, "", false},
		{"contract line", epochLine(t0, 4242, 4250, 'I', contract.Tag, pushed[0]), true, contract.EvPushReceived, false},
		{"threadtime contract line", fmt.Sprintf("03-01 12:00:00.000  4242  4250 I %s: %s", contract.Tag, pushed[0]), true, contract.EvPushReceived, false},
		{"contract line not JSON", epochLine(t0, 4242, 4250, 'I', contract.Tag, "{not json"), true, "", true},
		{"contract line without ev", epochLine(t0, 4242, 4250, 'W', contract.Tag, `{"seq":3}`), true, "", true},
		{"first piece", epochLine(t0, 4242, 4250, 'I', contract.Tag, big[0]), true, "", false},
	}
	for _, c := range cases {
		l := NewEventLog(10)
		mark := l.Mark()
		l.Add(c.line, t0.Add(time.Second))
		lines := l.Lines(0)
		if len(lines) != 1 || lines[0] != c.line {
			t.Errorf("%s: Lines() = %q", c.name, lines)
		}
		l.mu.Lock()
		parsed := l.lines[0].Parsed
		l.mu.Unlock()
		if parsed != c.wantParsed {
			t.Errorf("%s: Parsed %v, want %v", c.name, parsed, c.wantParsed)
		}
		evs := l.Since(mark)
		switch {
		case c.wantEvent == "" && len(evs) != 0:
			t.Errorf("%s: events %v, want none", c.name, evs)
		case c.wantEvent != "" && (len(evs) != 1 || evs[0].Name != c.wantEvent || evs[0].Pid != 4242 || !evs[0].Received.Equal(t0.Add(time.Second))):
			t.Errorf("%s: events %v, want one %s from pid 4242", c.name, evs, c.wantEvent)
		}
		if bad := l.Malformed(); (len(bad) > 0) != c.wantBad {
			t.Errorf("%s: Malformed() = %q", c.name, bad)
		}
	}
}

func TestEventLogContinuations(t *testing.T) {
	big := contract.Format(7, contract.EvLaunchCalled, map[string]any{"path": strings.Repeat("路", contract.MaxLine)})
	l := NewEventLog(0)
	// Pieces of another process interleave and do not mix.
	other := contract.Format(1, contract.EvHostStarted, map[string]any{"pkg": "com.x"})
	for i, piece := range big {
		l.Add(epochLine(t0.Add(time.Duration(i)*time.Millisecond), 500, 501, 'I', contract.Tag, piece), t0)
		if i == 0 {
			l.Add(epochLine(t0, 600, 600, 'I', contract.Tag, other[0]), t0)
		}
	}
	evs := l.Since(0)
	if len(evs) != 2 || evs[0].Name != contract.EvHostStarted || evs[1].Name != contract.EvLaunchCalled {
		t.Fatalf("events %v", evs)
	}
	if got := evs[1].Str("path"); got != strings.Repeat("路", contract.MaxLine) {
		t.Errorf("reassembled path has %d bytes", len(got))
	}
	if !evs[1].Time.Equal(t0) || evs[1].Seq != 7 {
		t.Errorf("event time %v seq %d, want the first piece's time and seq 7", evs[1].Time, evs[1].Seq)
	}
}

func TestEventLogRing(t *testing.T) {
	l := NewEventLog(8)
	for i := range 20 {
		l.Add(fmt.Sprintf("line %d", i), t0.Add(time.Duration(i)*time.Second))
	}
	lines := l.Lines(0)
	if len(lines) > 8 || lines[len(lines)-1] != "line 19" {
		t.Fatalf("kept %d lines ending %q", len(lines), lines[len(lines)-1])
	}
	if got := l.Lines(2); len(got) != 2 || got[0] != "line 18" {
		t.Errorf("Lines(2) = %q", got)
	}
	if got := l.LinesSince(t0.Add(18 * time.Second)); len(got) != 2 || got[1] != "line 19" {
		t.Errorf("LinesSince = %q", got)
	}
}

func TestEventLogAwait(t *testing.T) {
	l := NewEventLog(0)
	line := func(seq int, name string, kv ...any) string {
		f := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return epochLine(t0, 9, 9, 'I', contract.Tag, contract.Format(seq, name, f)[0])
	}
	l.Add(line(1, contract.EvVoipEvent, "eventName", "callPageOnShow"), t0)
	mark := l.Mark()
	go func() {
		l.Add(line(2, contract.EvVoipEvent, "eventName", "calling"), t0)
		l.Add(line(3, contract.EvVoipEvent, "eventName", "hangOnVoip"), t0)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, i, err := l.Await(ctx, mark, "hangOnVoip", Named(contract.EvVoipEvent, "eventName", "hangOnVoip"))
	if err != nil || ev.Seq != 3 || i != 2 {
		t.Fatalf("Await: %v #%d at %d, %v", ev, ev.Seq, i, err)
	}
	// An event before the mark is not seen.
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer scancel()
	if _, _, err := l.Await(sctx, mark, "callPageOnShow", Named(contract.EvVoipEvent, "eventName", "callPageOnShow")); !errors.Is(err, ErrEventTimeout) {
		t.Errorf("event before the mark: err %v, want ErrEventTimeout", err)
	}
	l.Close(errors.New("stream gone"))
	if _, _, err := l.Await(context.Background(), l.Mark(), "x", Named("x")); err == nil || !strings.Contains(err.Error(), "stream gone") {
		t.Errorf("after Close: err %v", err)
	}
	if l.Err() == nil {
		t.Error("Err() nil after Close")
	}
	if got := Describe(nil); !strings.Contains(got, "no contract events") {
		t.Errorf("Describe(nil) = %q", got)
	}
	if got := Describe(l.Since(0)); strings.Count(got, "\n") != 2 || !strings.Contains(got, "hangOnVoip") {
		t.Errorf("Describe = %q", got)
	}
}
