package runner

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// resultsTail reads results.jsonl as the workers append to it, once: the
// progress hears of each cell, and the supervisor keeps, per cell, when it
// last started and when its last result was written — what it needs when
// a worker exits, without reading the whole file again (at 200 devices
// that cost half a minute).
type resultsTail struct {
	mu      sync.Mutex
	f       *os.File
	rd      *bufio.Reader
	partial []byte
	onStart func(*report.StartInfo)
	onSpec  func(*report.SpecResult)

	started  map[string]time.Time
	finished map[string]time.Time
}

func openTail(runDir string, onStart func(*report.StartInfo), onSpec func(*report.SpecResult)) (*resultsTail, error) {
	f, err := os.Open(filepath.Join(runDir, report.ResultsFile))
	if err != nil {
		return nil, err
	}
	return &resultsTail{f: f, rd: bufio.NewReader(f), onStart: onStart, onSpec: onSpec,
		started: map[string]time.Time{}, finished: map[string]time.Time{}}, nil
}

// poll reads what was appended since the last poll.
func (t *resultsTail) poll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		line, err := t.rd.ReadBytes('\n')
		if err == io.EOF {
			t.partial = append(t.partial, line...)
			return
		}
		if err != nil {
			return
		}
		if len(t.partial) > 0 {
			line = append(t.partial, line...)
			t.partial = nil
		}
		var rec report.Record
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		switch {
		case rec.Start != nil:
			k := rec.Start.Spec + "\x00" + rec.Start.Device
			if rec.At.After(t.started[k]) {
				t.started[k] = rec.At
			}
			if t.onStart != nil {
				t.onStart(rec.Start)
			}
		case rec.Spec != nil:
			k := rec.Spec.Name + "\x00" + rec.Spec.Device
			if !rec.At.Before(t.finished[k]) {
				t.finished[k] = rec.At
			}
			if t.onSpec != nil {
				t.onSpec(rec.Spec)
			}
		}
	}
}

// recorded returns which of cells have a result written after their
// latest start, and the one started but not finished (the latest started).
func (t *resultsTail) recorded(cells []framework.Cell) (map[string]bool, *framework.Cell) {
	t.poll()
	t.mu.Lock()
	defer t.mu.Unlock()
	done := map[string]bool{}
	var running *framework.Cell
	var runningAt time.Time
	for _, c := range cells {
		k := cellKey(c)
		f, hasF := t.finished[k]
		s, hasS := t.started[k]
		switch {
		case hasF && (!hasS || !f.Before(s)):
			done[k] = true
		case hasS && s.After(runningAt):
			cc := c
			running, runningAt = &cc, s
		}
	}
	return done, running
}

func (t *resultsTail) close() error { return t.f.Close() }
