package adbd

import (
	"context"
	"fmt"
	"time"
)

// Texts adbd writes for root:, unroot: and reboot: (AOSP adb
// daemon/restart_service.cpp and daemon/reboot_service.cpp).
const (
	textAlreadyRoot    = "adbd is already running as root\n"
	textProductionRoot = "adbd cannot run as root in production builds\n"
	textRestartRoot    = "restarting adbd as root\n"
	textNotRoot        = "adbd not running as root\n"
	textRestartUnroot  = "restarting adbd as non root\n"
)

// restartGrace bounds how long a restart waits for its reply to reach the
// host before the connections drop.
const restartGrace = 2 * time.Second

// serveRoot answers `adb root` (wantRoot) or `adb unroot`. When adbd
// changes user it restarts, as on a device: the reply is flushed, then
// every connection drops and the adb server connects again to a daemon
// running as the new user.
func (s *Server) serveRoot(st *Stream, wantRoot bool) error {
	var msg string
	restart := false
	switch {
	case wantRoot && s.root.Load():
		msg = textAlreadyRoot
	case wantRoot && !s.cfg.Debuggable:
		msg = textProductionRoot
	case wantRoot:
		msg, restart = textRestartRoot, true
	case !s.root.Load():
		msg = textNotRoot
	default:
		msg, restart = textRestartUnroot, true
	}
	if _, err := st.Write([]byte(msg)); err != nil {
		return fmt.Errorf("root: %w", err)
	}
	if restart {
		s.root.Store(wantRoot)
		s.restartAfter(st, true)
	}
	return nil
}

// serveReboot runs the reboot: service.
func (s *Server) serveReboot(ctx context.Context, target string, st *Stream) error {
	var err error
	if s.cfg.Reboot == nil {
		err = fmt.Errorf("no reboot hook")
	} else {
		err = s.cfg.Reboot(target)
	}
	if err != nil {
		arg := target
		if arg == "" {
			arg = "adb"
		}
		s.logf("adbd %s: reboot %q: %v", s.Addr(), target, err)
		_, werr := fmt.Fprintf(st, "reboot (reboot,%s) failed\n", arg)
		return werr
	}
	// The device goes down: adbd never answers more than the OKAY.
	s.restartAfter(st, false)
	<-ctx.Done()
	return nil
}

// restartAfter drops every connection, as adbd going away does; with flush,
// st is closed first and its output given time to reach the host. It
// returns at once.
func (s *Server) restartAfter(st *Stream, flush bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		if flush {
			st.Close()
			t := time.NewTimer(restartGrace)
			defer t.Stop()
			select {
			case <-st.ctx.Done():
			case <-t.C:
			}
		}
		s.DropConnections()
	}()
}
