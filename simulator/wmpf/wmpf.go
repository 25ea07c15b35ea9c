// Package wmpf simulates WMPF (com.tencent.wmpf) on a simulated device: its
// service process with the push connection to the WeChat backend, activation,
// push and device tokens, the push listener, the lifecycle listener, the
// Invoke Channel, and the Mini Program runtime in its own process, where the
// wmpf-voip plugin's call page runs.
//
// The host app talks to it through Client, the simulated client SDK, as a real
// app talks to WMPF over binder.
package wmpf

import (
	"context"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// Names of the WMPF package, its processes and its Mini Program activity.
const (
	Package     = "com.tencent.wmpf"
	MainProcess = "com.tencent.wmpf"
	MPProcess   = "com.tencent.wmpf:appbrand0"
	MPActivity  = "com.tencent.mm.plugin.appbrand.ui.AppBrandUI00"
	VersionName = "2.2.1"
)

// Log tags WMPF writes under.
const (
	tagService  = "WMPF.Service"
	tagPush     = "WMPF.PushService"
	tagAppBrand = "MicroMsg.AppBrand"
	tagVoip     = "WMPF.VoipPlugin"
)

// Truth stages the simulator reports as ground truth. The first four are
// the host app's steps (the host app reports them); the others are the
// system's own lines of the Mini Program's start, which WMPF reports when
// they are logged: the independent witness of the app's steps.
const (
	StagePushReceived = "push_received"
	StageLaunchCalled = "launch_called"
	StagePageShown    = "page_shown"
	StageAnswered     = "answered"
	// StageActivityStart: ActivityTaskManager "START u0 {… cmp=com.tencent.wmpf/…AppBrandUI00 …}".
	StageActivityStart = "activity_start"
	// StageProcessStart: ActivityManager "Start proc PID:com.tencent.wmpf:appbrand0/…" (cold start).
	StageProcessStart = "process_start"
	// StageDisplayed: ActivityTaskManager "Displayed com.tencent.wmpf/…AppBrandUI00: +…".
	StageDisplayed = "activity_displayed"
)

// TruthFunc records when a stage really happened (host clock).
type TruthFunc func(stage, groupID string, at time.Time)

// Config configures the WMPF of one device.
type Config struct {
	System  *android.System
	Timing  profile.Timing
	Defects profile.DefectSet
	Sampler *profile.Sampler
	// Backend is the WeChat side's base URL; empty leaves WMPF unable to
	// activate, as a device without network.
	Backend string
	SN      string
	ModelID string
}

// Service is WMPF on one device.
type Service struct {
	cfg Config
	sys *android.System
	dc  *wechat.DeviceClient

	bmu sync.Mutex // guards cfg.Timing and cfg.Defects (SetBehaviour)

	mu         sync.Mutex
	main       *android.Process
	ready      chan struct{} // closed when the service in main is up
	diedBefore bool
	activated  bool
	listener   *listenerReg
	lifecycle  []*lifecycleReg
	invoke     *invokeReg
	devToken   time.Time // prefetched device credential valid until
	mp         *miniProgram
	mpProc     *android.Process
	mpWarm     bool // the Mini Program process has shown a page before
	launchSeq  int
	endPage    string                          // setVoipEndPagePath; "" = the call log page
	endMode    string                          // the vendor Mini Program's end handling ("exit" or "")
	early      map[string]wechat.DeviceMessage // call ends that came before their call page, by groupId
	truthFn    TruthFunc
	shownAct   *android.Activity // the last activity whose Displayed line was reported
}

type listenerReg struct {
	proc *android.Process
	fn   func(msg string)
}

type lifecycleReg struct {
	proc *android.Process
	l    LifecycleListener
}

type invokeReg struct {
	proc *android.Process
	fn   func(InvokeMessage)
}

// LifecycleListener is WMPFLifeCycleManager's listener.
type LifecycleListener interface {
	// OnWMPFFinish: the com.tencent.wmpf process died.
	OnWMPFFinish()
	// OnWMPFRestart: its service came back.
	OnWMPFRestart()
}

// InvokeMessage is what the Mini Program sends the app over the Invoke
// Channel: here, each onVoipEvent the vendor's Mini Program forwards.
type InvokeMessage struct {
	EventName string
	RoomID    string
	GroupID   string
	Data      map[string]any
	AppID     string
}

// ApiException is WMPFApiException(errType, errCode, errMsg).
type ApiException struct {
	ErrType int
	ErrCode int
	ErrMsg  string
}

func (e *ApiException) Error() string {
	return fmt.Sprintf("WMPFApiException(errType=%d, errCode=%d, errMsg=%s)", e.ErrType, e.ErrCode, e.ErrMsg)
}

// Error types of ApiException used by the simulation.
const (
	ErrTypeService  = 1 // WMPF not running or not connected
	ErrTypeParam    = 2 // bad parameter
	ErrTypeBackend  = 3 // the WeChat backend refused
	ErrTypeInternal = 4
)

// Install installs WMPF on the device's system.
func Install(cfg Config) (*Service, error) {
	if cfg.System == nil || cfg.Sampler == nil {
		return nil, fmt.Errorf("wmpf: Config.System and Config.Sampler are required")
	}
	s := &Service{cfg: cfg, sys: cfg.System}
	if cfg.Backend != "" {
		s.dc = &wechat.DeviceClient{BaseURL: cfg.Backend, SN: cfg.SN, ModelID: cfg.ModelID}
	}
	err := cfg.System.Install(&android.Package{
		Name:        Package,
		VersionName: VersionName,
		VersionCode: 2020100,
		Activities: []android.ActivityInfo{
			{Class: MPActivity, Process: MPProcess, Exported: false},
		},
		App: (*wmpfApp)(s),
	})
	if err != nil {
		return nil, fmt.Errorf("wmpf: install: %w", err)
	}
	cfg.System.OnProcessDeath(s.onDeath)
	return s, nil
}

// SetBehaviour changes the timing and the defects WMPF and the call page
// run with from now on: a host-app build that carries other ones was
// installed.
func (s *Service) SetBehaviour(t profile.Timing, d profile.DefectSet) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	s.cfg.Timing, s.cfg.Defects = t, d
}

