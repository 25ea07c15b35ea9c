package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	ginkgo "github.com/onsi/ginkgo/v2"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// When an adb server the run started dies, process 1 starts it again and
// reconnects its devices (farm.Up's watcher). Every process must then tell
// "the device went away" from "the server under it went away and came
// back". Process 1 leaves marks in the run directory, which all processes
// share:
//
//	adb/<server>.down    touched when the server is found dead
//	adb/<server>.back    touched when it is back with its devices
//	adb/<server>.failed  written when it could not be started again
const serverMarks = "adb"

// serverBackWait bounds how long a process waits for a restart in progress.
const serverBackWait = 45 * time.Second

// serverDeathSlack and reconnectWait: how long before a session opened
// the server may have died and still be the cause of its trouble, and how
// long a device of a restarted server may take to be listed again.
const (
	serverDeathSlack = 5 * time.Second
	reconnectWait    = 15 * time.Second
)

func markPath(runDir, addr, kind string) string {
	return filepath.Join(runDir, serverMarks, report.SafeName(addr)+"."+kind)
}

// ServerEvents is the hook for farm.Up of whoever brings the farm up:
// marks for every process, and an incident in results.jsonl (through w).
func ServerEvents(runDir string, w *report.Writer) func(farm.ServerEvent) {
	return func(e farm.ServerEvent) {
		_ = os.MkdirAll(filepath.Join(runDir, serverMarks), 0o755)
		switch e.Phase {
		case farm.ServerExited:
			_ = os.WriteFile(markPath(runDir, e.Addr, "down"), []byte(e.Exit+"\n"), 0o644)
			return
		case farm.ServerRestarted:
			_ = os.WriteFile(markPath(runDir, e.Addr, "back"), nil, 0o644)
		case farm.ServerFailed:
			_ = os.WriteFile(markPath(runDir, e.Addr, "failed"), []byte(e.Err.Error()+"\n"), 0o644)
		}
		in := &report.IncidentInfo{What: report.IncidentADBServerRestarted, Server: e.Name, Addr: e.Addr, Exit: e.Exit,
			TookMs: float64(e.Took) / float64(time.Millisecond), Reconnected: e.Reconnected, NotBack: e.NotBack}
		if e.Phase == farm.ServerFailed {
			in.What, in.Detail = report.IncidentADBServerFailed, e.Err.Error()
		}
		if w != nil {
			_ = w.Write(report.Record{Kind: report.KindIncident, Incident: in})
		}
		ginkgo.GinkgoWriter.Printf("incident: %s %s (%s) exit %q, devices back %v, not back %v\n", in.What, e.Name, e.Addr, e.Exit, e.Reconnected, e.NotBack)
	}
}

func modTime(path string) time.Time {
	st, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// cameBack reports whether a device that looked lost was only cut off by
// its adb server dying, and is back now that the run started the server
// again. since is when the session that lost it was opened (zero: any
// time in the run). It returns at once when the server is up and did not
// die since then: the device itself went away. When it returns false, why
// says what it found.
func (f *Framework) cameBack(ctx context.Context, spec device.Spec, since time.Time) (back bool, why string) {
	if !slices.Contains(f.Farm.Started, spec.Server) {
		return false, "the run did not start its adb server"
	}
	ctx, cancel := context.WithTimeout(ctx, serverBackWait)
	defer cancel()
	c := adb.NewClient(spec.Server)
	for {
		if _, err := os.Stat(markPath(f.RunDir(), spec.Server, "failed")); err == nil {
			return false, "its adb server could not be started again"
		}
		// The server is asked first and the marks read after: process 1
		// writes "down" before it starts the server again, so a server
		// that answers after dying has its mark by then (read the other
		// way round, a restart between the two reads looked like a server
		// that never died).
		_, verr := c.Version(ctx)
		down := modTime(markPath(f.RunDir(), spec.Server, "down"))
		up := modTime(markPath(f.RunDir(), spec.Server, "back"))
		restarting := !down.IsZero() && up.Before(down)
		if verr == nil && !restarting {
			// A session opened just before or while the server died sees
			// it too: allow a little before since.
			if down.IsZero() {
				return false, "its adb server answers and did not die"
			}
			if down.Before(since.Add(-serverDeathSlack)) {
				return false, fmt.Sprintf("its adb server answers and last died at %s, before the session was opened (%s)",
					down.Format("15:04:05.000"), since.Format("15:04:05.000"))
			}
			// Its network devices are being connected again: wait for it.
			wctx, cancel := context.WithTimeout(ctx, reconnectWait)
			st, err := c.WaitForState(wctx, spec.Serial, adb.StateDevice)
			cancel()
			if st != adb.StateDevice {
				return false, fmt.Sprintf("its adb server died and is back, but the device is not (%s, %v after %v)", st, err, reconnectWait)
			}
			return true, ""
		}
		// A server dying (its marks not written yet) or being started
		// again may refuse or drop a connection: only a server that did
		// not die since, and answers with something else, is taken at its
		// word.
		diedSince := !down.IsZero() && !down.Before(since.Add(-serverDeathSlack))
		dying := errors.Is(verr, adb.ErrServerUnavailable) || errors.Is(verr, adb.ErrStreamLost)
		if verr != nil && !dying && !restarting && !diedSince && ctx.Err() == nil {
			return false, "its adb server does not answer as it should: " + verr.Error()
		}
		select {
		case <-ctx.Done():
			return false, fmt.Sprintf("its adb server was not back within %v", serverBackWait)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// diedSince reports whether the adb server at addr was found dead after t.
func (f *Framework) diedSince(addr string, t time.Time) bool {
	down := modTime(markPath(f.RunDir(), addr, "down"))
	return !down.IsZero() && down.After(t)
}
