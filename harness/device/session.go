// Package device drives one device over ADB for the suites: a logcat stream
// turned into contract events, a clock model converting device time stamps to
// the host clock, and the actions a spec needs (push injection, the host
// app's configuration hook, UI dumps and taps, the resumed activity, killing
// processes). It works the same on real and simulated devices.
package device

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/clock"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/logcat"
)

// WMPF's package and the Mini Program activity's class prefix.
const (
	WMPFPackage      = "com.tencent.wmpf"
	MPActivityPrefix = "com.tencent.wmpf/com.tencent.mm.plugin.appbrand.ui.AppBrandUI"
)

// ErrDeviceLost says the device went away during the run: not a product
// failure.
var ErrDeviceLost = errors.New("device lost")

// Session drives one device.
type Session struct {
	Spec  Spec
	ADB   *adb.Device
	Log   *EventLog
	Clock *clock.Estimator
	// Opened is when the session was opened.
	Opened time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	lastFit   time.Time
	streamErr error
	// carried are the groupIds of pushes an earlier session of the device
	// saw received (CarryPushes).
	carried map[string]bool
}

// Open starts a session: the logcat stream (from now on) and a first clock
// estimate.
func Open(ctx context.Context, spec Spec) (*Session, error) {
	return OpenWith(ctx, spec, OpenOptions{})
}

// OpenOptions tune OpenWith.
type OpenOptions struct {
	// FromStart reads the device's log buffer from its start, not from
	// now: what a device just booted logged before the session opened.
	FromStart bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, spec Spec, o OpenOptions) (*Session, error) {
	client := adb.NewClient(spec.Server)
	sctx, cancel := context.WithCancel(context.Background())
	s := &Session{Spec: spec, ADB: client.Device(spec.Serial), Log: NewEventLog(0), Opened: time.Now(), ctx: sctx, cancel: cancel}
	s.Clock = clock.NewEstimator(s.readClock, 24, 64)
	if spec.Answer == "" {
		s.Spec.Answer = DefaultAnswer
	}
	if spec.HangUp == "" {
		s.Spec.HangUp = DefaultHangUp
	}
	if spec.Accept == "" {
		s.Spec.Accept = DefaultAccept
	}
	if _, err := s.Clock.Refresh(ctx); err != nil {
		cancel()
		if errors.Is(err, ErrDeviceLost) {
			return nil, err
		}
		return nil, s.lost("clock", err)
	}
	// The stream lives as long as the session, not the caller's context;
	// opening it is still bounded by the caller's.
	stop := context.AfterFunc(ctx, cancel)
	tail := " -T 1"
	if o.FromStart {
		tail = ""
	}
	st, err := s.ADB.StreamShell(sctx, "logcat "+logcat.Args+tail)
	stop()
	if err != nil {
		cancel()
		return nil, s.lost("logcat", err)
	}
	s.wg.Add(1)
	go s.follow(st)
	return s, nil
}