func (s *Service) timing() profile.Timing {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.cfg.Timing
}

func (s *Service) defects() profile.DefectSet {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.cfg.Defects
}

// Start brings the WMPF service process up (as the app's bindService does)
// and returns at once.
func (s *Service) Start() error {
	_, err := s.sys.StartProcess(android.ProcSpec{Name: MainProcess, Package: Package})
	return err
}

// Running reports whether the service process is alive.
func (s *Service) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.main != nil && s.main.Alive()
}

// wmpfApp is the android.App of the WMPF package.
type wmpfApp Service

func (a *wmpfApp) OnProcessStart(p *android.Process) {
	s := (*Service)(a)
	switch p.Name {
	case MainProcess:
		s.mu.Lock()
		s.main = p
		s.activated = false
		ready := make(chan struct{})
		s.ready = ready
		restart := s.diedBefore
		s.mu.Unlock()
		p.Log('I', tagService, "WMPFService onCreate, version "+VersionName)
		p.Go(func(ctx context.Context) {
			if !s.cfg.Sampler.Sleep(ctx, s.timing().WMPFBoot) {
				return
			}
			p.Log('I', tagService, "WMPF service ready")
			close(ready)
			if restart {
				s.notifyRestart()
			}
		})
	case MPProcess:
		s.mu.Lock()
		s.mpProc = p
		s.mpWarm = false
		s.mu.Unlock()
		p.Log('I', tagAppBrand, "AppBrand process started")
	}
}

func (a *wmpfApp) StartActivity(p *android.Process, act *android.Activity, in android.Intent) {
	(*Service)(a).startMiniProgram(p, act, in)
}

func (a *wmpfApp) OnReceive(p *android.Process, in android.Intent) {}