func (s *Session) readClock(ctx context.Context) (time.Time, error) {
	var out string
	err := s.bounded(ctx, "date", func(ctx context.Context) (err error) {
		out, err = s.ADB.Run(ctx, clock.DateCommand)
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	return clock.ParseDate(out)
}

// follow feeds the logcat stream into the event log, reopening it if it
// ends while the device is still there.
func (s *Session) follow(st *adb.Stream) {
	defer s.wg.Done()
	for {
		for l := range st.Lines() {
			if !l.Stderr {
				s.Log.Add(l.Text, l.Received)
			}
		}
		err := st.Err()
		if s.ctx.Err() != nil {
			s.Log.Close(fmt.Errorf("session closed"))
			return
		}
		if err == nil {
			err = errors.New("logcat exited")
		}
		// Try again once: a logcat that died on its own comes back; a lost
		// device does not.
		next, rerr := s.ADB.StreamShell(s.ctx, "logcat "+logcat.Args+" -T 1")
		if rerr != nil {
			s.mu.Lock()
			s.streamErr = fmt.Errorf("%w: %s: logcat stream ended (%v) and could not be reopened: %v", ErrDeviceLost, s.Spec.Name, err, rerr)
			s.mu.Unlock()
			s.Log.Close(s.streamErr)
			return
		}
		st = next
	}
}

// Close stops the session.
func (s *Session) Close() {
	s.cancel()
	s.wg.Wait()
}

// Lost returns the reason the device is considered lost, or nil.
func (s *Session) Lost() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streamErr
}

// DefaultCommandTimeout bounds one shell command whose caller gave no
// sooner deadline (Spec.CommandTimeout overrides it), and ProbeTimeout the
// check that follows it: a hung device must cost a spec, not the run.
const (
	DefaultCommandTimeout = 30 * time.Second
	ProbeTimeout          = 5 * time.Second
	// WatchAfter: a command still running this long has the device probed
	// (and again every WatchAfter), so that a hung device is found
	// without waiting out the command timeout.
	WatchAfter = 5 * time.Second
)

// bounded runs op with the command timeout. When that bound, not the
// caller's, runs out, the device is probed: one that does not answer is
// lost. Errors of a device that went away match ErrDeviceLost.
func (s *Session) bounded(ctx context.Context, what string, op func(context.Context) error) error {
	limit := s.Spec.CommandTimeout
	if limit <= 0 {
		limit = DefaultCommandTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// A watchdog probes the device while the command runs past WatchAfter:
	// one that stopped answering costs WatchAfter + ProbeTimeout, not the
	// whole command timeout.
	wctx, stopWatch := context.WithCancel(cctx)
	var gone error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(WatchAfter)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			if perr := s.Probe(wctx); errors.Is(perr, ErrDeviceLost) {
				gone = perr
				stopWatch()
				return
			}
			t.Reset(WatchAfter)
		}
	}()
	err := op(wctx)
	stopWatch()
	wg.Wait()
	if err == nil {
		return nil
	}
	if gone != nil {
		return gone
	}
	var ee *adb.ExitError
	if errors.As(err, &ee) {
		return err
	}
	if ctx.Err() == nil && cctx.Err() != nil {
		if perr := s.Probe(ctx); perr != nil {
			return perr
		}
		return fmt.Errorf("%s: %s did not finish within %v, though the device answers: %w", s.Spec.Name, what, limit, err)
	}
	return s.lost(what, err)
}

// Probe checks that the device still answers a shell command within
// ProbeTimeout. One that does not (hung, or cut off with its connection
// open, which the adb server does not notice) is lost: the session is
// marked lost and the error matches ErrDeviceLost.
func (s *Session) Probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	_, err := s.ADB.Run(pctx, "echo alive")
	var ee *adb.ExitError
	switch {
	case err == nil, errors.As(err, &ee):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case pctx.Err() != nil:
		err = fmt.Errorf("%w: %s: the device does not answer: no reply to `echo` within %v (hung, or cut off with its connection open)", ErrDeviceLost, s.Spec.Name, ProbeTimeout)
	default:
		if err = s.lost("probe", err); !errors.Is(err, ErrDeviceLost) {
			return nil
		}
	}
	s.mu.Lock()
	if s.streamErr == nil {
		s.streamErr = err
	}
	s.mu.Unlock()
	return err
}

func (s *Session) lost(what string, err error) error {
	if errors.Is(err, adb.ErrStreamLost) || errors.Is(err, adb.ErrDeviceNotFound) || errors.Is(err, adb.ErrDeviceOffline) || errors.Is(err, adb.ErrServerUnavailable) {
		return fmt.Errorf("%w: %s: %s: %v", ErrDeviceLost, s.Spec.Name, what, err)
	}
	return fmt.Errorf("%s: %s: %w", s.Spec.Name, what, err)
}

// Run runs a shell command; non-zero exit is an error carrying stderr. A
// device that went away gives an error matching ErrDeviceLost.
func (s *Session) Run(ctx context.Context, cmd string) (string, error) {
	var out string
	err := s.bounded(ctx, "shell", func(ctx context.Context) (err error) {
		out, err = s.ADB.Run(ctx, cmd)
		return err
	})
	return out, err
}

// RefreshClock measures the clock again if the last fit is older than
// maxAge, so drift is followed over long runs.
func (s *Session) RefreshClock(ctx context.Context, maxAge time.Duration) (clock.Model, error) {
	s.mu.Lock()
	due := time.Since(s.lastFit) > maxAge
	s.mu.Unlock()
	if !due {
		m, _ := s.Clock.Model()
		return m, nil
	}
	m, err := s.Clock.Refresh(ctx)
	if err != nil {
		if errors.Is(err, ErrDeviceLost) {
			return m, err
		}
		return m, s.lost("clock", err)
	}
	s.mu.Lock()
	s.lastFit = time.Now()
	s.mu.Unlock()
	return m, nil
}

// ToHost converts a device time stamp to the host clock.
func (s *Session) ToHost(t time.Time) time.Time {
	m, ok := s.Clock.Model()
	if !ok {
		return t
	}
	return m.ToHost(t)
}

// Broadcast sends a broadcast to the host app's package.
func (s *Session) Broadcast(ctx context.Context, action string, extras ...string) error {
	args := []string{"am", "broadcast", "-a", action, "-p", s.Spec.HostPackage}
	args = append(args, extras...)
	out, err := s.Run(ctx, adb.Command(args...))
	if err != nil {
		return fmt.Errorf("broadcast %s: %w", action, err)
	}
	if !strings.Contains(out, "Broadcast completed") {
		return fmt.Errorf("broadcast %s: am printed %q", action, clip(out, 200))
	}
	return nil
}

// InjectPush hands the host app a push message through the contract's hook.
func (s *Session) InjectPush(ctx context.Context, msg string) error {
	return s.Broadcast(ctx, contract.ActionInjectPush, "--es", contract.ExtraMsgB64, base64.StdEncoding.EncodeToString([]byte(msg)))
}

// Settings are what the host app's configuration hook sets.
type Settings struct {
	EndMode      string
	EndPagePath  string
	Notification string
	AutoAccept   bool
}

// Configure sets the host app's behaviour and waits for its confirmation.
func (s *Session) Configure(ctx context.Context, set Settings) (contract.Event, error) {
	mark := s.Log.Mark()
	extras := []string{"--es", contract.ExtraEndMode, set.EndMode, "--es", contract.ExtraNotification, set.Notification,
		"--ez", contract.ExtraAutoAccept, strconv.FormatBool(set.AutoAccept), "--es", contract.ExtraEndPagePath, set.EndPagePath}
	if err := s.Broadcast(ctx, contract.ActionConfigure, extras...); err != nil {
		return contract.Event{}, err
	}
	ev, _, err := s.Log.Await(ctx, mark, "the configured line", Named(contract.EvConfigured))
	if err != nil {
		return ev, err
	}
	if ok, _ := ev.Bool("ok"); !ok {
		return ev, fmt.Errorf("host app refused the configuration: %s", ev.Str("error"))
	}
	return ev, nil
}

// Report asks the host app for its state line.
func (s *Session) Report(ctx context.Context) (contract.Event, error) {
	mark := s.Log.Mark()
	if err := s.Broadcast(ctx, contract.ActionReport); err != nil {
		return contract.Event{}, err
	}
	ev, _, err := s.Log.Await(ctx, mark, "the state line", Named(contract.EvState))
	return ev, err
}