// OnNewIntent is AppBrandUI's onNewIntent: a launch while the Mini Program's
// activity is on top of its task comes to it.
func (a *wmpfApp) OnNewIntent(p *android.Process, act *android.Activity, in android.Intent) {
	(*Service)(a).startMiniProgram(p, act, in)
}

// SetTruth sets where WMPF reports the ground truth of the system's lines
// of its Mini Program's start (StageActivityStart, StageProcessStart,
// StageDisplayed); nil reports nothing.
func (s *Service) SetTruth(fn TruthFunc) {
	s.mu.Lock()
	s.truthFn = fn
	s.mu.Unlock()
}

// truth reports the host time of a logged system line.
func (s *Service) truth(stage, groupID string, e android.Entry) {
	s.mu.Lock()
	fn := s.truthFn
	s.mu.Unlock()
	if fn != nil && !e.Time.IsZero() {
		fn(stage, groupID, s.sys.Clock().ToHost(e.Time))
	}
}

// onDeath handles the death of any process of the device.
func (s *Service) onDeath(p *android.Process) {
	s.mu.Lock()
	switch {
	case p == s.main:
		s.main = nil
		s.activated = false
		s.diedBefore = true
		// The push listener and the Invoke Channel are registered in the
		// service: they die with it, and the app must register again.
		s.listener = nil
		s.invoke = nil
		mp := s.mpProc
		listeners := append([]*lifecycleReg(nil), s.lifecycle...)
		s.mu.Unlock()
		// The Mini Program process cannot live without the service.
		if mp != nil && mp.Alive() {
			_ = s.sys.Kill(mp.Pid, 9)
		}
		for _, r := range listeners {
			r := r
			if !r.proc.Alive() {
				continue
			}
			r.proc.Go(func(ctx context.Context) {
				if s.cfg.Sampler.Sleep(ctx, s.timing().DeathNotice) {
					r.l.OnWMPFFinish()
				}
			})
		}
		return
	case p == s.mpProc:
		s.mpProc = nil
		s.mp = nil
		s.mpWarm = false
	}
	// Registrations die with the process that made them.
	if s.listener != nil && s.listener.proc == p {
		s.listener = nil
	}
	if s.invoke != nil && s.invoke.proc == p {
		s.invoke = nil
	}
	kept := s.lifecycle[:0]
	for _, r := range s.lifecycle {
		if r.proc != p {
			kept = append(kept, r)
		}
	}
	s.lifecycle = kept
	s.mu.Unlock()
}

func (s *Service) notifyRestart() {
	s.mu.Lock()
	listeners := append([]*lifecycleReg(nil), s.lifecycle...)
	s.mu.Unlock()
	for _, r := range listeners {
		r := r
		if r.proc.Alive() {
			r.proc.Go(func(ctx context.Context) {
				if s.cfg.Sampler.Sleep(ctx, s.timing().IPC) {
					r.l.OnWMPFRestart()
				}
			})
		}
	}
}

// serviceReady returns the main process once its service is up.
func (s *Service) serviceReady() (*android.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.main == nil || !s.main.Alive() {
		return nil, &ApiException{ErrType: ErrTypeService, ErrCode: -1, ErrMsg: "WMPF service not running"}
	}
	select {
	case <-s.ready:
		return s.main, nil
	default:
		return nil, &ApiException{ErrType: ErrTypeService, ErrCode: -2, ErrMsg: "WMPF service starting"}
	}
}

var appIDPattern = regexp.MustCompile(`^wx[0-9a-f]{16}$`)

// StartAppParams is WMPFStartAppParams.
type StartAppParams struct {
	AppID   string
	Path    string
	AppType int // 0 release, 1 development, 2 trial
}

func (s *Service) logf(tag, format string, args ...any) {
	s.mu.Lock()
	p := s.main
	s.mu.Unlock()
	if p != nil {
		p.Log('I', tag, fmt.Sprintf(format, args...))
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func isCallPage(path string) bool {
	return path == protocol.CallPagePath || strings.HasPrefix(path, protocol.CallPagePath+"?")
}