// Pidof returns the pids of a process name (none: empty, no error).
func (s *Session) Pidof(ctx context.Context, name string) ([]int, error) {
	var res adb.Result
	err := s.bounded(ctx, "pidof", func(ctx context.Context) (err error) {
		res, err = s.ADB.Shell(ctx, adb.Command("pidof", name))
		return err
	})
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(res.Stdout)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// ResumedActivity returns the resumed activity ("pkg/cls").
func (s *Session) ResumedActivity(ctx context.Context) (string, error) {
	out, err := s.Run(ctx, "dumpsys activity activities")
	if err != nil {
		return "", err
	}
	return ParseResumedActivity(out)
}

// UIDump returns the UI tree and the raw XML.
func (s *Session) UIDump(ctx context.Context) (*UINode, string, error) {
	out, err := s.Run(ctx, "uiautomator dump /dev/tty")
	if err != nil {
		return nil, out, err
	}
	root, err := ParseUIDump(out)
	return root, out, err
}

// Tap finds the node a selector names in a fresh UI dump and taps its
// centre. It returns the dump it used.
func (s *Session) Tap(ctx context.Context, selector string) (string, error) {
	sel, err := ParseSelector(selector)
	if err != nil {
		return "", err
	}
	root, raw, err := s.UIDump(ctx)
	if err != nil {
		return raw, err
	}
	n := sel.Find(root)
	if n == nil {
		return raw, fmt.Errorf("no node %s on screen; texts: %s", sel, strings.Join(root.Texts(), " | "))
	}
	x, y := n.Center()
	if _, err := s.Run(ctx, fmt.Sprintf("input tap %d %d", x, y)); err != nil {
		return raw, err
	}
	return raw, nil
}

// OnCallPage reports whether the call page is in front: the Mini Program's
// activity is resumed and its screen shows the answer or hang-up button.
func (s *Session) OnCallPage(ctx context.Context) (bool, string, error) {
	act, err := s.ResumedActivity(ctx)
	if err != nil {
		return false, "", err
	}
	if !strings.HasPrefix(act, MPActivityPrefix) {
		return false, "resumed: " + act, nil
	}
	root, _, err := s.UIDump(ctx)
	if err != nil {
		return false, "", err
	}
	texts := strings.Join(root.Texts(), " | ")
	for _, sel := range []string{s.Spec.Answer, s.Spec.HangUp} {
		if ps, err := ParseSelector(sel); err == nil && ps.Find(root) != nil {
			return true, "resumed: " + act + "; screen: " + texts, nil
		}
	}
	return false, "resumed: " + act + "; screen: " + texts, nil
}

// Readiness asks the host app for its state and returns "" when the device
// can take a call — the app answers the report hook, WMPF runs and is
// activated, the push listener is registered, and (unless calls come by
// injection) there is a push token — else why not.
func (s *Session) Readiness(ctx context.Context) string {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ev, err := s.Report(rctx)
	if err != nil {
		return "the host app did not answer the report hook (" + err.Error() + "): is the debug build with the device contract installed?"
	}
	running, _ := ev.Bool("wmpfRunning")
	activated, _ := ev.Bool("activated")
	listener, _ := ev.Bool("listenerRegistered")
	switch {
	case !running:
		return "WMPF (com.tencent.wmpf) is not running"
	case !activated:
		return "WMPF is not activated"
	case !listener:
		return "the host app has not registered its push listener"
	case s.Spec.Push != PushInject && ev.Str("pushToken") == "":
		return "the host app reports no push token"
	}
	return ""
}

// WaitReady waits, for at most max, until Readiness says the device is
// ready; it asks again each time the app logs something new (or each
// second). It returns "" or the last reason.
func (s *Session) WaitReady(ctx context.Context, max time.Duration) string {
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	for {
		mark := s.Log.Mark()
		r := s.Readiness(wctx)
		if r == "" || wctx.Err() != nil {
			return r
		}
		ictx, icancel := context.WithTimeout(wctx, time.Second)
		_, _, _ = s.Log.Await(ictx, mark, "a contract line", func(e contract.Event) bool { return e.Name != contract.EvState })
		icancel()
		if wctx.Err() != nil {
			return r
		}
	}
}
